/**
 * networkToOnnx: a Network and its weights as an ONNX ModelProto (the bytes of a .onnx file).
 *
 * Used to run our architectures in onnxruntime (tests, benchmarks) and to export trained
 * models. The graph is the network op for op, each written by its op file's `onnxExport`
 * (src/engine/ops/), with the same semantics:
 *
 *   conv     -> Conv (kernel_shape, strides, pads [top, left, bottom, right], group, dilations 1)
 *   relu     -> Relu
 *   maxpool  -> MaxPool (pads, ceil_mode; before opset 10 ceil mode is written as end pads)
 *   avgpool  -> AveragePool (pads, ceil_mode, count_include_pad)
 *   lrn      -> LRN (size, alpha, beta, bias: the same constants, alpha divided by size in both)
 *   dense    -> Gemm(transB=1), preceded by Flatten(axis=1) when its input is spatial
 *   flatten  -> Flatten(axis=1)
 *   dropout  -> Dropout (identity at inference; ratio as attribute, or input from opset 12)
 *   softmax  -> Softmax (axis 1 before opset 13, -1 from 13; a spatial input is flattened first)
 *
 * Names: the input is `[N, C, H, W]` float with a dynamic batch `N`. Conv and dense nodes and
 * their output tensors take the layer names of src/graph/names.ts (`conv1`.., `fc6`..); the
 * ops after a layer are `<layer>/<point>` (`conv1/relu`, `conv1/pool`, `conv1/norm`,
 * `fc6/dropout`; ops before the first layer use `input/...`); weights are `<layer>.weight`
 * and `<layer>.bias`, stored as little-endian `raw_data`. The last op's output is `outputName`.
 */
import { ArgumentError } from '../errors.js';
import type { LayerWeights } from '../engine/model.js';
import type { Network, Shape } from '../graph/layers.js';
import { namedLayers } from '../graph/names.js';
import { inferShapes } from '../graph/shapes.js';
import { OPS, opDef, type OpDef } from '../engine/ops/index.js';
import { checkLayerWeights, type AttrValue, type ExportContext } from './export-context.js';
import { float32LittleEndian, ProtoWriter } from './protobuf-writer.js';

/** Weights per layer name (`conv1`, `fc6`, ...): a map, or a function such as `(n) => model.getWeights(n)`. */
export type WeightSource = Map<string, LayerWeights> | ((layer: string) => LayerWeights | undefined);

export interface OnnxWriteOptions {
  /** The default-domain opset (7-22; default 13). */
  opset?: number;
  /** Name of the graph input (default 'input'). */
  inputName?: string;
  /** Name of the graph output (default 'output'). */
  outputName?: string;
  /** ModelProto.producer_name (default 'zf-visualizer'). */
  producerName?: string;
  /** ModelProto.doc_string, if any. */
  docString?: string;
}

export const DEFAULT_OPSET = 13;
const MIN_OPSET = 7;
const MAX_OPSET = 22;

// onnx.proto enums and field numbers (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
const TensorType = { FLOAT: 1, INT64: 7 } as const;
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
const F = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 },
  opset: { domain: 1, version: 2 },
  stringEntry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5 },
  attr: { name: 1, f: 2, i: 3, s: 4, floats: 7, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;


interface Node {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

interface Initializer {
  name: string;
  dims: number[];
  type: number;
  bytes: Uint8Array;
}

/**
 * The IR version a given opset needs: ONNX 1.8 (IR 7) introduced opset 13 and 1.9 opset 14;
 * later releases raised both (onnx/helper.py VERSION_TABLE).
 */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** A network and its weights as the bytes of an ONNX model. Throws ArgumentError naming what does not fit. */
export function networkToOnnx(network: Network, weights: WeightSource, options: OnnxWriteOptions = {}): Uint8Array {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ArgumentError(`opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  }
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  if (!inputName || !outputName || inputName === outputName) {
    throw new ArgumentError(`input and output names must be distinct non-empty strings, got '${inputName}' and '${outputName}'`);
  }
  if (network.ops.length === 0) throw new ArgumentError(`${network.name}: a network without ops cannot be exported`);
  const getWeights = typeof weights === 'function' ? weights : (name: string) => weights.get(name);

  const shapes = inferShapes(network);
  network.ops.forEach((op, i) => {
    if (!opDef(op).onnxExport || (op.inputs && (op.inputs.length !== 1 || op.inputs[0] !== i - 1))) {
      const kinds = Object.values(OPS).filter((d) => (d as OpDef).onnxExport).map((d) => d.kind);
      throw new ArgumentError(`${network.name}: op ${i} (${op.kind}) cannot be exported; the ONNX writer writes ` +
        `chains of ${kinds.join(', ')} (import the original file instead)`);
    }
  });
  const inputShape = (i: number): Shape => (i === 0 ? [...network.input] : shapes[i - 1]);
  const layerAt = new Map(namedLayers(network).map((l) => [l.op, l.name]));

  const nodes: Node[] = [];
  const initializers: Initializer[] = [];
  const used = new Set<string>([inputName, outputName]);
  /** A fresh tensor/node name: `base`, else `base_2`, `base_3`, ... */
  const unique = (base: string): string => {
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const addFloats = (base: string, dims: number[], data: Float32Array): string => {
    const name = unique(base);
    initializers.push({ name, dims, type: TensorType.FLOAT, bytes: float32LittleEndian(data) });
    return name;
  };
  const addInt64s = (name: string, values: number[]): string => {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, k) => view.setBigInt64(k * 8, BigInt(v), true));
    const unused = unique(name);
    initializers.push({ name: unused, dims: [values.length], type: TensorType.INT64, bytes });
    return unused;
  };

  let owner = 'input';      // the layer the current op follows, for names
  let current = inputName;  // the tensor flowing into the next op
  const last = network.ops.length - 1;

  /** Append a node reading `inputs`; returns its output tensor. */
  const emit = (op: string, name: string, inputs: string[], attrs: Node['attrs'] = {}, output = name): string => {
    nodes.push({ op, name, inputs, outputs: [output], attrs });
    return output;
  };
  const flatten = (): string => {
    const name = unique(`${owner}/flatten`);
    return emit('Flatten', name, [current], { axis: 1 });
  };

  network.ops.forEach((op, i) => {
    const layer = layerAt.get(i);
    if (layer) owner = layer;
    const exporter = opDef(op).onnxExport!;
    // Name of this op's node, and of its output tensor unless it is the graph output.
    const name = layer ? unique(layer) : unique(`${owner}/${exporter.point}`);
    const context: ExportContext = {
      opset, networkName: network.name, index: i, layer, name, out: i === last ? outputName : name, input: inputShape(i),
      get current() { return current; },
      set current(t: string) { current = t; },
      emit, unique, addFloats, addInt64s, flatten,
      weights: (shape, hasBias) => checkLayerWeights(getWeights(layer!), layer!, shape, hasBias),
    };
    exporter.write(op, context);
  });

  const outShape = shapes[last];
  const graph = new ProtoWriter();
  for (const node of nodes) graph.message(F.graph.node, encodeNode(node));
  graph.string(F.graph.name, network.name);
  for (const init of initializers) graph.message(F.graph.initializer, encodeTensor(init));
  graph.message(F.graph.input, encodeValueInfo(inputName, [...network.input]));
  graph.message(F.graph.output, encodeValueInfo(outputName, outShape));

  const model = new ProtoWriter()
    .int(F.model.irVersion, irVersionFor(opset))
    .string(F.model.producerName, options.producerName ?? 'zf-visualizer');
  if (options.docString) model.string(F.model.docString, options.docString);
  model.message(F.model.graph, graph);
  model.message(F.model.opsetImport, new ProtoWriter().string(F.opset.domain, '').int(F.opset.version, opset));
  const metadata: [string, string][] = [['preprocess', network.preprocess]];
  if (network.labels) metadata.push(['labels', JSON.stringify(network.labels)]);
  for (const [key, value] of metadata) {
    model.message(F.model.metadataProps, new ProtoWriter().string(F.stringEntry.key, key).string(F.stringEntry.value, value));
  }
  return model.finish();
}

function encodeNode(node: Node): ProtoWriter {
  const p = new ProtoWriter()
    .repeatedStrings(F.node.input, node.inputs)
    .repeatedStrings(F.node.output, node.outputs)
    .string(F.node.name, node.name)
    .string(F.node.opType, node.op);
  for (const [name, value] of Object.entries(node.attrs)) p.message(F.node.attribute, encodeAttribute(name, value));
  return p;
}

function encodeAttribute(name: string, value: AttrValue): ProtoWriter {
  const a = new ProtoWriter().string(F.attr.name, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: ${value} is not an integer`);
    return a.int(F.attr.i, value).int(F.attr.type, AttrType.INT);
  }
  if (typeof value === 'string') return a.string(F.attr.s, value).int(F.attr.type, AttrType.STRING);
  if (Array.isArray(value)) return a.repeatedInts(F.attr.ints, value).int(F.attr.type, AttrType.INTS);
  if ('float' in value) return a.float(F.attr.f, value.float).int(F.attr.type, AttrType.FLOAT);
  return a.repeatedFloats(F.attr.floats, value.floats).int(F.attr.type, AttrType.FLOATS);
}

function encodeTensor(t: Initializer): ProtoWriter {
  return new ProtoWriter()
    .repeatedInts(F.tensor.dims, t.dims)
    .int(F.tensor.dataType, t.type)
    .string(F.tensor.name, t.name)
    .bytes(F.tensor.rawData, t.bytes);
}

/** A float tensor `[N, ...shape]` with a dynamic batch dimension named N. */
function encodeValueInfo(name: string, shape: Shape): ProtoWriter {
  const dims = new ProtoWriter().message(F.shape.dim, new ProtoWriter().string(F.dim.param, 'N'));
  for (const d of shape) dims.message(F.shape.dim, new ProtoWriter().int(F.dim.value, d));
  const tensorType = new ProtoWriter().int(F.tensorType.elemType, TensorType.FLOAT).message(F.tensorType.shape, dims);
  return new ProtoWriter()
    .string(F.valueInfo.name, name)
    .message(F.valueInfo.type, new ProtoWriter().message(F.type.tensorType, tensorType));
}
