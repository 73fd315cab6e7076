/**
 * ReduceMean over some axes of each image's tensor (MnasNet's global pool). Backward spreads
 * each mean's gradient evenly over the values it averaged.
 */
import { ArgumentError } from '../../errors.js';
import type { ReduceMeanOp, Shape } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { contiguous, dims5, strides5 } from './layout.js';
import { GLOBAL_FIELD, only, size } from './util.js';

/** Strides of the output laid over the input's axes, 0 on the reduced ones. */
function reducedStrides(op: ReduceMeanOp, xs: Shape): number[] {
  const kept = contiguous(xs.map((d, i) => (op.axes.includes(i) ? 1 : d)));
  return kept.map((s, i) => (op.axes.includes(i) ? 0 : s));
}

export const reducemean: OpDef<ReduceMeanOp> = {
  kind: 'reducemean',
  shape(op, inputs) {
    const x = only(inputs, 'ReduceMean');
    if (op.axes.some((a) => !(a >= 0 && a < x.length)) || new Set(op.axes).size !== op.axes.length) {
      throw new ArgumentError(`axes [${op.axes.join(', ')}] are not distinct axes of [${x.join(', ')}]`);
    }
    return op.keep ? x.map((d, i) => (op.axes.includes(i) ? 1 : d)) : x.filter((d, i) => !op.axes.includes(i));
  },
  forward(op, { k, n, x: [x], xs: [xs], y, ys }) {
    const count = size(xs) / Math.max(1, size(ys));
    k.fill(y, 0, n * size(ys));
    k.strided(1, ...dims5(n, xs), ...strides5(size(xs), contiguous(xs)), ...strides5(size(ys), reducedStrides(op, xs)), x, y);
    k.unary(7, n * size(ys), 1 / count, 0, y, y);
  },
  backward(op, { k, n, xs: [xs], ys, dy, dx: [dx] }) {
    const count = size(xs) / Math.max(1, size(ys));
    k.strided(0, ...dims5(n, xs), ...strides5(size(ys), reducedStrides(op, xs)), ...strides5(size(xs), contiguous(xs)), dy, dx);
    k.unary(7, n * size(xs), 1 / count, 0, dx, dx);
    return [null];
  },
  field: (op, [rf]) => GLOBAL_FIELD(rf),
};

reducemean.onnx = {
  ReduceMean(m) {
    m.attrs.allow('axes', 'keepdims', 'noop_with_empty_axes');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const raw = m.opset >= 18 ? m.ints(1, 'axes') : m.attrs.ints('axes');
    if ((!raw || raw.length === 0) && m.attrs.int('noop_with_empty_axes', 0)) return m.alias(x.id);
    const axes = (raw && raw.length ? raw : [...Array(rank).keys()]).map((a) => m.axis(a, rank));
    m.emit({ kind: 'reducemean', axes: [...new Set(axes)].sort((p, q) => p - q), keep: m.attrs.int('keepdims', 1) !== 0 }, [x.id]);
  },
};
