/**
 * ONNX's ModelProto, decoded into plain objects: the structure only. Weight data is not read:
 * a tensor records where its data lies in the file (`TensorData`), and the importer later copies
 * it straight into the model's memory. Field numbers are those of onnx.proto
 * (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). Fields we do not use are skipped
 * without being decoded (doc strings, value_info, training info, functions, sub-graphs).
 *
 * Every list is capped (MAX_*), so a hostile file cannot make us build millions of objects;
 * everything else is bounded by the file's size.
 */
import { ModelFormatError } from '../errors.js';
import { ProtoReader, Wire, type ByteSource } from './protobuf-reader.js';

export const MAX_NODES = 100_000;
export const MAX_TENSORS = 100_000;
export const MAX_IO = 10_000;
export const MAX_ATTRIBUTES = 256;
export const MAX_NODE_IO = 1024;
export const MAX_ATTRIBUTE_VALUES = 4096;
export const MAX_DIMS = 16;
/** int32/int64 tensors are only read for shapes; more values than this are not plausible there. */
export const MAX_INT_VALUES = 4096;
export const MAX_FRAGMENTS = 4096;

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;
const DATA_TYPE_NAMES = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k])) as Record<number, string>;
export function dataTypeName(t: number): string { return DATA_TYPE_NAMES[t] ?? `data type ${t}`; }

/**
 * Where a tensor's values are in the file: `raw_data` (little-endian bytes), or runs of a typed
 * field (`float_data` etc.), packed (a LEN payload) or unpacked (consecutive key + value pairs).
 */
export interface Fragment { field: number; packed: boolean; start: number; end: number }

export interface TensorRef {
  name: string;
  dims: number[];
  dataType: number;
  raw?: { start: number; end: number };
  fragments: Fragment[];
  /** Set when the tensor keeps its data in another file (data_location EXTERNAL / external_data). */
  external?: string;
  segmented?: boolean;
  /** Values given inline (Constant's value_float(s) / value_int(s)), instead of file data. */
  inline?: number[];
  /** Where it was declared, for messages. */
  where: string;
}

export interface AttributeRef {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  t?: TensorRef;
  floats: number[];
  ints: number[];
  /** A graph, sparse tensor or list of them: present but not decoded. */
  other: boolean;
}

/** AttributeProto.AttributeType. */
export const AttrType = { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface NodeRef {
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: AttributeRef[];
}

export interface ValueInfo {
  name: string;
  elemType?: number;
  /** Dimensions: a number, a symbolic name, or undefined (unknown); undefined shape: no shape given. */
  dims?: (number | string | undefined)[];
}

export interface GraphRef {
  name: string;
  nodes: NodeRef[];
  initializers: TensorRef[];
  sparseInitializers: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface ModelRef {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  graph?: GraphRef;
  metadata: Map<string, string>;
}

/** Decode the ModelProto in `source`. Throws ModelFormatError naming the byte and field at fault. */
export function decodeModel(source: ByteSource): ModelRef {
  if (source.length === 0) throw new ModelFormatError('the file is empty (0 bytes): not an ONNX model');
  const r = new ProtoReader(source, 0, source.length, 'ModelProto');
  const model: ModelRef = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], metadata: new Map() };
  let graphs = 0;
  while (r.next()) {
    switch (r.field) {
      case 1: model.irVersion = r.int('ModelProto.ir_version'); break;
      case 2: model.producerName = r.string('ModelProto.producer_name'); break;
      case 3: model.producerVersion = r.string('ModelProto.producer_version'); break;
      case 7:
        if (++graphs > 1) throw r.error('a second graph: the file is corrupt');
        model.graph = decodeGraph(r.message('ModelProto.graph'));
        break;
      case 8: {
        if (model.opsets.length >= 256) throw r.error('more than 256 opset imports');
        const m = r.message(`ModelProto.opset_import[${model.opsets.length}]`);
        const opset = { domain: '', version: 0 };
        while (m.next()) {
          if (m.field === 1) opset.domain = m.string(`${m.path}.domain`);
          else if (m.field === 2) opset.version = m.int(`${m.path}.version`);
          else m.skip();
        }
        model.opsets.push(opset);
        break;
      }
      case 14: {
        if (model.metadata.size >= 1024) throw r.error('more than 1024 metadata entries');
        const m = r.message(`ModelProto.metadata_props[${model.metadata.size}]`);
        let key = '', value = '';
        while (m.next()) {
          if (m.field === 1) key = m.string(`${m.path}.key`);
          else if (m.field === 2) value = m.string(`${m.path}.value`, 16 << 20);
          else m.skip();
        }
        model.metadata.set(key, value);
        break;
      }
      default:
        checkKnownWire(r);
        r.skip();
    }
  }
  return model;
}

/**
 * Top-level fields of ModelProto have fixed wire types; a mismatch is the quickest sign that
 * a file is not ONNX at all (random bytes), so say so rather than skipping it.
 */
function checkKnownWire(r: ProtoReader): void {
  const expected: Record<number, number> = {
    4: Wire.Len, 5: Wire.Varint, 6: Wire.Len, 20: Wire.Len, 25: Wire.Len,
  };
  const want = expected[r.field];
  if (want !== undefined && want !== r.wire) {
    throw r.error('a field of ModelProto has the wrong wire type: this is not an ONNX model, or it is corrupt');
  }
  if (r.field > 64) throw r.error(`unknown ModelProto field ${r.field}: this is not an ONNX model, or it is corrupt`);
}

function decodeGraph(r: ProtoReader): GraphRef {
  const g: GraphRef = { name: '', nodes: [], initializers: [], sparseInitializers: 0, inputs: [], outputs: [] };
  while (r.next()) {
    switch (r.field) {
      case 1:
        if (g.nodes.length >= MAX_NODES) throw r.error(`more than ${MAX_NODES} nodes`);
        g.nodes.push(decodeNode(r.message(`graph.node[${g.nodes.length}]`), g.nodes.length));
        break;
      case 2: g.name = r.string('graph.name'); break;
      case 5:
        if (g.initializers.length >= MAX_TENSORS) throw r.error(`more than ${MAX_TENSORS} initializers`);
        g.initializers.push(decodeTensor(r.message(`graph.initializer[${g.initializers.length}]`)));
        break;
      case 15: r.skip(); g.sparseInitializers += 1; break;
      case 11:
        if (g.inputs.length >= MAX_IO) throw r.error(`more than ${MAX_IO} graph inputs`);
        g.inputs.push(decodeValueInfo(r.message(`graph.input[${g.inputs.length}]`)));
        break;
      case 12:
        if (g.outputs.length >= MAX_IO) throw r.error(`more than ${MAX_IO} graph outputs`);
        g.outputs.push(decodeValueInfo(r.message(`graph.output[${g.outputs.length}]`)));
        break;
      default: r.skip();
    }
  }
  return g;
}

function decodeNode(r: ProtoReader, index: number): NodeRef {
  const n: NodeRef = { index, name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (r.next()) {
    switch (r.field) {
      case 1:
        if (n.inputs.length >= MAX_NODE_IO) throw r.error(`more than ${MAX_NODE_IO} inputs`);
        n.inputs.push(r.string(`${r.path}.input`));
        break;
      case 2:
        if (n.outputs.length >= MAX_NODE_IO) throw r.error(`more than ${MAX_NODE_IO} outputs`);
        n.outputs.push(r.string(`${r.path}.output`));
        break;
      case 3: n.name = r.string(`${r.path}.name`); break;
      case 4: n.opType = r.string(`${r.path}.op_type`, 1024); break;
      case 7: n.domain = r.string(`${r.path}.domain`, 1024); break;
      case 5:
        if (n.attributes.length >= MAX_ATTRIBUTES) throw r.error(`more than ${MAX_ATTRIBUTES} attributes`);
        n.attributes.push(decodeAttribute(r.message(`${r.path}.attribute[${n.attributes.length}]`)));
        break;
      default: r.skip();
    }
  }
  return n;
}

function decodeAttribute(r: ProtoReader): AttributeRef {
  const a: AttributeRef = { name: '', type: 0, floats: [], ints: [], other: false };
  while (r.next()) {
    switch (r.field) {
      case 1: a.name = r.string(`${r.path}.name`, 4096); break;
      case 20: a.type = r.int(`${r.path}.type`); break;
      case 2: a.f = r.float(`${r.path}.f`); break;
      case 3: a.i = r.int(`${r.path}.i`); break;
      case 4: a.s = r.string(`${r.path}.s`); break;
      case 5: a.t = decodeTensor(r.message(`${r.path}.t`)); break;
      case 7: r.floats(`${r.path}.floats`, a.floats, MAX_ATTRIBUTE_VALUES); break;
      case 8: r.ints(`${r.path}.ints`, a.ints, MAX_ATTRIBUTE_VALUES); break;
      case 6: case 9: case 10: case 11: case 14: case 15: case 22: case 23:
        a.other = true;
        r.skip();
        break;
      default: r.skip();
    }
  }
  return a;
}

function decodeTensor(r: ProtoReader): TensorRef {
  const t: TensorRef = { name: '', dims: [], dataType: 0, fragments: [], where: r.path };
  let location = 0;
  const externalKeys: Record<string, string> = {};
  while (r.next()) {
    switch (r.field) {
      case 1: r.ints(`${r.path}.dims`, t.dims, MAX_DIMS); break;
      case 2: t.dataType = r.int(`${r.path}.data_type`); break;
      case 3: t.segmented = true; r.skip(); break;
      case 8: t.name = r.string(`${r.path}.name`); break;
      case 9: {
        if (t.raw) throw r.error('raw_data given twice');
        t.raw = r.range(`${r.path}.raw_data`);
        break;
      }
      case 4: case 5: case 7: case 10: case 11: {
        // Typed data: remember where it lies; packed runs are one LEN field, unpacked values
        // are key-value pairs, and consecutive ones are merged into one fragment.
        const keyStart = r.fieldStart;
        if (r.wire === Wire.Len) {
          const range = r.range(`${r.path} typed data (field ${r.field})`);
          pushFragment(r, t, { field: r.field, packed: true, start: range.start, end: range.end });
        } else {
          r.skip();
          const last = t.fragments[t.fragments.length - 1];
          if (last && !last.packed && last.field === r.field && last.end === keyStart) last.end = r.pos;
          else pushFragment(r, t, { field: r.field, packed: false, start: keyStart, end: r.pos });
        }
        break;
      }
      case 13: {
        const m = r.message(`${r.path}.external_data`);
        let key = '', value = '';
        while (m.next()) {
          if (m.field === 1) key = m.string(`${m.path}.key`);
          else if (m.field === 2) value = m.string(`${m.path}.value`);
          else m.skip();
        }
        externalKeys[key] = value;
        break;
      }
      case 14: location = r.int(`${r.path}.data_location`); break;
      default: r.skip();
    }
  }
  if (location === 1 || Object.keys(externalKeys).length > 0) t.external = externalKeys.location ?? '(location not given)';
  return t;
}

function pushFragment(r: ProtoReader, t: TensorRef, f: Fragment): void {
  if (t.fragments.length >= MAX_FRAGMENTS) throw r.error(`tensor data split into more than ${MAX_FRAGMENTS} pieces`);
  t.fragments.push(f);
}

function decodeValueInfo(r: ProtoReader): ValueInfo {
  const v: ValueInfo = { name: '' };
  while (r.next()) {
    if (r.field === 1) v.name = r.string(`${r.path}.name`);
    else if (r.field === 2) decodeType(r.message(`${r.path}.type`), v);
    else r.skip();
  }
  return v;
}

function decodeType(r: ProtoReader, v: ValueInfo): void {
  while (r.next()) {
    if (r.field !== 1) { r.skip(); continue; }
    const tt = r.message(`${r.path}.tensor_type`);
    while (tt.next()) {
      if (tt.field === 1) v.elemType = tt.int(`${tt.path}.elem_type`);
      else if (tt.field === 2) {
        v.dims = [];
        const shape = tt.message(`${tt.path}.shape`);
        while (shape.next()) {
          if (shape.field !== 1) { shape.skip(); continue; }
          if (v.dims.length >= MAX_DIMS) throw shape.error(`more than ${MAX_DIMS} dimensions`);
          const d = shape.message(`${shape.path}.dim[${v.dims.length}]`);
          let dim: number | string | undefined;
          while (d.next()) {
            if (d.field === 1) dim = d.int(`${d.path}.dim_value`);
            else if (d.field === 2) dim = d.string(`${d.path}.dim_param`, 4096);
            else d.skip();
          }
          v.dims.push(dim);
        }
      } else tt.skip();
    }
  }
}
