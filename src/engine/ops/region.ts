/**
 * Region rules the ops share (the occlusion fast path, src/analyses/occlusion-engine.ts):
 * elementwise ops change what their changed inputs change, window ops every output whose window
 * reads a change, and both run on crops with their pads shifted to the crop.
 */
import type { Op, Shape } from '../../graph/layers.js';
import type { Box, Forward, OpDef, Region } from './types.js';
import type { Window } from './util.js';

export function boxUnion(a: Box | undefined, b: Box | undefined): Box | undefined {
  if (!a) return b;
  if (!b) return a;
  return { y0: Math.min(a.y0, b.y0), y1: Math.max(a.y1, b.y1), x0: Math.min(a.x0, b.x0), x1: Math.max(a.x1, b.x1) };
}

export function boxEmpty(b: Box): boolean {
  return b.y0 >= b.y1 || b.x0 >= b.x1;
}

const whole = (shape: Shape): Box => ({ y0: 0, y1: shape[1], x0: 0, x1: shape[2] });
const samePlane = (a: Shape, b: Shape) => a.length === 3 && b.length === 3 && a[1] === b[1] && a[2] === b[2];

/**
 * Ops that keep positions (ReLU, activations, batch norm, LRN, Add/Mul with broadcasting, Concat
 * of channels): an input of the output's plane changes the same box; a broadcast input ([C, 1, 1],
 * an SE block's scale) that changes changes everything. The forward pass is the op's own, on the
 * crops' shapes.
 */
export function elementwise<O extends Op>(def: () => OpDef<O>): Region<O> {
  return {
    affected(op, spans, xs, ys) {
      let out: Box | undefined;
      spans.forEach((s, j) => { if (s) out = boxUnion(out, samePlane(xs[j], ys) ? s : whole(ys)); });
      return out;
    },
    reads: (op, out, j, xs, ys) => (samePlane(xs[j], ys) ? out : whole(xs[j])),
    forwardCrop(op, f, reads, out) {
      const shape = (s: Shape, b: Box) => [s[0], b.y1 - b.y0, b.x1 - b.x0];
      const xs = f.xs.map((s, j) => shape(s, reads[j]));
      const ys = shape(f.ys, out);
      const d = def();
      if (d.alias) f.k.copy(ys[0] * ys[1] * ys[2], f.x[0], f.y);
      else d.forward(op, { ...f, n: 1, xs, ys });
    },
  };
}

/** Window ops (conv, pools): the outputs whose windows overlap a change, and the crop they read. */
export function windowed<O extends Op & Window>(forwardCrop: Region<O>['forwardCrop']): Region<O> {
  return {
    affected(op, [s], [xs], ys) {
      if (!s) return undefined;
      const [kh, kw] = effective(op);
      const o = {
        y0: Math.max(0, Math.floor((s.y0 + op.pads[0] - kh) / op.stride[0]) + 1), y1: Math.min(ys[1], Math.ceil((s.y1 + op.pads[0]) / op.stride[0])),
        x0: Math.max(0, Math.floor((s.x0 + op.pads[1] - kw) / op.stride[1]) + 1), x1: Math.min(ys[2], Math.ceil((s.x1 + op.pads[1]) / op.stride[1])),
      };
      return boxEmpty(o) ? undefined : o;
    },
    reads(op, o, j, [xs]) {
      const [kh, kw] = effective(op);
      return {
        y0: Math.max(0, o.y0 * op.stride[0] - op.pads[0]), y1: Math.min(xs[1], (o.y1 - 1) * op.stride[0] - op.pads[0] + kh),
        x0: Math.max(0, o.x0 * op.stride[1] - op.pads[1]), x1: Math.min(xs[2], (o.x1 - 1) * op.stride[1] - op.pads[1] + kw),
      };
    },
    forwardCrop,
  };
}

/** The window's reach with dilations. */
function effective(op: Window): [number, number] {
  const [dh, dw] = op.dilations ?? [1, 1];
  return [(op.kernel[0] - 1) * dh + 1, (op.kernel[1] - 1) * dw + 1];
}

/** A window op's geometry on a crop: its pads shifted so the crop's outputs are the full ones. */
export function cropGeometry(op: Window, f: Forward, g: Box, o: Box) {
  const [, h, w] = f.xs[0];
  return {
    c: f.xs[0][0], gh: g.y1 - g.y0, gw: g.x1 - g.x0, oh: o.y1 - o.y0, ow: o.x1 - o.x0,
    pt: op.pads[0] + g.y0 - o.y0 * op.stride[0], pl: op.pads[1] + g.x0 - o.x0 * op.stride[1],
    // End pads: the original ones plus the image cells below / right of the crop (average pools clip there).
    pb: op.pads[2] + h - g.y1, pr: op.pads[3] + w - g.x1,
  };
}

export type { Forward };
