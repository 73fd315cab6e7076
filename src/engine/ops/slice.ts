/**
 * A strided slice of each image's tensor (Slice, Split's parts, Gather of a constant index):
 * per axis a start, a step (negative steps walk backwards) and a count. Backward puts the
 * gradient back at the positions it came from (zeros elsewhere).
 */
import { ArgumentError } from '../../errors.js';
import type { Shape, SliceOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { sliceRanges } from '../../onnx/fold.js';
import { contiguous, dims5, strides5 } from './layout.js';
import { only, size } from './util.js';

/** Byte offset of the first element taken, and the source strides of the slice. */
function source(op: SliceOp, xs: Shape) {
  const own = contiguous(xs);
  let first = 0;
  op.starts.forEach((s, i) => { first += s * own[i]; });
  return { first: first * 4, strides: own.map((s, i) => s * op.steps[i]) };
}

/** Only the channel axis is cut: positions are untouched and a span passes. */
function keepsPositions(op: SliceOp, xs: Shape): boolean {
  return xs.length === 3 && [1, 2].every((a) => op.starts[a] === 0 && op.steps[a] === 1 && op.counts[a] === xs[a]);
}

export const slice: OpDef<SliceOp> = {
  kind: 'slice',
  shape(op, inputs) {
    const x = only(inputs, 'Slice');
    if (op.starts.length !== x.length || op.steps.length !== x.length || op.counts.length !== x.length) {
      throw new ArgumentError(`a slice of [${x.join(', ')}] needs a start, step and count per axis`);
    }
    x.forEach((d, i) => {
      const last = op.starts[i] + (op.counts[i] - 1) * op.steps[i];
      if (op.counts[i] < 0 || op.steps[i] === 0 || (op.counts[i] > 0 && (op.starts[i] < 0 || op.starts[i] >= d || last < 0 || last >= d))) {
        throw new ArgumentError(`slice start ${op.starts[i]} step ${op.steps[i]} count ${op.counts[i]} does not fit axis ${i} of [${x.join(', ')}]`);
      }
    });
    return [...op.counts];
  },
  forward(op, { k, n, x: [x], xs: [xs], y, ys }) {
    if (size(ys) === 0) return;
    const { first, strides } = source(op, xs);
    k.strided(0, ...dims5(n, ys), ...strides5(size(xs), strides), ...strides5(size(ys), contiguous(ys)), x + first, y);
  },
  backward(op, { k, n, xs: [xs], ys, dy, dx: [dx], span }) {
    if (size(ys) > 0) {
      const { first, strides } = source(op, xs);
      k.strided(0, ...dims5(n, ys), ...strides5(size(ys), contiguous(ys)), ...strides5(size(xs), strides), dy, dx + first);
    }
    return [keepsPositions(op, xs) ? span : null];
  },
  field: (op, [rf], [xs]) => (keepsPositions(op, xs) ? rf : { ...rf, global: true }),
};

/** A slice op keeping everything but the given ranges. */
function sliceOp(shape: Shape, ranges: Record<number, { start: number; step: number; count: number }>): SliceOp {
  return {
    kind: 'slice',
    starts: shape.map((d, i) => ranges[i]?.start ?? 0),
    steps: shape.map((d, i) => ranges[i]?.step ?? 1),
    counts: shape.map((d, i) => ranges[i]?.count ?? d),
  };
}

slice.onnx = {
  Slice(m) {
    m.attrs.allow('starts', 'ends', 'axes');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const starts = m.opset >= 10 ? m.ints(1, 'starts') : m.attrs.ints('starts');
    const ends = m.opset >= 10 ? m.ints(2, 'ends') : m.attrs.ints('ends');
    if (!starts || !ends) throw m.fail('needs starts and ends');
    const rawAxes = (m.opset >= 10 ? m.ints(3, 'axes') : m.attrs.ints('axes')) ?? starts.map((_, i) => i);
    const steps = (m.opset >= 10 ? m.ints(4, 'steps') : undefined) ?? starts.map(() => 1);
    const full = m.wholeTensor ? x.shape : [1, ...x.shape];
    const axes = rawAxes.map((a) => {
      if (!Number.isInteger(a) || a < -rank || a >= rank) throw m.fail(`axis ${a} is out of range for rank ${rank}`);
      return a < 0 ? a + rank : a;
    });
    const lead = m.wholeTensor ? 0 : 1;
    // The batch axis may be named only to keep all of it (start 0, step 1, an end past any batch).
    axes.forEach((a, i) => {
      if (lead && a === 0 && !(starts[i] === 0 && steps[i] === 1 && ends[i] >= 2 ** 31 - 1)) m.needsWholeTensor();
    });
    const r = sliceRanges(full, starts, ends, axes, steps, m.where());
    const ranges: Record<number, { start: number; step: number; count: number }> = {};
    r.slice(lead).forEach((range, i) => { ranges[i] = range; });
    const op = sliceOp(x.shape, ranges);
    if (op.counts.some((c) => c === 0)) throw m.fail('gives an empty tensor');
    m.emit(op, [x.id]);
  },
  Split(m) {
    m.attrs.allow('axis', 'split', 'num_outputs');
    const x = m.data(0);
    const axis = m.axis(m.attrs.int('axis', 0)!, m.rank(x.shape));
    const length = x.shape[axis];
    const outputs = m.node.outputs.length;
    let sizes = m.opset >= 13 ? m.ints(1, 'split') : m.attrs.ints('split');
    if (!sizes) {
      const parts = m.attrs.int('num_outputs', outputs)!;
      if (parts < 1) throw m.attrs.bad('num_outputs', `${parts} must be positive`);
      if (m.opset < 18 && length % parts !== 0) throw m.fail(`cannot split the ${length} of axis ${axis} into ${parts} equal parts (before opset 18, a Split without sizes needs equal parts)`);
      const each = Math.ceil(length / parts);
      sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(each, length - i * each)));
    }
    if (sizes.length !== outputs) throw m.fail(`splits into ${sizes.length} parts but has ${outputs} outputs`);
    if (sizes.some((s) => !(s >= 1))) throw m.fail(`split sizes [${sizes.join(', ')}] must each be at least 1 (empty parts are not supported)`);
    if (sizes.reduce((a, b) => a + b, 0) !== length) {
      throw m.fail(`split sizes [${sizes.join(', ')}] do not add up to the ${length} values of the axis they split`);
    }
    let at = 0;
    sizes.forEach((count, j) => {
      m.emit(sliceOp(x.shape, { [axis]: { start: at, step: 1, count } }), [x.id], undefined, j);
      at += count;
    });
  },
  Gather(m) {
    m.attrs.allow('axis');
    const x = m.data(0);
    const idx = m.constant(1, 'indices')!;
    const axis = m.axis(m.attrs.int('axis', 0)!, m.rank(x.shape));
    const length = x.shape[axis];
    const indices = Array.from(idx.values(), (i) => {
      if (!Number.isInteger(i) || i < -length || i >= length) throw m.fail(`index ${i} is out of range for axis ${axis} (${length})`);
      return i < 0 ? i + length : i;
    });
    // One slice per index, joined along the axis, then the indices' own shape in its place.
    const reshaped = idx.dims.length !== 1;
    const last = (isLast: boolean) => (isLast ? 0 : -1);
    const parts = indices.map((i) => m.emit(sliceOp(x.shape, { [axis]: { start: i, step: 1, count: 1 } }), [x.id], undefined,
      last(indices.length === 1 && !reshaped)));
    const joined = parts.length === 1 ? parts[0] : m.emit({ kind: 'concat', axis }, parts, undefined, last(!reshaped));
    if (reshaped) {
      m.emit({ kind: 'reshape', shape: [...x.shape.slice(0, axis), ...idx.dims, ...x.shape.slice(axis + 1)] }, [joined]);
    }
  },
};
