/**
 * A fully connected layer on each image's flattened input: y = W x + b, W stored [units, inputs]
 * (Gemm, MatMul + Add). Backward: W^T dy, reshaped to the input (every unit sees everything).
 */
import type { DenseOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import type { Transfer } from '../../onnx/map-context.js';
import { transferOf } from '../../onnx/spatial.js';
import { GLOBAL_FIELD, only, size } from './util.js';

export const dense: OpDef<DenseOp> = {
  kind: 'dense',
  shape: (op) => [op.units],
  params(op, inputs) {
    const p: Record<string, number[]> = { weight: [op.units, size(only(inputs, 'a dense layer'))] };
    if (op.bias) p.bias = [op.units];
    return p;
  },
  forward(op, { k, n, x: [x], xs: [xs], y, p }) {
    k.dense(n, size(xs), op.units, x, p.weight, p.bias ?? 0, y);
  },
  backward(op, { k, xs: [xs], dy, dx: [dx], p }) {
    k.denseTranspose(1, size(xs), op.units, dy, p.weight, dx);
    return [null];
  },
  field: (op, [rf]) => GLOBAL_FIELD(rf),
  macs: (op, [xs]) => size(xs) * op.units,
};

dense.onnx = {
  Gemm(m) {
    const a = m.attrs;
    a.allow('alpha', 'beta', 'transA', 'transB', 'broadcast');
    const x = m.data(0);
    if (m.wholeTensor) m.needsWholeTensor();
    if (a.int('transA', 0) !== 0) throw a.bad('transA', '1 would transpose the batch axis of the data input; only transA=0 is supported');
    const transB = a.int('transB', 0) !== 0;
    const alpha = a.float('alpha', 1), beta = a.float('beta', 1);
    const inputs = size(x.shape);
    const b = m.constant(1, 'weight B')!;
    if (b.dims.length !== 2 || b.int) throw m.fail(`weight B [${b.dims.join(', ')}] is not a 2-D float matrix`);
    const [rows, cols] = b.dims;
    const units = transB ? rows : cols;
    const k = transB ? cols : rows;
    if (k !== inputs) {
      throw m.fail(`weight B [${b.dims.join(', ')}]${transB ? ' (transB=1)' : ''} takes ${k} inputs, but the data has ${inputs} values per image [${x.shape.join(', ')}]`);
    }
    const c = m.constant(2, 'bias C', false);
    const withBias = !!c && beta !== 0;
    const weight = { ...transferOf(b, alpha), ...(transB ? {} : { transpose: [rows, cols] as [number, number] }) };
    const params: Record<string, Transfer> = { weight };
    if (withBias) {
      const n = c!.dims.reduce((p, d) => p * d, 1);
      const rowsOfC = c!.dims.length === 2 ? c!.dims[0] : 1;
      if (n !== units && n !== 1) throw m.fail(`bias C [${c!.dims.join(', ')}] does not fit ${units} units`);
      if (rowsOfC !== 1) throw m.fail(`bias C [${c!.dims.join(', ')}] varies along the batch; only a bias per unit is supported`);
      params.bias = { ...transferOf(c!, beta), broadcast: n === 1 && units !== 1 };
    }
    m.emit({ kind: 'dense', units, bias: withBias }, [x.id], params);
  },
  MatMul(m) {
    m.attrs.allow();
    const x = m.data(0);
    if (m.wholeTensor) m.needsWholeTensor();
    if (x.shape.length !== 1) {
      throw m.fail(`multiplies a [N, ${x.shape.join(', ')}] tensor: a matrix product over its last axis is not a fully connected layer; flatten it first`);
    }
    const b = m.constant(1, 'weight B')!;
    if (b.dims.length !== 2 || b.dims[0] !== x.shape[0] || b.int) {
      throw m.fail(`weight B [${b.dims.join(', ')}] does not fit an input of ${x.shape[0]} values`);
    }
    const [rows, units] = b.dims;
    m.emit({ kind: 'dense', units, bias: false }, [x.id], { weight: { ...transferOf(b), transpose: [rows, units] } });
  },
};
