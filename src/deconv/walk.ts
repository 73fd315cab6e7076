/**
 * The backward walk from one op's output down to the input, one image at a time, in the
 * model's planned buffers (design.md, "Deconvnet conventions"):
 * - deconvnet: unpool by the switches, rectify the reconstruction, transposed conv with the
 *   layer's own filters (no bias); LRN and dropout are identity (the paper).
 * - guided / gradient: the true backward pass of every op (LRN's included); ReLU passes where
 *   the forward activation was positive (gradient), and also the signal (guided).
 * Only the region that can be non-zero is computed: a box per tensor, grown op by op by the
 * op's window; a transposed conv runs on the cropped box alone (the expensive part).
 */
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
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
  const { kernels: k, arena, network } = model;
  const plan = model.planned;
  const at = (r: Region, op: number) => r.offset + image * size(model.shapes[op]) * 4;
  const inputAt = (op: number) => (op === 0
    ? plan.input.offset + image * size(network.input) * 4
    : at(plan.outputs[op - 1], op - 1));

  let src = plan.back.a, dst = plan.back.b;
  const startSize = size(model.shapes[start]);
  k.fill(src.offset, 0, startSize);
  const view = arena.f32(src);
  seed.at.forEach((i, n) => { view[i] = seed.values[n]; });
  let span: Span = fullMaps ? null : seed.span;

  for (let i = start; i >= 0; i--) {
    const op = network.ops[i];
    const [c, h, w] = model.inputShape(i);
    const shape = model.shapes[i];
    const n = size(shape);
    let swap = true;
    try {
      switch (op.kind) {
        case 'relu':
          if (mode === 'deconvnet') k.relu(n, src.offset, dst.offset);
          else if (mode === 'gradient') k.reluBackward(n, at(plan.outputs[i], i), src.offset, dst.offset);
          else k.reluGuided(n, at(plan.outputs[i], i), src.offset, dst.offset);
          break;
        case 'maxpool':
          k.unpool(c, h, w, shape[1], shape[2], src.offset, at(plan.switches[i]!, i), dst.offset);
          span = growByWindow(span, op.kernel, op.stride, op.pads, h, w);
          break;
        case 'avgpool':
          k.avgpoolBackward(c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
            shape[1], shape[2], op.countIncludePad ? 1 : 0, src.offset, dst.offset);
          span = growByWindow(span, op.kernel, op.stride, op.pads, h, w);
          break;
        case 'lrn':
          if (mode === 'deconvnet') swap = false;
          else k.lrnBackward(1, c, h * w, op.size, op.alpha, op.beta, op.bias, inputAt(i), src.offset, dst.offset, plan.back.lrn.offset);
          break;
        case 'conv':
          span = convTranspose(model, i, src, dst, span);
          break;
        case 'dense': {
          const p = model.paramsAt(i)!;
          k.denseTranspose(1, size(model.inputShape(i)), op.units, src.offset, p.weight.offset, dst.offset);
          span = null;
          break;
        }
        case 'dropout': case 'flatten':
          swap = false;
          break;
        case 'softmax':
          throw new Error('the backward walk cannot start above a softmax');
      }
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      throw new KernelError(`${network.name} op ${i} (${op.kind}) backward: the kernel trapped (${e.message}); ` +
        'this is a bug in zf-visualizer, please report it');
    }
    if (swap) [src, dst] = [dst, src];
    if (span && (span.y1 <= span.y0 || span.x1 <= span.x0)) return span; // nothing left: out stays 0
  }
  out.set(arena.f32(src).subarray(0, size(network.input)));
  return span;
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

/**
 * Transposed conv of src (gradient of op i's output) into dst (its input), on the span only:
 * the span of dy is copied out, the kernel runs on that crop with the pads shifted to match,
 * and its result is placed into a zeroed dst.
 */
function convTranspose(model: Model, i: number, src: Region, dst: Region, span: Span): Span {
  const op = model.network.ops[i];
  if (op.kind !== 'conv') throw new Error('not a conv');
  const { kernels: k, arena } = model;
  const plan = model.planned;
  const w = model.packedWeights(i).offset;
  const [c, h, wd] = model.inputShape(i);
  const [oc, oh, ow] = model.shapes[i];
  const [kh, kw] = op.kernel, [sh, sw] = op.stride;
  if (span) {
    // Shrink to what is really non-zero: unpooling and rectification leave less than the windows reach.
    k.nonzeroBox(oc, oh, ow, span.y0, span.y1, span.x0, span.x1, src.offset, plan.back.box.offset);
    const [y0, y1, x0, x1] = arena.readI32(plan.back.box, 0, 4);
    if (y1 === y0) {
      k.fill(dst.offset, 0, c * h * wd);
      return { y0: 0, y1: 0, x0: 0, x1: 0 };
    }
    span = { y0, y1, x0, x1 };
  }
  const inSpan = growByWindow(span, op.kernel, op.stride, op.pads, h, wd);
  if (!span || !inSpan || (span.y1 - span.y0) * (span.x1 - span.x0) * 2 > oh * ow) {
    k.conv2dTransposePacked(1, c, h, wd, oc, kh, kw, sh, sw, op.pads[0], op.pads[1], oh, ow, op.groups,
      src.offset, w, dst.offset, plan.scratch.offset);
    return inSpan;
  }
  const sy = span.y1 - span.y0, sx = span.x1 - span.x0;
  const ih = inSpan.y1 - inSpan.y0, iw = inSpan.x1 - inSpan.x0;
  const dy = arena.f32(src), crop = arena.f32(plan.back.cropIn);
  for (let ch = 0; ch < oc; ch++) {
    for (let y = 0; y < sy; y++) {
      const from = (ch * oh + span.y0 + y) * ow + span.x0;
      crop.set(dy.subarray(from, from + sx), (ch * sy + y) * sx);
    }
  }
  k.conv2dTransposePacked(1, c, ih, iw, oc, kh, kw, sh, sw,
    op.pads[0] + inSpan.y0 - span.y0 * sh, op.pads[1] + inSpan.x0 - span.x0 * sw, sy, sx, op.groups,
    plan.back.cropIn.offset, w, plan.back.cropOut.offset, plan.scratch.offset);
  k.fill(dst.offset, 0, c * h * wd);
  const dx = arena.f32(dst), result = arena.f32(plan.back.cropOut);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < ih; y++) {
      const from = (ch * ih + y) * iw;
      dx.set(result.subarray(from, from + iw), (ch * h + inSpan.y0 + y) * wd + inSpan.x0);
    }
  }
  return inSpan;
}
