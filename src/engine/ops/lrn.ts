/**
 * LRN across channels (ONNX/Caffe: alpha divided by size). The deconvnet passes it as identity
 * (the paper); guided and gradient take its true backward pass.
 */
import { ArgumentError } from '../../errors.js';
import type { LrnOp } from '../../graph/layers.js';

import type { OpDef } from './types.js';
import { only, size } from './util.js';
import { elementwise } from './region.js';

export const lrn: OpDef<LrnOp> = {
  kind: 'lrn',
  shape(op, inputs) {
    const x = only(inputs, 'LRN');
    if (x.length < 1) throw new ArgumentError(`LRN needs a [C, ...] input, got [${x.join(', ')}]`);
    return x;
  },
  forward(op, { k, n, x: [x], xs: [[c, ...rest]], y }) {
    k.lrn(n, c, size(rest), op.size, op.alpha, op.beta, op.bias, x, y);
  },
  backward(op, { k, mode, n, x: [x], xs: [[c, ...rest]], ys, dy, dx: [dx], span, scratch }) {
    if (mode === 'deconvnet') k.copy(n * size(ys), dy, dx);
    // Mixes channels at each position only: the span stays where it was.
    else k.lrnBackward(n, c, size(rest), op.size, op.alpha, op.beta, op.bias, x, dy, dx, scratch);
    return [span];
  },
  backScratch: (op, inputs, out) => 2 * size(out),
};

lrn.region = elementwise(() => lrn);

lrn.onnx = {
  LRN(m) {
    const a = m.attrs;
    a.allow('size', 'alpha', 'beta', 'bias');
    const x = m.data(0);
    const n = a.int('size');
    if (n === undefined || n < 1) throw a.bad('size', 'must be a positive integer (it is required)');
    if (m.wholeTensor) m.needsWholeTensor();
    if (x.shape.length < 2) throw m.fail(`needs a [N, C, ...] input with spatial axes, got [N, ${x.shape.join(', ')}]`);
    const alpha = a.float('alpha', 1e-4), beta = a.float('beta', 0.75), bias = a.float('bias', 1);
    // (bias + alpha/size * sum x^2)^beta must be a positive finite divisor for every input.
    if (alpha < 0) throw a.bad('alpha', `is ${alpha}; it must be >= 0`);
    if (!(beta > 0)) throw a.bad('beta', `is ${beta}; it must be > 0`);
    if (!(bias > 0)) throw a.bad('bias', `is ${bias}; it must be > 0`);
    m.emit({ kind: 'lrn', size: n, alpha, beta, bias }, [x.id]);
  },
};

lrn.onnxExport = {
  point: 'norm',
  write(op, x) {
    x.current = x.emit('LRN', x.name, [x.current], {
      size: op.size, alpha: { float: op.alpha }, beta: { float: op.beta }, bias: { float: op.bias },
    }, x.out);
  },
};
