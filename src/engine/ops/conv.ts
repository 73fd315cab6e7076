/**
 * Conv: 2-D convolution with groups, asymmetric pads, strides and dilations. A depthwise conv
 * (one filter per channel) runs its own kernel; everything else is im2col + GEMM.
 * Backward: the transposed conv with the layer's own filters and no bias (the deconvnet's
 * "filtering" and the true gradient alike). With a span, only the span of dy is cropped out and
 * transposed (the pads shifted to match), and placed at the input span it reaches.
 */
import { ArgumentError } from '../../errors.js';
import type { ConvOp } from '../../graph/layers.js';

import type { OpDef } from './types.js';
import { growByWindow, only, size, spatial, windowField, windowOut } from './util.js';
import { imageInput, spatialAttrs, transferOf } from '../../onnx/spatial.js';
import { dataTypeName } from '../../onnx/proto.js';
import { cropGeometry, windowed } from './region.js';

/** One filter per input channel, one output per filter: the depthwise kernel's case. */
export function isDepthwise(op: ConvOp, channels: number): boolean {
  return op.groups === channels && op.filters === channels && channels > 1;
}

export const conv: OpDef<ConvOp> = {
  kind: 'conv',
  shape(op, inputs) {
    const [c, h, w] = spatial(only(inputs, 'a convolution'), 'a convolution');
    if (c % op.groups !== 0 || op.filters % op.groups !== 0) {
      throw new ArgumentError(`${c} input and ${op.filters} output channels are not divisible by groups=${op.groups}`);
    }
    const [dh, dw] = op.dilations ?? [1, 1];
    return [op.filters,
      windowOut(h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], false, dh),
      windowOut(w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], false, dw)];
  },
  params(op, [[c]]) {
    const p: Record<string, number[]> = { weight: [op.filters, c / op.groups, op.kernel[0], op.kernel[1]] };
    if (op.bias) p.bias = [op.filters];
    return p;
  },
  packedFloats(op, [[c]], k) {
    return isDepthwise(op, c) ? 0 : k.conv2dPackedWeightFloats(c, op.filters, op.kernel[0], op.kernel[1], op.groups);
  },
  pack(op, [[c]], k, p, dst) {
    k.conv2dPackWeights(c, op.filters, op.kernel[0], op.kernel[1], op.groups, p.weight, dst);
  },
  scratch(op, [[c]], [, oh, ow], k) {
    return isDepthwise(op, c) ? 0 : k.conv2dScratchFloats(c, op.filters, op.kernel[0], op.kernel[1], oh, ow, op.groups);
  },
  forward(op, { k, n, x: [x], xs: [[c, h, w]], y, ys: [, oh, ow], p, scratch }) {
    const [dh, dw] = op.dilations ?? [1, 1];
    if (isDepthwise(op, c)) {
      k.depthwiseConv2d(n, c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
        dh, dw, oh, ow, x, p.weight, p.bias ?? 0, y);
      return;
    }
    k.conv2d(n, c, h, w, op.filters, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
      dh, dw, oh, ow, op.groups, x, p.weight, p.bias ?? 0, y, scratch);
  },
  backward(op, b) {
    const { k, n, xs: [[c, h, w]], ys: [oc, oh, ow], span } = b;
    const [kh, kw] = op.kernel, [sh, sw] = op.stride;
    const [dh, dw] = op.dilations ?? [1, 1];
    const depthwise = isDepthwise(op, c);
    const transpose = (ih: number, iw: number, pt: number, pl: number, sy: number, sx: number, dy: number, dx: number) => {
      if (depthwise) k.depthwiseConv2dTranspose(n, c, ih, iw, kh, kw, sh, sw, pt, pl, dh, dw, sy, sx, dy, b.p.weight, dx);
      else k.conv2dTransposePacked(n, c, ih, iw, oc, kh, kw, sh, sw, pt, pl, dh, dw, sy, sx, op.groups, dy, b.packed(), dx, b.scratch);
    };
    if (!span) {
      transpose(h, w, op.pads[0], op.pads[1], oh, ow, b.dy, b.dx[0]);
      return [null];
    }
    const inSpan = growByWindow(span, op, h, w)!;
    // A span of most of the map costs more cropped (copies in and out) than whole: dy is zero
    // outside it, so the whole transposed conv gives the same numbers.
    if ((span.y1 - span.y0) * (span.x1 - span.x0) * 2 >= oh * ow) {
      transpose(h, w, op.pads[0], op.pads[1], oh, ow, b.dy, b.dx[0]);
      return [inSpan];
    }
    const sy = span.y1 - span.y0, sx = span.x1 - span.x0;
    const ih = inSpan.y1 - inSpan.y0, iw = inSpan.x1 - inSpan.x0;
    k.cropWindow(oc, oh, ow, span.y0, span.x0, sy, sx, b.dy, b.cropIn);
    transpose(ih, iw, op.pads[0] + inSpan.y0 - span.y0 * sh, op.pads[1] + inSpan.x0 - span.x0 * sw, sy, sx, b.cropIn, b.cropOut);
    k.placeWindow(c, h, w, inSpan.y0, inSpan.x0, ih, iw, b.cropOut, b.dx[0]);
    return [inSpan];
  },
  backScratch(op, [[c]], [, oh, ow], k) {
    return isDepthwise(op, c) ? 0 : k.conv2dTransposeScratchFloats(c, op.filters, op.kernel[0], op.kernel[1], oh, ow, op.groups);
  },
  weightGrads(op, { k, n, x: [x], xs: [[c, h, w]], ys: [, oh, ow], dy, scratch }, grads) {
    const [dh, dw] = op.dilations ?? [1, 1];
    if (isDepthwise(op, c)) {
      k.depthwiseConv2dFilterGrad(n, c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
        dh, dw, oh, ow, x, dy, grads.weight, grads.bias ?? 0);
      return;
    }
    k.conv2dFilterGrad(n, c, h, w, op.filters, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
      dh, dw, oh, ow, op.groups, x, dy, grads.weight, grads.bias ?? 0, scratch);
  },
  weightGradScratch(op, [[c]], [, oh, ow], k) {
    return isDepthwise(op, c) ? 0 : k.conv2dFilterGradScratchFloats(c, op.filters, op.kernel[0], op.kernel[1], oh, ow, op.groups);
  },
  field: (op, [rf]) => windowField(rf, op),
  macs: (op, [[c]], out) => size(out) * (c / op.groups) * op.kernel[0] * op.kernel[1],
};

conv.region = windowed((op, f, [g], o) => {
  const { c, gh, gw, oh, ow, pt, pl } = cropGeometry(op, f, g, o);
  const [dh, dw] = op.dilations ?? [1, 1];
  if (isDepthwise(op, c)) {
    f.k.depthwiseConv2d(1, c, gh, gw, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], pt, pl, dh, dw, oh, ow,
      f.x[0], f.p.weight, f.p.bias ?? 0, f.y);
  } else {
    f.k.conv2d(1, c, gh, gw, op.filters, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], pt, pl, dh, dw, oh, ow,
      op.groups, f.x[0], f.p.weight, f.p.bias ?? 0, f.y, f.scratch);
  }
});

conv.onnx = {
  Conv(m) {
    const a = m.attrs;
    a.allow('auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides');
    const x = imageInput(m);
    if (m.inputCount() > 3) throw m.fail(`has ${m.inputCount()} inputs; Conv takes X, W, B`);
    const w = m.constant(1, 'weight')!;
    if (w.int || (w.ref && w.ref.dataType !== 1)) throw m.fail(`weight '${w.ref?.name ?? ''}' is ${dataTypeName(w.ref?.dataType ?? 7)}; weights must be FLOAT`);
    if (w.dims.length !== 4) throw m.fail(`weight [${w.dims.join(', ')}] is not 4-D; only 2-D convolutions are supported`);
    const [filters, perGroup, kh, kw] = w.dims;
    if (filters * perGroup * kh * kw === 0) throw m.fail(`weight [${w.dims.join(', ')}] is empty`);
    const groups = a.int('group', 1)!;
    if (groups < 1) throw a.bad('group', `${groups} must be positive`);
    const channels = x.shape[0];
    if (perGroup * groups !== channels || filters % groups !== 0) {
      throw m.fail(`weight [${w.dims.join(', ')}] with group=${groups} does not fit an input of ${channels} channels ` +
        `(needs [M, ${channels / groups}, kH, kW] with M divisible by ${groups})`);
    }
    const kernelShape = a.ints('kernel_shape');
    if (kernelShape && (kernelShape.length !== 2 || kernelShape[0] !== kh || kernelShape[1] !== kw)) {
      throw a.bad('kernel_shape', `[${kernelShape}] does not match the weight's [${kh}, ${kw}]`);
    }
    const { stride, pads, dilations } = spatialAttrs(a, [kh, kw], x.shape);
    const b = m.constant(2, 'bias', false);
    if (b && (b.int || b.dims.reduce((p, d) => p * d, 1) !== filters)) throw m.fail(`bias '${b.ref?.name ?? ''}' [${b.dims.join(', ')}] does not fit ${filters} units`);
    const op: ConvOp = { kind: 'conv', filters, kernel: [kh, kw], stride, pads, groups, bias: !!b };
    if (dilations[0] !== 1 || dilations[1] !== 1) op.dilations = dilations;
    m.emit(op, [x.id], { weight: transferOf(w), ...(b ? { bias: transferOf(b) } : {}) });
  },
};

conv.onnxExport = {
  point: 'conv',
  write(op, x) {
    const w = x.weights([op.filters, x.input[0] / op.groups, ...op.kernel], op.bias);
    const inputs = [x.current, x.addFloats(`${x.layer}.weight`, w.shape, w.weight)];
    if (w.bias) inputs.push(x.addFloats(`${x.layer}.bias`, [op.filters], w.bias));
    x.current = x.emit('Conv', x.name, inputs, {
      kernel_shape: [...op.kernel], strides: [...op.stride], pads: [...op.pads], dilations: [...(op.dilations ?? [1, 1])], group: op.groups,
    }, x.out);
  },
};
