/**
 * The worker's side of the protocol (protocol.ts): holds one model, the current image's run,
 * and answers requests one at a time in arrival order, so a projection never sees a half-done
 * forward pass. `cancel` is answered at once, outside the queue; long jobs (loading, the nine
 * projections) check for it between steps and give the event loop a turn so it can arrive.
 */
import { AbortError, ArgumentError, ImageDecodeError, StaleRunError } from '../errors.js';
import { loadModel, type LoadOptions } from '../models/load.js';
import { defaultPoint, type Point } from '../graph/names.js';
import type { Model } from '../engine/model.js';
import type { Run } from '../engine/run.js';
import type { Tensor } from '../engine/tensor.js';
import { checkImageSize, type Pixels } from '../io/preprocess.js';
import { inputToImage, projectionToImage } from '../deconv/render.js';
import { gradcamToImage } from '../deconv/gradcam-render.js';
import type { Projection } from '../deconv/project.js';
import { defaultGraphLayer, tensorInfos } from './tensors.js';
import { MODES } from '../deconv/walk.js';
import { encodePng, filterSheet, mapPictures, mapSheet } from './pictures.js';
import { occlusion, occlusionGrid } from '../analyses/occlusion.js';
import { forwardMacs } from '../engine/cost.js';
import { denseStart } from '../analyses/occlusion-engine.js';
import { setDefaultSpawnWorker } from '../analyses/pool.js';
import { classColor, occlusionOverlay, type OcclusionMapName } from '../analyses/occlusion-render.js';
import { invariance, invarianceCharts, lastConvLayer } from '../analyses/invariance.js';
import { TRANSFORM_KINDS } from '../analyses/transform.js';
import { HANDLERS, isHandled, type HandlerRequest } from './handlers/index.js';
import type { AnalysisContext } from './context.js';
import {
  transferables, type ErrorInfo, type FiltersResult, type GradcamResultMessage, type ImageResult, type ImageSource, type LayerInfo,
  type InvarianceResultMessage, type MapsResult, type ModelInfo, type OcclusionPicture, type OcclusionResultMessage, type ProjectResult, type ProjectedPatch, type RequestMessage,
  type RequestOf, type ResponseMessage, type ResultOf,
} from './protocol.js';

export type Post = (message: ResponseMessage, transfer: Transferable[]) => void;

/** Let queued messages (a cancel) run before going on. */
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export interface HostOptions {
  /**
   * Start one worker of an analyses' pool: a Web Worker that runs startPoolWorker (worker.ts
   * does, started with the name POOL_WORKER_NAME). Given, occlusion computes on several cores
   * and the data-set handlers are offered a pool (AnalysisContext.pool); the host also makes it
   * this thread's default (pool.ts setDefaultSpawnWorker: one host per worker), since analyses
   * start their own pools. Without it, every analysis runs in this thread alone.
   */
  spawnPoolWorker?: () => Worker;
}

/**
 * Threads an analysis computes on at most, this worker's included. Occlusion gives a pool of up
 * to 3 workers only the conv layers' weights and runs the fc layers here (occlusion.ts,
 * SPLIT_WORKERS): 4 keeps it there, so a copy is small even for ZFNet (its fc layers are 234 of
 * its 250 MB). More cores would also compete with the page's own thread.
 */
const MAX_THREADS = 4;
/**
 * Occlusion starts a pool from this much work (positions x multiply-adds of a full forward pass;
 * the fast path does less): zfnet-mini's 12 x 12 positions (1.3e9) ran slower with the pool in
 * Chromium on 2 cores (103 ms against 86), its 26 x 26 (6.3e9) faster (270 against 462).
 */
const OCCLUSION_POOL_FROM_MACS = 3e9;

/** Memory the pool workers' copies of the model may take together, at most. */
const POOL_MEMORY_BYTES = 512 * 2 ** 20;

export class EngineHost {
  private model?: Model;
  private info?: ModelInfo;
  private run?: Run;
  private runId = 0;
  private input?: Tensor;
  /** Where the default model's folder is, as the last load was told (for snapshots). */
  private baseUrl?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly jobs = new Map<number, AbortController>();

  /** Dropped when a pool worker could not start: later requests do not try again (dropPool). */
  private spawnPoolWorker?: () => Worker;
  /** The pool workers that returned a job's result during the current occlusion request. */
  private answered?: Set<Worker>;

  /** `modelsUrl`: where the default model's folder is, when the engine cannot tell. */
  constructor(private readonly post: Post, private readonly modelsUrl?: string, options: HostOptions = {}) {
    const spawn = options.spawnPoolWorker;
    if (spawn) {
      this.spawnPoolWorker = () => {
        let worker: Worker;
        try {
          worker = spawn();
        } catch (e) {
          // E.g. a SecurityError: this worker's script is cross-origin (a page that wrapped it
          // from a CDN in a blob: worker), so no nested worker can start from it.
          this.dropPool();
          throw e;
        }
        // Which workers really computed (the occlusion result reports them): a pool that never
        // started would otherwise go unnoticed whenever this thread did all the work alone.
        const answered = this.answered;
        let ready = false;
        worker.addEventListener('message', (event: MessageEvent<{ kind?: string }>) => {
          const kind = event.data?.kind;
          if (kind === 'ready') ready = true;
          // Its script loaded but could not start the pool worker: no better next time.
          if (kind === 'fatal' && !ready) this.dropPool();
          if (kind === 'result') answered?.add(worker);
        });
        // Its script did not load (a 404, a revoked blob: URL, a CSP refusal reported late).
        worker.addEventListener('error', () => { if (!ready) this.dropPool(); });
        return worker;
      };
      setDefaultSpawnWorker(this.spawnPoolWorker);
    }
  }

  /**
   * Offer no pool any more: a pool worker could not start, and the next would not either (how
   * workers can start is a property of where this script came from). The analyses that asked
   * fall back to this thread alone (occlusion, the scans); later ones do not try again.
   */
  private dropPool(): void {
    const mine = this.spawnPoolWorker;
    if (!mine) return;
    this.spawnPoolWorker = undefined;
    // This thread's default spawner too, unless another host set its own since.
    const current = setDefaultSpawnWorker(undefined);
    if (current !== mine) setDefaultSpawnWorker(current);
  }

  /**
   * How many pool workers an analysis may start, each holding `bytes` of model: none without
   * spawnPoolWorker; else one per core up to MAX_THREADS, less one when this thread computes
   * too (`local`), and only as many as fit in POOL_MEMORY_BYTES (or an eighth of what the
   * device reports having, when it says).
   */
  private poolWorkers(local: boolean, bytes: number): number {
    if (!this.spawnPoolWorker) return 0;
    const nav = (globalThis as { navigator?: { hardwareConcurrency?: number; deviceMemory?: number } }).navigator;
    const cores = Math.max(1, nav?.hardwareConcurrency ?? 1);
    // deviceMemory: Chromium only, in GiB, rounded and at most 8.
    const budget = Math.min(POOL_MEMORY_BYTES, nav?.deviceMemory ? nav.deviceMemory * 2 ** 30 / 8 : Infinity);
    const fit = Math.floor(budget / Math.max(1, bytes));
    return Math.max(0, Math.min(Math.min(cores, MAX_THREADS) - (local ? 1 : 0), fit));
  }

  receive(message: RequestMessage): void {
    const { id } = message;
    if (message.type === 'cancel') {
      const job = this.jobs.get(message.target);
      job?.abort();
      this.reply(id, { cancelled: !!job });
      return;
    }
    const controller = new AbortController();
    this.jobs.set(id, controller);
    this.queue = this.queue.then(async () => {
      try {
        if (controller.signal.aborted) throw new AbortError('cancelled before it started');
        this.reply(id, await this.dispatch(id, message, controller.signal));
      } catch (e) {
        this.fail(id, controller.signal.aborted ? new AbortError('cancelled') : e);
      } finally {
        this.jobs.delete(id);
      }
    });
  }

  private dispatch(id: number, m: RequestMessage, signal: AbortSignal): Promise<ResultOf[keyof ResultOf]> | ResultOf[keyof ResultOf] {
    switch (m.type) {
      case 'load': return this.load(id, m, signal);
      case 'image': return this.image(m, signal);
      case 'maps': return this.maps(m);
      case 'project': return this.project(id, m, signal);
      case 'filters': return this.filters(m);
      case 'occlusion': return this.occlusion(id, m, signal);
      case 'invariance': return this.invariance(id, m, signal);
      case 'gradcam': return this.gradcam(m, signal);
      default:
        if (isHandled(m.type)) return this.handle(id, m as HandlerRequest, signal); throw new ArgumentError(`unknown request type '${(m as { type: string }).type}'`);
    }
  }

  private reply(id: number, result: ResultOf[keyof ResultOf]): void {
    this.post({ id, kind: 'result', result }, transferables(result));
  }

  private fail(id: number, e: unknown): void {
    const error: ErrorInfo = e instanceof Error
      ? { name: e.name, message: e.message }
      : { name: 'Error', message: String(e) };
    this.post({ id, kind: 'error', error }, []);
  }

  private async load(id: number, m: RequestOf<'load'>, signal: AbortSignal): Promise<ModelInfo> {
    const t0 = performance.now();
    const base = m.modelBaseUrl ?? this.modelsUrl;
    this.baseUrl = base;
    const options: LoadOptions = {
      seed: m.seed, backend: m.backend, signal, baseUrl: base,
      onProgress: (fraction) => this.post({ id, kind: 'progress', fraction }, []),
    };
    // Drop the old model first: two large models need not fit in memory at once.
    this.model = undefined;
    this.info = undefined;
    this.run = undefined;
    this.input = undefined;
    const model = await loadModel(m.source, options);
    if (signal.aborted) throw new AbortError('loading the model was cancelled');
    this.model = model;
    const net = model.network;
    const last = model.shapes[model.shapes.length - 1];
    const classes = last.length === 1 ? last[0] : last.reduce((a, b) => a * b, 1);
    const layers: LayerInfo[] = model.layers.map((l) => {
      const point = defaultPoint(l);
      return {
        name: l.name, kind: l.kind, points: Object.keys(l.points) as Point[], defaultPoint: point,
        shape: [...model.shapes[l.points[point]!]],
      };
    });
    // Imported graphs: every tensor is a layer; the built-in models have their layers only.
    const tensors = tensorInfos(model);
    const spatial = layers.filter((l) => l.shape.length === 3);
    this.info = {
      source: typeof m.source === 'string' ? m.source : 'file', name: net.name, backend: model.backend,
      input: [...net.input] as [number, number, number], preprocess: net.preprocess, classes,
      labels: Array.from({ length: classes }, (_, i) => net.labels?.[i] ?? `class ${i}`),
      layers, ...(tensors ? { tensors } : {}),
      defaultLayer: tensors ? defaultGraphLayer(tensors) : spatial[spatial.length - 1]?.name,
      memoryBytes: model.memoryBytes, ms: performance.now() - t0,
    };
    return this.info;
  }

  private requireModel(): Model {
    if (!this.model) throw new ArgumentError('no model is loaded yet');
    return this.model;
  }

  private async image(m: RequestOf<'image'>, signal: AbortSignal): Promise<ImageResult> {
    const model = this.requireModel();
    const t0 = performance.now();
    const name = m.name ?? (typeof m.image === 'string' ? m.image.split('/').pop() || m.image : 'the image');
    const pixels = await decodeSource(m.image, name, signal);
    if (signal.aborted) throw new AbortError('cancelled');
    const input = model.preprocess(pixels);
    this.run = undefined;
    const run = model.forwardSync(input);
    this.run = run;
    this.input = input;
    this.runId += 1;
    return {
      run: this.runId, name, width: pixels.width, height: pixels.height, top: run.top(5),
      input: inputToImage(input, model.network.preprocess), ms: performance.now() - t0,
    };
  }

  private current(run: number): Run {
    if (!this.run || run !== this.runId) throw new StaleRunError(`run ${run} was replaced by a newer image`);
    return this.run;
  }

  private async maps(m: RequestOf<'maps'>): Promise<MapsResult> {
    const model = this.requireModel();
    const run = this.current(m.run);
    const { layer, point, op } = resolveLayer(model, m.layer, m.point);
    const shape = model.tensorShape(op);
    // A dense layer's units are 1 x 1 maps (the feature grid shows them as such); other shapes
    // have no maps to show.
    const dense = shape.length === 1 && layer.kind === 'dense';
    if (shape.length !== 3 && !dense) throw new ArgumentError(`${m.layer} has no spatial feature maps (shape [${shape.join(', ')}])`);
    const [c, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
    const activation = run.activation(layer.name, point);
    const { strengths, order, pixels, scale } = mapPictures(activation.data.subarray(0, c * h * w), c, h, w);
    const { sheet, columns, gap } = mapSheet(pixels, c, h, w);
    return { run: m.run, layer: m.layer, point, shape: [c, h, w], strengths, order, scale, columns, gap, sheet: await encodePng(sheet) };
  }

  private async project(id: number, m: RequestOf<'project'>, signal: AbortSignal): Promise<ProjectResult> {
    const model = this.requireModel();
    const t0 = performance.now();
    if (!MODES.includes(m.mode)) throw new ArgumentError(`mode '${m.mode}' is not one of ${MODES.join(', ')}`);
    let run = this.current(m.run);
    const { layer, point, op } = resolveLayer(model, m.layer, m.point);
    const shape = model.tensorShape(op);
    if (shape.length !== 3 && shape.length !== 1) throw new ArgumentError(`${m.layer} is [${shape.join(', ')}]: a projection starts from [C, H, W] maps or a dense layer's units`);
    const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
    if (!Number.isInteger(m.map) || m.map < 0 || m.map >= maps) {
      throw new ArgumentError(`map ${m.map} is out of range: ${m.layer} has ${maps} maps (0-${maps - 1})`);
    }
    const values = run.activation(layer.name, point).data.subarray(m.map * h * w, (m.map + 1) * h * w);
    // The strongest positions (ties: first in row-major order, as keep 'top-k'); after the
    // first, only positive ones: a zero activation projects to nothing.
    const top = Math.max(1, Math.min(m.top ?? 9, h * w));
    const positions = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b)
      .slice(0, top).filter((p, i) => i === 0 || values[p] > 0);
    const preprocess = model.network.preprocess;
    const units: ProjectedPatch[] = [];
    let full;
    for (const p of positions) {
      run = this.current(m.run);
      const y = Math.floor(p / w), x = p % w;
      const projection = run.projectSync({ layer: layer.name, point, map: m.map, keep: { y, x }, mode: m.mode, signal });
      const box = projection.boxes[0];
      full ??= projectionToImage(projection, 0, { preprocess });
      const picture = projectionToImage(projection, 0, { preprocess, crop: box });
      const patch = inputToImage(this.input!, preprocess, box);
      units.push({
        y, x, value: values[p], box, projection: picture, patch,
        projectionPng: await encodePng(picture), patchPng: await encodePng(patch),
      });
      // Progress per unit: the work is observably in flight (a caller may cancel after it).
      this.post({ id, kind: 'progress', fraction: units.length / positions.length }, []);
      await turn();
      if (signal.aborted) throw new AbortError('projection cancelled');
    }
    return { run: m.run, layer: m.layer, point, map: m.map, mode: m.mode, full: full!, units, ms: performance.now() - t0 };
  }

  /** Grad-CAM of the current image (deconv/gradcam.ts) with its overlay, and guided Grad-CAM when asked. */
  private gradcam(m: RequestOf<'gradcam'>, signal: AbortSignal): GradcamResultMessage {
    const model = this.requireModel();
    const t0 = performance.now();
    const run = this.current(m.run);
    if (typeof m.layer !== 'string' || !m.layer) throw new ArgumentError('gradcam needs a layer (a layer or tensor name)');
    if (m.class !== undefined && !Number.isInteger(m.class)) throw new ArgumentError(`class must be a whole number, got ${m.class}`);
    if (m.opacity !== undefined && !(m.opacity >= 0 && m.opacity <= 1)) throw new ArgumentError(`opacity must be in [0, 1], got ${m.opacity}`);
    const { layer, point } = resolveLayer(model, m.layer, m.point);
    const cam = run.gradcamSync({ layer: layer.name, point, class: m.class, guided: !!m.guided, signal });
    const input = this.input!;
    const result: GradcamResultMessage = {
      run: m.run, layer: m.layer, point: cam.point, class: cam.class, label: cam.label, probability: cam.probability,
      shape: cam.shape, data: cam.data, weights: cam.weights, overlay: gradcamToImage(cam, input, { opacity: m.opacity }),
      ms: 0,
    };
    if (cam.guided) {
      // The projection display: zero is grey, one gain for all three channels.
      const [c, h, w] = cam.inputShape;
      const asProjection = { shape: [1, c, h, w], data: cam.guided, boxes: [cam.box], units: [] } as unknown as Projection;
      result.guided = projectionToImage(asProjection, 0, { preprocess: model.network.preprocess });
    }
    result.ms = performance.now() - t0;
    return result;
  }

  /**
   * Run an analysis on the current image's input. It makes forward passes of its own, which
   * overwrite the current run's activations: the run is computed again afterwards (same run id),
   * whether the analysis finished, failed or was cancelled.
   */
  private async analyse<T>(runId: number, work: (model: Model, input: Tensor) => Promise<T>): Promise<T> {
    const model = this.requireModel();
    this.current(runId);
    const input = this.input!;
    try {
      return await work(model, input);
    } finally {
      if (this.model === model && this.input === input && this.runId === runId) this.run = model.forwardSync(input);
    }
  }

  /**
   * A data-set or other-model analysis (handlers/): it may run the model on any images; the
   * current image's run is computed again afterwards (same run id), as `analyse` does.
   */
  private async handle(id: number, m: HandlerRequest, signal: AbortSignal): Promise<ResultOf[keyof ResultOf]> {
    const model = this.requireModel();
    const input = this.input, runId = this.runId;
    // Full copies of the model (the scans run every layer): worth a pool from 2 workers up.
    const workers = this.poolWorkers(false, model.memoryBytes);
    const context: AnalysisContext = {
      model, info: this.info!, input, signal, modelsUrl: this.baseUrl,
      pool: workers >= 2 && this.spawnPoolWorker ? { workers, spawnWorker: this.spawnPoolWorker } : undefined,
      progress: (fraction) => this.post({ id, kind: 'progress', fraction }, []),
      // At most 4x the network's input side (and 1024 px): see decodeSource.
      decode: (source, name) => decodeSource(source, name, signal, Math.max(1024, 4 * Math.max(...model.network.input.slice(1)))),
      loadOther: (source, options = {}) => loadModel(source, {
        seed: options.seed, epoch: options.epoch, backend: model.backend, signal, baseUrl: this.baseUrl,
        onProgress: options.onProgress,
      }),
      checkpoint: async () => {
        await turn();
        if (signal.aborted) throw new AbortError('cancelled');
      },
    };
    try {
      const handler = HANDLERS[m.type] as (c: AnalysisContext, r: HandlerRequest) => Promise<ResultOf[keyof ResultOf]>;
      return await handler(context, m);
    } finally {
      // `previews` only decodes and preprocesses: the run's activations are untouched.
      if (m.type !== 'previews' && input && this.model === model && this.input === input && this.runId === runId) {
        this.run = model.forwardSync(input);
      }
    }
  }

  private occlusion(id: number, m: RequestOf<'occlusion'>, signal: AbortSignal): Promise<OcclusionResultMessage> {
    const t0 = performance.now();
    if (m.workers !== undefined && (!Number.isInteger(m.workers) || m.workers < 1)) {
      throw new ArgumentError(`occlusion workers must be a positive integer (threads, this worker's included), got ${m.workers}`);
    }
    return this.analyse(m.run, async (model, input) => {
      // This thread and up to MAX_THREADS - 1 pool workers, each holding the conv layers only;
      // unless asked for, no pool for work too small to pay for starting one.
      const [, h, w] = model.network.input;
      const grid = occlusionGrid(h, w, m.size, m.stride);
      const worth = m.workers !== undefined || grid.rows * grid.cols * forwardMacs(model) >= OCCLUSION_POOL_FROM_MACS;
      const threads = worth ? 1 + this.poolWorkers(true, spatialBytes(model)) : 1;
      const answered = this.answered = new Set();
      let r;
      try {
        // occlusion() starts its own pool (with this thread's default spawner, set above), while
        // this thread already computes, and closes it whether it finished, failed or was cancelled.
        r = await occlusion(model, input, {
          // A graph's default (b) is its last conv block's output (the view's), as the other analyses'.
          size: m.size, stride: m.stride, classIndex: m.classIndex, fill: m.fill,
          layer: m.layer ?? (model.network.tensors ? lastConvLayer(model) : undefined), map: m.map,
          workers: Math.min(threads, m.workers ?? threads), signal,
          onProgress: (fraction) => this.post({ id, kind: 'progress', fraction }, []),
        });
      } finally {
        this.answered = undefined;
      }
      const preprocess = model.network.preprocess;
      const range = (values: ArrayLike<number>) => {
        let min = Infinity, max = -Infinity;
        for (let i = 0; i < values.length; i++) { min = Math.min(min, values[i]); max = Math.max(max, values[i]); }
        return [min, max] as const;
      };
      const titles: Record<OcclusionMapName, string> = {
        probability: `P(${r.label})`,
        activation: `${r.layer} map ${r.map}: total activation`,
        top: 'Most probable class',
      };
      const pictures: OcclusionPicture[] = (['probability', 'activation', 'top'] as const).map((which) => {
        const [min, max] = which === 'probability' ? range(r.probability) : which === 'activation' ? range(r.activation) : [0, 0];
        return { which, title: titles[which], picture: occlusionOverlay(r, which, input, preprocess, { alpha: 0.6 }), min, max };
      });
      const counts = new Map<number, number>();
      for (const t of r.top) counts.set(t, (counts.get(t) ?? 0) + 1);
      const classes = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([index, positions]) => ({
        index, label: r.labels[index], positions, color: `rgb(${classColor(index).join(', ')})`,
      }));
      return {
        run: m.run, size: r.grid.size, stride: r.grid.stride, rows: r.grid.rows, cols: r.grid.cols,
        classIndex: r.classIndex, label: r.label, layer: r.layer, point: r.point, map: r.map, baseline: r.baseline,
        probability: r.probability, activation: r.activation, top: r.top, topProbability: r.topProbability,
        pictures, classes, workers: (r.local ? 1 : 0) + answered.size, ms: performance.now() - t0,
      };
    });
  }

  private invariance(id: number, m: RequestOf<'invariance'>, signal: AbortSignal): Promise<InvarianceResultMessage> {
    const t0 = performance.now();
    const kinds = m.kinds ?? [...TRANSFORM_KINDS];
    return this.analyse(m.run, async (model, input) => {
      const result = await invariance(model, input, {
        kinds, classIndex: m.classIndex, signal,
        onProgress: (fraction) => this.post({ id, kind: 'progress', fraction }, []),
      });
      return { run: m.run, result, charts: invarianceCharts(result, { width: 280, height: 180 }), ms: performance.now() - t0 };
    });
  }

  private filters(m: RequestOf<'filters'>): FiltersResult {
    const model = this.requireModel();
    // A tensor of an imported graph names its convolution by the layer it is a point of (conv12).
    const name = m.layer === undefined ? model.layers.find((l) => l.kind === 'conv')?.name
      : model.layers.some((l) => l.name === m.layer) ? m.layer : resolveLayer(model, m.layer).layer.name;
    if (!name) throw new ArgumentError('this model has no convolution');
    if (!model.layers.some((l) => l.name === name)) throw new ArgumentError(`${m.layer} is not a convolution's output: it has no filters`);
    const { weight } = model.getWeights(name);
    const shape = model.weightShapes()[name].weight;
    if (shape.length !== 4) throw new ArgumentError(`${name} is not a convolution`);
    // A first layer sees the image's channels; deeper layers' filters have no colour to show.
    const preprocess = name === model.layers[0].name ? model.network.preprocess : 'grayscale';
    if (preprocess === 'grayscale' && shape[1] !== 1) {
      throw new ArgumentError(`${name}'s filters have ${shape[1]} input channels; only first-layer filters are shown as pictures`);
    }
    return { layer: name, shape, ...filterSheet(weight, shape, preprocess) };
  }
}

/**
 * A layer as a request names it: a short name and point (`conv5`, `relu`), or a tensor of an
 * imported graph by its own name. A tensor names one point already, so a request may repeat the
 * point it resolves to (a `maps` result's `point`, sent back with `project`) or give `tensor`.
 */
function resolveLayer(model: Model, name: string, point?: Point) {
  if (typeof name !== 'string' || !name) throw new ArgumentError('the request names no layer');
  const isTensor = model.network.tensors?.has(name) && !model.layers.some((l) => l.name === name);
  if (!isTensor) return model.resolve(name, point);
  const resolved = model.resolve(name);
  if (point !== undefined && point !== 'tensor' && point !== resolved.point) {
    throw new ArgumentError(`'${name}' is a tensor of the imported graph (the ${resolved.point} point of ${resolved.layer.name}); ` +
      `it has no point '${point}'`);
  }
  return resolved;
}

/**
 * The bytes a pool worker's model takes when it holds only the layers before the fc ones:
 * Model.create plans every layer's weights, but the fc weights it is never sent stay untouched
 * memory (zero pages the system does not back).
 */
function spatialBytes(model: Model): number {
  const dense = denseStart(model);
  let unused = 0;
  for (const layer of model.layers) {
    if (layer.op < dense) continue;
    const p = model.paramsAt(layer.op);
    if (p) unused += 4 * (p.weight.floats + (p.bias?.floats ?? 0));
  }
  return model.memoryBytes - unused;
}

/**
 * Decode a Blob or a URL with the browser's decoders, or take pixels as they are. With
 * `maxSide`, a larger picture is scaled down (aspect kept) right after decoding: the data-set
 * analyses hold up to 256 decoded images at once, and a folder of 12-megapixel photos would
 * otherwise take gigabytes before the network shrinks each to its input anyway.
 */
export async function decodeSource(source: ImageSource, name: string, signal: AbortSignal, maxSide = Infinity): Promise<Pixels> {
  if (typeof source === 'object' && !(source instanceof Blob)) {
    checkImageSize(source.width, source.height, name);
    return source;
  }
  let blob: Blob;
  if (typeof source === 'string') {
    let response: Response;
    try {
      response = await fetch(source, { signal });
    } catch (e) {
      if (signal.aborted) throw new AbortError('cancelled');
      throw new ImageDecodeError(`could not download ${name}: ${(e as Error).message}`);
    }
    if (!response.ok) throw new ImageDecodeError(`could not download ${name}: HTTP ${response.status}`);
    blob = await response.blob();
  } else {
    blob = source;
  }
  if (typeof createImageBitmap === 'undefined' || typeof OffscreenCanvas === 'undefined') {
    throw new ImageDecodeError('this environment cannot decode images; pass decoded pixels instead');
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    const type = blob.type ? `${blob.type}, ` : '';
    throw new ImageDecodeError(`${name} is not an image this browser can decode (${type}${blob.size} bytes)`);
  }
  try {
    checkImageSize(bitmap.width, bitmap.height, name);
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale)), height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new ImageDecodeError('this browser gave no 2D canvas to read the image with');
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    const { data } = context.getImageData(0, 0, width, height);
    return { width, height, data };
  } finally {
    bitmap.close();
  }
}
