/**
 * Concat along one axis of each image's tensor (Inception and DenseNet blocks, SqueezeNet's
 * fire modules). Backward routes each input its slice of the gradient; along channels the
 * span is kept.
 */
import { ArgumentError } from '../../errors.js';
import type { ConcatOp, Shape } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { contiguous, dims5, strides5 } from './layout.js';
import { size, unionField } from './util.js';
import { elementwise } from './region.js';

/** Where input j starts along the axis, and the strides of the output. */
function placement(op: ConcatOp, xs: Shape[], ys: Shape) {
  const out = contiguous(ys);
  let at = 0;
  return xs.map((s) => {
    const offset = at * (out[op.axis] ?? 1);
    at += s[op.axis];
    return { offset, out };
  });
}

export const concat: OpDef<ConcatOp> = {
  kind: 'concat',
  shape(op, inputs) {
    const first = inputs[0];
    if (!first || !(op.axis >= 0 && op.axis < first.length)) {
      throw new ArgumentError(`concat axis ${op.axis} is out of range for [${first?.join(', ') ?? ''}]`);
    }
    let total = 0;
    for (const s of inputs) {
      if (s.length !== first.length || s.some((d, i) => i !== op.axis && d !== first[i])) {
        throw new ArgumentError(`cannot concatenate ${inputs.map((x) => `[${x.join(', ')}]`).join(', ')} along axis ${op.axis}`);
      }
      total += s[op.axis];
    }
    const out = [...first];
    out[op.axis] = total;
    return out;
  },
  forward(op, { k, n, x, xs, y, ys }) {
    placement(op, xs, ys).forEach(({ offset, out }, j) => {
      const d = dims5(n, xs[j]);
      const s = strides5(size(xs[j]), contiguous(xs[j]));
      const t = strides5(size(ys), out);
      k.strided(0, ...d, ...s, ...t, x[j], y + offset * 4);
    });
  },
  backward(op, { k, n, xs, ys, dy, dx, span }) {
    const keep = op.axis === 0 && ys.length === 3;
    placement(op, xs, ys).forEach(({ offset, out }, j) => {
      if (!dx[j]) return;
      const d = dims5(n, xs[j]);
      k.strided(0, ...d, ...strides5(size(ys), out), ...strides5(size(xs[j]), contiguous(xs[j])), dy + offset * 4, dx[j]);
    });
    return xs.map(() => (keep ? span : null));
  },
  field: (op, fields) => unionField(fields),
};

// Along channels, positions are kept: elementwise. Along a spatial axis, a change moves: recomputed whole.
const byChannel = elementwise(() => concat);
concat.region = {
  affected: (op, spans, xs, ys) => (op.axis === 0 ? byChannel.affected(op, spans, xs, ys)
    : spans.some((s) => s) ? { y0: 0, y1: ys[1], x0: 0, x1: ys[2] } : undefined),
  reads: (op, out, j, xs, ys) => (op.axis === 0 ? byChannel.reads(op, out, j, xs, ys) : { y0: 0, y1: xs[j][1], x0: 0, x1: xs[j][2] }),
  forwardCrop: byChannel.forwardCrop,
};

concat.onnx = {
  Concat(m) {
    m.attrs.allow('axis');
    const n = m.inputCount();
    const parts = [...Array(n).keys()].filter((j) => m.has(j));
    const rank = m.rank(m.data(parts.find((j) => m.isData(j))!).shape);
    // A constant part becomes a constant tensor on the data path.
    const xs = parts.map((j) => {
      if (m.isData(j)) return m.data(j);
      const c = m.constant(j, 'input')!;
      const shape = m.constantShape(c, rank, 'a constant input');
      if (shape.length !== rank - (m.wholeTensor ? 0 : 1)) throw m.fail(`the constant input [${c.dims.join(', ')}] does not have the data's rank`);
      const id = m.emit({ kind: 'constant', shape, inputs: [] }, [], { value: { values: c.values(), scale: 1 } });
      return { id, shape };
    });
    const axis = m.axis(m.attrs.int('axis', 1)!, rank);
    if (xs.length === 1) return m.alias(xs[0].id);
    m.emit({ kind: 'concat', axis }, xs.map((x) => x.id));
  },
};
