/**
 * Add, Sub, Mul, Div and PRelu with ONNX (numpy) broadcasting: two data inputs, or one and a
 * constant (the `b` param: per-channel scales, SE-block constants, biases). Backward is exact:
 * each data input gets its gradient, summed over the axes it was broadcast along.
 */
import type { BinaryOp, Shape } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import type { MapContext } from '../../onnx/map-context.js';
import type { Const } from '../../onnx/consts.js';
import { broadcastShapes, broadcastStrides, dims5, strides5 } from './layout.js';
import { GLOBAL_FIELD, size, unionField } from './util.js';
import { elementwise } from './region.js';

const KIND = { add: 0, sub: 1, mul: 2, div: 3, prelu: 4 } as const;

/** The operands' shapes in order (a, b): data inputs, with the constant at its side. */
function operands(op: BinaryOp, inputs: Shape[]): Shape[] {
  if (!op.constant) return inputs;
  return op.constant.side === 0 ? [op.constant.shape, inputs[0]] : [inputs[0], op.constant.shape];
}

export const binary: OpDef<BinaryOp> = {
  kind: 'binary',
  shape(op, inputs) {
    return broadcastShapes(operands(op, inputs));
  },
  params: (op): Record<string, number[]> => (op.constant ? { b: op.constant.shape } : {}),
  forward(op, { k, n, x, xs, y, ys, p }) {
    const shapes = operands(op, xs);
    const ptrs = op.constant ? (op.constant.side === 0 ? [p.b, x[0]] : [x[0], p.b]) : x;
    const constantSide = op.constant?.side ?? -1;
    const st = shapes.map((s, j) => strides5(j === constantSide ? 0 : size(s), broadcastStrides(s, ys)));
    const d = dims5(n, ys);
    k.binary(KIND[op.fn], d[0], d[1], d[2], d[3], d[4], ...st[0], ...st[1], ptrs[0], ptrs[1], y);
  },
  backward(op, { k, n, x, xs, ys, dy, dx, p, span }) {
    const shapes = operands(op, xs);
    const ptrs = op.constant ? (op.constant.side === 0 ? [p.b, x[0]] : [x[0], p.b]) : x;
    const constantSide = op.constant?.side ?? -1;
    const st = shapes.map((s, j) => strides5(j === constantSide ? 0 : size(s), broadcastStrides(s, ys)));
    const d = dims5(n, ys);
    const spans = xs.map(() => span);
    xs.forEach((s, j) => {
      if (!dx[j]) return;
      const side = op.constant ? 1 - op.constant.side : j;
      const own = strides5(size(s), broadcastStrides(s, ys));
      k.binaryBackward(KIND[op.fn], side, d[0], d[1], d[2], d[3], d[4], ...st[0], ...st[1], ...own,
        ptrs[0], ptrs[1], dy, dx[j]);
      if (!sameShape(s, ys)) spans[j] = null;
    });
    return spans;
  },
  field: (op, fields, xs, out) => (xs.every((s) => sameShape(s, out) || s.length !== 3)
    ? unionField(fields) : GLOBAL_FIELD(unionField(fields))),
};

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}


/** A two-operand node: both data, or one data and one constant. */
function mapBinary(m: MapContext, fn: BinaryOp['fn'], left: number, right: number): number {
  if (m.isData(left) && m.isData(right)) {
    const a = m.data(left), b = m.data(right);
    if (a.shape.length !== b.shape.length && !m.wholeTensor) m.needsWholeTensor();
    return m.emit({ kind: 'binary', fn }, [a.id, b.id]);
  }
  const side: 0 | 1 = m.isData(left) ? 1 : 0;
  const x = m.data(side === 1 ? left : right);
  const c = m.constant(side === 1 ? right : left, side === 1 ? 'B' : 'A')!;
  if (fn === 'add' && foldIntoBias(m, x.id, c)) return x.id;
  const rank = m.rank(x.shape);
  const shape = m.constantShape(c, rank, 'the constant operand');
  return m.emit({ kind: 'binary', fn, constant: { shape, side } }, [x.id], { b: { values: c.values(), scale: 1 } });
}

/**
 * MatMul + Add of a per-unit constant is a fully connected layer with a bias: the Add becomes
 * the dense op's bias when nothing else reads the MatMul's output.
 */
function foldIntoBias(m: MapContext, id: number, c: Const): boolean {
  const dense = m.producer(id);
  const params = m.params(id);
  if (dense?.kind !== 'dense' || dense.bias || !params || m.readers(id) !== 1 || c.int) return false;
  const n = c.dims.reduce((a, b) => a * b, 1);
  if ((n !== dense.units && n !== 1) || c.dims.filter((d) => d !== 1).length > 1) return false;
  dense.bias = true;
  params.bias = { values: c.values(), scale: 1, broadcast: n === 1 && dense.units !== 1 };
  m.alias(id);
  return true;
}

const twoInputs = (fn: BinaryOp['fn']) => (m: MapContext) => {
  m.attrs.allow('broadcast', 'axis');
  if (m.attrs.int('broadcast', 0) && m.attrs.has('axis')) throw m.attrs.bad('axis', 'legacy broadcasting along an axis is not supported');
  if (m.inputCount() !== 2) throw m.fail(`takes 2 inputs, got ${m.inputCount()}`);
  mapBinary(m, fn, 0, 1);
};

binary.region = elementwise(() => binary);

binary.onnx = {
  Add: twoInputs('add'), Sub: twoInputs('sub'), Mul: twoInputs('mul'), Div: twoInputs('div'),
  PRelu(m) {
    m.attrs.allow();
    if (!m.isData(0)) throw m.fail('its input X is a constant');
    mapBinary(m, 'prelu', 0, 1);
  },
  Sum(m) {
    m.attrs.allow();
    const n = m.inputCount();
    if (n === 1) return m.alias(m.data(0).id);
    if (![...Array(n).keys()].some((j) => m.isData(j))) throw m.fail('adds constants only');
    // A chain of Adds, data first; the node's output is the last.
    const order = [...Array(n).keys()].sort((a, b) => Number(m.isData(b)) - Number(m.isData(a)));
    let acc = m.data(order[0]).id;
    order.slice(1).forEach((j, k) => {
      const output = k === n - 2 ? 0 : -1;
      if (m.isData(j)) {
        acc = m.emit({ kind: 'binary', fn: 'add' }, [acc, m.data(j).id], undefined, output);
      } else {
        const c = m.constant(j, 'input')!;
        const shape = m.constantShape(c, m.rank(m.shape(acc)), 'a constant input');
        acc = m.emit({ kind: 'binary', fn: 'add', constant: { shape, side: 1 } }, [acc], { b: { values: c.values(), scale: 1 } }, output);
      }
    });
  },
};
