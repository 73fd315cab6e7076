// Reading ONNX's backend node tests (onnx/backend/test/data/node/test_*/: model.onnx and
// test_data_set_N/{input,output}_N.pb, serialized TensorProto), as Debian's libonnx-testdata
// installs them. A small protobuf decoder of its own, independent of src/onnx, so the harness
// keeps working while the importer is rewritten: it reads only what selecting and running a
// test needs (the nodes' op types, the graph's inputs, outputs and initializer names, and
// tensors' dims, type and values).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(DataType).map(([k, v]) => [v, k.toLowerCase()]));

export function typeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `type ${t}`;
}

export interface OnnxNode { opType: string; domain: string; inputs: string[]; outputs: string[] }

export interface OnnxValue {
  name: string;
  /** 'tensor' for a tensor type, else what it is ('sequence', 'map', 'optional', ...). */
  kind: string;
  /** elem_type of a tensor (0 when absent). */
  elemType: number;
  /** Dimensions: a number, a symbolic name, or undefined when unknown; undefined when there is no shape. */
  dims?: (number | string | undefined)[];
}

export interface OnnxModelInfo {
  opset: number;
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers: Set<string>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** The values, for float, double, int64 and the int32-stored types; undefined for the rest. */
  data?: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

// --- protobuf wire format ---

type Field = { n: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed32?: DataView; fixed64?: DataView };

function readVarint(buf: Uint8Array, at: { pos: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (at.pos >= buf.length) throw new Error('protobuf: truncated varint');
    const b = buf[at.pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return result;
    shift += 7n;
    if (shift > 70n) throw new Error('protobuf: varint too long');
  }
}

function* fields(buf: Uint8Array): Generator<Field> {
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const key = Number(readVarint(buf, at));
    const n = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      yield { n, wire, varint: readVarint(buf, at) };
    } else if (wire === 2) {
      const len = Number(readVarint(buf, at));
      if (at.pos + len > buf.length) throw new Error('protobuf: truncated field');
      yield { n, wire, bytes: buf.subarray(at.pos, at.pos + len) };
      at.pos += len;
    } else if (wire === 5) {
      yield { n, wire, fixed32: new DataView(buf.buffer, buf.byteOffset + at.pos, 4) };
      at.pos += 4;
    } else if (wire === 1) {
      yield { n, wire, fixed64: new DataView(buf.buffer, buf.byteOffset + at.pos, 8) };
      at.pos += 8;
    } else {
      throw new Error(`protobuf: wire type ${wire} not supported`);
    }
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const int64 = (v: bigint) => BigInt.asIntN(64, v);

/** Repeated varints, packed (wire 2) or not (wire 0). */
function varints(f: Field): bigint[] {
  if (f.varint !== undefined) return [int64(f.varint)];
  const out: bigint[] = [];
  const at = { pos: 0 };
  while (at.pos < f.bytes!.length) out.push(int64(readVarint(f.bytes!, at)));
  return out;
}

// --- ONNX messages ---

/** The parts of a ModelProto the harness needs. */
export function readModelInfo(bytes: Uint8Array): OnnxModelInfo {
  let opset = 0;
  let graph: Uint8Array | undefined;
  for (const f of fields(bytes)) {
    if (f.n === 7 && f.bytes) graph = f.bytes;
    if (f.n === 8 && f.bytes) {
      let domain = '';
      let version = 0;
      for (const g of fields(f.bytes)) {
        if (g.n === 1 && g.bytes) domain = text(g.bytes);
        if (g.n === 2 && g.varint !== undefined) version = Number(g.varint);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  const info: OnnxModelInfo = { opset, nodes: [], inputs: [], outputs: [], initializers: new Set() };
  if (!graph) return info;
  for (const f of fields(graph)) {
    if (!f.bytes) continue;
    if (f.n === 1) info.nodes.push(readNode(f.bytes));
    else if (f.n === 5 || f.n === 15) info.initializers.add(readTensorName(f.n === 15 ? sparseValues(f.bytes) : f.bytes));
    else if (f.n === 11) info.inputs.push(readValue(f.bytes));
    else if (f.n === 12) info.outputs.push(readValue(f.bytes));
  }
  return info;
}

function readNode(b: Uint8Array): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', inputs: [], outputs: [] };
  for (const f of fields(b)) {
    if (!f.bytes) continue;
    if (f.n === 1) node.inputs.push(text(f.bytes));
    else if (f.n === 2) node.outputs.push(text(f.bytes));
    else if (f.n === 4) node.opType = text(f.bytes);
    else if (f.n === 7) node.domain = text(f.bytes);
  }
  return node;
}

/** SparseTensorProto: its values tensor (field 1) carries the name. */
function sparseValues(b: Uint8Array): Uint8Array {
  for (const f of fields(b)) if (f.n === 1 && f.bytes) return f.bytes;
  return new Uint8Array(0);
}

function readTensorName(b: Uint8Array): string {
  for (const f of fields(b)) if (f.n === 8 && f.bytes) return text(f.bytes);
  return '';
}

const TYPE_KINDS: Record<number, string> = { 1: 'tensor', 4: 'sequence', 5: 'map', 8: 'sparse tensor', 9: 'optional' };

function readValue(b: Uint8Array): OnnxValue {
  const value: OnnxValue = { name: '', kind: 'unknown', elemType: 0 };
  for (const f of fields(b)) {
    if (f.n === 1 && f.bytes) value.name = text(f.bytes);
    if (f.n !== 2 || !f.bytes) continue;
    for (const t of fields(f.bytes)) {
      if (!t.bytes || !(t.n in TYPE_KINDS)) continue;
      value.kind = TYPE_KINDS[t.n];
      if (t.n !== 1) continue;
      for (const tt of fields(t.bytes)) {
        if (tt.n === 1 && tt.varint !== undefined) value.elemType = Number(tt.varint);
        if (tt.n === 2 && tt.bytes) {
          value.dims = [];
          for (const d of fields(tt.bytes)) {
            if (d.n !== 1 || !d.bytes) continue;
            let dim: number | string | undefined;
            for (const x of fields(d.bytes)) {
              if (x.n === 1 && x.varint !== undefined) dim = Number(int64(x.varint));
              if (x.n === 2 && x.bytes) dim = text(x.bytes);
            }
            value.dims.push(dim);
          }
        }
      }
    }
  }
  return value;
}

/** A serialized TensorProto (input_N.pb / output_N.pb). */
export function readTensor(bytes: Uint8Array): OnnxTensor {
  const t: OnnxTensor = { name: '', dims: [], dataType: 0 };
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const doubles: number[] = [];
  const ints32: number[] = [];
  const ints64: bigint[] = [];
  let external = false;
  for (const f of fields(bytes)) {
    switch (f.n) {
      case 1: t.dims.push(...varints(f).map(Number)); break;
      case 2: t.dataType = Number(f.varint ?? 0); break;
      case 4:
        if (f.fixed32) floats.push(f.fixed32.getFloat32(0, true));
        else if (f.bytes) {
          const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
          for (let i = 0; i + 4 <= f.bytes.length; i += 4) floats.push(v.getFloat32(i, true));
        }
        break;
      case 5: ints32.push(...varints(f).map((x) => Number(BigInt.asIntN(32, x)))); break;
      case 7: ints64.push(...varints(f)); break;
      case 8: if (f.bytes) t.name = text(f.bytes); break;
      case 9: raw = f.bytes; break;
      case 10:
        if (f.fixed64) doubles.push(f.fixed64.getFloat64(0, true));
        else if (f.bytes) {
          const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
          for (let i = 0; i + 8 <= f.bytes.length; i += 8) doubles.push(v.getFloat64(i, true));
        }
        break;
      case 14: external = Number(f.varint ?? 0) === 1; break;
    }
  }
  if (external) return t;
  const count = t.dims.reduce((a, b) => a * b, 1);
  const view = raw && new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (t.dataType) {
    case DataType.FLOAT:
      t.data = view ? Float32Array.from({ length: raw!.length >> 2 }, (_, i) => view.getFloat32(i * 4, true)) : Float32Array.from(floats);
      break;
    case DataType.DOUBLE:
      t.data = view ? Float64Array.from({ length: raw!.length >> 3 }, (_, i) => view.getFloat64(i * 8, true)) : Float64Array.from(doubles);
      break;
    case DataType.INT64:
      t.data = view ? BigInt64Array.from({ length: raw!.length >> 3 }, (_, i) => view.getBigInt64(i * 8, true)) : BigInt64Array.from(ints64);
      break;
    case DataType.INT32:
      t.data = view ? Int32Array.from({ length: raw!.length >> 2 }, (_, i) => view.getInt32(i * 4, true)) : Int32Array.from(ints32);
      break;
    default:
      return t;
  }
  if (t.data.length !== count) throw new Error(`tensor '${t.name}': ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  return t;
}

// --- the test directory ---

export const TESTDATA_DEFAULT = '/usr/share/libonnx-testdata/data/node';

/** Where the node tests are: $ONNX_TESTDATA, else Debian's libonnx-testdata; undefined if neither exists. */
export function findTestdata(): string | undefined {
  const dir = process.env.ONNX_TESTDATA || TESTDATA_DEFAULT;
  return existsSync(dir) ? dir : undefined;
}

export interface BackendCase {
  name: string;
  dir: string;
  model: OnnxModelInfo;
  modelBytes: Uint8Array;
  /**
   * The graph inputs that are not initializers, in order, and their values from
   * test_data_set_0 (read for tensor-typed values only: sequences and optionals are not
   * TensorProto files).
   */
  inputs: { value: OnnxValue; tensor?: OnnxTensor }[];
  outputs: { value: OnnxValue; tensor?: OnnxTensor }[];
}

/** Every test_* directory under `root`, sorted. */
export function listCases(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('test_'))
    .map((d) => d.name)
    .sort();
}

/** One test: its model and test_data_set_0, or the reason it cannot be read. */
export function readCase(root: string, name: string): BackendCase | string {
  const dir = join(root, name);
  const modelPath = join(dir, 'model.onnx');
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(modelPath)) return 'no model.onnx';
  if (!existsSync(set)) return 'no test_data_set_0';
  const modelBytes = new Uint8Array(readFileSync(modelPath));
  const model = readModelInfo(modelBytes);
  const graphInputs = model.inputs.filter((v) => !model.initializers.has(v.name));
  const read = (kind: 'input' | 'output', values: OnnxValue[]) => {
    const out: { value: OnnxValue; tensor?: OnnxTensor }[] = [];
    for (let i = 0; i < values.length; i++) {
      const p = join(set, `${kind}_${i}.pb`);
      if (!existsSync(p)) return `no ${kind}_${i}.pb`;
      const value = values[i];
      out.push({ value, tensor: value.kind === 'tensor' ? readTensor(new Uint8Array(readFileSync(p))) : undefined });
    }
    return out;
  };
  const inputs = read('input', graphInputs);
  if (typeof inputs === 'string') return inputs;
  const outputs = read('output', model.outputs);
  if (typeof outputs === 'string') return outputs;
  return { name, dir, model, modelBytes, inputs, outputs };
}
