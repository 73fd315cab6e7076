/**
 * A fully connected layer on each image's flattened input: y = W x + b, W stored [units, inputs]
 * (Gemm, MatMul + Add). Backward: W^T dy, reshaped to the input (every unit sees everything).
 */
import { ArgumentError } from '../../errors.js';
import type { DenseOp, Shape } from '../../graph/layers.js';

import type { OpDef } from './types.js';
import type { Transfer } from '../../onnx/map-context.js';
import { transferOf } from '../../onnx/spatial.js';
import type { MapContext } from '../../onnx/map-context.js';
import { GLOBAL_FIELD, only, size } from './util.js';

/** Rows (vectors multiplied per image) and their length. */
function rows(op: DenseOp, xs: Shape): [number, number] {
  return op.lastAxis ? [size(xs.slice(0, -1)), xs[xs.length - 1]] : [1, size(xs)];
}

export const dense: OpDef<DenseOp> = {
  kind: 'dense',
  shape(op, inputs) {
    const x = only(inputs, 'a dense layer');
    if (op.lastAxis && x.length < 1) throw new ArgumentError('a matrix product over the last axis needs an axis');
    return op.lastAxis ? [...x.slice(0, -1), op.units] : [op.units];
  },
  params(op, inputs) {
    const p: Record<string, number[]> = { weight: [op.units, rows(op, only(inputs, 'a dense layer'))[1]] };
    if (op.bias) p.bias = [op.units];
    return p;
  },
  forward(op, { k, n, x: [x], xs: [xs], y, p }) {
    const [r, length] = rows(op, xs);
    k.dense(n * r, length, op.units, x, p.weight, p.bias ?? 0, y);
  },
  backward(op, { k, n, xs: [xs], dy, dx: [dx], p }) {
    const [r, length] = rows(op, xs);
    k.denseTranspose(n * r, length, op.units, dy, p.weight, dx);
    return [null];
  },
  weightGrads(op, { k, n, x: [x], xs: [xs], dy }, grads) {
    const [r, length] = rows(op, xs);
    k.denseWeightGrad(n * r, length, op.units, x, dy, grads.weight, grads.bias ?? 0);
  },
  field: (op, [rf]) => GLOBAL_FIELD(rf),
  macs: (op, [xs]) => size(xs) * op.units,
};

dense.onnx = {
  Gemm(m) {
    const a = m.attrs;
    a.allow('alpha', 'beta', 'transA', 'transB', 'broadcast');
    const x = m.data(0);
    if (m.wholeTensor) return gemmWhole(m);
    if (a.int('transA', 0) !== 0) m.needsWholeTensor();
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
      if (rowsOfC !== 1) m.needsWholeTensor(); // a bias per row of the batch: the whole-tensor form has it
      if (n !== units && n !== 1) throw m.fail(`bias C [${c!.dims.join(', ')}] does not fit ${units} units`);
      params.bias = { ...transferOf(c!, beta), broadcast: n === 1 && units !== 1 };
    }
    m.emit({ kind: 'dense', units, bias: withBias }, [x.id], params);
  },
  MatMul(m) {
    m.attrs.allow();
    const x = m.data(0);
    if (!m.isData(0) || m.isData(1)) throw m.fail('multiplies by a data tensor; only data x a constant matrix is supported');
    const b = m.constant(1, 'weight B')!;
    const last = x.shape[x.shape.length - 1];
    if (b.dims.length !== 2 || b.dims[0] !== last || b.int) {
      throw m.fail(`weight B [${b.dims.join(', ')}] does not fit an input whose last axis has ${last} values`);
    }
    const [rows, units] = b.dims;
    const lastAxis = x.shape.length !== 1 || m.wholeTensor;
    m.emit({ kind: 'dense', units, bias: false, ...(lastAxis ? { lastAxis } : {}) }, [x.id],
      { weight: { ...transferOf(b), transpose: [rows, units] } });
  },
};

/** Gemm on a whole [M, K] tensor (no batch axis): (transpose), a product per row, (a bias). */
function gemmWhole(m: MapContext): void {
  const a = m.attrs;
  let x = m.data(0);
  if (x.shape.length !== 2) throw m.fail(`needs a 2-D input, got [${x.shape.join(', ')}]`);
  if (a.int('transA', 0) !== 0) {
    const id = m.emit({ kind: 'transpose', perm: [1, 0] }, [x.id], undefined, -1);
    x = { id, shape: [x.shape[1], x.shape[0]] };
  }
  const transB = a.int('transB', 0) !== 0;
  const b = m.constant(1, 'weight B')!;
  if (b.dims.length !== 2 || b.int) throw m.fail(`weight B [${b.dims.join(', ')}] is not a 2-D float matrix`);
  const [rows, cols] = b.dims;
  const units = transB ? rows : cols;
  if ((transB ? cols : rows) !== x.shape[1]) throw m.fail(`weight B [${b.dims.join(', ')}] does not fit rows of ${x.shape[1]} values`);
  const weight = { ...transferOf(b, a.float('alpha', 1)), ...(transB ? {} : { transpose: [rows, cols] as [number, number] }) };
  const c = m.constant(2, 'bias C', false);
  const beta = a.float('beta', 1);
  const withBias = !!c && beta !== 0;
  const id = m.emit({ kind: 'dense', units, bias: false, lastAxis: true }, [x.id], { weight }, withBias ? -1 : 0);
  if (withBias) {
    const shape = m.constantShape(c!, 2, 'bias C');
    m.emit({ kind: 'binary', fn: 'add', constant: { shape, side: 1 } }, [id], { b: { values: c!.values(), scale: beta } });
  }
}

dense.onnxExport = {
  point: 'fc',
  write(op, x) {
    if (op.lastAxis) throw new ArgumentError(`${x.networkName} op ${x.index}: a product over the last axis cannot be exported`);
    const w = x.weights([op.units, size(x.input)], op.bias);
    if (x.input.length !== 1) x.current = x.flatten();
    const ins = [x.current, x.addFloats(`${x.layer}.weight`, w.shape, w.weight)];
    // Gemm's C is optional only from opset 11.
    const bias = w.bias ?? (x.opset < 11 ? new Float32Array(op.units) : undefined);
    if (bias) ins.push(x.addFloats(`${x.layer}.bias`, [op.units], bias));
    x.current = x.emit('Gemm', x.name, ins, { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 }, x.out);
  },
};
