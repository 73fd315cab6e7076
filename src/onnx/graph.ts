/**
 * An ONNX graph as our Network: a DAG of named tensors, mapped node by node through the op
 * table (each op's `onnx` entry in src/engine/ops/), in topological order.
 *
 * - One data input: the graph input that no initializer and no bound constant (`constants`
 *   option) gives. Every other input must be bound.
 * - Constants: initializers, Constant nodes, bound values; a node whose inputs are all constant
 *   (shape arithmetic: Shape, Gather, Div, Mul, Concat...) is computed at load (src/onnx/fold.ts).
 * - Identity (and other nodes that compute nothing) name the same tensor.
 * - Only what the graph outputs depend on is mapped; the first graph output ends the op list.
 * - Axes: a tensor's engine shape is one image's. If a node needs the batch axis itself (a
 *   transpose that moves it, a constant that varies along it...), the whole graph is mapped
 *   again as one whole tensor (`Network.wholeTensor`, batch 1): ONNX's backend tests do this.
 *
 * Anything unsupported, and any attribute we would have to ignore to run it, is a
 * ModelFormatError naming the op type, the node and the opset.
 */
import { ArgumentError, ModelFormatError } from '../errors.js';
import type { Network, Op, Shape } from '../graph/layers.js';
import { OPS } from '../engine/ops/index.js';
import { opDef } from '../engine/ops/index.js';
import type { ByteSource } from './protobuf-reader.js';
import { DataType, type GraphRef, type ModelRef, type NodeRef, type ValueInfo } from './proto.js';
import { Attrs } from './attrs.js';
import { count, fromTensor, fromValues, type Const } from './consts.js';
import { foldNode, FOLDABLE } from './fold.js';
import type { MapContext, OnnxMapping, Transfer } from './map-context.js';

/** Newest default-domain opset we know (ONNX 1.19). Later ones may change what ops mean. */
export const MAX_OPSET = 24;
/** Largest input we accept: 16384 on a side and 2^28 values per image. */
const MAX_SIDE = 16384;
const MAX_INPUT_VALUES = 2 ** 28;
/** Largest plan (weights + one image's activations) we accept: 2 GiB. */
const MAX_PLAN_BYTES = 2 ** 31;

/** A value bound to a graph input (`constants` option): ONNX's backend tests feed weights as inputs. */
export interface BoundConstant {
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | number[];
}

export interface MapOptions {
  /** The network's name (default: the graph's). */
  name?: string;
  /** [height, width] for an input whose spatial size is symbolic (default 224 x 224). */
  inputSize?: [number, number];
  /** Values for graph inputs other than the data input. */
  constants?: Record<string, BoundConstant>;
}

/** One op constant's filling. */
export interface ParamTransfer { op: number; name: string; transfer: Transfer }

export interface Mapped {
  network: Network;
  opset: number;
  inputName: string;
  outputName: string;
  transfers: ParamTransfer[];
}

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/** ONNX op type -> its mapping, gathered from the op table. */
const MAPPINGS: Map<string, OnnxMapping> = (() => {
  const m = new Map<string, OnnxMapping>();
  for (const def of Object.values(OPS)) {
    for (const [type, mapping] of Object.entries((def as { onnx?: Record<string, OnnxMapping> }).onnx ?? {})) m.set(type, mapping);
  }
  return m;
})();

/** Every ONNX op type that may compute on the data, for messages. */
export function supportedOps(): string[] {
  return [...new Set([...MAPPINGS.keys(), 'Cast', 'Constant', 'Identity', 'Shape'])].sort();
}

/** A mapping needed the batch axis: map the graph again as one whole tensor. */
class NeedsWholeTensor extends Error {
  constructor(readonly why: string) { super(why); }
}

export function mapGraph(model: ModelRef, source: ByteSource, options: MapOptions = {}): Mapped {
  const graph = model.graph;
  if (!graph) throw new ModelFormatError('the file has no graph: not an ONNX model (or an empty one)');
  const opset = defaultOpset(model);
  try {
    return new GraphMapper(graph, source, opset, options, false).map();
  } catch (e) {
    if (!(e instanceof NeedsWholeTensor)) throw e;
    return new GraphMapper(graph, source, opset, options, e.why).map();
  }
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

/** A name a tensor goes by while mapping: a data tensor (op index, -1 the input) or a constant. */
type Value = { kind: 'data'; id: number } | { kind: 'const'; c: Const };

class GraphMapper {
  private readonly values = new Map<string, Value>();
  private readonly producers = new Map<string, NodeRef>();
  private readonly readCount = new Map<string, number>();
  private readonly ops: Op[] = [];
  private readonly shapes: Shape[] = [];
  private readonly names: string[] = [];
  private readonly params: (Record<string, Transfer> | undefined)[] = [];
  private readonly tensors = new Map<string, number>();
  private inputShape: Shape = [];

  constructor(private readonly graph: GraphRef, private readonly source: ByteSource,
              private readonly opset: number, private readonly options: MapOptions,
              /** false, or why the graph is mapped as one whole tensor (the node that acts on the batch axis). */
              private readonly whole: false | string) {}

  private get wholeTensor(): boolean { return this.whole !== false; }

  map(): Mapped {
    const g = this.graph;
    if (g.sparseInitializers > 0) throw new ModelFormatError('sparse initializers are not supported');
    for (const t of g.initializers) {
      if (!t.name) throw new ModelFormatError(`an initializer has no name (${t.where})`);
      if (this.values.has(t.name)) throw new ModelFormatError(`two initializers are named '${t.name}'`);
      this.values.set(t.name, { kind: 'const', c: fromTensor(this.source, t) });
    }
    for (const node of g.nodes) {
      if (!DEFAULT_DOMAINS.has(node.domain)) {
        throw new ModelFormatError(`${this.describe(node)}: ops of domain '${node.domain}' are not supported`);
      }
      for (const out of node.outputs) {
        if (out === '') continue;
        const other = this.producers.get(out);
        if (other) throw new ModelFormatError(`tensor '${out}' is written by two nodes: ${this.describe(other)} and ${this.describe(node)}`);
        if (this.values.has(out)) throw new ModelFormatError(`${this.describe(node)} writes '${out}', which is an initializer`);
        this.producers.set(out, node);
      }
      for (const input of new Set(node.inputs)) if (input) this.readCount.set(input, (this.readCount.get(input) ?? 0) + 1);
    }
    for (const o of g.outputs) this.readCount.set(o.name, (this.readCount.get(o.name) ?? 0) + 1);
    const order = this.topologicalOrder();
    const input = this.dataInput();
    this.inputShape = input.shape;
    this.values.set(input.name, { kind: 'data', id: -1 });
    this.tensors.set(input.name, -1);
    for (const node of order) this.mapNode(node);

    const outputs = g.outputs.map((o) => o.name);
    if (outputs.length === 0) throw new ModelFormatError('the graph has no outputs');
    for (const name of outputs) {
      const v = this.values.get(name);
      if (!v) throw new ModelFormatError(`graph output '${name}' is computed by no node`);
      if (v.kind === 'const') {
        throw new ModelFormatError(`graph output '${name}' does not depend on the input '${input.name}' (it is a constant)`);
      }
    }
    let main = (this.values.get(outputs[0]) as { id: number }).id;
    if (main < 0) {
      // The output is the input (an Identity graph): a view of it, so the network has an output op.
      main = this.ops.length;
      this.ops.push({ kind: 'dropout', rate: 0, inputs: [-1] });
      this.shapes.push(this.inputShape);
      this.params.push(undefined);
      this.names.push(outputs[0]);
      this.tensors.set(outputs[0], main);
    }
    this.moveLast(main);
    this.checkMemory();
    const network: Network = {
      name: this.options.name || g.name || 'onnx-model',
      input: this.inputShape,
      ops: this.ops,
      preprocess: 'none',
      tensors: this.tensors,
    };
    if (this.wholeTensor) network.wholeTensor = true;
    const transfers: ParamTransfer[] = [];
    this.params.forEach((p, op) => {
      for (const [name, transfer] of Object.entries(p ?? {})) transfers.push({ op, name, transfer });
    });
    return { network, opset: this.opset, inputName: input.name, outputName: outputs[0], transfers };
  }

  /**
   * Put op `main` (the first graph output) last, so that the network's last op is its output:
   * ops that only other outputs need move before it, keeping the order topological.
   */
  private moveLast(main: number): void {
    const n = this.ops.length;
    if (main === n - 1) return;
    const needed = new Uint8Array(n);
    needed[main] = 1;
    for (let i = main; i >= 0; i--) {
      if (!needed[i]) continue;
      for (const t of this.ops[i].inputs ?? [i - 1]) if (t >= 0) needed[t] = 1;
    }
    const order = [...Array(n).keys()].filter((i) => !needed[i] || i === main).filter((i) => i !== main);
    const before = [...Array(n).keys()].filter((i) => needed[i] && i !== main);
    const perm = [...before, ...order, main];
    // Ops after main that main does not need only read earlier ops or each other: still topological.
    const index = new Map(perm.map((old, i) => [old, i]));
    const ops = perm.map((old) => ({ ...this.ops[old], inputs: (this.ops[old].inputs ?? [old - 1]).map((t) => (t < 0 ? t : index.get(t)!)) }));
    const ok = ops.every((op, i) => op.inputs!.every((t) => t < i));
    if (!ok) return; // a later op reads main: leave the order (the output is still readable by name)
    const shapes = perm.map((old) => this.shapes[old]);
    const params = perm.map((old) => this.params[old]);
    const names = perm.map((old) => this.names[old]);
    this.ops.splice(0, n, ...ops);
    this.shapes.splice(0, n, ...shapes);
    this.params.splice(0, n, ...params);
    this.names.splice(0, n, ...names);
    for (const [name, t] of this.tensors) if (t >= 0) this.tensors.set(name, index.get(t)!);
  }

  /**
   * Refuse a network whose weights and one image's activations need more than MAX_PLAN_BYTES:
   * no model of this family comes near, and a hostile file must not make a page allocate
   * gigabytes before failing.
   */
  private checkMemory(): void {
    let floats = count(this.inputShape);
    this.ops.forEach((op, i) => {
      const def = opDef(op);
      if (!def.alias) floats += count(this.shapes[i]) * (def.switches ? 3 : 2); // the output and its gradient
      for (const shape of Object.values(def.params?.(op, this.inputShapesOf(i)) ?? {})) floats += count(shape) * 2;
    });
    if (floats * 4 > MAX_PLAN_BYTES) {
      throw new ModelFormatError(`this network needs about ${(floats * 4 / 2 ** 30).toFixed(1)} GiB for its weights and ` +
        `one image's activations; more than ${MAX_PLAN_BYTES / 2 ** 30} GiB is refused (input [N, ${this.inputShape.join(', ')}])`);
    }
  }

  private inputShapesOf(i: number): Shape[] {
    return (this.ops[i].inputs ?? [i - 1]).map((t) => (t < 0 ? this.inputShape : this.shapes[t]));
  }

  // ------------------------------------------------------------------------------------------
  // Graph structure

  private describe(node: NodeRef): string {
    const name = node.name ? `'${node.name}'` : `#${node.index} (unnamed)`;
    return `${node.opType || '(no op_type)'} node ${name} (opset ${this.opset})`;
  }

  /**
   * The nodes the graph outputs depend on, each after the nodes it reads (depth-first from the
   * outputs, in the file's order); a cycle is refused, naming nodes on it.
   */
  private topologicalOrder(): NodeRef[] {
    const order: NodeRef[] = [];
    const state = new Map<NodeRef, 1 | 2>(); // 1: on the stack, 2: done
    const visit = (root: NodeRef) => {
      const stack: { node: NodeRef; next: number }[] = [{ node: root, next: 0 }];
      state.set(root, 1);
      while (stack.length) {
        const top = stack[stack.length - 1];
        if (top.next < top.node.inputs.length) {
          const name = top.node.inputs[top.next++];
          const p = name ? this.producers.get(name) : undefined;
          if (!p) continue;
          const s = state.get(p);
          if (s === 1) {
            const cycle = stack.slice(stack.findIndex((e) => e.node === p)).map((e) => this.describe(e.node));
            throw new ModelFormatError(`the graph has a cycle: ${cycle.slice(0, 8).join(' -> ')}${cycle.length > 8 ? ' -> ...' : ''} ` +
              `-> ${this.describe(p)}`);
          }
          if (s === 2) continue;
          state.set(p, 1);
          stack.push({ node: p, next: 0 });
        } else {
          state.set(top.node, 2);
          order.push(top.node);
          stack.pop();
        }
      }
    };
    const roots = this.graph.outputs.map((o) => this.producers.get(o.name)).filter((n): n is NodeRef => !!n);
    // Other outputs first, the main output's nodes last.
    for (const root of [...roots.slice(1), ...roots.slice(0, 1)]) if (!state.has(root)) visit(root);
    return order;
  }

  private dataInput(): { name: string; shape: Shape } {
    const bound = this.options.constants ?? {};
    for (const [name, value] of Object.entries(bound)) {
      if (!this.graph.inputs.some((i) => i.name === name)) {
        throw new ArgumentError(`constants: '${name}' is not an input of the graph (inputs: ${this.graph.inputs.map((i) => `'${i.name}'`).join(', ')})`);
      }
      this.values.set(name, { kind: 'const', c: boundConstant(name, value) });
    }
    const inputs = this.graph.inputs.filter((i) => !this.values.has(i.name));
    if (inputs.length === 0) throw new ModelFormatError('the graph has no data input (every input is an initializer or bound)');
    if (inputs.length > 1) {
      const readers = inputs.slice(1, 4).map((i) => {
        const node = this.graph.nodes.find((n) => n.inputs.includes(i.name));
        return `'${i.name}'${node ? ` (read by ${this.describe(node)})` : ''}`;
      });
      throw new ModelFormatError(`the graph has ${inputs.length} data inputs ('${inputs[0].name}', ${readers.join(', ')}); ` +
        'zf-visualizer runs networks with one input: bind the others with loadModel(src, { constants: { name: { shape, data } } })');
    }
    return { name: inputs[0].name, shape: this.inputShapeOf(inputs[0]) };
  }

  private inputShapeOf(v: ValueInfo): Shape {
    const where = `graph input '${v.name}'`;
    if (v.elemType !== undefined && v.elemType !== DataType.FLOAT) {
      throw new ModelFormatError(`${where} is not FLOAT (elem_type ${v.elemType}); the network's input must be float32`);
    }
    if (!v.dims) throw new ModelFormatError(`${where} has no shape; zf-visualizer needs [N, C, H, W]`);
    const dims = v.dims;
    const text = `[${dims.map((d) => (d === undefined ? '?' : String(d))).join(', ')}]`;
    if (dims.length < 1 || dims.length > 5 || (this.wholeTensor && dims.length > 4)) {
      throw new ModelFormatError(`${where} has shape ${text}; zf-visualizer takes inputs of 1 to 4 axes after the batch`);
    }
    const fallback = this.options.inputSize ?? [224, 224];
    const image = dims.length === 4;
    const axisName = (i: number) => (image ? ['batch', 'channel count', 'height', 'width'][i] : `axis ${i}`);
    const known = (d: number | string | undefined, i: number): number => {
      if (typeof d === 'number') {
        if (d === 0) throw new ModelFormatError(`${where} has a zero-sized ${axisName(i)} (shape ${text})`);
        if (d < 0) throw new ModelFormatError(`${where} has a negative ${axisName(i)} ${d}`);
        return d;
      }
      if (image && (i === 2 || i === 3)) return fallback[i - 2];
      if (i === 0 && !this.wholeTensor) return 1;
      throw new ModelFormatError(`${where}: the ${axisName(i)} is symbolic ('${d ?? '?'}') in shape ${text}; ` +
        `${image && i === 1 ? 'the channel count must be fixed' : 'only the batch and an image\'s height and width may be'}`);
    };
    const full = dims.map(known);
    const shape = this.wholeTensor ? full : full.slice(1);
    if ((shape.length === 3 && (shape[1] > MAX_SIDE || shape[2] > MAX_SIDE)) || count(shape) > MAX_INPUT_VALUES) {
      throw new ModelFormatError(`${where} has shape [N, ${shape.join(', ')}]: more than ${MAX_SIDE} on a side or ` +
        `${MAX_INPUT_VALUES} values per image is not plausible`);
    }
    return shape;
  }

  // ------------------------------------------------------------------------------------------
  // Nodes

  private mapNode(node: NodeRef): void {
    const inputs = node.inputs.map((name) => (name ? this.lookup(node, name) : undefined));
    if (node.opType === 'Constant') return this.setConstant(node, 0, this.constantValue(node));
    if (node.opType === 'Identity' || (node.opType === 'Cast' && inputs[0]?.kind === 'data')) {
      const a = new Attrs(node, this.describe(node), this.opset);
      a.allow('to', 'saturate');
      if (node.opType === 'Cast' && a.int('to', DataType.FLOAT) !== DataType.FLOAT) {
        throw new ModelFormatError(`${this.describe(node)} casts the data to ${a.int('to', 0)}; only float data is supported`);
      }
      const v = inputs[0];
      if (!v) throw new ModelFormatError(`${this.describe(node)} has no input`);
      return this.setOutput(node, 0, v);
    }
    if (inputs.every((v) => !v || v.kind === 'const') || node.opType === 'Shape') {
      const folded = foldNode(node, new Attrs(node, this.describe(node), this.opset), this.opset,
        inputs.map((v) => (v?.kind === 'const' ? v.c : v ? this.dataShapeConst(v.id) : undefined)), this.describe(node),
        (t) => fromTensor(this.source, t));
      if (folded) {
        folded.forEach((c, j) => this.setConstant(node, j, c));
        return;
      }
    }
    const mapping = MAPPINGS.get(node.opType);
    if (!mapping) {
      const onConstants = FOLDABLE.includes(node.opType) ? ' on the data (only on constants, computed at load)' : '';
      throw new ModelFormatError(`${this.describe(node)}: op '${node.opType}' is not supported${onConstants}; zf-visualizer runs ` +
        `${supportedOps().join(', ')} (opset ${this.opset})`);
    }
    mapping(this.context(node, inputs));
    for (let j = 0; j < node.outputs.length; j++) {
      const out = node.outputs[j];
      if (out && !this.values.has(out) && (this.readCount.get(out) ?? 0) > 0) {
        throw new ModelFormatError(`output '${out}' of ${this.describe(node)} is used, but zf-visualizer does not compute it (output ${j})`);
      }
    }
  }

  /** The full shape of data tensor `id` as a constant (Shape of a data tensor; the batch taken as 1). */
  private dataShapeConst(id: number): Const {
    const shape = id < 0 ? this.inputShape : this.shapes[id];
    return { dims: this.wholeTensor ? [...shape] : [1, ...shape], int: true, shapeOnly: true, values: () => {
      throw new ModelFormatError('a data tensor\'s values are not known at load');
    } } as Const;
  }

  private lookup(node: NodeRef, name: string): Value {
    const v = this.values.get(name);
    if (v) return v;
    if (this.graph.inputs.some((i) => i.name === name)) {
      throw new ModelFormatError(`input '${name}' of ${this.describe(node)} is a graph input without a value: ` +
        'bind it with the constants option');
    }
    throw new ModelFormatError(`input '${name}' of ${this.describe(node)} is missing: no initializer, Constant or ` +
      'node gives it (the file is incomplete)');
  }

  private setOutput(node: NodeRef, j: number, v: Value): void {
    const name = node.outputs[j];
    if (!name) return;
    this.values.set(name, v);
    if (v.kind === 'data') this.tensors.set(name, v.id);
  }

  private setConstant(node: NodeRef, j: number, c: Const): void {
    this.setOutput(node, j, { kind: 'const', c });
  }

  private constantValue(node: NodeRef): Const {
    const a = new Attrs(node, this.describe(node), this.opset);
    a.allow('value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'sparse_value', 'value_string', 'value_strings');
    if (node.attributes.length !== 1) throw new ModelFormatError(`${this.describe(node)} must have exactly one value attribute`);
    const attr = node.attributes[0];
    switch (attr.name) {
      case 'value':
        if (!attr.t) throw a.bad('value', 'holds no tensor');
        return fromTensor(this.source, { ...attr.t, name: node.outputs[0] ?? attr.t.name });
      case 'value_float': return fromValues([], [attr.f ?? 0], false);
      case 'value_floats': return fromValues([attr.floats.length], attr.floats, false);
      case 'value_int': return fromValues([], [attr.i ?? 0], true);
      case 'value_ints': return fromValues([attr.ints.length], attr.ints, true);
      default: throw a.bad(attr.name, 'is not supported (sparse or string constants)');
    }
  }

  private context(node: NodeRef, inputs: (Value | undefined)[]): MapContext {
    const where = this.describe(node);
    const self = this;
    const count = (() => { let n = node.inputs.length; while (n > 0 && !node.inputs[n - 1]) n--; return n; })();
    const m: MapContext = {
      node, opset: this.opset, attrs: new Attrs(node, where, this.opset), wholeTensor: this.wholeTensor,
      where: () => where,
      fail: (problem) => new ModelFormatError(`${where}: ${problem}`),
      inputCount: () => count,
      has: (j) => !!inputs[j],
      isData: (j) => inputs[j]?.kind === 'data',
      data(j) {
        const v = inputs[j];
        if (!v) throw m.fail(`has no input ${j}`);
        if (v.kind !== 'data') throw m.fail(`input ${j} ('${node.inputs[j]}') is a constant; a data tensor is expected there`);
        return { id: v.id, shape: v.id < 0 ? self.inputShape : self.shapes[v.id] };
      },
      constant(j, role, required = true) {
        const v = inputs[j];
        if (!v) {
          if (required) throw m.fail(`has no ${role} input`);
          return undefined;
        }
        if (v.kind !== 'const') {
          throw m.fail(`the ${role} '${node.inputs[j]}' is computed from the data; it must be a constant (an initializer, ` +
            'a Constant, or computed from those)');
        }
        return v.c;
      },
      ints(j, role) {
        const c = m.constant(j, role, false);
        if (!c) return undefined;
        return Array.from(c.values(), (x) => (Number.isFinite(x) ? x : x > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER));
      },
      rank: (shape) => shape.length + (self.wholeTensor ? 0 : 1),
      axis(raw, rank, what = 'axis') {
        if (!Number.isInteger(raw) || raw < -rank || raw >= rank) throw m.fail(`${what} ${raw} is out of range for a rank-${rank} input`);
        const a = raw < 0 ? raw + rank : raw;
        if (self.wholeTensor) return a;
        if (a === 0) throw new NeedsWholeTensor(where);
        return a - 1;
      },
      constantShape(c, dataRank, what) {
        if (self.wholeTensor || c.dims.length < dataRank) return [...c.dims];
        if (c.dims.length > dataRank) throw m.fail(`${what} [${c.dims.join(', ')}] has more axes than the data`);
        if (c.dims[0] !== 1) throw new NeedsWholeTensor(where);
        return c.dims.slice(1);
      },
      emit(op, opInputs, params, output = 0) {
        if (node.name) op.name = node.name;
        const i = self.ops.length;
        const chain = opInputs.length === 1 && opInputs[0] === i - 1;
        const withInputs: Op = chain ? op : { ...op, inputs: [...opInputs] };
        const xs = opInputs.map((t) => (t < 0 ? self.inputShape : self.shapes[t]));
        let shape: Shape;
        try {
          shape = opDef(withInputs).shape(withInputs, xs);
          if (shape.some((d) => !(d >= 1))) throw new ArgumentError(`empty output [${shape.join(', ')}]`);
        } catch (e) {
          if (!(e instanceof ArgumentError)) throw e;
          const tooSmall = /empty output/.test(e.message);
          throw new ModelFormatError(`${where} cannot apply to its input${xs.length > 1 ? 's' : ''} ${xs.map((s) => `[${s.join(', ')}]`).join(', ')}` +
            (tooSmall ? ': it gives an empty output; the network input is too small for this network' : `: ${e.message.replace(/^x op 0 \([a-z]+\): /, '')}`));
        }
        if (shape.length > 4) throw m.fail(`its output [${shape.join(', ')}] has more than 4 axes per image`);
        self.ops.push(withInputs);
        self.shapes.push(shape);
        self.params.push(params);
        self.names.push(output >= 0 ? node.outputs[output] ?? '' : '');
        if (output >= 0) self.setOutput(node, output, { kind: 'data', id: i });
        return i;
      },
      alias(id, output = 0) { self.setOutput(node, output, { kind: 'data', id }); },
      constantOutput(c, output = 0) { self.setConstant(node, output, c); },
      shape: (id) => (id < 0 ? self.inputShape : self.shapes[id]),
      producer: (id) => (id >= 0 ? self.ops[id] : undefined),
      readers(id) {
        let n = 0;
        for (const [name, t] of self.tensors) if (t === id) n += self.readCount.get(name) ?? 0;
        return n;
      },
      params: (id) => self.params[id],
      readTransfer(t) {
        const v = t.tensor ? fromTensor(self.source, t.tensor).values() : Float64Array.from(t.values ?? []);
        return t.scale === 1 ? v : v.map((x) => x * t.scale);
      },
      needsWholeTensor() {
        if (self.wholeTensor) throw m.fail('is not supported on this input');
        throw new NeedsWholeTensor(where);
      },
      wholeReason: () => (self.whole === false ? undefined : self.whole),
    };
    return m;
  }
}

function boundConstant(name: string, value: BoundConstant): Const {
  if (!value || !Array.isArray(value.shape) || value.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ArgumentError(`constants['${name}'] needs a shape of non-negative integers`);
  }
  const data = value.data;
  const n = count(value.shape);
  if (!data || typeof (data as ArrayLike<unknown>).length !== 'number' || (data as ArrayLike<unknown>).length !== n) {
    throw new ArgumentError(`constants['${name}'] has shape [${value.shape.join(', ')}] (${n} values) but ${(data as ArrayLike<unknown>)?.length ?? 'no'} values`);
  }
  const int = data instanceof BigInt64Array || data instanceof Int32Array;
  const values = data instanceof BigInt64Array ? Array.from(data, (v) => Number(v)) : Array.from(data as ArrayLike<number>);
  return fromValues([...value.shape], values, int);
}
