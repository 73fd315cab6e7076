/**
 * Elementwise activations: Sigmoid, Tanh, Elu, LeakyRelu, HardSigmoid, HardSwish, Clip, and an
 * affine map (folded Mul/Add by scalars). Backward is the exact derivative, except that a Clip
 * with min 0 (ReLU6) is a rectifier and takes the projection mode's rule: deconvnet relu(R),
 * guided relu(R) * mask, gradient R * mask, mask = (0 < x < max).
 */
import type { PointwiseOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import type { MapContext } from '../../onnx/map-context.js';
import { only, overSpan, size } from './util.js';
import { elementwise } from './region.js';

const KIND = { sigmoid: 0, tanh: 1, elu: 2, leakyrelu: 3, hardsigmoid: 4, hardswish: 5, clip: 6, affine: 7 } as const;

export const pointwise: OpDef<PointwiseOp> = {
  kind: 'pointwise',
  shape: (op, inputs) => only(inputs, op.fn),
  forward(op, { k, n, x: [x], y, ys }) {
    k.unary(KIND[op.fn], n * size(ys), op.alpha, op.beta, x, y);
  },
  backward(op, { k, mode, n, x: [x], ys, dy, dx: [dx], span }) {
    const rectifier = pointwise.rectifier!(op);
    overSpan(ys, span, (o, length) => {
      if (rectifier && mode === 'deconvnet') k.relu(length, dy + o, dx + o);
      else if (rectifier && mode === 'guided') k.clipGuided(length, op.alpha, op.beta, x + o, dy + o, dx + o);
      else k.unaryBackward(KIND[op.fn], length, op.alpha, op.beta, x + o, dy + o, dx + o);
    }, n);
    return [span];
  },
  rectifier: (op) => op.fn === 'clip' && op.alpha === 0,
};

const activation = (fn: PointwiseOp['fn'], alpha: number, beta: number, attrs: string[] = []) => (m: MapContext) => {
  m.attrs.allow(...attrs);
  const a = attrs.includes('alpha') ? m.attrs.float('alpha', alpha) : alpha;
  const b = attrs.includes('beta') ? m.attrs.float('beta', beta) : beta;
  m.emit({ kind: 'pointwise', fn, alpha: a, beta: b }, [m.data(0).id]);
};

pointwise.region = elementwise(() => pointwise);

pointwise.onnx = {
  Sigmoid: activation('sigmoid', 0, 0),
  Tanh: activation('tanh', 0, 0),
  Elu: activation('elu', 1, 0, ['alpha']),
  LeakyRelu: activation('leakyrelu', 0.01, 0, ['alpha']),
  HardSigmoid: activation('hardsigmoid', 0.2, 0.5, ['alpha', 'beta']),
  HardSwish(m) {
    if (m.opset < 14) throw m.fail('HardSwish exists from opset 14 on (exporters write HardSigmoid and Mul before it)');
    activation('hardswish', 0, 0)(m);
  },
  Clip(m) {
    let lo = -Infinity, hi = Infinity;
    if (m.opset < 11) {
      m.attrs.allow('min', 'max');
      lo = m.attrs.float('min', -Infinity);
      hi = m.attrs.float('max', Infinity);
    } else {
      m.attrs.allow();
      const min = m.constant(1, 'min', false), max = m.constant(2, 'max', false);
      if (min) lo = min.values()[0];
      if (max) hi = max.values()[0];
    }
    if (Number.isNaN(lo) || Number.isNaN(hi)) throw m.fail(`${Number.isNaN(lo) ? 'min' : 'max'} is NaN`);
    if (lo > hi) throw m.fail(`min ${lo} is above max ${hi}`);
    m.emit({ kind: 'pointwise', fn: 'clip', alpha: lo, beta: hi }, [m.data(0).id]);
  },
};
