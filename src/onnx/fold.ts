/**
 * Nodes whose inputs are all constants, computed once at load: the shape arithmetic exporters
 * emit (ShuffleNet's `chunk` is Shape -> Gather -> Div -> Mul -> Slice bounds; torch's view()
 * is Shape -> Gather -> Unsqueeze -> Concat -> Reshape), and small weights prepared by nodes.
 * Shape of a data tensor is known at load too (its batch axis taken as 1, which a Reshape's
 * leading 1 then reads as the batch again).
 */
import { ModelFormatError } from '../errors.js';
import type { Attrs } from './attrs.js';
import { broadcast, count, elementwise, fromValues, stridesOf, strided, type Const } from './consts.js';
import { DataType, type NodeRef, type TensorRef } from './proto.js';

const UNARY: Record<string, (x: number) => number> = {
  Neg: (x) => -x, Sqrt: Math.sqrt, Reciprocal: (x) => 1 / x, Floor: Math.floor, Ceil: Math.ceil, Abs: Math.abs,
  Exp: Math.exp, Log: Math.log, Relu: (x) => Math.max(x, 0), Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};
const BINARY: Record<string, (x: number, y: number, int: boolean) => number> = {
  Add: (x, y) => x + y, Sub: (x, y) => x - y, Mul: (x, y) => x * y,
  Div: (x, y, int) => (int ? Math.trunc(x / y) : x / y), Pow: (x, y) => x ** y,
  Min: (x, y) => Math.min(x, y), Max: (x, y) => Math.max(x, y), Equal: (x, y) => Number(x === y), Less: (x, y) => Number(x < y),
  Greater: (x, y) => Number(x > y),
};
const OTHERS = ['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Reshape', 'Transpose', 'Flatten', 'Cast',
  'ConstantOfShape', 'Range', 'Expand', 'Where', 'Size'];

/** ONNX ops that load-time folding computes. */
export const FOLDABLE: readonly string[] = [...Object.keys(UNARY), ...Object.keys(BINARY), ...OTHERS];

const FLOAT_CASTS = new Set<number>([DataType.FLOAT, 10, 11, 16]);

/**
 * The node's outputs computed from constant inputs, or undefined when its op is not one that
 * folds (the op's own mapping then sees it).
 */
export function foldNode(node: NodeRef, a: Attrs, opset: number, inputs: (Const | undefined)[], where: string,
                         tensor: (t: TensorRef) => Const): Const[] | undefined {
  const op = node.opType;
  const x = inputs[0];
  const need = (j: number, role: string): Const => {
    const c = inputs[j];
    if (!c) throw new ModelFormatError(`${where} has no ${role} input`);
    return c;
  };
  const ints = (c: Const | undefined) => (c ? Array.from(c.values()) : undefined);
  const axisOf = (raw: number, rank: number) => {
    if (!Number.isInteger(raw) || raw < -rank || raw >= rank) throw a.bad('axis', `${raw} is out of range for rank ${rank}`);
    return raw < 0 ? raw + rank : raw;
  };
  if (UNARY[op]) {
    a.allow();
    const c = need(0, 'X');
    const v = c.values().map(UNARY[op]);
    return [fromValues([...c.dims], v, c.int)];
  }
  if (BINARY[op]) {
    a.allow('broadcast', 'axis');
    const l = need(0, 'A'), r = need(1, 'B');
    const int = l.int && r.int;
    const compare = op === 'Equal' || op === 'Less' || op === 'Greater';
    return [elementwise(l, r, (p, q) => BINARY[op](p, q, int), int || compare, where)];
  }
  switch (op) {
    case 'Shape': {
      a.allow('start', 'end');
      const dims = need(0, 'data').dims;
      const r = dims.length;
      const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
      const start = clamp(a.int('start', 0)!), end = clamp(a.int('end', r)!);
      const v = dims.slice(start, Math.max(start, end));
      return [fromValues([v.length], v, true)];
    }
    case 'Size': {
      a.allow();
      return [fromValues([], [count(need(0, 'data').dims)], true)];
    }
    case 'Gather': {
      a.allow('axis');
      const data = need(0, 'data'), idx = need(1, 'indices');
      const axis = axisOf(a.int('axis', 0)!, data.dims.length);
      const len = data.dims[axis];
      const indices = Array.from(idx.values(), (i) => {
        if (!Number.isInteger(i) || i < -len || i >= len) throw new ModelFormatError(`${where}: index ${i} is out of range for axis ${axis} of [${data.dims}]`);
        return i < 0 ? i + len : i;
      });
      const outer = count(data.dims.slice(0, axis)), inner = count(data.dims.slice(axis + 1));
      const v = data.values();
      const out: number[] = [];
      for (let o = 0; o < outer; o++) for (const i of indices) for (let k = 0; k < inner; k++) out.push(v[(o * len + i) * inner + k]);
      return [fromValues([...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)], out, data.int)];
    }
    case 'Unsqueeze': {
      a.allow('axes');
      const c = need(0, 'data');
      const axes = opset >= 13 ? ints(inputs[1]) : a.ints('axes');
      if (!axes) throw new ModelFormatError(`${where} has no axes`);
      const rank = c.dims.length + axes.length;
      const set = new Set(axes.map((v) => axisOf(v, rank)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) dims.push(set.has(i) ? 1 : c.dims[k++]);
      return [fromValues(dims, c.values(), c.int)];
    }
    case 'Squeeze': {
      a.allow('axes');
      const c = need(0, 'data');
      const axes = (opset >= 13 ? ints(inputs[1]) : a.ints('axes'))?.map((v) => axisOf(v, c.dims.length));
      const dims = c.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
      return [fromValues(dims, c.values(), c.int)];
    }
    case 'Concat': {
      a.allow('axis');
      const parts = inputs.filter((c): c is Const => !!c);
      const rank = parts[0].dims.length;
      const axis = axisOf(a.int('axis', 0)!, rank);
      const outer = count(parts[0].dims.slice(0, axis));
      const out: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const p of parts) {
          const chunk = count(p.dims.slice(axis));
          const v = p.values();
          for (let k = 0; k < chunk; k++) out.push(v[o * chunk + k]);
        }
      }
      const dims = [...parts[0].dims];
      dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
      return [fromValues(dims, out, parts.every((p) => p.int))];
    }
    case 'Slice': {
      a.allow('starts', 'ends', 'axes');
      const c = need(0, 'data');
      const rank = c.dims.length;
      const starts = opset >= 10 ? ints(need(1, 'starts'))! : a.ints('starts')!;
      const ends = opset >= 10 ? ints(need(2, 'ends'))! : a.ints('ends')!;
      const axes = (opset >= 10 ? ints(inputs[3]) : a.ints('axes')) ?? starts.map((_, i) => i);
      const steps = (opset >= 10 ? ints(inputs[4]) : undefined) ?? starts.map(() => 1);
      const r = sliceRanges(c.dims, starts, ends, axes.map((v) => axisOf(v, rank)), steps, where);
      const own = stridesOf(c.dims);
      return [strided(c, r.map((x) => x.count), r.reduce((s, x, i) => s + x.start * own[i], 0), r.map((x, i) => x.step * own[i]))];
    }
    case 'Reshape': {
      a.allow('shape', 'allowzero');
      const c = need(0, 'data');
      const target = opset >= 5 ? ints(need(1, 'shape'))! : a.ints('shape')!;
      return [fromValues(reshapeDims(c.dims, target, a.int('allowzero', 0) !== 0, where), c.values(), c.int)];
    }
    case 'Flatten': {
      a.allow('axis');
      const c = need(0, 'input');
      const axis = a.int('axis', 1)!;
      const at = axis < 0 ? axis + c.dims.length : axis;
      return [fromValues([count(c.dims.slice(0, at)), count(c.dims.slice(at))], c.values(), c.int)];
    }
    case 'Transpose': {
      a.allow('perm');
      const c = need(0, 'data');
      const perm = a.ints('perm') ?? c.dims.map((_, i) => c.dims.length - 1 - i);
      const own = stridesOf(c.dims);
      return [strided(c, perm.map((p) => c.dims[p]), 0, perm.map((p) => own[p]))];
    }
    case 'Cast': {
      a.allow('to', 'saturate');
      const c = need(0, 'input');
      const toFloat = FLOAT_CASTS.has(a.int('to', DataType.FLOAT)!);
      const v = toFloat ? c.values() : c.values().map(Math.trunc);
      return [fromValues([...c.dims], toFloat ? Float32Array.from(v) : v, !toFloat)];
    }
    case 'ConstantOfShape': {
      a.allow('value');
      const dims = ints(need(0, 'shape'))!;
      const attr = a.raw('value');
      let value = 0, int = false;
      if (attr?.t) {
        const c = tensor(attr.t);
        int = c.int;
        value = c.values()[0] ?? 0;
      }
      if (count(dims) > 2 ** 24) throw new ModelFormatError(`${where}: a constant of shape [${dims}] is too large`);
      return [fromValues(dims, new Float64Array(count(dims)).fill(value), int)];
    }
    case 'Range': {
      a.allow();
      const [start] = need(0, 'start').values(), [limit] = need(1, 'limit').values(), [delta] = need(2, 'delta').values();
      const n = Math.max(0, Math.ceil((limit - start) / delta));
      if (!(n <= 2 ** 24)) throw new ModelFormatError(`${where}: a range of ${n} values is too large`);
      return [fromValues([n], Array.from({ length: n }, (_, i) => start + i * delta), need(0, 'start').int)];
    }
    case 'Expand': {
      a.allow();
      const c = need(0, 'input');
      const dims = broadcast(c.dims, ints(need(1, 'shape'))!);
      if (!dims) throw new ModelFormatError(`${where}: [${c.dims}] cannot be expanded`);
      return [elementwise(c, fromValues(dims, new Float64Array(count(dims)), c.int), (p) => p, c.int, where)];
    }
    case 'Where': {
      a.allow();
      const cond = need(0, 'condition'), l = need(1, 'X'), r = need(2, 'Y');
      const dims = broadcast(broadcast(cond.dims, l.dims) ?? [], r.dims);
      if (!dims || !broadcast(cond.dims, l.dims)) throw new ModelFormatError(`${where}: shapes [${cond.dims}], [${l.dims}], [${r.dims}] cannot be broadcast`);
      const zeros = fromValues(dims, new Float64Array(count(dims)), true);
      const [k, p, q] = [cond, l, r].map((c) => elementwise(c, zeros, (v) => v, c.int, where).values());
      return [fromValues(dims, k.map((v, i) => (v ? p[i] : q[i])), l.int && r.int)];
    }
    default:
      return undefined;
  }
}

/** ONNX Slice's clamping of starts and ends, per axis of `dims` (axes already normalised). */
export function sliceRanges(dims: readonly number[], starts: number[], ends: number[], axes: number[], steps: number[], where: string):
    { start: number; step: number; count: number }[] {
  const r = dims.map((d) => ({ start: 0, step: 1, count: d }));
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new ModelFormatError(`${where}: starts, ends, axes and steps differ in length`);
  }
  axes.forEach((axis, i) => {
    const d = dims[axis];
    const step = steps[i];
    if (!Number.isInteger(step) || step === 0) throw new ModelFormatError(`${where}: step ${step} must be a non-zero integer`);
    const norm = (v: number) => (v < 0 ? v + d : v);
    let start = norm(starts[i]), end = norm(ends[i]);
    if (step > 0) {
      start = Math.min(Math.max(start, 0), d);
      end = Math.min(Math.max(end, 0), d);
    } else {
      start = Math.min(Math.max(start, -1), d - 1);
      end = Math.min(Math.max(end, -1), d - 1);
    }
    const n = Math.max(0, Math.ceil((end - start) / step));
    r[axis] = { start: n > 0 ? start : 0, step, count: n };
  });
  return r;
}

/** ONNX Reshape's target: 0 copies an axis (unless allowzero), -1 is inferred. */
export function reshapeDims(dims: readonly number[], target: number[], allowZero: boolean, where: string): number[] {
  const total = count(dims);
  let infer = -1;
  const out = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= dims.length) throw new ModelFormatError(`${where}: the target shape [${target}] copies axis ${i}, which the input lacks`);
      return dims[i];
    }
    if (d === -1) {
      if (infer >= 0) throw new ModelFormatError(`${where}: the target shape [${target}] has more than one -1`);
      infer = i;
      return 1;
    }
    if (!(d >= 0) || !Number.isInteger(d)) throw new ModelFormatError(`${where}: the target shape [${target}] has an invalid dimension ${d}`);
    return d;
  });
  if (infer >= 0) {
    const known = count(out);
    if (known === 0 || total % known !== 0) throw new ModelFormatError(`${where}: [${target}] does not divide the ${total} values of [${dims}]`);
    out[infer] = total / known;
  }
  if (count(out) !== total) throw new ModelFormatError(`${where}: [${target}] holds ${count(out)} values, the input [${dims}] has ${total}`);
  return out;
}
