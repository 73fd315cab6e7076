// Making onnxruntime return a model's intermediate tensors: read just enough of an ONNX file's
// graph (node inputs/outputs and op types, graph inputs with their dims, initializer and
// Constant element types) to know which tensors exist and which are float, and splice extra
// graph outputs into the file's bytes.
//
// Wire format: every field is a varint key (field << 3 | wire type), then a varint (0), 8 bytes
// (1), a varint length and that many bytes (2) or 4 bytes (5). Repeated fields may appear in any
// order and a message may be extended by appending fields, so the graph (ModelProto field 7)
// is re-encoded as its old bytes followed by the new `output` entries (GraphProto field 12,
// ValueInfoProto {1: name, 2: TypeProto {1: tensor_type {1: elem_type}}}) under a new length.
// Everything else in the file is copied as is. Written for trusted test fixtures, not hostile files.

/** TensorProto.DataType values met here. */
export const FLOAT = 1;
export const INT64 = 7;
export const BOOL = 9;

export interface GraphNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
}

export interface GraphValue {
  name: string;
  /** Element type (TensorProto.DataType), 0 when not given. */
  elemType: number;
  /** Dimensions; a symbolic dimension is -1. */
  dims: number[];
}

export interface GraphInfo {
  nodes: GraphNode[];
  /** Graph inputs that are not initializers. */
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** Element type of every tensor whose type is known or inferred (see tensorTypes). */
  types: Map<string, number>;
}

interface Field { field: number; wire: number; start: number; end: number; value: number }

/** The fields of the message in bytes[start, end): for LEN fields, [start, end) is the payload. */
function fields(bytes: Uint8Array, start = 0, end = bytes.length): Field[] {
  const out: Field[] = [];
  let p = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (p >= end) throw new Error(`truncated varint at byte ${p}`);
      const b = bytes[p++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (p < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const s = p;
      out.push({ field, wire, start: s, end: p, value: varint() });
    } else if (wire === 2) {
      const len = varint();
      if (p + len > end) throw new Error(`field ${field} runs past its message at byte ${p}`);
      out.push({ field, wire, start: p, end: p + len, value: len });
      p += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      out.push({ field, wire, start: p, end: p + len, value: 0 });
      p += len;
    } else {
      throw new Error(`wire type ${wire} at byte ${p}`);
    }
  }
  return out;
}

const text = new TextDecoder();
const str = (bytes: Uint8Array, f: Field): string => text.decode(bytes.subarray(f.start, f.end));
const sub = (bytes: Uint8Array, f: Field): Field[] => fields(bytes, f.start, f.end);
const first = (fs: Field[], n: number): Field | undefined => fs.find((f) => f.field === n);

function graphField(bytes: Uint8Array): Field {
  const g = fields(bytes).find((f) => f.field === 7 && f.wire === 2);
  if (!g) throw new Error('no graph in this ModelProto');
  return g;
}

function valueInfo(bytes: Uint8Array, f: Field): GraphValue {
  const vi = sub(bytes, f);
  const name = str(bytes, first(vi, 1)!);
  const type = first(vi, 2);
  const tensor = type && first(sub(bytes, type), 1);
  const tf = tensor ? sub(bytes, tensor) : [];
  const elem = first(tf, 1);
  const shape = first(tf, 2);
  const dims = shape ? sub(bytes, shape).filter((d) => d.field === 1).map((d) => {
    const value = first(sub(bytes, d), 1);
    return value ? value.value : -1;
  }) : [];
  return { name, elemType: elem?.value ?? 0, dims };
}

/** Read a model's graph: nodes, inputs, outputs, and the element type of every tensor. */
export function readGraph(bytes: Uint8Array): GraphInfo {
  const graph = sub(bytes, graphField(bytes));
  const nodes: GraphNode[] = [];
  const attrs: Map<string, Field[]>[] = [];
  const types = new Map<string, number>();
  for (const f of graph) {
    if (f.field === 5) { // initializer: TensorProto {2: data_type, 8: name}
      const t = sub(bytes, f);
      types.set(str(bytes, first(t, 8)!), first(t, 2)?.value ?? 0);
    } else if (f.field === 1) { // NodeProto {1: input, 2: output, 3: name, 4: op_type, 5: attribute}
      const n = sub(bytes, f);
      nodes.push({
        opType: str(bytes, first(n, 4)!),
        name: first(n, 3) ? str(bytes, first(n, 3)!) : '',
        inputs: n.filter((x) => x.field === 1).map((x) => str(bytes, x)),
        outputs: n.filter((x) => x.field === 2).map((x) => str(bytes, x)),
      });
      const a = new Map<string, Field[]>();
      for (const af of n.filter((x) => x.field === 5)) {
        const fs = sub(bytes, af);
        a.set(str(bytes, first(fs, 1)!), fs);
      }
      attrs.push(a);
    }
  }
  const all = graph.filter((f) => f.field === 11).map((f) => valueInfo(bytes, f));
  const inputs = all.filter((v) => !types.has(v.name));
  const outputs = graph.filter((f) => f.field === 12).map((f) => valueInfo(bytes, f));
  for (const v of inputs) types.set(v.name, v.elemType);
  // Element types of node outputs, in graph (topological) order.
  nodes.forEach((node, i) => {
    const a = attrs[i];
    let t: number | undefined;
    switch (node.opType) {
      case 'Shape': case 'Size': case 'NonZero': case 'ArgMax': case 'ArgMin': t = INT64; break;
      case 'Equal': case 'Less': case 'Greater': case 'LessOrEqual': case 'GreaterOrEqual':
      case 'Not': case 'And': case 'Or': case 'Xor': case 'IsNaN': case 'IsInf': t = BOOL; break;
      case 'Cast': t = first(a.get('to') ?? [], 3)?.value; break;
      case 'Constant': case 'ConstantOfShape': {
        // AttributeProto {5: t (TensorProto {2: data_type})}, or value_float / value_int(s).
        const value = a.get('value');
        const tensor = value && first(value, 5);
        t = tensor ? (first(sub(bytes, tensor), 2)?.value ?? 0)
          : a.has('value_int') || a.has('value_ints') ? INT64 : FLOAT;
        break;
      }
      default: t = node.inputs.map((n) => types.get(n)).find((x) => x !== undefined && x !== 0);
    }
    if (t !== undefined) for (const o of node.outputs) if (o) types.set(o, t);
  });
  return { nodes, inputs, outputs, types };
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) { out.push((v % 128) | 0x80); v = Math.floor(v / 128); }
  out.push(v);
  return out;
}

function len(field: number, payload: number[] | Uint8Array): number[] {
  return [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
}

/** `bytes` with `names` appended to the graph's outputs, each declared with its element type. */
export function withOutputs(bytes: Uint8Array, names: { name: string; elemType: number }[]): Uint8Array {
  const g = graphField(bytes);
  const extra: number[] = [];
  for (const { name, elemType } of names) {
    const tensorType = [...varint(1 * 8 + 0), ...varint(elemType)];
    const typeProto = len(1, tensorType);
    extra.push(...len(12, [...len(1, new TextEncoder().encode(name)), ...len(2, typeProto)]));
  }
  // The graph field's key (one byte: 7 << 3 | 2 = 58) and old length precede its payload.
  let keyStart = g.start - varint(g.value).length;
  keyStart -= 1;
  if (bytes[keyStart] !== 58) throw new Error('unexpected graph key encoding');
  const head = [58, ...varint(g.value + extra.length)];
  const out = new Uint8Array(keyStart + head.length + g.value + extra.length + (bytes.length - g.end));
  out.set(bytes.subarray(0, keyStart), 0);
  let p = keyStart;
  out.set(head, p); p += head.length;
  out.set(bytes.subarray(g.start, g.end), p); p += g.value;
  out.set(extra, p); p += extra.length;
  out.set(bytes.subarray(g.end), p);
  return out;
}
