/**
 * AveragePool and GlobalAveragePool (a window over the whole map), with ceil mode and
 * count_include_pad as ONNX/PyTorch define them. Backward spreads each value evenly over its window.
 */
import type { AvgPoolOp } from '../../graph/layers.js';
import { ArgumentError } from '../../errors.js';
import type { AttrValue } from '../../onnx/export-context.js';
import type { OpDef } from './types.js';
import { emitPool, poolAttrs, poolShape } from './maxpool.js';
import { imageInput } from '../../onnx/spatial.js';
import { cropGeometry, windowed } from './region.js';
import { growByWindow, only, size, spatial, windowField } from './util.js';

export const avgpool: OpDef<AvgPoolOp> = {
  kind: 'avgpool',
  shape(op, inputs) {
    const [c, h, w] = spatial(only(inputs, 'an average pool'), 'an average pool');
    return poolShape(op, c, h, w);
  },
  forward(op, { k, n, x: [x], xs: [[c, h, w]], y, ys: [, oh, ow] }) {
    k.avgpool(n * c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
      op.pads[2], op.pads[3], oh, ow, op.countIncludePad ? 1 : 0, x, y);
  },
  backward(op, { k, n, xs: [[c, h, w]], ys: [, oh, ow], dy, dx: [dx], span }) {
    // The whole map: dy is exactly 0 outside its span, so the result is 0 outside the grown span.
    k.avgpoolBackward(n * c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
      op.pads[2], op.pads[3], oh, ow, op.countIncludePad ? 1 : 0, dy, dx);
    return [growByWindow(span, op, h, w)];
  },
  field: (op, [rf]) => windowField(rf, op),
  macs: (op, inputs, out) => size(out) * op.kernel[0] * op.kernel[1] / 4,
};

avgpool.region = windowed((op, f, [g], o) => {
  const { c, gh, gw, oh, ow, pt, pl, pb, pr } = cropGeometry(op, f, g, o);
  f.k.avgpool(c, gh, gw, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], pt, pl, pb, pr, oh, ow,
    op.countIncludePad ? 1 : 0, f.x[0], f.y);
});

avgpool.onnx = {
  AveragePool(m) {
    m.attrs.allow('auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides');
    emitPool(m, (shape) => ({ kind: 'avgpool', ...poolAttrs(m, shape), countIncludePad: m.attrs.int('count_include_pad', 0) !== 0 }));
  },
  GlobalAveragePool(m) {
    m.attrs.allow();
    const x = imageInput(m);
    m.emit({ kind: 'avgpool', kernel: [x.shape[1], x.shape[2]], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false, countIncludePad: false }, [x.id]);
  },
};

avgpool.onnxExport = {
  point: 'avgpool',
  write(op, x) {
    if (op.ceil && x.opset < 10) {
      throw new ArgumentError(`${x.networkName} op ${x.index}: a ceil-mode average pool needs opset 10 or later, got opset ${x.opset}`);
    }
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [...op.kernel], strides: [...op.stride], pads: [...op.pads], count_include_pad: op.countIncludePad ? 1 : 0,
    };
    if (x.opset >= 10) attrs.ceil_mode = op.ceil ? 1 : 0;
    x.current = x.emit('AveragePool', x.name, [x.current], attrs, x.out);
  },
};
