/**
 * Pad of each image's tensor: constant fill, reflection (without repeating the edge, as numpy's
 * 'reflect') or edge repetition; negative pads crop. Reflect and edge fill the border axis by
 * axis from the output itself, so corners reflect the reflection, as numpy and onnxruntime do.
 * Backward: the constant border gets nothing; reflected and repeated values send their gradient
 * back to the element they copy, axis by axis in reverse.
 */
import { ArgumentError } from '../../errors.js';
import type { PadOp, Shape } from '../../graph/layers.js';
import type { Kernels } from '../../wasm/kernels.js';
import type { OpDef } from './types.js';
import { contiguous, dims5, strides5 } from './layout.js';
import { only, size } from './util.js';

/** The part of the input that lands in the output, per axis: source start, target start, length. */
function interior(op: PadOp, xs: Shape) {
  return xs.map((d, i) => {
    const from = Math.max(0, -op.before[i]);
    const to = Math.max(0, op.before[i]);
    return { from, to, length: d - from - Math.max(0, -op.after[i]) };
  });
}

/** Copy (mode 0) or add (mode 1) a box of `dims` within one image's tensor of shape `ys`. */
function box(k: Kernels, mode: number, ys: Shape, dims: number[], fromAt: number[], toAt: number[], base: number): void {
  const st = contiguous(ys);
  const at = (p: number[]) => base + 4 * p.reduce((s, v, i) => s + v * st[i], 0);
  k.strided(mode, ...dims5(1, dims), ...strides5(0, st), ...strides5(0, st), at(fromAt), at(toAt));
}

/**
 * The border copies of reflect/edge padding, in the order the forward pass makes them: per axis,
 * each border index t copies index s (both in output coordinates), over the extent already filled
 * of earlier axes and the interior of later ones.
 */
function borderCopies(op: PadOp, xs: Shape, ys: Shape) {
  const inner = interior(op, xs);
  const copies: { axis: number; t: number; s: number; dims: number[]; lo: number[] }[] = [];
  const extent = inner.map((r) => ({ lo: r.to, length: r.length }));
  ys.forEach((len, a) => {
    const { to, length } = inner[a];
    const source = (t: number): number => {
      const rel = t - to; // position relative to the interior's start
      if (op.mode === 'edge') return to + Math.min(Math.max(rel, 0), length - 1);
      const period = 2 * (length - 1);
      let r = period === 0 ? 0 : ((rel % period) + period) % period;
      if (r >= length) r = period - r;
      return to + r;
    };
    for (let t = 0; t < len; t++) {
      if (t >= to && t < to + length) continue;
      const dims = extent.map((e) => e.length);
      dims[a] = 1;
      copies.push({ axis: a, t, s: source(t), dims, lo: extent.map((e) => e.lo) });
    }
    extent[a] = { lo: 0, length: len };
  });
  return copies;
}

export const pad: OpDef<PadOp> = {
  kind: 'pad',
  shape(op, inputs) {
    const x = only(inputs, 'Pad');
    if (op.before.length !== x.length || op.after.length !== x.length) {
      throw new ArgumentError(`pads [${op.before}] / [${op.after}] do not give a before and after for each axis of [${x.join(', ')}]`);
    }
    const out = x.map((d, i) => d + op.before[i] + op.after[i]);
    interior(op, x).forEach((r, i) => {
      if (r.length < 1 || out[i] < 1) throw new ArgumentError(`pads crop axis ${i} of [${x.join(', ')}] to nothing`);
      if (op.mode === 'reflect' && (op.before[i] >= r.length || op.after[i] >= r.length) && (op.before[i] > 0 || op.after[i] > 0)) {
        throw new ArgumentError(`reflect pads [${op.before[i]}, ${op.after[i]}] must be smaller than the ${r.length} values they reflect on axis ${i} of [${x.join(', ')}]`);
      }
    });
    return out;
  },
  forward(op, { k, n, x: [x], xs: [xs], y, ys }) {
    const inner = interior(op, xs);
    const per = size(ys);
    if (op.mode === 'constant') k.fill(y, op.value, n * per);
    const src = contiguous(xs);
    const first = inner.reduce((s, r, i) => s + r.from * src[i], 0);
    const dst = contiguous(ys);
    const at = inner.reduce((s, r, i) => s + r.to * dst[i], 0);
    k.strided(0, ...dims5(n, inner.map((r) => r.length)), ...strides5(size(xs), src), ...strides5(per, dst),
      x + first * 4, y + at * 4);
    if (op.mode === 'constant') return;
    const copies = borderCopies(op, xs, ys);
    for (let image = 0; image < n; image++) {
      for (const c of copies) {
        const from = [...c.lo]; from[c.axis] = c.s;
        const to = [...c.lo]; to[c.axis] = c.t;
        box(k, 0, ys, c.dims, from, to, y + image * per * 4);
      }
    }
  },
  backward(op, { k, n, xs: [xs], ys, dy, dx: [dx], scratch }) {
    const inner = interior(op, xs);
    const src = contiguous(xs), dst = contiguous(ys);
    const first = inner.reduce((s, r, i) => s + r.from * src[i], 0);
    const at = inner.reduce((s, r, i) => s + r.to * dst[i], 0);
    const interiorOf = (g: number, into: number, images: number) => k.strided(0, ...dims5(images, inner.map((r) => r.length)),
      ...strides5(size(ys), dst), ...strides5(size(xs), src), g + at * 4, into + first * 4);
    if (op.mode === 'constant') {
      interiorOf(dy, dx, n);
      return [null];
    }
    // Fold each border copy's gradient back onto its source, last copy first, in scratch (an image at a time).
    const copies = borderCopies(op, xs, ys).reverse();
    for (let image = 0; image < n; image++) {
      k.copy(size(ys), dy + image * size(ys) * 4, scratch);
      for (const c of copies) {
        const from = [...c.lo]; from[c.axis] = c.t;
        const to = [...c.lo]; to[c.axis] = c.s;
        box(k, 1, ys, c.dims, from, to, scratch);
      }
      interiorOf(scratch, dx + image * size(xs) * 4, 1);
    }
    return [null];
  },
  backScratch: (op, inputs, out) => (op.mode === 'constant' ? 0 : size(out)),
  field: (op, [rf]) => {
    if (op.before.length !== 3) return { ...rf, global: true };
    return { ...rf, offset: [rf.offset[0] - op.before[1] * rf.jump[0], rf.offset[1] - op.before[2] * rf.jump[1]] };
  },
};

pad.onnx = {
  Pad(m) {
    m.attrs.allow('mode', 'pads', 'value');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const mode = m.attrs.string('mode', 'constant');
    if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw m.attrs.bad('mode', `'${mode}' is not supported (constant, reflect, edge)`);
    const pads = m.opset >= 11 ? m.ints(1, 'pads') : m.attrs.ints('pads');
    if (!pads) throw m.fail('has no pads');
    const value = m.opset >= 11 ? (m.constant(2, 'constant_value', false)?.values()[0] ?? 0) : m.attrs.float('value', 0);
    if (!Number.isFinite(value)) throw m.fail(`pads with the value ${value}; the constant value must be finite`);
    const axes = (m.opset >= 18 ? m.ints(3, 'axes') : undefined)?.map((a) => (a < 0 ? a + rank : a)) ?? [...Array(rank).keys()];
    if (pads.length !== 2 * axes.length) throw m.fail(`pads [${pads}] should have ${2 * axes.length} values`);
    const before = new Array<number>(rank).fill(0), after = new Array<number>(rank).fill(0);
    axes.forEach((a, i) => { before[a] = pads[i]; after[a] = pads[i + axes.length]; });
    const lead = m.wholeTensor ? 0 : 1;
    if (lead && (before[0] !== 0 || after[0] !== 0)) m.needsWholeTensor();
    if (before.every((p) => p === 0) && after.every((p) => p === 0)) return m.alias(x.id);
    m.emit({ kind: 'pad', mode, before: before.slice(lead), after: after.slice(lead), value }, [x.id]);
  },
};
