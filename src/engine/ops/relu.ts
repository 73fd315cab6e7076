/**
 * Relu, the paper's rectifier. Backward by mode: the deconvnet rectifies the reconstruction
 * (relu(R), ignoring the forward pass), gradient passes R where the forward output was positive,
 * guided does both.
 */
import type { ReluOp } from '../../graph/layers.js';

import type { OpDef } from './types.js';
import { only, overSpan, size } from './util.js';
import { elementwise } from './region.js';

export const relu: OpDef<ReluOp> = {
  kind: 'relu',
  shape: (op, inputs) => only(inputs, 'Relu'),
  forward(op, { k, n, x: [x], y, ys }) { k.relu(n * size(ys), x, y); },
  backward(op, { k, mode, n, y, ys, dy, dx: [dx], span }) {
    overSpan(ys, span, (o, length) => {
      if (mode === 'deconvnet') k.relu(length, dy + o, dx + o);
      else if (mode === 'gradient') k.reluBackward(length, y + o, dy + o, dx + o);
      else k.reluGuided(length, y + o, dy + o, dx + o);
    }, n);
    return [span];
  },
  rectifier: () => true,
};

relu.region = elementwise(() => relu);

relu.onnx = {
  Relu(m) {
    m.attrs.allow();
    m.emit({ kind: 'relu' }, [m.data(0).id]);
  },
};

relu.onnxExport = { point: 'relu', write(op, x) { x.current = x.emit('Relu', x.name, [x.current], {}, x.out); } };
