/**
 * A network bound to a kernel instance and its planned memory. Weights are written once; every
 * tensor of the graph, the switches of every max-pool, one scratch buffer shared by all ops and
 * the projection walk's buffers are planned for a batch size when the model is created, and
 * re-planned only if a larger batch arrives. A forward pass allocates nothing: it is a loop over
 * the op table (src/engine/ops/) in topological order.
 */
import { ArgumentError, BusyError, DisposedError, KernelError, NonFiniteError } from '../errors.js';
import type { Network, Preprocess, Shape } from '../graph/layers.js';
import { preprocessImage, type Pixels } from '../io/preprocess.js';
import { inferShapes, opInputs, readersOf, receptiveFields, size, type ReceptiveField } from '../graph/shapes.js';
import { opDef } from './ops/index.js';
import type { ParamOffsets } from './ops/types.js';
import { namedLayers, resolveLayer, type NamedLayer } from '../graph/names.js';
import { Arena, type Region } from '../memory/arena.js';
import { instantiateKernels, pickBackend, type Backend } from '../wasm/load.js';
import type { Kernels } from '../wasm/kernels.js';
import { Mulberry32 } from '../models/init.js';
import { Run } from './run.js';
import type { Tensor } from './tensor.js';

export interface ModelOptions {
  /** Force the scalar build (the SIMD build is used wherever the engine supports it). */
  backend?: Backend;
  /** Batch size to plan memory for; a larger batch later re-plans once. */
  batch?: number;
  /**
   * The largest batch the plan may grow to (default: as many images as fit in
   * DEFAULT_BATCH_BYTES of per-image buffers, but at least MIN_BATCH_CAP, the analyses' batches). A larger batch is refused with an
   * ArgumentError (split it): WebAssembly memory never shrinks, so a plan grown for a huge batch
   * would hold its memory until dispose().
   */
  maxBatch?: number;
}

/** The per-image buffers (input, every tensor, switches) a plan may grow to by default: 1 GiB. */
export const DEFAULT_BATCH_BYTES = 1 << 30;
/** The default cap is never below this (the analyses forward 8 images at a time by default). */
export const MIN_BATCH_CAP = 16;

export interface LayerWeights {
  /** conv: [filters, channels/groups, kh, kw]; dense: [units, inputs]. */
  weight: Float32Array;
  bias?: Float32Array;
}

export interface ForwardOptions {
  /** Record the time each op takes (run.timings); for benchmarks. */
  profile?: boolean;
  /** @internal Called after each op; training applies its dropout masks here. */
  afterOp?: (op: number, batch: number) => void;
}

/** @internal Where everything lives in the model's memory for the planned batch. */
export interface Plan {
  batch: number;
  input: Region;
  /** Every op's output (a view op's is its input's region). */
  outputs: Region[];
  switches: (Region | undefined)[];
  /** Scratch shared by every op, forward and backward (im2col panels, LRN backward...). */
  scratch: Region;
  /**
   * The projection walk's buffers, one image at a time: a gradient buffer per tensor (`grads[t + 1]`
   * for tensor t; the input's first), temporaries for a tensor's second and later readers, and
   * two buffers for the cropped region a region-limited transposed conv works on.
   */
  back: { grads: Region[]; temps: Region[]; cropIn: Region; cropOut: Region };
}

/**
 * @internal An op's constants in the arena: conv/dense weights (`weight`, `bias`) and the others'
 * (`b`, `scale`, `shift`...); ops with a backward copy of their weights (convs) also keep it
 * packed, refreshed lazily after the weights change.
 */
export interface Params {
  weight: Region; bias?: Region; shape: number[]; packed?: Region; packedStale?: boolean;
  /** Every constant by name, with its shape. */
  all: Record<string, { region: Region; shape: number[] }>;
}

export class Model {
  readonly layers: NamedLayer[];
  /** Output shape of every op, for one image. */
  readonly shapes: Shape[];
  readonly fields: ReceptiveField[];
  /** Increments on every forward pass; a Run from an older pass refuses to read. */
  generation = 0;
  /** Per tensor (t + 1), the ops that read it. */
  readonly readers: number[][];
  /**
   * Every named tensor of an imported graph, in topological order, with its shape for one image
   * and the kind of op that computes it (`input` for the network input). Built-in networks: the
   * short-named layers' points.
   */
  readonly tensors: TensorInfo[];
  private readonly params = new Map<number, Params>();
  private readonly offsets: ParamOffsets[] = [];
  private readonly weightsEnd: number;
  private plan!: Plan;
  /** The largest batch a plan may grow to. */
  readonly maxBatch: number;
  /** Set by dispose(): every call then throws DisposedError. */
  private disposed = false;
  /** The analysis holding this model (exclusive()), and its runs. */
  private lease?: { name: string; view: Model; runs: WeakSet<Run> };
  /** > 0 while a call made through the lease's view runs (synchronously). */
  private inside = 0;

  private constructor(readonly network: Network, readonly backend: Backend,
                      readonly kernels: Kernels, readonly arena: Arena, batch: number, maxBatch?: number) {
    this.shapes = inferShapes(network);
    this.fields = receptiveFields(network, this.shapes);
    this.layers = namedLayers(network);
    this.readers = readersOf(network);
    this.tensors = listTensors(network, this.shapes, this.layers);
    network.ops.forEach((op, i) => {
      const def = opDef(op);
      const xs = this.inputShapes(i);
      const shapes = def.params?.(op, xs) ?? {};
      const names = Object.keys(shapes);
      if (names.length === 0) return;
      const label = this.layers.find((l) => l.op === i)?.name ?? `op ${i} (${op.kind})`;
      const all: Params['all'] = {};
      for (const name of names) all[name] = { region: arena.alloc(size(shapes[name]), `${label} ${name}`), shape: shapes[name] };
      const packedFloats = def.packedFloats?.(op, xs, kernels) ?? 0;
      this.params.set(i, {
        all, shape: shapes.weight ?? shapes[names[0]], weight: all.weight?.region ?? all[names[0]].region, bias: all.bias?.region,
        packed: packedFloats > 0 ? arena.alloc(packedFloats, `${label} packed weights`) : undefined,
        packedStale: true,
      });
      const offsets: ParamOffsets = {};
      for (const name of names) offsets[name] = all[name].region.offset;
      this.offsets[i] = offsets;
    });
    this.weightsEnd = arena.mark();
    this.maxBatch = maxBatch ?? Math.max(MIN_BATCH_CAP, Math.floor(DEFAULT_BATCH_BYTES / this.bytesPerImage()));
    if (batch > this.maxBatch) throw this.tooLarge(batch);
    this.planFor(batch);
  }

  static async create(network: Network, options: ModelOptions = {}): Promise<Model> {
    const backend = pickBackend(options.backend);
    const arena = new Arena();
    const kernels = await instantiateKernels(backend, arena.memory);
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
    const max = options.maxBatch;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new ArgumentError(`maxBatch must be a positive integer, got ${max}`);
    return new Model(network, backend, kernels, arena, batch, max);
  }

  /** Shape of op i's first input for one image. */
  inputShape(i: number): Shape {
    return this.tensorShape(opInputs(this.network, i)[0]);
  }

  /** Shapes of every input of op i, for one image. */
  inputShapes(i: number): Shape[] {
    return opInputs(this.network, i).map((t) => this.tensorShape(t));
  }

  /** Shape of tensor t (-1: the network input) for one image. */
  tensorShape(t: number): Shape {
    return t < 0 ? [...this.network.input] : this.shapes[t];
  }

  get batchCapacity(): number {
    if (this.disposed) this.check('batchCapacity');
    return this.plan.batch;
  }

  /** Bytes of WebAssembly memory this model holds (0 after dispose()). */
  get memoryBytes(): number { return this.disposed ? 0 : this.arena.bytes; }

  /**
   * Bytes the plan adds per image of batch: the input, every tensor (view ops share theirs) and
   * the max-pools' switches. A batch of n needs about memoryBytes + (n - batchCapacity) times this.
   */
  bytesPerImage(): number {
    let floats = size(this.network.input);
    this.network.ops.forEach((op, i) => {
      const def = opDef(op);
      floats += (def.switches?.(op, this.shapes[i]) ?? 0) + (def.alias ? 0 : size(this.shapes[i]));
    });
    return floats * 4;
  }

  private tooLarge(batch: number): ArgumentError {
    return new ArgumentError(`a batch of ${batch} is larger than ${this.network.name}'s cap of ${this.maxBatch} image(s) ` +
      `(${(this.bytesPerImage() / 2 ** 20).toFixed(1)} MiB per image); split it into smaller batches, ` +
      'or create the model with a larger maxBatch');
  }

  /** Released: every later call throws DisposedError. */
  get isDisposed(): boolean { return this.disposed; }

  /** The analysis this model is busy with, if any. */
  get busyWith(): string | undefined { return this.lease?.name; }

  /**
   * Release the model: its WebAssembly memory and kernels are dropped (collected once nothing
   * else holds them); every later call on the model or its runs throws DisposedError. Refused
   * with BusyError while an analysis holds the model (cancel it first). Calling it twice is fine.
   */
  dispose(): void {
    if (this.disposed) return;
    this.check('dispose()');
    this.disposed = true;
    this.params.clear();
    this.workspaces.clear();
    const self = this as unknown as { arena?: Arena; kernels?: Kernels; plan?: Plan };
    self.arena = undefined;
    self.kernels = undefined;
    self.plan = undefined;
  }

  [Symbol.dispose](): void { this.dispose(); }

  /**
   * @internal Throws DisposedError after dispose(), and BusyError while an analysis holds the
   * model and the caller is not that analysis (`run`: a run the analysis made).
   */
  check(what: string, run?: Run): void {
    if (this.disposed) {
      throw new DisposedError(`${this.network.name}: ${what} was called after dispose(); this model's memory is released, ` +
        'load or create the model again');
    }
    const lease = this.lease;
    if (lease && this.inside === 0 && !(run && lease.runs.has(run))) {
      throw new BusyError(`${this.network.name} is busy with ${lease.name}: ${what} now would overwrite its buffers; ` +
        `wait for the ${lease.name} to end (or cancel it), or use a second model`);
    }
  }

  /**
   * @internal Run `body` with this model held for `name` (an analysis): until its promise settles,
   * any other forward pass, projection, weight change or dispose() on the model throws BusyError.
   * `body` gets a view of the model through which its own calls pass; a nested exclusive() made
   * through that view shares the hold.
   */
  async exclusive<T>(name: string, body: (model: Model) => Promise<T>): Promise<T> {
    if (this.lease && this.inside > 0) return body(this.lease.view);
    this.check(name);
    const target = this;
    const wrapped = new Map<PropertyKey, unknown>();
    const view = new Proxy(this, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t) as unknown;
        if (typeof v !== 'function' || prop === 'constructor') return v;
        let w = wrapped.get(prop);
        if (!w) {
          const fn = v as (...args: unknown[]) => unknown;
          w = (...args: unknown[]) => {
            target.inside += 1;
            try { return fn.apply(target, args); } finally { target.inside -= 1; }
          };
          wrapped.set(prop, w);
        }
        return w;
      },
      set(t, prop, value) { return Reflect.set(t, prop, value, t); },
    });
    const lease = { name, view, runs: new WeakSet<Run>() };
    this.lease = lease;
    try {
      return await body(view);
    } finally {
      if (this.lease === lease) this.lease = undefined;
    }
  }

  /**
   * @internal Forbid re-planning: `owner` has allocated buffers after the plan (training), so a
   * larger batch must be refused instead of silently overwriting them.
   */
  pinPlan(owner: string): void { this.pinnedBy = owner; }
  private pinnedBy?: string;

  /** Increments on every re-plan: a workspace or a base read from an older plan is gone. */
  planVersion = 0;
  private workspaces = new Map<string, Region>();

  /**
   * A named workspace after the plan (an analysis's or the trainer's own buffers): the same
   * region for the same name while the plan stands (grown if a larger one is asked for), and
   * gone with a re-plan (ask again then). Every buffer a model's memory holds is the plan's or
   * a named workspace.
   */
  workspace(name: string, floats: number): Region {
    const known = this.workspaces.get(name);
    if (known && known.floats >= floats) return known;
    const region = this.arena.alloc(floats, name);
    this.workspaces.set(name, region);
    return region;
  }

  private planFor(batch: number): void {
    if (this.pinnedBy) {
      throw new ArgumentError(`a batch of ${batch} does not fit: this model is planned for ${this.plan.batch} ` +
        `image(s) and ${this.pinnedBy} holds memory after that plan; use a separate model for larger batches`);
    }
    if (this.network.wholeTensor && batch !== 1) {
      throw new ArgumentError(`${this.network.name} takes its input as one whole tensor [${this.network.input.join(', ')}], ` +
        `not a batch of ${batch}`);
    }
    const a = this.arena;
    const { ops } = this.network;
    a.reset(this.weightsEnd);
    this.workspaces.clear();
    this.planVersion += 1;
    const input = a.alloc(batch * size(this.network.input), 'the input');
    const outputs: Region[] = [];
    const switches: (Region | undefined)[] = [];
    let scratchFloats = 0;
    ops.forEach((op, i) => {
      const def = opDef(op);
      const out = this.shapes[i];
      const xs = this.inputShapes(i);
      const slots = def.switches?.(op, out) ?? 0;
      switches.push(slots > 0 ? a.alloc(batch * slots, `op ${i} switches`) : undefined);
      // View ops share their input's buffer: the graph stays intact, no copy is made.
      outputs.push(def.alias ? this.regionOf(opInputs(this.network, i)[0], input, outputs) : a.alloc(batch * size(out), `op ${i} output`));
      scratchFloats = Math.max(scratchFloats, def.scratch?.(op, xs, out, this.kernels) ?? 0,
        def.backScratch?.(op, xs, out, this.kernels) ?? 0);
    });
    const scratch = a.alloc(scratchFloats, 'scratch');
    const largest = Math.max(size(this.network.input), ...this.shapes.map(size));
    const grads = this.planGradients(a);
    const readsMost = Math.max(1, ...ops.map((op, i) => opInputs(this.network, i).length));
    const back = {
      grads, temps: Array.from({ length: readsMost }, () => a.alloc(largest, 'backward temporary')),
      cropIn: a.alloc(largest, 'backward crop'), cropOut: a.alloc(largest, 'backward crop'),
    };
    this.plan = { batch, input, outputs, switches, scratch, back };
  }

  /**
   * The projection walk's gradient buffers (one image), sharing memory between tensors whose
   * gradients are never alive together: the walk visits ops from the last to the first, so
   * tensor t's gradient lives from its last reader's visit to its own producer's (t). Placed
   * largest first at the lowest offset free over its lifetime (a chain needs two buffers' worth,
   * a ResNet a few blocks').
   */
  private planGradients(a: Arena): Region[] {
    const count = this.network.ops.length + 1;
    const floats = [size(this.network.input), ...this.shapes.map(size)].map((n) => Math.ceil(n / 16) * 16);
    const last = this.readers.map((r, t) => Math.max(t - 1, ...r));
    const placed: { t: number; at: number }[] = [];
    const offsets = new Array<number>(count).fill(0);
    let total = 0;
    for (const t of [...Array(count).keys()].sort((p, q) => floats[q] - floats[p] || p - q)) {
      const overlapping = placed
        .filter((o) => o.t - 1 <= last[t] && t - 1 <= last[o.t])
        .map((o) => [o.at, o.at + floats[o.t]] as const)
        .sort((p, q) => p[0] - q[0]);
      let at = 0;
      for (const [from, to] of overlapping) {
        if (at + floats[t] <= from) break;
        at = Math.max(at, to);
      }
      offsets[t] = at;
      placed.push({ t, at });
      total = Math.max(total, at + floats[t]);
    }
    const base = a.alloc(total, 'backward gradients');
    return offsets.map((at, t) => ({ offset: base.offset + at * 4, floats: floats[t] }));
  }

  private regionOf(t: number, input: Region, outputs: Region[]): Region {
    return t < 0 ? input : outputs[t];
  }

  /** Names of layers with weights, and the weight shapes they expect. */
  weightShapes(): Record<string, { weight: number[]; bias?: number[] }> {
    if (this.disposed) this.check('weightShapes()');
    const out: Record<string, { weight: number[]; bias?: number[] }> = {};
    for (const layer of this.layers) {
      const p = this.params.get(layer.op)!;
      out[layer.name] = { weight: p.shape, bias: p.bias ? [p.shape[0]] : undefined };
    }
    return out;
  }

  setWeights(layer: string, weights: LayerWeights): void {
    this.check('setWeights()');
    const p = this.paramsOf(layer);
    const expected = size(p.shape);
    if (!(weights.weight instanceof Float32Array) || weights.weight.length !== expected) {
      throw new ArgumentError(`${layer}: weight must be a Float32Array of ${expected} values ` +
        `[${p.shape.join(', ')}], got ${describeArray(weights.weight)}`);
    }
    if (weights.bias !== undefined && !p.bias) throw new ArgumentError(`${layer} has no bias`);
    if (p.bias && weights.bias !== undefined && (!(weights.bias instanceof Float32Array) || weights.bias.length !== p.shape[0])) {
      throw new ArgumentError(`${layer}: bias must be a Float32Array of ${p.shape[0]} values, got ${describeArray(weights.bias)}`);
    }
    for (const [what, data] of [['weight', weights.weight], ['bias', weights.bias]] as const) {
      const at = data ? data.findIndex((v) => !Number.isFinite(v)) : -1;
      if (at >= 0) throw new ArgumentError(`${layer}: ${what} value ${at} is ${data![at]}; weights must be finite numbers`);
    }
    this.arena.write(p.weight, weights.weight);
    p.packedStale = true;
    if (p.bias) this.arena.write(p.bias, weights.bias ?? new Float32Array(p.shape[0]));
  }

  /**
   * The constants of ops that are not short-named layers (batch norm scales, Add/Mul constants...),
   * by `#op:name`: what a copy of the model needs besides the layers' weights.
   */
  otherConstants(): Record<string, Float32Array> {
    if (this.disposed) this.check('otherConstants()');
    const out: Record<string, Float32Array> = {};
    const named = new Set(this.layers.map((l) => l.op));
    for (const [op, p] of this.params) {
      if (named.has(op)) continue;
      for (const [name, c] of Object.entries(p.all)) out[`#${op}:${name}`] = this.arena.read(c.region);
    }
    return out;
  }

  /** Write a constant given by otherConstants()' key. */
  setConstant(key: string, data: Float32Array): void {
    this.check('setConstant()');
    const m = /^#(\d+):(.+)$/.exec(key);
    const c = m ? this.params.get(Number(m[1]))?.all[m[2]] : undefined;
    if (!c || !(data instanceof Float32Array) || data.length !== size(c.shape)) {
      throw new ArgumentError(`constant '${key}' does not fit this model`);
    }
    const at = data.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) throw new ArgumentError(`constant '${key}': value ${at} is ${data[at]}; constants must be finite numbers`);
    this.arena.write(c.region, data);
    this.markWeightsChanged(Number(m![1]));
  }

  /** A copy of a layer's weights. */
  getWeights(layer: string): LayerWeights {
    if (this.disposed) this.check('getWeights()');
    const p = this.paramsOf(layer);
    return { weight: this.arena.read(p.weight), bias: p.bias ? this.arena.read(p.bias) : undefined };
  }

  /** Seeded He-uniform weights and small biases in every layer (the built-in architectures). */
  initWeights(seed: number): void {
    this.check('initWeights()');
    const random = new Mulberry32(seed);
    for (const layer of this.layers) {
      const p = this.params.get(layer.op)!;
      // Drawn straight into the arena: fresh memory is slow to touch, so touch it once.
      random.fillUniform(this.arena.f32(p.weight), Math.sqrt(6 / size(p.shape.slice(1))));
      p.packedStale = true;
      if (p.bias) random.fillUniform(this.arena.f32(p.bias), 0.01);
    }
  }

  private paramsOf(layer: string): Params {
    const named = this.layers.find((l) => l.name === layer);
    if (!named) throw new ArgumentError(`unknown layer '${layer}'; this model has ${this.layers.map((l) => l.name).join(', ')}`);
    return this.params.get(named.op)!;
  }

  /**
   * Run a batch through the network: a tensor [N, C, H, W] float32 (already preprocessed, used
   * as is), or one image's RGBA pixels (ImageData or decoded PNG/JPEG), preprocessed by the
   * network's preset.
   * Inputs containing NaN or +-Infinity are refused: they would poison every activation and
   * make switches meaningless.
   */
  async forward(input: Tensor | Pixels, options: ForwardOptions = {}): Promise<Run> {
    return this.forwardSync(input, options);
  }

  /** An image's pixels as this network's input tensor [1, C, H, W], by its preset or `preset`. */
  preprocess(pixels: Pixels, preset: Preprocess = this.network.preprocess): Tensor {
    if (this.disposed) this.check('preprocess()');
    return preprocessImage(pixels, this.network.input, preset);
  }

  forwardSync(input: Tensor | Pixels, options: ForwardOptions = {}): Run {
    this.check('forward()');
    if (isPixels(input)) input = this.preprocess(input);
    const batch = this.checkInput(input);
    if (batch > this.maxBatch) throw this.tooLarge(batch);
    if (batch > this.plan.batch) this.planFor(batch);
    const { plan, arena, network } = this;
    arena.write(plan.input, input.data);
    const timings = options.profile ? new Float64Array(network.ops.length) : undefined;
    network.ops.forEach((op, i) => {
      const t0 = timings ? performance.now() : 0;
      try {
        opDef(op).forward(op, this.forwardArgs(i, batch));
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        throw new KernelError(`${network.name} op ${i} (${op.kind}): the kernel trapped (${e.message}); ` +
          'this is a bug in zf-visualizer, please report it with the model and input');
      }
      options.afterOp?.(i, batch);
      if (timings) timings[i] = performance.now() - t0;
    });
    this.generation += 1;
    this.checkFinite(batch);
    const run = new Run(this, this.generation, batch, timings);
    if (this.lease && this.inside > 0) this.lease.runs.add(run);
    return run;
  }

  /**
   * A forward pass whose output holds NaN or Infinity is refused, naming the first op (in
   * topological order) whose output did: a weight or a constant out of range, not the input
   * (inputs are checked finite). Only the last output is scanned unless it is non-finite.
   */
  private checkFinite(batch: number): void {
    const ops = this.network.ops;
    const finite = (t: number) => {
      const r = this.plan.outputs[t];
      const n = batch * size(this.shapes[t]);
      const d = new Float32Array(this.arena.memory.buffer, r.offset, n);
      for (let i = 0; i < n; i++) if (!Number.isFinite(d[i])) return i;
      return -1;
    };
    const last = ops.length - 1;
    if (last < 0 || finite(last) < 0) return;
    for (let i = 0; i <= last; i++) {
      const at = finite(i);
      if (at < 0) continue;
      const name = this.tensors.find((t) => t.op === i && !t.point)?.name ?? this.layers.find((l) => l.op === i)?.name;
      const d = new Float32Array(this.arena.memory.buffer, this.plan.outputs[i].offset + at * 4, 1)[0];
      throw new NonFiniteError(`${this.network.name}: the forward pass produced ${d} at op ${i} (${ops[i].kind}` +
        `${name ? `, '${name}'` : ''}), value ${at} of its output, from a finite input: a weight, constant or attribute ` +
        'of that op (or the ops before it) is out of range');
    }
  }

  /** @internal What op i's forward pass reads and writes for a batch of n. */
  forwardArgs(i: number, n: number) {
    const plan = this.plan;
    const inputs = opInputs(this.network, i);
    return {
      k: this.kernels, n,
      x: inputs.map((t) => this.regionOf(t, plan.input, plan.outputs).offset), xs: inputs.map((t) => this.tensorShape(t)),
      y: plan.outputs[i].offset, ys: this.shapes[i],
      p: this.offsets[i] ?? {}, switches: plan.switches[i]?.offset ?? 0, scratch: plan.scratch.offset,
    };
  }

  private checkInput(input: Tensor): number {
    const want = this.network.input;
    if (!input || !(input.data instanceof Float32Array) || !Array.isArray(input.shape)) {
      throw new ArgumentError('input must be a tensor { shape: [N, C, H, W], data: Float32Array }');
    }
    const s = input.shape;
    const fits = s.length === want.length + 1 && want.every((d, i) => s[i + 1] === d) && s[0] >= 1 && Number.isInteger(s[0]);
    if (!fits || (this.network.wholeTensor && s[0] !== 1)) {
      throw new ArgumentError(`input shape [${s.join(', ')}] does not fit ${this.network.name}, ` +
        `which takes ${this.network.wholeTensor ? `[1, ${want.join(', ')}] (one whole tensor)` : `[N, ${want.join(', ')}]`}`);
    }
    if (input.data.length !== size(s)) {
      throw new ArgumentError(`input data has ${input.data.length} values but shape [${s.join(', ')}] needs ${size(s)}`);
    }
    const d = input.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new ArgumentError(`input value ${i} is ${d[i]}; inputs must be finite numbers ` +
          '(NaN and Infinity would poison every activation)');
      }
    }
    return s[0];
  }

  // Internal access for Run and the deconvnet: regions of the current plan.
  /** @internal */ outputRegion(op: number): Region { return this.plan.outputs[op]; }
  /** @internal */ switchRegion(op: number): Region | undefined { return this.plan.switches[op]; }
  /** @internal */ inputRegion(): Region { return this.plan.input; }
  /** @internal The region of tensor t (-1: the network input). */
  tensorRegion(t: number): Region { return this.regionOf(t, this.plan.input, this.plan.outputs); }
  /** @internal The first input region of op i. */
  opInputRegion(i: number): Region { return this.tensorRegion(opInputs(this.network, i)[0]); }
  /** @internal Byte offsets of op i's constants. */
  paramOffsets(i: number): ParamOffsets { return this.offsets[i] ?? {}; }
  /** @internal The scratch every op shares (forward and backward). */
  scratchRegion(): Region { return this.plan.scratch; }
  /** @internal The projection walk's buffers (one image). */
  walkBuffers(): Plan['back'] { return this.plan.back; }
  /** @internal */ paramsAt(op: number): Params | undefined { return this.params.get(op); }

  /** @internal Weights of op i were changed in place (training): repack before projecting. */
  markWeightsChanged(i: number): void {
    const p = this.params.get(i);
    if (p) p.packedStale = true;
  }

  /** @internal Op i's weights packed for its backward pass, packed now if they changed. */
  packedWeights(i: number): Region {
    const op = this.network.ops[i];
    const p = this.params.get(i);
    const def = opDef(op);
    if (!p?.packed || !def.pack) throw new Error(`op ${i} (${op.kind}) keeps no packed weights`);
    if (p.packedStale) {
      def.pack(op, this.inputShapes(i), this.kernels, this.offsets[i], p.packed.offset);
      p.packedStale = false;
    }
    return p.packed;
  }

  /** A layer and point (`conv5`, `relu`), or an imported model's original tensor name (`gpu_0/conv5_1`). */
  resolve(layer: string, point?: string) {
    if (this.disposed) this.check('resolve()');
    return resolveLayer(this.network, layer, point, this.layers);
  }

}

export interface TensorInfo {
  /** The tensor's name (built-in networks: the layer's short name, with `point`). */
  name: string;
  point?: string;
  /** The op whose output it is (-1: the network input). */
  op: number;
  kind: string;
  shape: Shape;
}

function listTensors(network: Network, shapes: Shape[], layers: NamedLayer[]): TensorInfo[] {
  const info = (name: string, op: number): TensorInfo => ({
    name, op, kind: op < 0 ? 'input' : network.ops[op].kind, shape: [...(op < 0 ? network.input : shapes[op])],
  });
  if (network.tensors) return [...network.tensors].map(([name, op]) => info(name, op)).sort((a, b) => a.op - b.op);
  return layers.flatMap((l) => Object.entries(l.points).map(([point, op]) => ({ ...info(l.name, op!), point })));
}

function isPixels(x: unknown): x is Pixels {
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x;
}

function describeArray(a: unknown): string {
  if (a instanceof Float32Array) return `${a.length} values`;
  return a === undefined ? 'nothing' : (a as object).constructor?.name ?? typeof a;
}
