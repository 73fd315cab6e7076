/**
 * Constant tensors of an ONNX graph while it is mapped: initializers, Constant nodes, values
 * bound by the caller (`constants` option) and what folding computes from them (shape
 * arithmetic, small weights). A file tensor is read only when its values are needed, so large
 * weights go from the file straight into the model's memory (src/onnx/read.ts).
 */
import { ModelFormatError } from '../errors.js';
import type { ByteSource } from './protobuf-reader.js';
import { DataType, dataTypeName, type TensorRef } from './proto.js';
import { elementCount, readFloats, readInts } from './tensor-data.js';

/** Largest constant folded or read whole (2^24 values): shapes, indices and per-channel constants are far smaller. */
export const MAX_CONSTANT_VALUES = 2 ** 24;

export interface Const {
  dims: number[];
  /** Integer-valued (shapes, indices, booleans) rather than float. */
  int: boolean;
  /** The file tensor it is, when it is one. */
  ref?: TensorRef;
  /** The values, read or computed (float64: exact for every int32 and float32). */
  values(): Float64Array;
}

const INT_TYPES = new Set<number>([DataType.INT64, DataType.INT32, DataType.BOOL, 2, 3, 4, 5, 12, 13]);
const FLOAT_TYPES = new Set<number>([DataType.FLOAT]);

export function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function fromValues(dims: number[], values: ArrayLike<number>, int: boolean): Const {
  const data = Float64Array.from(values);
  if (data.length !== count(dims)) throw new ModelFormatError(`a constant of shape [${dims.join(', ')}] holds ${data.length} values`);
  return { dims, int, values: () => data };
}

/** A file tensor as a constant; its values are read on first use. */
export function fromTensor(source: ByteSource, t: TensorRef): Const {
  elementCount(t); // absurd or negative dims are refused up front, before anything reads them
  const int = INT_TYPES.has(t.dataType);
  if (!int && !FLOAT_TYPES.has(t.dataType)) {
    return { dims: t.dims, int, ref: t, values: () => { throw new ModelFormatError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}; only FLOAT and integer tensors are supported`); } };
  }
  let cache: Float64Array | undefined;
  return {
    dims: t.dims, int, ref: t,
    values() {
      if (cache) return cache;
      const n = elementCount(t);
      if (n > MAX_CONSTANT_VALUES) throw new ModelFormatError(`tensor '${t.name}' has ${n} values, too many to compute with at load`);
      if (int) {
        cache = Float64Array.from(readInts(source, t));
      } else {
        const f = new Float32Array(n);
        readFloats(source, t, 0, f);
        cache = Float64Array.from(f);
      }
      return cache;
    },
  };
}

/** Row-major strides. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let step = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = step; step *= dims[i]; }
  return s;
}

/** numpy broadcasting of full shapes; undefined when they do not broadcast. */
export function broadcast(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Elementwise f(a, b) with broadcasting. */
export function elementwise(a: Const, b: Const, f: (x: number, y: number) => number, int: boolean, what: string): Const {
  const dims = broadcast(a.dims, b.dims);
  if (!dims) throw new ModelFormatError(`${what}: shapes [${a.dims}] and [${b.dims}] cannot be broadcast`);
  const av = a.values(), bv = b.values();
  const n = count(dims);
  const out = new Float64Array(n);
  const sa = broadcastStrides(a.dims, dims), sb = broadcastStrides(b.dims, dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < dims.length; d++) { ia += idx[d] * sa[d]; ib += idx[d] * sb[d]; }
    out[i] = f(av[ia], bv[ib]);
    for (let d = dims.length - 1; d >= 0; d--) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
  }
  return { dims, int, values: () => out };
}

function broadcastStrides(dims: readonly number[], out: readonly number[]): number[] {
  const own = stridesOf(dims);
  return out.map((d, j) => {
    const i = j - (out.length - dims.length);
    return i < 0 || dims[i] === 1 ? 0 : own[i];
  });
}

/** Gather of a general strided view: out[idx] = values[offset + sum idx_k * strides_k]. */
export function strided(c: Const, dims: number[], offset: number, strides: number[]): Const {
  const v = c.values();
  const n = count(dims);
  const out = new Float64Array(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = offset;
    for (let d = 0; d < dims.length; d++) at += idx[d] * strides[d];
    out[i] = v[at];
    for (let d = dims.length - 1; d >= 0; d--) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
  }
  return { dims, int: c.int, values: () => out };
}
