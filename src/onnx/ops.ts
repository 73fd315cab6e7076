/**
 * An ONNX graph as our Network: the op mapping.
 *
 * The graph must be a chain: one data input, and every node on the path from it reads the
 * previous node's output plus constants (initializers or Constant nodes). Each node becomes
 * zero, one or two of our ops:
 *
 *   Conv               conv (groups, asymmetric pads, strides; auto_pad NOTSET, VALID, SAME_UPPER,
 *                      SAME_LOWER; kernel_shape from the weight when absent; dilations must be 1)
 *   Relu               relu
 *   LRN                lrn (size, alpha, beta, bias: the same semantics, alpha divided by size)
 *   MaxPool            maxpool (pads, ceil_mode; the Indices output must be unused)
 *   AveragePool        avgpool (pads, ceil_mode, count_include_pad; torchvision's 1x1 identity too)
 *   GlobalAveragePool  avgpool over the whole map
 *   Dropout            dropout (identity; the mask output must be unused; is_test / ratio ignored)
 *   Reshape, Flatten   flatten when they flatten [N, C, H, W] to [N, C*H*W] (a baked leading 1 is
 *                      the batch); nothing when they keep the shape
 *   Gemm               dense, with alpha/beta/transB folded into W [units, inputs] and the bias (a
 *                      4-D input, as opset-3 Caffe2 exports feed it, is flattened)
 *   MatMul (+ Add)     dense (the Add's constant is the bias)
 *   Softmax            softmax, where the ONNX axis semantics (flatten from `axis` before opset
 *                      13, one axis from 13) amount to a softmax over each image's values
 *   Identity           nothing (its output names the same tensor)
 *   Constant           a constant (Reshape shapes, or weights)
 *
 * Anything else, and any attribute we would have to ignore to run it, is a ModelFormatError
 * naming the op type, the node and the opset.
 */
import { ArgumentError, ModelFormatError } from '../errors.js';
import type { AvgPoolOp, ConvOp, MaxPoolOp, Network, Op, Pads, Shape } from '../graph/layers.js';
import { inferShapes, size } from '../graph/shapes.js';
import type { ByteSource } from './protobuf-reader.js';
import { AttrType, DataType, type AttributeRef, type GraphRef, type ModelRef, type NodeRef, type TensorRef } from './proto.js';
import { checkFloatTensor, describeTensor, readInts, readScalar } from './tensor-data.js';

/** Newest default-domain opset we know (ONNX 1.19). Later ones may change what ops mean. */
export const MAX_OPSET = 24;
/** Largest input we accept: 16384 on a side and 2^28 values per image. */
const MAX_SIDE = 16384;
const MAX_INPUT_VALUES = 2 ** 28;
/** Largest plan (weights + one image's activations) we accept: 2 GiB. */
const MAX_PLAN_BYTES = 2 ** 31;

/** How one layer's weights get from the file into the model. */
export interface Transfer {
  tensor: TensorRef;
  /** Multiply every value (Gemm's alpha or beta). */
  scale: number;
  /** The source is [rows, cols]; the layer wants its transpose [cols, rows]. */
  transpose?: [number, number];
  /** The source is one value, repeated for every unit. */
  broadcast?: boolean;
}

export interface LayerTransfer { op: number; weight: Transfer; bias?: Transfer }

export interface MapOptions {
  /** The network's name (default: the graph's). */
  name?: string;
  /** [height, width] for an input whose spatial size is symbolic (default 224 x 224). */
  inputSize?: [number, number];
}

export interface Mapped {
  network: Network;
  opset: number;
  inputName: string;
  outputName: string;
  transfers: LayerTransfer[];
}

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

export function mapGraph(model: ModelRef, source: ByteSource, options: MapOptions = {}): Mapped {
  const graph = model.graph;
  if (!graph) throw new ModelFormatError('the file has no graph: not an ONNX model (or an empty one)');
  const opset = defaultOpset(model);
  return new GraphMapper(graph, source, opset, options).map();
}

function defaultOpset(model: ModelRef): number {
  const imports = model.opsets.filter((o) => DEFAULT_DOMAINS.has(o.domain));
  if (imports.length === 0) {
    if (model.opsets.length === 0 && model.irVersion > 0 && model.irVersion < 3) return 1; // IR 1-2 predate opset_import
    throw new ModelFormatError(`the model imports no default-domain ('ai.onnx') opset ` +
      `(imports: ${model.opsets.map((o) => `${o.domain || "''"} ${o.version}`).join(', ') || 'none'})`);
  }
  const version = Math.max(...imports.map((o) => o.version));
  if (!Number.isSafeInteger(version) || version < 1) throw new ModelFormatError(`invalid opset version ${version}`);
  if (version > MAX_OPSET) {
    throw new ModelFormatError(`the model uses opset ${version}, newer than the newest this version of zf-visualizer ` +
      `knows (${MAX_OPSET}); its ops may mean something else. Export with opset ${MAX_OPSET} or earlier`);
  }
  return version;
}

class GraphMapper {
  private readonly constants = new Map<string, TensorRef>();
  private readonly producers = new Map<string, NodeRef>();
  private readonly consumers = new Map<string, NodeRef[]>();
  private readonly graphInputs = new Set<string>();
  private readonly ops: Op[] = [];
  private readonly tensors = new Map<string, number>();
  private readonly transfers: LayerTransfer[] = [];
  private readonly visited = new Set<NodeRef>();
  private shape: Shape = [];
  private current = '';

  constructor(private readonly graph: GraphRef, private readonly source: ByteSource,
              private readonly opset: number, private readonly options: MapOptions) {}

  map(): Mapped {
    const g = this.graph;
    if (g.sparseInitializers > 0) throw new ModelFormatError('sparse initializers are not supported');
    for (const t of g.initializers) {
      if (!t.name) throw new ModelFormatError(`an initializer has no name (${t.where})`);
      if (this.constants.has(t.name)) throw new ModelFormatError(`two initializers are named '${t.name}'`);
      this.constants.set(t.name, t);
    }
    for (const node of g.nodes) {
      if (!DEFAULT_DOMAINS.has(node.domain)) {
        throw new ModelFormatError(`${this.describe(node)}: ops of domain '${node.domain}' are not supported`);
      }
      for (const out of node.outputs) {
        if (out === '') continue;
        const other = this.producers.get(out);
        if (other) throw new ModelFormatError(`tensor '${out}' is written by two nodes: ${this.describe(other)} and ${this.describe(node)}`);
        if (this.constants.has(out)) throw new ModelFormatError(`${this.describe(node)} writes '${out}', which is an initializer`);
        this.producers.set(out, node);
      }
    }
    this.checkAcyclic();
    // Constant nodes become constants; every other node is an op on the data path.
    for (const node of g.nodes) {
      if (node.opType === 'Constant') {
        this.constants.set(this.firstOutput(node), this.constantValue(node));
        this.visited.add(node);
      }
    }
    for (const node of g.nodes) {
      if (node.opType === 'Constant') continue;
      for (const input of node.inputs) {
        if (input === '') continue;
        const list = this.consumers.get(input);
        if (list) { if (!list.includes(node)) list.push(node); } else this.consumers.set(input, [node]);
      }
    }

    const input = this.dataInput();
    this.current = input.name;
    this.shape = input.shape;
    this.tensors.set(input.name, -1);
    this.walk();

    for (const node of g.nodes) {
      if (!this.visited.has(node)) {
        throw new ModelFormatError(`${this.describe(node)} is not on the data path from '${input.name}': ` +
          'zf-visualizer imports chains (one path from the input to the output, no branches)');
      }
    }
    const outputs = g.outputs.map((o) => o.name);
    if (!outputs.includes(this.current)) {
      throw new ModelFormatError(`the data path ends at '${this.current}', which is not a graph output ` +
        `(outputs: ${outputs.map((o) => `'${o}'`).join(', ') || 'none'})`);
    }
    for (const name of outputs) {
      if (!this.tensors.has(name)) {
        throw new ModelFormatError(`graph output '${name}' is not on the data path: zf-visualizer imports single-output chains`);
      }
    }
    if (this.ops.length === 0) throw new ModelFormatError('the graph computes nothing (no ops between its input and output)');
    this.checkMemory(input.shape);

    const network: Network = {
      name: this.options.name || g.name || 'onnx-model',
      input: input.shape as [number, number, number],
      ops: this.ops,
      preprocess: 'none',
      tensors: this.tensors,
    };
    return { network, opset: this.opset, inputName: input.name, outputName: this.current, transfers: this.transfers };
  }

  /**
   * Refuse a network whose weights and one image's activations need more than MAX_PLAN_BYTES:
   * no model of this family comes near, and a hostile file must not make a page allocate
   * gigabytes before failing.
   */
  private checkMemory(input: Shape): void {
    let floats = size(input);
    let shape = input;
    for (const op of this.ops) {
      shape = inferShapes({ name: 'x', input: shape as [number, number, number], ops: [op], preprocess: 'none' })[0];
      if (op.kind !== 'flatten' && op.kind !== 'dropout') floats += size(shape) * (op.kind === 'maxpool' ? 2 : 1);
    }
    for (const t of this.transfers) floats += size(t.weight.tensor.dims) * 2; // conv weights are also packed
    if (floats * 4 > MAX_PLAN_BYTES) {
      throw new ModelFormatError(`this network needs about ${(floats * 4 / 2 ** 30).toFixed(1)} GiB for its weights and ` +
        `one image's activations; more than ${MAX_PLAN_BYTES / 2 ** 30} GiB is refused (input [N, ${input.join(', ')}])`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Graph structure

  private describe(node: NodeRef): string {
    const name = node.name ? `'${node.name}'` : `#${node.index} (unnamed)`;
    return `${node.opType || '(no op_type)'} node ${name} (opset ${this.opset})`;
  }

  private firstOutput(node: NodeRef): string {
    const out = node.outputs[0];
    if (!out) throw new ModelFormatError(`${this.describe(node)} has no output`);
    return out;
  }

  /** Kahn's algorithm over data dependencies: a cycle leaves nodes that never become ready. */
  private checkAcyclic(): void {
    const nodes = this.graph.nodes;
    const pending = new Map<NodeRef, number>();
    const dependents = new Map<NodeRef, NodeRef[]>();
    for (const node of nodes) {
      let count = 0;
      for (const input of new Set(node.inputs)) {
        const p = input === '' ? undefined : this.producers.get(input);
        if (!p) continue;
        count += 1;
        const list = dependents.get(p);
        if (list) list.push(node); else dependents.set(p, [node]);
      }
      pending.set(node, count);
    }
    const ready = nodes.filter((n) => pending.get(n) === 0);
    let done = 0;
    while (ready.length) {
      const n = ready.pop()!;
      done += 1;
      for (const d of dependents.get(n) ?? []) {
        const left = pending.get(d)! - 1;
        pending.set(d, left);
        if (left === 0) ready.push(d);
      }
    }
    if (done < nodes.length) {
      const stuck = nodes.filter((n) => pending.get(n)! > 0).slice(0, 4).map((n) => this.describe(n));
      throw new ModelFormatError(`the graph has a cycle: ${stuck.join(', ')}${done + 4 < nodes.length ? ', ...' : ''} ` +
        'depend on each other');
    }
  }

  private dataInput(): { name: string; shape: Shape } {
    const inputs = this.graph.inputs.filter((i) => !this.constants.has(i.name));
    for (const i of this.graph.inputs) this.graphInputs.add(i.name);
    if (inputs.length === 0) throw new ModelFormatError('the graph has no data input (every input is an initializer)');
    if (inputs.length > 1) {
      throw new ModelFormatError(`the graph has ${inputs.length} data inputs (${inputs.slice(0, 5).map((i) => `'${i.name}'`).join(', ')}); ` +
        'zf-visualizer imports networks with one image input');
    }
    const v = inputs[0];
    const where = `graph input '${v.name}'`;
    if (v.elemType !== undefined && v.elemType !== DataType.FLOAT) {
      throw new ModelFormatError(`${where} is not FLOAT (elem_type ${v.elemType}); an image network takes float32 [N, C, H, W]`);
    }
    if (!v.dims) throw new ModelFormatError(`${where} has no shape; zf-visualizer needs [N, C, H, W]`);
    if (v.dims.length !== 4) {
      throw new ModelFormatError(`${where} has shape [${v.dims.map(dimText).join(', ')}]; zf-visualizer imports image networks, ` +
        'whose input is [N, C, H, W]');
    }
    const [, c, h, w] = v.dims;
    const fallback = this.options.inputSize ?? [224, 224];
    const known = (d: number | string | undefined, name: string, def?: number): number => {
      if (typeof d === 'number') {
        if (d === 0) throw new ModelFormatError(`${where} has a zero-sized ${name} (shape [${v.dims!.map(dimText).join(', ')}])`);
        if (d < 0) throw new ModelFormatError(`${where} has a negative ${name} ${d}`);
        return d;
      }
      if (def === undefined) throw new ModelFormatError(`${where}: the ${name} is symbolic ('${d ?? '?'}'); the channel count must be fixed`);
      return def;
    };
    const shape = [known(c, 'channel count'), known(h, 'height', fallback[0]), known(w, 'width', fallback[1])];
    if (shape[1] > MAX_SIDE || shape[2] > MAX_SIDE || size(shape) > MAX_INPUT_VALUES) {
      throw new ModelFormatError(`${where} has shape [N, ${shape.join(', ')}]: more than ${MAX_SIDE} on a side or ` +
        `${MAX_INPUT_VALUES} values per image is not plausible`);
    }
    return { name: v.name, shape };
  }

  // ------------------------------------------------------------------------------------------
  // The walk along the chain

  private walk(): void {
    for (;;) {
      const readers = this.consumers.get(this.current) ?? [];
      if (readers.length === 0) return;
      if (readers.length > 1) {
        throw new ModelFormatError(`tensor '${this.current}' is read by ${readers.length} nodes ` +
          `(${readers.slice(0, 4).map((n) => this.describe(n)).join(', ')}): the graph branches; zf-visualizer ` +
          'imports chains (one path from the input to the output)');
      }
      const node = readers[0];
      if (this.visited.has(node)) throw new ModelFormatError(`${this.describe(node)} is reached twice: the graph has a cycle`);
      this.visited.add(node);
      this.mapNode(node);
    }
  }

  /** The data input must be input `index` of `node`, and read once. */
  private dataAt(node: NodeRef, index = 0): void {
    const at = node.inputs.indexOf(this.current);
    if (at !== index || node.inputs.lastIndexOf(this.current) !== at) {
      throw new ModelFormatError(`${this.describe(node)} reads the data tensor '${this.current}' as input ${at}` +
        `${node.inputs.lastIndexOf(this.current) !== at ? ' and again later' : ''}; supported: as input ${index} only`);
    }
  }

  /** A constant input (initializer or Constant), or undefined when the optional input is absent. */
  private constant(node: NodeRef, index: number, role: string, required = true): TensorRef | undefined {
    const name = node.inputs[index];
    if (name === undefined || name === '') {
      if (required) throw new ModelFormatError(`${this.describe(node)} has no ${role} input`);
      return undefined;
    }
    const t = this.constants.get(name);
    if (t) return t;
    const producer = this.producers.get(name);
    if (producer) {
      throw new ModelFormatError(`the ${role} '${name}' of ${this.describe(node)} is computed by ${this.describe(producer)}: ` +
        'the graph branches (zf-visualizer imports chains whose weights are initializers)');
    }
    if (this.graphInputs.has(name)) {
      throw new ModelFormatError(`the ${role} '${name}' of ${this.describe(node)} is a graph input without an initializer`);
    }
    throw new ModelFormatError(`the ${role} '${name}' of ${this.describe(node)} is missing: no initializer, Constant or ` +
      'node gives it (the file is incomplete)');
  }

  /** Side outputs (Dropout's mask, MaxPool's Indices) must not be used. */
  private unusedSideOutputs(node: NodeRef): void {
    for (const out of node.outputs.slice(1)) {
      if (out === '') continue;
      if (this.consumers.has(out) || this.graph.outputs.some((o) => o.name === out)) {
        throw new ModelFormatError(`output '${out}' of ${this.describe(node)} is used; only its first output is supported`);
      }
    }
  }

  private push(op: Op, node: NodeRef): void {
    if (node.name) op.name = node.name;
    let shape: Shape;
    try {
      shape = inferShapes({ name: 'x', input: this.shape as [number, number, number], ops: [op], preprocess: 'none' })[0];
    } catch (e) {
      if (!(e instanceof ArgumentError)) throw e;
      const tooSmall = /empty output/.test(e.message);
      throw new ModelFormatError(`${this.describe(node)} cannot apply to its input [${this.shape.join(', ')}]` +
        (tooSmall ? ': it gives an empty output; the network input is too small for this network' : `: ${e.message.replace(/^x op 0 \([a-z]+\): /, '')}`));
    }
    this.ops.push(op);
    this.shape = shape;
    this.current = this.firstOutput(node);
    this.tensors.set(this.current, this.ops.length - 1);
  }

  /** A node that computes nothing: its output names the current tensor. */
  private alias(node: NodeRef): void {
    this.current = this.firstOutput(node);
    this.tensors.set(this.current, this.ops.length - 1);
  }

  private mapNode(node: NodeRef): void {
    const a = new Attrs(node, this.describe(node), this.opset);
    switch (node.opType) {
      case 'Conv': return this.conv(node, a);
      case 'Relu':
        a.allow();
        this.dataAt(node);
        return this.push({ kind: 'relu' }, node);
      case 'LRN': {
        a.allow('size', 'alpha', 'beta', 'bias');
        this.dataAt(node);
        const sizeValue = a.int('size');
        if (sizeValue === undefined || sizeValue < 1) throw a.bad('size', 'must be a positive integer (it is required)');
        const op = { kind: 'lrn' as const, size: sizeValue, alpha: a.float('alpha', 1e-4), beta: a.float('beta', 0.75), bias: a.float('bias', 1) };
        if (this.shape.length !== 3) throw new ModelFormatError(`${this.describe(node)} needs a [N, C, H, W] input`);
        return this.push(op, node);
      }
      case 'MaxPool': case 'AveragePool': return this.pool(node, a);
      case 'GlobalAveragePool': {
        a.allow();
        this.dataAt(node);
        if (this.shape.length !== 3) throw new ModelFormatError(`${this.describe(node)} needs a [N, C, H, W] input`);
        const [, h, w] = this.shape;
        const op: AvgPoolOp = { kind: 'avgpool', kernel: [h, w], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false, countIncludePad: false };
        return this.push(op, node);
      }
      case 'Dropout': return this.dropout(node, a);
      case 'Identity':
        a.allow();
        this.dataAt(node);
        return this.alias(node);
      case 'Flatten': return this.flatten(node, a);
      case 'Reshape': return this.reshape(node, a);
      case 'Gemm': return this.gemm(node, a);
      case 'MatMul': return this.matmul(node, a);
      case 'Softmax': return this.softmax(node, a);
      default:
        throw new ModelFormatError(`${this.describe(node)}: op '${node.opType}' is not supported (zf-visualizer imports ` +
          'Conv, Relu, LRN, MaxPool, AveragePool, GlobalAveragePool, Dropout, Reshape, Flatten, Gemm, MatMul + Add, ' +
          'Softmax, Identity and Constant)');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Ops

  private spatialAttrs(a: Attrs, kernel: [number, number], withDilations: boolean):
      { stride: [number, number]; pads: Pads } {
    const stride = a.pair('strides', [1, 1]);
    if (stride.some((s) => s < 1 || s > 65535)) throw a.bad('strides', `[${stride}] must be positive`);
    if (withDilations) {
      const d = a.ints('dilations');
      if (d && d.some((v) => v !== 1)) {
        throw a.bad('dilations', `[${d}] is not supported (dilated windows); only dilations of 1 are`);
      }
    }
    const autoPad = a.string('auto_pad', 'NOTSET');
    let pads: Pads;
    if (autoPad === 'NOTSET') {
      const p = a.ints('pads') ?? [0, 0, 0, 0];
      if (p.length !== 4) throw a.bad('pads', `[${p}] should have 4 values [top, left, bottom, right] for a 2-D op`);
      if (p.some((v) => v < 0 || v > 65535)) throw a.bad('pads', `[${p}] must be non-negative`);
      pads = [p[0], p[1], p[2], p[3]];
    } else if (autoPad === 'VALID') {
      pads = [0, 0, 0, 0];
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      pads = [0, 0, 0, 0];
      for (const axis of [0, 1] as const) {
        const len = this.shape[axis + 1];
        const out = Math.ceil(len / stride[axis]);
        const total = Math.max(0, (out - 1) * stride[axis] + kernel[axis] - len);
        const small = Math.floor(total / 2);
        const [before, after] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
        pads[axis] = before;
        pads[axis + 2] = after;
      }
    } else {
      throw a.bad('auto_pad', `'${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    }
    return { stride, pads };
  }

  private conv(node: NodeRef, a: Attrs): void {
    a.allow('auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides');
    this.dataAt(node);
    if (node.inputs.length > 3) throw new ModelFormatError(`${this.describe(node)} has ${node.inputs.length} inputs; Conv takes X, W, B`);
    const w = this.constant(node, 1, 'weight')!;
    const count = checkFloatTensor(w);
    if (w.dims.length !== 4) {
      throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(w)} is not 4-D; only 2-D convolutions are supported`);
    }
    if (this.shape.length !== 3) throw new ModelFormatError(`${this.describe(node)} needs a [N, C, H, W] input, got [N, ${this.shape.join(', ')}]`);
    const [filters, perGroup, kh, kw] = w.dims;
    if (count === 0) throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(w)} is empty`);
    const groups = a.int('group', 1)!;
    if (groups < 1) throw a.bad('group', `${groups} must be positive`);
    const channels = this.shape[0];
    if (perGroup * groups !== channels || filters % groups !== 0) {
      throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(w)} with group=${groups} does not fit an ` +
        `input of ${channels} channels (needs [M, ${channels / groups}, kH, kW] with M divisible by ${groups})`);
    }
    const kernelShape = a.ints('kernel_shape');
    if (kernelShape && (kernelShape.length !== 2 || kernelShape[0] !== kh || kernelShape[1] !== kw)) {
      throw a.bad('kernel_shape', `[${kernelShape}] does not match the weight's [${kh}, ${kw}]`);
    }
    const { stride, pads } = this.spatialAttrs(a, [kh, kw], true);
    const b = this.constant(node, 2, 'bias', false);
    if (b) this.checkBias(node, b, filters, false);
    const op: ConvOp = { kind: 'conv', filters, kernel: [kh, kw], stride, pads, groups, bias: !!b };
    this.push(op, node);
    this.transfers.push({ op: this.ops.length - 1, weight: { tensor: w, scale: 1 }, bias: b ? { tensor: b, scale: 1 } : undefined });
  }

  /** A bias of `units` values ([units], [1, units], ...), or one value broadcast when `scalarOk`. */
  private checkBias(node: NodeRef, b: TensorRef, units: number, scalarOk: boolean): boolean {
    const n = checkFloatTensor(b);
    const dimsOk = b.inline !== undefined || b.dims.filter((d) => d !== 1).length <= 1;
    if (n === units && dimsOk) return false;
    if (n === 1 && scalarOk) return true;
    throw new ModelFormatError(`${this.describe(node)}: bias ${describeTensor(b)} does not fit ${units} units`);
  }

  private pool(node: NodeRef, a: Attrs): void {
    const max = node.opType === 'MaxPool';
    if (max) a.allow('auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides');
    else a.allow('auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides');
    this.dataAt(node);
    if (this.shape.length !== 3) throw new ModelFormatError(`${this.describe(node)} needs a [N, C, H, W] input`);
    const k = a.ints('kernel_shape');
    if (!k) throw a.bad('kernel_shape', 'is required');
    if (k.length !== 2 || k.some((v) => v < 1)) throw a.bad('kernel_shape', `[${k}] is not a 2-D window`);
    const kernel: [number, number] = [k[0], k[1]];
    const { stride, pads } = this.spatialAttrs(a, kernel, true);
    if (pads[0] >= kernel[0] || pads[2] >= kernel[0] || pads[1] >= kernel[1] || pads[3] >= kernel[1]) {
      throw a.bad('pads', `[${pads}] must be smaller than the window [${kernel}]`);
    }
    const ceil = a.int('ceil_mode', 0) !== 0;
    if (max) {
      this.unusedSideOutputs(node);
      const op: MaxPoolOp = { kind: 'maxpool', kernel, stride, pads, ceil };
      return this.push(op, node);
    }
    const op: AvgPoolOp = { kind: 'avgpool', kernel, stride, pads, ceil, countIncludePad: a.int('count_include_pad', 0) !== 0 };
    return this.push(op, node);
  }

  private dropout(node: NodeRef, a: Attrs): void {
    a.allow('ratio', 'is_test', 'seed');
    this.dataAt(node);
    this.unusedSideOutputs(node);
    let rate = a.float('ratio', 0.5);
    const ratio = this.constant(node, 1, 'ratio', false);
    if (ratio) rate = shortestFloat32(readScalar(this.source, ratio));
    const training = this.constant(node, 2, 'training_mode', false);
    if (training) {
      const [value] = readInts(this.source, training);
      if (value) throw new ModelFormatError(`${this.describe(node)}: training_mode is true; only inference (identity) dropout is supported`);
    }
    this.push({ kind: 'dropout', rate: Number.isFinite(rate) ? rate : 0.5 }, node);
  }

  private flatten(node: NodeRef, a: Attrs): void {
    a.allow('axis');
    this.dataAt(node);
    const rank = this.shape.length + 1;
    const raw = a.int('axis', 1)!;
    const axis = raw < 0 ? raw + rank : raw;
    if (axis !== 1) {
      throw a.bad('axis', `${raw} on [N, ${this.shape.join(', ')}] would mix the images of a batch; only axis=1 is supported`);
    }
    return this.toFlat(node);
  }

  /** Flatten [C, H, W] to [C*H*W]; already flat: nothing. */
  private toFlat(node: NodeRef): void {
    if (this.shape.length === 1) return this.alias(node);
    return this.push({ kind: 'flatten' }, node);
  }

  private reshape(node: NodeRef, a: Attrs): void {
    a.allow('shape', 'allowzero');
    this.dataAt(node);
    let target: number[];
    const shapeInput = this.constant(node, 1, 'shape', false);
    if (shapeInput) {
      target = readInts(this.source, shapeInput);
    } else {
      const attr = a.ints('shape');
      if (!attr) throw new ModelFormatError(`${this.describe(node)} has no shape (neither an input nor, before opset 5, an attribute)`);
      target = attr;
    }
    const allowZero = a.int('allowzero', 0) !== 0;
    const what = `${this.describe(node)}: the target shape [${target.join(', ')}]`;
    const dims = [NaN, ...this.shape]; // the batch is unknown
    const perImage = size(this.shape);
    if (target.length < 2) throw new ModelFormatError(`${what} has no batch axis; supported: [N, ...] with a leading 0, -1 or 1`);
    const resolved: number[] = [];
    let infer = -1;
    target.forEach((d, i) => {
      if (d === 0 && !allowZero) {
        if (i >= dims.length) throw new ModelFormatError(`${what} copies dimension ${i}, which the input does not have`);
        resolved.push(dims[i]);
      } else if (d === -1) {
        if (infer >= 0) throw new ModelFormatError(`${what} has more than one -1`);
        infer = i;
        resolved.push(-1);
      } else if (d >= 1) {
        resolved.push(d);
      } else {
        throw new ModelFormatError(`${what} has an invalid dimension ${d}`);
      }
    });
    // The leading dimension is the batch: 0 (copied), -1 (inferred) or a baked 1.
    const lead = target[0];
    if (!(lead === 0 && !allowZero) && lead !== -1 && lead !== 1) {
      throw new ModelFormatError(`${what} does not keep the batch axis first (leading ${lead}); supported: 0, -1 or 1`);
    }
    const rest = resolved.slice(1);
    if (infer > 0) {
      const known = size(rest.filter((d) => d !== -1));
      if (known === 0 || perImage % known !== 0) throw new ModelFormatError(`${what} does not divide the ${perImage} values of each image`);
      rest[infer - 1] = perImage / known;
    }
    if (size(rest) !== perImage) {
      throw new ModelFormatError(`${what} holds ${size(rest)} values per image, but the input [N, ${this.shape.join(', ')}] has ${perImage}`);
    }
    if (rest.length === 1) return this.toFlat(node);
    if (rest.length === this.shape.length && rest.every((d, i) => d === this.shape[i])) return this.alias(node);
    throw new ModelFormatError(`${what} is neither a flatten to [N, ${perImage}] nor the same shape; other reshapes are not supported`);
  }

  private gemm(node: NodeRef, a: Attrs): void {
    a.allow('alpha', 'beta', 'transA', 'transB', 'broadcast');
    this.dataAt(node);
    if (a.int('transA', 0) !== 0) {
      throw a.bad('transA', '1 would transpose the batch axis of the data input; only transA=0 is supported');
    }
    const transB = a.int('transB', 0) !== 0;
    const alpha = a.float('alpha', 1);
    const beta = a.float('beta', 1);
    const inputs = size(this.shape);
    const b = this.constant(node, 1, 'weight B')!;
    checkFloatTensor(b);
    if (b.dims.length !== 2) throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(b)} is not 2-D`);
    const [rows, cols] = b.dims;
    const units = transB ? rows : cols;
    const k = transB ? cols : rows;
    if (k !== inputs) {
      throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(b)}${transB ? ' (transB=1)' : ''} takes ${k} inputs, ` +
        `but the data has ${inputs} values per image [${this.shape.join(', ')}]`);
    }
    const c = this.constant(node, 2, 'bias C', this.opset < 11);
    const withBias = !!c && beta !== 0;
    const broadcast = c ? this.checkBias(node, c, units, true) : false;
    this.push({ kind: 'dense', units, bias: withBias }, node);
    this.transfers.push({
      op: this.ops.length - 1,
      weight: { tensor: b, scale: alpha, transpose: transB ? undefined : [rows, cols] },
      bias: withBias ? { tensor: c!, scale: beta, broadcast } : undefined,
    });
  }

  private matmul(node: NodeRef, a: Attrs): void {
    a.allow();
    this.dataAt(node);
    if (this.shape.length !== 1) {
      throw new ModelFormatError(`${this.describe(node)} multiplies a [N, ${this.shape.join(', ')}] tensor: a matrix product over ` +
        'its last axis is not a fully connected layer; flatten it first');
    }
    const b = this.constant(node, 1, 'weight B')!;
    checkFloatTensor(b);
    if (b.dims.length !== 2 || b.dims[0] !== this.shape[0]) {
      throw new ModelFormatError(`${this.describe(node)}: weight ${describeTensor(b)} does not fit an input of ${this.shape[0]} values`);
    }
    const [rows, units] = b.dims;
    // Fold a following Add of a constant into the bias.
    const out = this.firstOutput(node);
    const next = this.consumers.get(out);
    let add: NodeRef | undefined;
    let bias: TensorRef | undefined;
    let broadcast = false;
    if (next?.length === 1 && next[0].opType === 'Add' && !this.graph.outputs.some((o) => o.name === out)) {
      add = next[0];
      new Attrs(add, this.describe(add), this.opset).allow('broadcast', 'axis');
      const other = add.inputs.length === 2 ? add.inputs.indexOf(out) ^ 1 : -1;
      if (other < 0 || add.inputs[other] === out) throw new ModelFormatError(`${this.describe(add)} must add a constant to '${out}'`);
      bias = this.constant(add, other, 'bias');
      broadcast = this.checkBias(add, bias!, units, true);
    }
    this.push({ kind: 'dense', units, bias: !!bias }, node);
    this.transfers.push({
      op: this.ops.length - 1,
      weight: { tensor: b, scale: 1, transpose: [rows, units] },
      bias: bias ? { tensor: bias, scale: 1, broadcast } : undefined,
    });
    if (add) {
      this.visited.add(add);
      this.alias(add);
    }
  }

  private softmax(node: NodeRef, a: Attrs): void {
    a.allow('axis');
    this.dataAt(node);
    const rank = this.shape.length + 1;
    const raw = a.int('axis', this.opset < 13 ? 1 : -1)!;
    const axis = raw < 0 ? raw + rank : raw;
    if (axis < 0 || axis >= rank) throw a.bad('axis', `${raw} is out of range for a rank-${rank} input`);
    // Our softmax runs over each image's values. Before opset 13 ONNX flattens from `axis`;
    // from 13 it acts on one axis. Either is ours when the axes left out are all 1.
    const dims = [NaN, ...this.shape];
    const covered = (i: number) => (this.opset < 13 ? i >= axis : i === axis);
    const ok = axis >= 1 && dims.every((d, i) => i === 0 || covered(i) || d === 1);
    if (!ok) {
      throw a.bad('axis', `${raw} on [N, ${this.shape.join(', ')}] (opset ${this.opset}: ${this.opset < 13 ? 'flattened from the axis' : 'one axis'}) ` +
        'is not a softmax over each image\'s values, the only softmax supported');
    }
    this.push({ kind: 'softmax' }, node);
  }

  private constantValue(node: NodeRef): TensorRef {
    const a = new Attrs(node, this.describe(node), this.opset);
    a.allow('value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'sparse_value', 'value_string', 'value_strings');
    if (node.attributes.length !== 1) throw new ModelFormatError(`${this.describe(node)} must have exactly one value attribute`);
    const attr = node.attributes[0];
    const name = this.firstOutput(node);
    const where = this.describe(node);
    switch (attr.name) {
      case 'value':
        if (!attr.t) throw a.bad('value', 'holds no tensor');
        return { ...attr.t, name };
      case 'value_float': return { name, dims: [], dataType: DataType.FLOAT, fragments: [], inline: [attr.f ?? 0], where };
      case 'value_floats': return { name, dims: [attr.floats.length], dataType: DataType.FLOAT, fragments: [], inline: attr.floats, where };
      case 'value_int': return { name, dims: [], dataType: DataType.INT64, fragments: [], inline: [attr.i ?? 0], where };
      case 'value_ints': return { name, dims: [attr.ints.length], dataType: DataType.INT64, fragments: [], inline: attr.ints, where };
      default: throw a.bad(attr.name, 'is not supported (sparse or string constants)');
    }
  }
}

/**
 * A float attribute is 32-bit in the file: 1e-4 arrives as 0.0000999999974738. Take the shortest
 * decimal that is the same float32 (1e-4), which kernels (32-bit) see identically and people
 * read as written.
 */
function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

function dimText(d: number | string | undefined): string {
  return d === undefined ? '?' : String(d);
}

/** A node's attributes, checked by name and type. */
class Attrs {
  private readonly byName = new Map<string, AttributeRef>();

  constructor(private readonly node: NodeRef, private readonly where: string, private readonly opset: number) {
    for (const a of node.attributes) {
      if (this.byName.has(a.name)) throw new ModelFormatError(`${where}: attribute '${a.name}' is given twice`);
      this.byName.set(a.name, a);
    }
  }

  /** Refuse any attribute not listed (opset-1-5's `consumed_inputs` is always allowed: it is an optimization hint). */
  allow(...names: string[]): void {
    for (const a of this.node.attributes) {
      if (names.includes(a.name) || (a.name === 'consumed_inputs' && this.opset < 6)) continue;
      throw new ModelFormatError(`${this.where}: attribute '${a.name}' is not supported`);
    }
  }

  bad(name: string, problem: string): ModelFormatError {
    return new ModelFormatError(`${this.where}: attribute '${name}' ${problem}`);
  }

  private get(name: string, type: number): AttributeRef | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== 0 && a.type !== type) throw this.bad(name, `has type ${a.type}, expected ${type}`);
    if (a?.other) throw this.bad(name, 'holds a graph or sparse tensor');
    return a;
  }

  int(name: string, fallback?: number): number | undefined {
    const a = this.get(name, AttrType.INT);
    if (!a) return fallback;
    if (a.i === undefined || !Number.isSafeInteger(a.i)) throw this.bad(name, 'has no integer value');
    return a.i;
  }

  float(name: string, fallback: number): number {
    const a = this.get(name, AttrType.FLOAT);
    if (!a) return fallback;
    if (a.f === undefined || !Number.isFinite(a.f)) throw this.bad(name, 'has no finite float value');
    return shortestFloat32(a.f);
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name, AttrType.INTS);
    if (!a) return undefined;
    if (a.ints.some((v) => !Number.isSafeInteger(v))) throw this.bad(name, 'has an out-of-range value');
    return a.ints;
  }

  pair(name: string, fallback: [number, number]): [number, number] {
    const v = this.ints(name);
    if (!v) return fallback;
    if (v.length !== 2) throw this.bad(name, `[${v}] should have 2 values for a 2-D op`);
    return [v[0], v[1]];
  }

  string(name: string, fallback: string): string {
    const a = this.get(name, AttrType.STRING);
    return a?.s ?? fallback;
  }
}
