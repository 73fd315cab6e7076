/** Pieces the op files share: window geometry, spans, receptive fields. */
import { ArgumentError } from '../../errors.js';
import type { Shape } from '../../graph/layers.js';
import type { ReceptiveField } from '../../graph/shapes.js';
import type { Span } from './types.js';

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The one input of a single-input op, or an error naming how many it got. */
export function only(inputs: Shape[], what: string): Shape {
  if (inputs.length !== 1) throw new ArgumentError(`${what} takes one input, got ${inputs.length}`);
  return inputs[0];
}

export function spatial(shape: Shape, what: string): [number, number, number] {
  if (shape.length !== 3) throw new ArgumentError(`${what} needs a [C, H, W] input, got [${shape.join(', ')}]`);
  return [shape[0], shape[1], shape[2]];
}

/** A window op's geometry along both axes. */
export interface Window {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  pads: readonly number[];
  dilations?: readonly [number, number];
}

/** The input span a window op reads for an output span, clipped to the input [h, w]. */
export function growByWindow(span: Span, win: Window, h: number, w: number): Span {
  if (!span) return null;
  const [dh, dw] = win.dilations ?? [1, 1];
  const kh = (win.kernel[0] - 1) * dh + 1, kw = (win.kernel[1] - 1) * dw + 1;
  return {
    y0: Math.max(0, span.y0 * win.stride[0] - win.pads[0]), y1: Math.min(h, (span.y1 - 1) * win.stride[0] - win.pads[0] + kh),
    x0: Math.max(0, span.x0 * win.stride[1] - win.pads[1]), x1: Math.min(w, (span.x1 - 1) * win.stride[1] - win.pads[1] + kw),
  };
}

/** The receptive field after a window op. */
export function windowField(rf: ReceptiveField, win: Window): ReceptiveField {
  const next: ReceptiveField = { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: rf.global };
  const d = win.dilations ?? [1, 1];
  for (const a of [0, 1] as const) {
    next.offset[a] = rf.offset[a] - win.pads[a] * rf.jump[a];
    next.jump[a] = rf.jump[a] * win.stride[a];
    next.extent[a] = rf.extent[a] + (win.kernel[a] - 1) * d[a] * rf.jump[a];
  }
  return next;
}

/** What an elementwise op of several inputs sees: the union of its inputs' fields. */
export function unionField(fields: ReceptiveField[]): ReceptiveField {
  if (fields.length === 1) return fields[0];
  const out: ReceptiveField = { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: fields.some((f) => f.global) };
  for (const a of [0, 1] as const) {
    const start = Math.min(...fields.map((f) => f.offset[a]));
    const end = Math.max(...fields.map((f) => f.offset[a] + f.extent[a]));
    out.offset[a] = start;
    out.extent[a] = end - start;
    out.jump[a] = Math.min(...fields.map((f) => f.jump[a]));
  }
  return out;
}

export const GLOBAL_FIELD = (rf: ReceptiveField): ReceptiveField => ({ ...rf, global: true });

/** The smallest span holding both (null: everything). */
export function unionSpan(a: Span, b: Span): Span {
  if (!a || !b) return null;
  return { y0: Math.min(a.y0, b.y0), y1: Math.max(a.y1, b.y1), x0: Math.min(a.x0, b.x0), x1: Math.max(a.x1, b.x1) };
}

/**
 * Run an elementwise kernel over a span of a [C, H, W] tensor: the span's rows of each channel
 * (whole rows: cheaper than cutting columns, and exact since values outside the span are 0 in
 * dy and the kernels map 0 to 0), or the whole tensor for a null span or another rank.
 */
export function overSpan(shape: Shape, span: Span, run: (byteOffset: number, length: number) => void, n = 1): void {
  if (!span || shape.length !== 3 || n !== 1) { run(0, n * size(shape)); return; }
  const [c, , w] = shape;
  const length = (span.y1 - span.y0) * w;
  for (let ch = 0; ch < c; ch++) run(((ch * shape[1] + span.y0) * w) * 4, length);
}

/** The same span for every input (elementwise ops keep positions). */
export function sameSpan(span: Span, xs: Shape[], ys: Shape): Span[] {
  return xs.map((s) => (s.length === 3 && ys.length === 3 && s[1] === ys[1] && s[2] === ys[2] ? span : null));
}

/** Windowed output length along one axis (ONNX/PyTorch rule for ceil mode). */
export function windowOut(length: number, kernel: number, stride: number, padBefore: number,
                          padAfter: number, ceil: boolean, dilation = 1): number {
  const reach = (kernel - 1) * dilation + 1;
  const span = length + padBefore + padAfter - reach;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // A window must start inside the input or the leading pad, never only in the trailing pad.
  if (ceil && (out - 1) * stride >= length + padBefore) out -= 1;
  return out;
}
