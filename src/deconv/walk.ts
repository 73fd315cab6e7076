/**
 * The backward walk from one op's output down to the input, one image at a time, in the
 * model's planned buffers (design.md, "Deconvnet conventions"):
 * - deconvnet: unpool by the switches, rectify the reconstruction, transposed conv with the
 *   layer's own filters (no bias); LRN and dropout are identity (the paper).
 * - guided / gradient: the true backward pass of every op (LRN's included); ReLU passes where
 *   the forward activation was positive (gradient), and also the signal (guided).
 *
 * Only the region that can be non-zero is computed. The walk carries a span (rows and columns
 * of the current tensor, all channels); values outside the span are undefined and never read:
 * window ops grow the span by their reach, and a transposed conv runs on the cropped span
 * alone (the expensive part). `null` means the whole tensor is valid (after dense layers, or
 * when the caller asks for full maps).
 */
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
import type { Op } from '../graph/layers.js';
import { size } from '../graph/shapes.js';
import { KernelError } from '../errors.js';

export type ProjectionMode = 'deconvnet' | 'guided' | 'gradient';
export const MODES: readonly ProjectionMode[] = ['deconvnet', 'guided', 'gradient'];

/** Rows [y0, y1) and columns [x0, x1) of a tensor that may be non-zero; `null`: all of it. */
export type Span = { y0: number; y1: number; x0: number; x1: number } | null;

export interface Seed {
  /** Flat indices into the start op's per-image output, and the values to put there. */
  at: number[];
  values: number[];
  span: Span;
}

/**
 * Walk `seed` from the output of op `start` down to the input, writing the input-shaped result
 * into `out` (which must be zero); returns the span of the input that can be non-zero.
 */
export function walkDown(model: Model, image: number, start: number, seed: Seed, mode: ProjectionMode,
                         fullMaps: boolean, out: Float32Array): Span {
  const { arena, network } = model;
  const plan = model.planned;
  let src = plan.back.a, dst = plan.back.b;
  model.kernels.fill(src.offset, 0, size(model.shapes[start]));
  const view = arena.f32(src);
  seed.at.forEach((i, n) => { view[i] = seed.values[n]; });
  let span: Span = fullMaps ? null : seed.span;

  for (let i = start; i >= 0; i--) {
    const op = network.ops[i];
    let moved: { span: Span; swap: boolean };
    try {
      moved = stepDown(model, image, i, op, mode, src, dst, span);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      throw new KernelError(`${network.name} op ${i} (${op.kind}) backward: the kernel trapped (${e.message}); ` +
        'this is a bug in zf-visualizer, please report it');
    }
    span = moved.span;
    if (moved.swap) [src, dst] = [dst, src];
  }
  const [c, h, w] = network.input;
  const result = arena.f32(src);
  if (!span) {
    out.set(result.subarray(0, c * h * w));
  } else {
    for (let ch = 0; ch < c; ch++) {
      for (let y = span.y0; y < span.y1; y++) {
        const row = (ch * h + y) * w;
        out.set(result.subarray(row + span.x0, row + span.x1), row + span.x0);
      }
    }
  }
  return span;
}

/** One op backwards: src holds the gradient at op i's output; writes its input's into dst. */
function stepDown(model: Model, image: number, i: number, op: Op, mode: ProjectionMode,
                  src: Region, dst: Region, span: Span): { span: Span; swap: boolean } {
  const k = model.kernels;
  const plan = model.planned;
  const [c, h, w] = model.inputShape(i);
  const shape = model.shapes[i];
  const at = (r: Region, j: number) => r.offset + image * size(model.shapes[j]) * 4;
  switch (op.kind) {
    case 'relu': {
      const fwd = at(plan.outputs[i], i);
      // Elementwise: over the span's rows of each channel, or the whole tensor.
      const runs = span ? shape[0] : 1;
      const length = span ? (span.y1 - span.y0) * shape[2] : size(shape);
      for (let ch = 0; ch < runs; ch++) {
        const o = span ? ((ch * shape[1] + span.y0) * shape[2]) * 4 : 0;
        if (mode === 'deconvnet') k.relu(length, src.offset + o, dst.offset + o);
        else if (mode === 'gradient') k.reluBackward(length, fwd + o, src.offset + o, dst.offset + o);
        else k.reluGuided(length, fwd + o, src.offset + o, dst.offset + o);
      }
      return { span, swap: true };
    }
    case 'maxpool': {
      const switches = at(plan.switches[i]!, i);
      if (!span) {
        k.unpool(c, h, w, shape[1], shape[2], src.offset, switches, dst.offset);
        return { span, swap: true };
      }
      const grown = growByWindow(span, op.kernel, op.stride, op.pads, h, w)!;
      k.unpoolWindow(c, h, w, shape[1], shape[2], span.y0, span.y1, span.x0, span.x1,
        grown.y0, grown.y1, grown.x0, grown.x1, src.offset, switches, dst.offset);
      return { span: grown, swap: true };
    }
    case 'avgpool':
      // Rare (torchvision's 1x1 identity): make the whole tensor valid and run the full backward.
      if (span) zeroOutside(model, src, shape, span);
      k.avgpoolBackward(c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
        op.pads[2], op.pads[3], shape[1], shape[2], op.countIncludePad ? 1 : 0, src.offset, dst.offset);
      return { span: null, swap: true };
    case 'lrn':
      if (mode === 'deconvnet') return { span, swap: false };
      // Mixes channels at each position only: undefined values outside the span stay outside.
      k.lrnBackward(1, c, h * w, op.size, op.alpha, op.beta, op.bias,
        i === 0 ? plan.input.offset + image * size(model.network.input) * 4 : at(plan.outputs[i - 1], i - 1),
        src.offset, dst.offset, plan.back.lrn.offset);
      return { span, swap: true };
    case 'conv':
      return { span: convTranspose(model, i, src, dst, span), swap: true };
    case 'dense': {
      if (span) throw new Error('a dense layer below a spatial span');
      const p = model.paramsAt(i)!;
      k.denseTranspose(1, size(model.inputShape(i)), op.units, src.offset, p.weight.offset, dst.offset);
      return { span: null, swap: true };
    }
    case 'dropout': case 'flatten':
      return { span, swap: false };
    case 'softmax':
      throw new Error('the backward walk cannot start above a softmax');
  }
}

/** The input span a window op (pool, conv) reads for an output span, clipped to the image. */
function growByWindow(span: Span, kernel: [number, number], stride: [number, number],
                      pads: readonly number[], h: number, w: number): Span {
  if (!span) return null;
  return {
    y0: Math.max(0, span.y0 * stride[0] - pads[0]), y1: Math.min(h, (span.y1 - 1) * stride[0] - pads[0] + kernel[0]),
    x0: Math.max(0, span.x0 * stride[1] - pads[1]), x1: Math.min(w, (span.x1 - 1) * stride[1] - pads[1] + kernel[1]),
  };
}

/** Set everything outside the span to 0, so a full-tensor kernel may read it. */
function zeroOutside(model: Model, r: Region, [c, h, w]: number[], span: NonNullable<Span>): void {
  const v = model.arena.f32(r);
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * w;
    v.fill(0, plane, plane + span.y0 * w);
    v.fill(0, plane + span.y1 * w, plane + h * w);
    for (let y = span.y0; y < span.y1; y++) {
      v.fill(0, plane + y * w, plane + y * w + span.x0);
      v.fill(0, plane + y * w + span.x1, plane + (y + 1) * w);
    }
  }
}

/**
 * Transposed conv of src (gradient of op i's output) into dst (its input). With a span, the
 * span of dy is cropped out, the kernel runs on the crop with the pads shifted to match, and
 * the result is placed at the input span (the rest of dst stays undefined).
 */
function convTranspose(model: Model, i: number, src: Region, dst: Region, span: Span): Span {
  const op = model.network.ops[i];
  if (op.kind !== 'conv') throw new Error('not a conv');
  const k = model.kernels;
  const plan = model.planned;
  const w = model.packedWeights(i).offset;
  const [c, h, wd] = model.inputShape(i);
  const [oc, oh, ow] = model.shapes[i];
  const [kh, kw] = op.kernel, [sh, sw] = op.stride;
  if (!span) {
    k.conv2dTransposePacked(1, c, h, wd, oc, kh, kw, sh, sw, op.pads[0], op.pads[1], oh, ow, op.groups,
      src.offset, w, dst.offset, plan.scratch.offset);
    return null;
  }
  const inSpan = growByWindow(span, op.kernel, op.stride, op.pads, h, wd)!;
  const sy = span.y1 - span.y0, sx = span.x1 - span.x0;
  const ih = inSpan.y1 - inSpan.y0, iw = inSpan.x1 - inSpan.x0;
  k.cropWindow(oc, oh, ow, span.y0, span.x0, sy, sx, src.offset, plan.back.cropIn.offset);
  k.conv2dTransposePacked(1, c, ih, iw, oc, kh, kw, sh, sw,
    op.pads[0] + inSpan.y0 - span.y0 * sh, op.pads[1] + inSpan.x0 - span.x0 * sw, sy, sx, op.groups,
    plan.back.cropIn.offset, w, plan.back.cropOut.offset, plan.scratch.offset);
  k.placeWindow(c, h, wd, inSpan.y0, inSpan.x0, ih, iw, plan.back.cropOut.offset, dst.offset);
  return inSpan;
}
