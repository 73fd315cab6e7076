/**
 * A network bound to a kernel instance and its planned memory. Weights are written once; the
 * activations of every op, the switches of every max-pool and one shared scratch buffer are
 * planned for a batch size when the model is created, and re-planned only if a larger batch
 * arrives. A forward pass allocates nothing.
 */
import { ArgumentError, KernelError } from '../errors.js';
import type { Network, Op, Preprocess, Shape } from '../graph/layers.js';
import { preprocessImage, type Pixels } from '../io/preprocess.js';
import { inferShapes, receptiveFields, size, type ReceptiveField } from '../graph/shapes.js';
import { namedLayers, resolvePoint, resolveTensor, type NamedLayer } from '../graph/names.js';
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
}

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
  outputs: Region[];
  switches: (Region | undefined)[];
  /** Conv scratch (im2col panels, packed weights), shared by every conv call. */
  scratch: Region;
  /**
   * The backward walk's buffers, one image at a time: two ping-pong buffers of the largest
   * per-image tensor, two for the cropped region a region-limited transposed conv works on,
   * and LRN backward's scratch.
   */
  back: { a: Region; b: Region; cropIn: Region; cropOut: Region; lrn: Region };
}

/**
 * @internal A layer's weights in the arena; convs also keep a copy packed for the transposed
 * conv, refreshed lazily after the weights change.
 */
export interface Params { weight: Region; bias?: Region; shape: number[]; packed?: Region; packedStale?: boolean }

export class Model {
  readonly layers: NamedLayer[];
  /** Output shape of every op, for one image. */
  readonly shapes: Shape[];
  readonly fields: ReceptiveField[];
  /** Increments on every forward pass; a Run from an older pass refuses to read. */
  generation = 0;
  private readonly params = new Map<number, Params>();
  private readonly weightsEnd: number;
  private plan!: Plan;

  private constructor(readonly network: Network, readonly backend: Backend,
                      readonly kernels: Kernels, readonly arena: Arena, batch: number) {
    this.shapes = inferShapes(network);
    this.fields = receptiveFields(network);
    this.layers = namedLayers(network);
    network.ops.forEach((op, i) => {
      const shape = weightShape(op, this.inputShape(i));
      if (!shape) return;
      const name = this.layers.find((l) => l.op === i)!.name;
      this.params.set(i, {
        shape,
        weight: arena.alloc(size(shape), `${name} weights`),
        bias: (op as { bias?: boolean }).bias ? arena.alloc(shape[0], `${name} bias`) : undefined,
        packed: op.kind === 'conv' ? arena.alloc(kernels.conv2dPackedWeightFloats(
          this.inputShape(i)[0], op.filters, op.kernel[0], op.kernel[1], op.groups), `${name} packed weights`) : undefined,
        packedStale: true,
      });
    });
    this.weightsEnd = arena.mark();
    this.planFor(batch);
  }

  static async create(network: Network, options: ModelOptions = {}): Promise<Model> {
    const backend = pickBackend(options.backend);
    const arena = new Arena();
    const kernels = await instantiateKernels(backend, arena.memory);
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
    return new Model(network, backend, kernels, arena, batch);
  }

  /** Shape of op i's input for one image. */
  inputShape(i: number): Shape {
    return i === 0 ? [...this.network.input] : this.shapes[i - 1];
  }

  get batchCapacity(): number { return this.plan.batch; }

  /** Bytes of WebAssembly memory this model holds. */
  get memoryBytes(): number { return this.arena.bytes; }

  /**
   * @internal Forbid re-planning: `owner` has allocated buffers after the plan (training), so a
   * larger batch must be refused instead of silently overwriting them.
   */
  pinPlan(owner: string): void { this.pinnedBy = owner; }
  private pinnedBy?: string;

  private planFor(batch: number): void {
    if (this.pinnedBy) {
      throw new ArgumentError(`a batch of ${batch} does not fit: this model is planned for ${this.plan.batch} ` +
        `image(s) and ${this.pinnedBy} holds memory after that plan; use a separate model for larger batches`);
    }
    const a = this.arena;
    a.reset(this.weightsEnd);
    const input = a.alloc(batch * size(this.network.input), 'the input');
    const outputs: Region[] = [];
    const switches: (Region | undefined)[] = [];
    let scratchFloats = 0;
    this.network.ops.forEach((op, i) => {
      const out = this.shapes[i];
      const prev = i === 0 ? input : outputs[i - 1];
      switches.push(op.kind === 'maxpool' ? a.alloc(batch * size(out), `op ${i} switches`) : undefined);
      // Identity ops share their input's buffer: the graph stays intact, no copy is made.
      outputs.push(op.kind === 'dropout' || op.kind === 'flatten' ? prev : a.alloc(batch * size(out), `op ${i} output`));
      if (op.kind === 'conv') {
        const [c] = this.inputShape(i);
        scratchFloats = Math.max(scratchFloats, this.kernels.conv2dScratchFloats(
          c, op.filters, op.kernel[0], op.kernel[1], out[1], out[2], op.groups));
      }
    });
    const scratch = a.alloc(scratchFloats, 'scratch');
    const largest = Math.max(size(this.network.input), ...this.shapes.map(size));
    const lrnFloats = Math.max(0, ...this.network.ops.map((op, i) => (op.kind === 'lrn' ? 2 * size(this.shapes[i]) : 0)));
    const back = {
      a: a.alloc(largest, 'backward buffer'), b: a.alloc(largest, 'backward buffer'),
      cropIn: a.alloc(largest, 'backward crop'), cropOut: a.alloc(largest, 'backward crop'),
      lrn: a.alloc(lrnFloats, 'LRN backward scratch'),
    };
    this.plan = { batch, input, outputs, switches, scratch, back };
  }

  /** Names of layers with weights, and the weight shapes they expect. */
  weightShapes(): Record<string, { weight: number[]; bias?: number[] }> {
    const out: Record<string, { weight: number[]; bias?: number[] }> = {};
    for (const layer of this.layers) {
      const p = this.params.get(layer.op)!;
      out[layer.name] = { weight: p.shape, bias: p.bias ? [p.shape[0]] : undefined };
    }
    return out;
  }

  setWeights(layer: string, weights: LayerWeights): void {
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
    this.arena.write(p.weight, weights.weight);
    p.packedStale = true;
    if (p.bias) this.arena.write(p.bias, weights.bias ?? new Float32Array(p.shape[0]));
  }

  /** A copy of a layer's weights. */
  getWeights(layer: string): LayerWeights {
    const p = this.paramsOf(layer);
    return { weight: this.arena.read(p.weight), bias: p.bias ? this.arena.read(p.bias) : undefined };
  }

  /** Seeded He-uniform weights and small biases in every layer (the built-in architectures). */
  initWeights(seed: number): void {
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
    return preprocessImage(pixels, this.network.input, preset);
  }

  forwardSync(input: Tensor | Pixels, options: ForwardOptions = {}): Run {
    if (isPixels(input)) input = this.preprocess(input);
    const batch = this.checkInput(input);
    if (batch > this.plan.batch) this.planFor(batch);
    const { plan, kernels: k, arena } = this;
    arena.write(plan.input, input.data);
    const timings = options.profile ? new Float64Array(this.network.ops.length) : undefined;
    this.network.ops.forEach((op, i) => {
      const t0 = timings ? performance.now() : 0;
      try {
        this.runOp(op, i, batch, k, plan);
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        throw new KernelError(`${this.network.name} op ${i} (${op.kind}): the kernel trapped (${e.message}); ` +
          'this is a bug in zf-visualizer, please report it with the model and input');
      }
      options.afterOp?.(i, batch);
      if (timings) timings[i] = performance.now() - t0;
    });
    this.generation += 1;
    return new Run(this, this.generation, batch, timings);
  }

  private runOp(op: Op, i: number, n: number, k: Kernels, plan: Plan): void {
    const x = i === 0 ? plan.input.offset : plan.outputs[i - 1].offset;
    const y = plan.outputs[i].offset;
    const [c, h, w] = this.inputShape(i);
    const out = this.shapes[i];
    switch (op.kind) {
      case 'conv': {
        const p = this.params.get(i)!;
        k.conv2d(n, c, h, w, op.filters, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1],
          op.pads[0], op.pads[1], out[1], out[2], op.groups, x, p.weight.offset, p.bias?.offset ?? 0,
          y, plan.scratch.offset);
        return;
      }
      case 'relu': k.relu(n * size(out), x, y); return;
      case 'maxpool':
        k.maxpool(n * c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
          out[1], out[2], x, y, plan.switches[i]!.offset);
        return;
      case 'avgpool':
        k.avgpool(n * c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
          op.pads[2], op.pads[3], out[1], out[2], op.countIncludePad ? 1 : 0, x, y);
        return;
      case 'lrn': k.lrn(n, c, h * w, op.size, op.alpha, op.beta, op.bias, x, y); return;
      case 'dense': {
        const p = this.params.get(i)!;
        k.dense(n, size(this.inputShape(i)), op.units, x, p.weight.offset, p.bias?.offset ?? 0, y);
        return;
      }
      case 'softmax': k.softmax(n, size(out), x, y); return;
      case 'dropout': case 'flatten': return;
    }
  }

  private checkInput(input: Tensor): number {
    const want = this.network.input;
    if (!input || !(input.data instanceof Float32Array) || !Array.isArray(input.shape)) {
      throw new ArgumentError('input must be a tensor { shape: [N, C, H, W], data: Float32Array }');
    }
    const s = input.shape;
    if (s.length !== 4 || s[1] !== want[0] || s[2] !== want[1] || s[3] !== want[2] || !(s[0] >= 1) || !Number.isInteger(s[0])) {
      throw new ArgumentError(`input shape [${s.join(', ')}] does not fit ${this.network.name}, ` +
        `which takes [N, ${want.join(', ')}]`);
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
  /** @internal The input region of op i (the network input for op 0). */
  opInputRegion(i: number): Region { return i === 0 ? this.plan.input : this.plan.outputs[i - 1]; }
  /** @internal */ get planned(): Plan { return this.plan; }
  /** @internal */ paramsAt(op: number): Params | undefined { return this.params.get(op); }

  /** @internal Weights of op i were changed in place (training): repack before projecting. */
  markWeightsChanged(i: number): void {
    const p = this.params.get(i);
    if (p) p.packedStale = true;
  }

  /** @internal Conv op i's weights packed for conv2dTransposePacked, packed now if they changed. */
  packedWeights(i: number): Region {
    const op = this.network.ops[i];
    const p = this.params.get(i);
    if (op.kind !== 'conv' || !p?.packed) throw new Error(`op ${i} is not a convolution`);
    if (p.packedStale) {
      this.kernels.conv2dPackWeights(this.inputShape(i)[0], op.filters, op.kernel[0], op.kernel[1], op.groups,
        p.weight.offset, p.packed.offset);
      p.packedStale = false;
    }
    return p.packed;
  }

  /** A layer and point (`conv5`, `relu`), or an imported model's original tensor name (`gpu_0/conv5_1`). */
  resolve(layer: string, point?: string) {
    if (this.network.tensors?.has(layer) && !this.layers.some((l) => l.name === layer)) {
      return resolveTensor(this.network, this.layers, layer, point);
    }
    return resolvePoint(this.layers, layer, point);
  }
}

function isPixels(x: unknown): x is Pixels {
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x;
}

function weightShape(op: Op, input: Shape): number[] | undefined {
  if (op.kind === 'conv') return [op.filters, input[0] / op.groups, op.kernel[0], op.kernel[1]];
  if (op.kind === 'dense') return [op.units, size(input)];
  return undefined;
}

function describeArray(a: unknown): string {
  if (a instanceof Float32Array) return `${a.length} values`;
  return a === undefined ? 'nothing' : (a as object).constructor?.name ?? typeof a;
}
