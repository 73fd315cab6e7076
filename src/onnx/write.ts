/**
 * networkToOnnx: a Network and its weights as an ONNX ModelProto (the bytes of a .onnx file).
 *
 * Used to run our architectures in onnxruntime (tests, benchmarks) and to export trained
 * models. The graph is the network op for op, with the same semantics:
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
import type { Network, Op, Shape } from '../graph/layers.js';
import { namedLayers } from '../graph/names.js';
import { inferShapes, size, windowOut } from '../graph/shapes.js';
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

type AttrValue = number | number[] | { float: number } | { floats: number[] } | string;

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
    if (!(op.kind in POINT_NAMES) || (op.inputs && (op.inputs.length !== 1 || op.inputs[0] !== i - 1))) {
      throw new ArgumentError(`${network.name}: op ${i} (${op.kind}) cannot be exported; the ONNX writer writes ` +
        `chains of ${Object.keys(POINT_NAMES).join(', ')} (import the original file instead)`);
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
    const input = inputShape(i);
    const isLast = i === last;
    // Name of this op's node, and of its output tensor unless it is the graph output.
    const name = layer ? unique(layer) : unique(`${owner}/${POINT_NAMES[op.kind]}`);
    const out = isLast ? outputName : name;

    switch (op.kind) {
      case 'conv': {
        const w = layerWeights(getWeights, layer!, [op.filters, input[0] / op.groups, ...op.kernel], op.bias);
        const inputs = [current, addFloats(`${layer}.weight`, w.shape, w.weight)];
        if (w.bias) inputs.push(addFloats(`${layer}.bias`, [op.filters], w.bias));
        current = emit('Conv', name, inputs, {
          kernel_shape: [...op.kernel], strides: [...op.stride], pads: [...op.pads],
          dilations: [1, 1], group: op.groups,
        }, out);
        return;
      }
      case 'dense': {
        const inputs = size(input);
        const w = layerWeights(getWeights, layer!, [op.units, inputs], op.bias);
        if (input.length !== 1) current = flatten();
        const ins = [current, addFloats(`${layer}.weight`, w.shape, w.weight)];
        // Gemm's C is optional only from opset 11.
        const bias = w.bias ?? (opset < 11 ? new Float32Array(op.units) : undefined);
        if (bias) ins.push(addFloats(`${layer}.bias`, [op.units], bias));
        current = emit('Gemm', name, ins, { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 }, out);
        return;
      }
      case 'relu':
        current = emit('Relu', name, [current], {}, out);
        return;
      case 'maxpool': {
        let pads = [...op.pads];
        const attrs: Node['attrs'] = { kernel_shape: [...op.kernel], strides: [...op.stride] };
        if (op.ceil && opset < 10) {
          pads = ceilAsEndPads(op.kernel, op.stride, op.pads, input, network.name, i);
        } else if (opset >= 10) {
          attrs.ceil_mode = op.ceil ? 1 : 0;
        }
        attrs.pads = pads;
        current = emit('MaxPool', name, [current], attrs, out);
        return;
      }
      case 'avgpool': {
        if (op.ceil && opset < 10) {
          throw new ArgumentError(`${network.name} op ${i}: a ceil-mode average pool needs opset 10 or later, got opset ${opset}`);
        }
        const attrs: Node['attrs'] = {
          kernel_shape: [...op.kernel], strides: [...op.stride], pads: [...op.pads],
          count_include_pad: op.countIncludePad ? 1 : 0,
        };
        if (opset >= 10) attrs.ceil_mode = op.ceil ? 1 : 0;
        current = emit('AveragePool', name, [current], attrs, out);
        return;
      }
      case 'lrn':
        current = emit('LRN', name, [current], {
          size: op.size, alpha: { float: op.alpha }, beta: { float: op.beta }, bias: { float: op.bias },
        }, out);
        return;
      case 'flatten':
        if (input.length === 1) {
          current = emit('Identity', name, [current], {}, out);
        } else {
          current = emit('Flatten', name, [current], { axis: 1 }, out);
        }
        return;
      case 'dropout': {
        if (opset >= 12) {
          // From opset 12 the ratio is an optional scalar input (training_mode defaults to false).
          const ratio = addFloats(`${name}.ratio`, [], new Float32Array([op.rate]));
          current = emit('Dropout', name, [current, ratio], {}, out);
        } else {
          current = emit('Dropout', name, [current], { ratio: { float: op.rate } }, out);
        }
        return;
      }
      case 'softmax': {
        if (input.length === 1) {
          current = emit('Softmax', name, [current], { axis: opset < 13 ? 1 : -1 }, out);
        } else if (opset < 13) {
          // Before opset 13 Softmax flattens from `axis`: exactly our softmax over C*H*W.
          current = emit('Softmax', name, [current], { axis: 1 }, out);
        } else {
          // From 13 it acts on one axis: flatten, softmax, and restore [N, C, H, W].
          current = flatten();
          current = emit('Softmax', unique(`${name}/flat`), [current], { axis: -1 });
          const shape = addInt64s(`${name}.shape`, [0, ...input]);
          current = emit('Reshape', name, [current, shape], {}, out);
        }
        return;
      }
    }
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

/** The name part of each non-layer op's node: the points of src/graph/names.ts where they exist. */
const POINT_NAMES: Partial<Record<Op['kind'], string>> = {
  conv: 'conv', dense: 'fc', relu: 'relu', maxpool: 'pool', lrn: 'norm', avgpool: 'avgpool',
  dropout: 'dropout', flatten: 'flatten', softmax: 'softmax',
};

function layerWeights(get: (layer: string) => LayerWeights | undefined, layer: string, shape: number[],
                      hasBias: boolean): { shape: number[]; weight: Float32Array; bias?: Float32Array } {
  const w = get(layer);
  if (!w) throw new ArgumentError(`no weights for layer ${layer}`);
  const expected = size(shape);
  if (!(w.weight instanceof Float32Array) || w.weight.length !== expected) {
    throw new ArgumentError(`${layer}: weight must be a Float32Array of ${expected} values [${shape.join(', ')}], ` +
      `got ${w.weight instanceof Float32Array ? `${w.weight.length} values` : typeof w.weight}`);
  }
  if (w.bias !== undefined) {
    if (!hasBias) throw new ArgumentError(`${layer} has no bias, but weights for one were given`);
    if (!(w.bias instanceof Float32Array) || w.bias.length !== shape[0]) {
      throw new ArgumentError(`${layer}: bias must be a Float32Array of ${shape[0]} values`);
    }
  }
  return { shape, weight: w.weight, bias: w.bias };
}

/**
 * Ceil-mode max-pool pads for opsets before 10 (no ceil_mode): grow the end pads until floor
 * rounding gives the ceil-mode size. Exact for max pooling, whose pads never win.
 */
function ceilAsEndPads(kernel: [number, number], stride: [number, number], pads: number[], [, h, w]: Shape,
                       net: string, i: number): number[] {
  const out = [...pads];
  [h, w].forEach((len, a) => {
    const want = windowOut(len, kernel[a], stride[a], pads[a], pads[a + 2], true);
    const end = Math.max(pads[a + 2], (want - 1) * stride[a] + kernel[a] - len - pads[a]);
    if (windowOut(len, kernel[a], stride[a], pads[a], end, false) !== want) {
      throw new ArgumentError(`${net} op ${i}: this ceil-mode max-pool cannot be written before opset 10`);
    }
    out[a + 2] = end;
  });
  return out;
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
