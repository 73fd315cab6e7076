/**
 * MaxPool (and GlobalMaxPool, a window over the whole map). The forward pass records switches:
 * per output, the flat index of its window's maximum (the first one on ties). Backward unpools:
 * each value goes to its switch; where windows share a switch the values are summed (the exact
 * adjoint, as Caffe's backward). With a span, only the windows of the span are visited.
 */
import { ArgumentError } from '../../errors.js';
import type { MaxPoolOp, Shape } from '../../graph/layers.js';
import type { MapContext } from '../../onnx/map-context.js';
import { imageInput, spatialAttrs } from '../../onnx/spatial.js';
import type { OpDef } from './types.js';
import { growByWindow, only, size, spatial, windowField, windowOut } from './util.js';

export const maxpool: OpDef<MaxPoolOp> = {
  kind: 'maxpool',
  shape(op, inputs) {
    const [c, h, w] = spatial(only(inputs, 'a max-pool'), 'a max-pool');
    return poolShape(op, c, h, w);
  },
  switches: (op, out) => size(out),
  forward(op, { k, n, x: [x], xs: [[c, h, w]], y, ys: [, oh, ow], switches }) {
    k.maxpool(n * c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
      oh, ow, x, y, switches);
  },
  backward(op, { k, xs: [[c, h, w]], ys: [, oh, ow], dy, dx: [dx], switches, span }) {
    if (!span) {
      k.unpool(c, h, w, oh, ow, dy, switches, dx);
      return [null];
    }
    const grown = growByWindow(span, op, h, w)!;
    k.unpoolWindow(c, h, w, oh, ow, span.y0, span.y1, span.x0, span.x1, grown.y0, grown.y1, grown.x0, grown.x1,
      dy, switches, dx);
    return [grown];
  },
  field: (op, [rf]) => windowField(rf, op),
};

/** Output shape of a pooling window op over [c, h, w]. */
export function poolShape(op: { kernel: [number, number]; stride: [number, number]; pads: readonly number[]; ceil: boolean },
                          c: number, h: number, w: number): number[] {
  if (op.pads[0] >= op.kernel[0] || op.pads[2] >= op.kernel[0] || op.pads[1] >= op.kernel[1] || op.pads[3] >= op.kernel[1]) {
    throw new ArgumentError(`pads [${op.pads}] must be smaller than the window [${op.kernel}]`);
  }
  return [c, windowOut(h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], op.ceil),
    windowOut(w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], op.ceil)];
}

/** Kernel, strides, pads and ceil mode of an ONNX pooling node over [C, H, W]. */
export function poolAttrs(m: MapContext, shape: Shape) {
  const a = m.attrs;
  const k = a.ints('kernel_shape');
  if (!k) throw a.bad('kernel_shape', 'is required');
  if (k.length !== 2 || k.some((v) => v < 1)) throw a.bad('kernel_shape', `[${k}] is not a 2-D window`);
  const kernel: [number, number] = [k[0], k[1]];
  const { stride, pads, dilations } = spatialAttrs(a, kernel, shape);
  if (dilations[0] !== 1 || dilations[1] !== 1) throw a.bad('dilations', `[${dilations}] is not supported for pooling`);
  if (pads[0] >= kernel[0] || pads[2] >= kernel[0] || pads[1] >= kernel[1] || pads[3] >= kernel[1]) {
    throw a.bad('pads', `[${pads}] must be smaller than the window [${kernel}]`);
  }
  return { kernel, stride, pads, ceil: a.int('ceil_mode', 0) !== 0 };
}

maxpool.onnx = {
  MaxPool(m) {
    m.attrs.allow('auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides');
    const x = imageInput(m);
    m.emit({ kind: 'maxpool', ...poolAttrs(m, x.shape) }, [x.id]);
  },
  GlobalMaxPool(m) {
    m.attrs.allow();
    const x = imageInput(m);
    m.emit({ kind: 'maxpool', kernel: [x.shape[1], x.shape[2]], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false }, [x.id]);
  },
};
