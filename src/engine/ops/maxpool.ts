/**
 * MaxPool (and GlobalMaxPool, a window over the whole map). The forward pass records switches:
 * per output, the flat index of its window's maximum (the first one on ties). Backward unpools:
 * each value goes to its switch; where windows share a switch the values are summed (the exact
 * adjoint, as Caffe's backward). With a span, only the windows of the span are visited.
 */
import { ArgumentError } from '../../errors.js';
import type { AvgPoolOp, MaxPoolOp, Pads, Shape } from '../../graph/layers.js';
import type { MapContext } from '../../onnx/map-context.js';
import { imageInput, spatialAttrs } from '../../onnx/spatial.js';
import { cropGeometry, windowed } from './region.js';
import { ceilAsEndPads, type AttrValue } from '../../onnx/export-context.js';
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
  backward(op, { k, n, xs: [[c, h, w]], ys: [, oh, ow], dy, dx: [dx], switches, span }) {
    if (!span) {
      k.unpool(n * c, h, w, oh, ow, dy, switches, dx);
      return [null];
    }
    const grown = growByWindow(span, op, h, w)!;
    k.unpoolWindow(c, h, w, oh, ow, span.y0, span.y1, span.x0, span.x1, grown.y0, grown.y1, grown.x0, grown.x1,
      dy, switches, dx);
    return [grown];
  },
  field: (op, [rf]) => windowField(rf, op),
};

maxpool.region = windowed((op, f, [g], o) => {
  const { c, gh, gw, oh, ow, pt, pl } = cropGeometry(op, f, g, o);
  f.k.maxpool(c, gh, gw, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], pt, pl, oh, ow, f.x[0], f.y, f.switches);
});

/** Output shape of a pooling window op over [c, h, w]. */
export function poolShape(op: { kernel: [number, number]; stride: [number, number]; pads: readonly number[]; ceil: boolean },
                          c: number, h: number, w: number): number[] {
  if (op.pads[0] >= op.kernel[0] || op.pads[2] >= op.kernel[0] || op.pads[1] >= op.kernel[1] || op.pads[3] >= op.kernel[1]) {
    throw new ArgumentError(`pads [${op.pads}] must be smaller than the window [${op.kernel}]`);
  }
  return [c, windowOut(h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], op.ceil),
    windowOut(w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], op.ceil)];
}

/** Kernel, strides, pads and ceil mode of an ONNX pooling node over [C, H, W] (or [C, 1, L] for a 1-D pool). */
export function poolAttrs(m: MapContext, shape: Shape) {
  const a = m.attrs;
  const k = a.ints('kernel_shape');
  if (k?.length === 1) {
    // A 1-D pool runs as a 2-D one over [C, 1, L].
    if (a.string('auto_pad', 'NOTSET') !== 'NOTSET') throw a.bad('auto_pad', 'is not supported for 1-D pooling');
    const [s] = a.ints('strides') ?? [1];
    const [before, after] = a.ints('pads') ?? [0, 0];
    if ((a.ints('dilations') ?? [1]).some((d) => d !== 1)) throw a.bad('dilations', 'is not supported for pooling');
    if (!(k[0] >= 1 && s >= 1 && before >= 0 && after >= 0 && before < k[0] && after < k[0])) throw m.fail('has an invalid 1-D window');
    return { kernel: [1, k[0]] as [number, number], stride: [1, s] as [number, number], pads: [0, before, 0, after] as Pads, ceil: a.int('ceil_mode', 0) !== 0 };
  }
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

/**
 * Emit a pooling op over the node's input: [C, H, W] as it is, [C, L] (a 1-D pool) through a
 * view as [C, 1, L] and back.
 */
export function emitPool(m: MapContext, make: (shape: Shape) => MaxPoolOp | AvgPoolOp): void {
  const x = m.data(0);
  if (x.shape.length === 2 && !m.wholeTensor) {
    const [c, l] = x.shape;
    const view = m.emit({ kind: 'reshape', shape: [c, 1, l] }, [x.id], undefined, -1);
    const pooled = m.emit(make([c, 1, l]), [view], undefined, -1);
    const out = m.shape(pooled);
    m.emit({ kind: 'reshape', shape: [out[0], out[2]] }, [pooled]);
    return;
  }
  const image = imageInput(m);
  m.emit(make(image.shape), [image.id]);
}

maxpool.onnx = {
  MaxPool(m) {
    m.attrs.allow('auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides');
    emitPool(m, (shape) => ({ kind: 'maxpool', ...poolAttrs(m, shape) }));
  },
  GlobalMaxPool(m) {
    m.attrs.allow();
    const x = imageInput(m);
    m.emit({ kind: 'maxpool', kernel: [x.shape[1], x.shape[2]], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false }, [x.id]);
  },
};

maxpool.onnxExport = {
  point: 'pool',
  write(op, x) {
    let pads = [...op.pads];
    const attrs: Record<string, AttrValue> = { kernel_shape: [...op.kernel], strides: [...op.stride] };
    if (op.ceil && x.opset < 10) pads = ceilAsEndPads(op.kernel, op.stride, op.pads, x.input, x.networkName, x.index);
    else if (x.opset >= 10) attrs.ceil_mode = op.ceil ? 1 : 0;
    attrs.pads = pads;
    x.current = x.emit('MaxPool', x.name, [x.current], attrs, x.out);
  },
};
