/**
 * Transpose of each image's axes (ShuffleNet's channel shuffle, layout changes). Backward
 * transposes the gradient back.
 */
import { ArgumentError } from '../../errors.js';
import type { TransposeOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { contiguous, dims5, strides5 } from './layout.js';
import { only, size } from './util.js';

function identity(perm: number[]): boolean {
  return perm.every((p, i) => p === i);
}

export const transpose: OpDef<TransposeOp> = {
  kind: 'transpose',
  shape(op, inputs) {
    const x = only(inputs, 'Transpose');
    const seen = new Set(op.perm);
    if (op.perm.length !== x.length || seen.size !== x.length || op.perm.some((p) => !(p >= 0 && p < x.length))) {
      throw new ArgumentError(`perm [${op.perm.join(', ')}] is not a permutation of the ${x.length} axes of [${x.join(', ')}]`);
    }
    return op.perm.map((p) => x[p]);
  },
  forward(op, { k, n, x: [x], xs: [xs], y, ys }) {
    const own = contiguous(xs);
    k.strided(0, ...dims5(n, ys), ...strides5(size(xs), op.perm.map((p) => own[p])),
      ...strides5(size(ys), contiguous(ys)), x, y);
  },
  backward(op, { k, n, xs: [xs], ys, dy, dx: [dx], span }) {
    const own = contiguous(xs);
    k.strided(0, ...dims5(n, ys), ...strides5(size(ys), contiguous(ys)), ...strides5(size(xs), op.perm.map((p) => own[p])), dy, dx);
    return [identity(op.perm) ? span : null];
  },
  field: (op, [rf]) => (identity(op.perm) ? rf : { ...rf, global: true }),
};


transpose.onnx = {
  Transpose(m) {
    m.attrs.allow('perm');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const perm = m.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
    if (perm.length !== rank) throw m.attrs.bad('perm', `[${perm}] does not list the ${rank} axes`);
    if (m.wholeTensor) return void m.emit({ kind: 'transpose', perm }, [x.id]);
    if (perm[0] !== 0) m.needsWholeTensor();
    m.emit({ kind: 'transpose', perm: perm.slice(1).map((p) => p - 1) }, [x.id]);
  },
};
