/**
 * Occlusion sensitivity (paper, section 4.2 and Fig. 7): a square of one colour slides over the
 * image; at each position the occluded image goes through the network and three things are
 * recorded: (a) the probability of the chosen class (default: the unoccluded image's top
 * class), (b) the total activation of one feature map (default: the map of the last conv layer
 * with the strongest single activation on the unoccluded image, the paper's "layer-5 feature
 * map with the strongest response"), (c) the most probable class.
 *
 * Positions: the occluder's top-left corner steps by `stride` from 0 while the occluder has not
 * yet reached the far edge, so every pixel is covered and the last row/column may hang over the
 * border (clipped): rows = ceil(max(0, H - size) / stride) + 1, the same for columns. The maps
 * are [rows, cols], row-major; `grid` says where each position is in the image.
 *
 * The fast path (default; occlusion-engine.ts): only what the occluder changes is recomputed,
 * positions go through the fc layers in batches, and the positions are shared among workers.
 * `naive: true` runs one full forward pass per position (the reference; the two agree within
 * float32 rounding of the fc layers: the conv activations are bit for bit the same).
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import type { Point } from '../graph/names.js';
import type { Box } from '../graph/shapes.js';
import { size } from '../graph/shapes.js';
import type { Pixels } from '../io/preprocess.js';
import { OcclusionEngine, argmax, spatialLayers, type OcclusionTarget, type OcclusionValues } from './occlusion-engine.js';
import { lastConvLayer } from './invariance.js';
import { availableCores, ModelPool } from './pool.js';

/** 'zero': the preset's zero (the mean colour for caffe and torchvision: grey); 'mean': the image's mean per channel; or values in tensor units. */
export type OcclusionFill = 'zero' | 'mean' | number | readonly number[];

export interface OcclusionOptions {
  /** Side of the occluding square, in input pixels. */
  size: number;
  /** Step between positions, in input pixels. */
  stride: number;
  fill?: OcclusionFill;
  /** The class whose probability is mapped (default: the unoccluded image's most probable). */
  classIndex?: number;
  /** The layer whose map's total activation is mapped (default: the last conv layer). */
  layer?: string;
  point?: Point | string;
  /** The map (default: the one with the strongest single activation on the unoccluded image). */
  map?: number;
  /** Which image of a batch tensor (default 0). */
  image?: number;
  /** Positions per batch through the fc layers (default 16). */
  batch?: number;
  /**
   * Threads that compute, this one included (default: the number of cores): this thread works
   * on `model` while `workers - 1` pool workers start and join in. 0 or 1: this thread only.
   * A pool that cannot start (say, the page may not create its workers) is no pool: this thread
   * computes every position (unless `local` is false: then that fails).
   */
  workers?: number;
  /** A pool to run on as well (not closed afterwards); else one is started and closed. */
  pool?: ModelPool;
  /** Compute in this thread too (default true); false leaves all of it to the pool's workers. */
  local?: boolean;
  /** The module the workers load the engine from (see pool.ts). */
  engineUrl?: string | URL;
  /** One full forward pass per position (the reference path; in this thread). */
  naive?: boolean;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Where the positions are: position (r, c) covers rows ys[r]..min(H, ys[r] + size) - 1, columns likewise. */
export interface OcclusionGrid {
  rows: number;
  cols: number;
  size: number;
  stride: number;
  /** The image's size. */
  height: number;
  width: number;
  /** Top row and left column of each position's occluder. */
  ys: number[];
  xs: number[];
}

export interface OcclusionBaseline {
  probability: number;
  activation: number;
  top: number;
  topProbability: number;
}

export interface OcclusionResult {
  grid: OcclusionGrid;
  /** The recorded class, its label, the layer/point/map whose total is mapped. */
  classIndex: number;
  label: string;
  layer: string;
  point: Point;
  map: number;
  /** The occluder's value per channel, in tensor units. */
  fill: number[];
  /** [rows, cols] row-major: (a) the probability of `classIndex`. */
  probability: Float32Array;
  /** (b) the total activation of `map` (sum over its positions). */
  activation: Float32Array;
  /** (c) the most probable class, and its probability. */
  top: Int32Array;
  topProbability: Float32Array;
  /** The same on the unoccluded image. */
  baseline: OcclusionBaseline;
  /** Class labels (network's, or "class N"), for naming `top`. */
  labels: string[];
  /**
   * How it ran: the path, the pool workers that computed positions (0 when its pool could not
   * start, or this thread finished before it did), whether this thread computed too, the time (ms).
   */
  path: 'fast' | 'naive';
  workers: number;
  local: boolean;
  milliseconds: number;
}

/** The positions of a size x size occluder stepping by stride over an H x W image. */
export function occlusionGrid(height: number, width: number, size: number, stride: number): OcclusionGrid {
  for (const [name, v] of [['size', size], ['stride', stride]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`occlusion ${name} must be a positive integer, got ${v}`);
  }
  const steps = (extent: number) => Array.from({ length: Math.ceil(Math.max(0, extent - size) / stride) + 1 }, (_, i) => i * stride);
  const ys = steps(height), xs = steps(width);
  return { rows: ys.length, cols: xs.length, size, stride, height, width, ys, xs };
}

/** The occluder's box at position (r, c), clipped to the image. */
export function occluderBox(grid: OcclusionGrid, r: number, c: number): Box {
  const y0 = grid.ys[r], x0 = grid.xs[c];
  return { y0, x0, y1: Math.min(grid.height, y0 + grid.size), x1: Math.min(grid.width, x0 + grid.size) };
}

/** Every position's box, row-major. */
export function occluderBoxes(grid: OcclusionGrid): Box[] {
  const boxes: Box[] = [];
  for (let r = 0; r < grid.rows; r++) for (let c = 0; c < grid.cols; c++) boxes.push(occluderBox(grid, r, c));
  return boxes;
}

/** The occluder's value per channel for an image [C, H, W]. */
export function occlusionFill(fill: OcclusionFill | undefined, image: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(channels);
  if (fill === undefined || fill === 'zero') return out;
  if (fill === 'mean') {
    const plane = image.length / channels;
    for (let c = 0; c < channels; c++) {
      let s = 0;
      for (let i = c * plane; i < (c + 1) * plane; i++) s += image[i];
      out[c] = s / plane;
    }
    return out;
  }
  if (typeof fill === 'number') {
    if (!Number.isFinite(fill)) throw new ArgumentError(`the occluder's fill must be a finite number, got ${fill}`);
    return out.fill(fill);
  }
  if (Array.isArray(fill) && fill.length === channels && fill.every((v) => Number.isFinite(v))) {
    out.set(fill);
    return out;
  }
  throw new ArgumentError(`fill must be 'zero', 'mean', a number or ${channels} numbers (one per channel), got ${JSON.stringify(fill)}`);
}

/** Copy of `image` [C, H, W] with `box` set to `fill` per channel. */
export function occludeImage(image: Float32Array, shape: readonly number[], box: Box, fill: Float32Array): Float32Array {
  const [c, h, w] = shape;
  const out = image.slice();
  for (let ch = 0; ch < c; ch++) {
    for (let y = Math.max(0, box.y0); y < Math.min(h, box.y1); y++) {
      out.fill(fill[ch], (ch * h + y) * w + Math.max(0, box.x0), (ch * h + y) * w + Math.min(w, box.x1));
    }
  }
  return out;
}

let jobs = 0;

/** Up to this many workers, they leave the fc layers to the calling thread (see parallel()). */
const SPLIT_WORKERS = 3;

export async function occlusion(model: Model, input: Tensor | Pixels, options: OcclusionOptions): Promise<OcclusionResult> {
  return model.exclusive('occlusion', (held) => occlusionHeld(held, input, options));
}

async function occlusionHeld(model: Model, input: Tensor | Pixels, options: OcclusionOptions): Promise<OcclusionResult> {
  const t0 = performance.now();
  const { signal, onProgress } = options;
  if (signal?.aborted) throw new AbortError('occlusion cancelled');
  const [channels, height, width] = model.network.input;
  const tensor = 'shape' in input ? input : model.preprocess(input);
  const imageIndex = options.image ?? 0;
  if (!Array.isArray(tensor.shape) || tensor.shape.length !== 4 || !Number.isInteger(imageIndex) || imageIndex < 0 ||
      imageIndex >= tensor.shape[0]) {
    throw new ArgumentError(`image ${imageIndex} is out of range for an input of shape [${tensor.shape?.join(', ')}]`);
  }
  const want = model.network.input;
  if (tensor.shape[1] !== want[0] || tensor.shape[2] !== want[1] || tensor.shape[3] !== want[2]) {
    throw new ArgumentError(`input shape [${tensor.shape.join(', ')}] does not fit ${model.network.name}, which takes [N, ${want.join(', ')}]`);
  }
  const perImage = size(want);
  // The unoccluded image: forward once here (checks the input), for the defaults and the baseline.
  const image = tensor.data.slice(imageIndex * perImage, (imageIndex + 1) * perImage);
  const grid = occlusionGrid(height, width, options.size, options.stride);
  const fill = occlusionFill(options.fill, image, channels);
  // Each long step below (the unoccluded pass, the engine's base pass, the positions) starts
  // after a turn of the event loop, so that a cancel waits for one step at most.
  await turn();
  if (signal?.aborted) throw new AbortError('occlusion cancelled');
  const run = model.forwardSync({ shape: [1, channels, height, width], data: image });
  const probabilities = run.probabilities(0);
  const classes = probabilities.length;
  const classIndex = options.classIndex ?? argmax(probabilities);
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new ArgumentError(`class ${classIndex} is out of range: ${model.network.name} has ${classes} classes (0-${classes - 1})`);
  }
  const layerName = options.layer ?? lastConv(model);
  const { layer, point, op } = model.resolve(layerName, options.point);
  const shape = model.shapes[op];
  const maps = shape[0];
  const plane = shape.length === 3 ? shape[1] * shape[2] : 1;
  const activation = run.opOutput(op).data;
  const map = options.map ?? strongestMap(activation, maps, plane);
  if (!Number.isInteger(map) || map < 0 || map >= maps) {
    throw new ArgumentError(`map ${map} is out of range: ${layer.name} ${point} has ${maps} maps (0-${maps - 1})`);
  }
  let baseTotal = 0;
  for (let i = map * plane; i < (map + 1) * plane; i++) baseTotal += activation[i];
  // A cancel may land between the unoccluded pass and the engine's base pass.
  await turn();
  if (signal?.aborted) throw new AbortError('occlusion cancelled');
  const baseTop = argmax(probabilities);
  const labels = Array.from({ length: classes }, (_, i) => model.network.labels?.[i] ?? `class ${i}`);
  const target: OcclusionTarget = { classIndex, op, map };
  const boxes = occluderBoxes(grid);
  const batch = options.batch ?? 16;
  if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);

  let values: OcclusionValues;
  let workers = 0, local = true;
  const path = options.naive ? 'naive' : 'fast';
  if (path === 'naive') {
    values = await naive(model, image, boxes, fill, target, options);
  } else {
    local = options.local ?? true;
    const threads = options.workers ?? await availableCores();
    if (!Number.isInteger(threads) || threads < 0) throw new ArgumentError(`workers must be a non-negative integer, got ${threads}`);
    // Few positions are done before a pool would have started.
    const poolSize = options.pool?.size ?? (boxes.length > 2 * batch ? Math.max(0, threads - (local ? 1 : 0)) : 0);
    if (poolSize > 0 || !local) {
      if (!local && poolSize === 0) throw new ArgumentError('local: false needs a pool or workers >= 1');
      ({ values, workers } = await parallel(model, image, boxes, fill, target, batch, poolSize, local, options));
    } else {
      values = await inThread(model, image, boxes, fill, target, batch, options);
    }
  }
  onProgress?.(1);
  return {
    grid, classIndex, label: labels[classIndex], layer: layer.name, point, map, fill: Array.from(fill),
    probability: values.probability, activation: Float32Array.from(values.activation), top: values.top,
    topProbability: values.topProbability,
    baseline: {
      probability: probabilities[classIndex], activation: baseTotal, top: baseTop, topProbability: probabilities[baseTop],
    },
    labels, path, workers, local, milliseconds: performance.now() - t0,
  };
}

/** The default map's layer: the last conv layer (a graph's last conv block output, as the other analyses). */
function lastConv(model: Model): string {
  if (!model.network.tensors && !model.layers.some((l) => l.kind === 'conv')) {
    throw new ArgumentError(`${model.network.name} has no conv layer; name a layer`);
  }
  return lastConvLayer(model);
}

/** The map with the largest single activation (ties: the lower map). */
function strongestMap(activation: Float32Array, maps: number, plane: number): number {
  let best = 0, value = -Infinity;
  for (let m = 0; m < maps; m++) {
    for (let i = m * plane; i < (m + 1) * plane; i++) {
      if (activation[i] > value) { value = activation[i]; best = m; }
    }
  }
  return best;
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The longest this thread computes between turns of its event loop (ms), aimed at: a cancel
 * (an abort() from this thread, or a worker's cancel message) waits for the stretch under way,
 * which is this plus one step (one position's spatial section, one batch's fc layers, one
 * forward pass), well under 100 ms on zfnet at 224 x 224.
 */
export const SLICE_MS = 20;

/**
 * `engine.evaluate(boxes)` with turns: the positions' spatial sections a few at a time (up to
 * SLICE_MS), a turn, then the batch's dense section. The same numbers (the split form a pool
 * worker uses). Each engine call is synchronous and whole, so a pool result finished on the
 * same engine between the turns does not disturb it.
 */
async function evaluateInSlices(engine: OcclusionEngine, boxes: readonly Box[], fill: Float32Array,
                                signal: AbortSignal | undefined): Promise<OcclusionValues> {
  const n = boxes.length, s = engine.slotSize;
  const slots = new Float32Array(n * s);
  const activation = new Float64Array(n);
  let last = performance.now();
  for (let j = 0; j < n; j++) {
    const one = engine.spatialOnly([boxes[j]], fill);
    slots.set(one.slots, j * s);
    activation[j] = one.activation[0];
    if (j === n - 1 || performance.now() - last > SLICE_MS) {
      await turn();
      if (signal?.aborted) throw new AbortError('occlusion cancelled');
      last = performance.now();
    }
  }
  return engine.finishDense({ slots, activation });
}

/** One full forward pass per position (the reference). */
async function naive(model: Model, image: Float32Array, boxes: Box[], fill: Float32Array, target: OcclusionTarget,
                     options: OcclusionOptions): Promise<OcclusionValues> {
  const n = boxes.length;
  const out = allocValues(n);
  const shape = model.network.input;
  const { op, map, classIndex } = target;
  const s = model.shapes[op];
  const plane = s.length === 3 ? s[1] * s[2] : 1;
  let last = performance.now();
  for (let k = 0; k < n; k++) {
    if (options.signal?.aborted) throw new AbortError('occlusion cancelled');
    const run = model.forwardSync({ shape: [1, ...shape], data: occludeImage(image, shape, boxes[k], fill) });
    const p = run.probabilities(0);
    const t = argmax(p);
    out.probability[k] = p[classIndex];
    out.top[k] = t;
    out.topProbability[k] = p[t];
    const a = model.arena.read(model.outputRegion(op), map * plane, plane);
    let total = 0;
    for (let i = 0; i < plane; i++) total += a[i];
    out.activation[k] = total;
    options.onProgress?.((k + 1) / n);
    if (performance.now() - last > SLICE_MS) {
      await turn();
      last = performance.now();
    }
  }
  return out;
}

async function inThread(model: Model, image: Float32Array, boxes: Box[], fill: Float32Array, target: OcclusionTarget,
                        batch: number, options: OcclusionOptions): Promise<OcclusionValues> {
  const engine = new OcclusionEngine(model, batch, target);
  await turn();
  if (options.signal?.aborted) throw new AbortError('occlusion cancelled');
  engine.setBase(image);
  const out = allocValues(boxes.length);
  for (let start = 0; start < boxes.length; start += batch) {
    await turn();
    if (options.signal?.aborted) throw new AbortError('occlusion cancelled');
    const part = await evaluateInSlices(engine, boxes.slice(start, start + batch), fill, options.signal);
    place(out, part, start);
    options.onProgress?.(Math.min(boxes.length, start + batch) / boxes.length);
  }
  return out;
}

/**
 * This thread (on `model`) and a pool's workers take batches of positions from one queue. The
 * pool starts while this thread already computes; if this thread finishes first, the pool is
 * not waited for.
 */
async function parallel(model: Model, image: Float32Array, boxes: Box[], fill: Float32Array, target: OcclusionTarget,
                        batch: number, poolSize: number, local: boolean,
                        options: OcclusionOptions): Promise<{ values: OcclusionValues; workers: number }> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const cancelled = () => new AbortError('occlusion cancelled');
  const out = allocValues(boxes.length);
  let next = 0, done = 0;
  const take = () => {
    if (next >= boxes.length) return undefined;
    const start = next;
    next += batch;
    return start;
  };
  let finished!: () => void;
  const complete = new Promise<void>((resolve) => { finished = resolve; });
  const finish = (part: OcclusionValues, start: number) => {
    place(out, part, start);
    done += part.probability.length;
    options.onProgress?.(done / boxes.length);
    if (done === boxes.length) finished();
  };
  const fail = (e: unknown) => { controller.abort(); throw e; };
  const lanes: Promise<void>[] = [];
  const engine = local ? new OcclusionEngine(model, batch, target) : undefined;
  if (engine) {
    lanes.push((async () => {
      // The base pass in a step of its own (the pool starts before it).
      await turn();
      if (controller.signal.aborted) throw cancelled();
      engine.setBase(image);
      for (;;) {
        // Give the pool's messages a turn between batches.
        await turn();
        if (controller.signal.aborted) throw cancelled();
        const start = take();
        if (start === undefined) return;
        const part = await evaluateInSlices(engine, boxes.slice(start, start + batch), fill, controller.signal);
        if (controller.signal.aborted) throw cancelled();
        finish(part, start);
      }
    })().catch(fail));
  }
  // With few workers they compute the convolutions only and this thread the fc layers (batched):
  // workers without ZFNet's 234 MB of fc weights start in a fraction of the time. With many,
  // this thread would become the bottleneck: they run the whole network.
  const dense = engine && poolSize <= SPLIT_WORKERS ? engine : undefined;
  let pool = options.pool;
  const own = !pool;
  let starting: Promise<ModelPool> | undefined;
  /** Batches the pool's workers computed: the first `size` of them went to distinct workers. */
  let pooled = 0;
  lanes.push((async () => {
    if (!pool) {
      const layers = dense ? spatialLayers(model) : undefined;
      starting = ModelPool.create(model, { workers: poolSize, engineUrl: options.engineUrl, signal: controller.signal, layers });
      try {
        pool = await starting;
      } catch (e) {
        // A pool that cannot start (a worker the page may not create, a script that does not
        // load) is no pool: this thread's lane takes every position (the same results). A
        // cancel still fails, and so does this when this thread does not compute.
        if (!engine || controller.signal.aborted || e instanceof AbortError) throw e;
        return;
      }
    }
    const p = pool;
    const base = `occlusion-${++jobs}-${Math.random().toString(36).slice(2)}`;
    const layers = dense ? 'spatial' : 'all';
    if (layers === 'all' && !p.complete) throw new ArgumentError('the pool holds only some layers\' weights; occlusion needs them all here');
    const lane = async () => {
      for (let start = take(); start !== undefined; start = take()) {
        const part = await p.run('occlusion', { base, input: image, fill, target, boxes: boxes.slice(start, start + batch), batch, layers },
          { signal: controller.signal });
        pooled += 1;
        finish('values' in part ? part.values : dense!.finishDense(part), start);
      }
    };
    await Promise.all(Array.from({ length: p.capacity }, lane));
  })().catch((e) => {
    // This thread finished everything while the pool was still starting: nothing was lost.
    if (done === boxes.length) return;
    fail(e);
  }));
  try {
    await Promise.race([complete, Promise.all(lanes)]);
    if (done !== boxes.length) throw cancelled();
    return { values: out, workers: Math.min(pool?.size ?? 0, pooled) };
  } catch (e) {
    if (options.signal?.aborted) throw cancelled();
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    // Stops a pool still starting (its creation rejects and cleans up).
    controller.abort();
    if (own) {
      if (pool) await pool.close();
      else void starting?.then((p) => p.close(), () => {});
    }
  }
}

function allocValues(n: number): OcclusionValues {
  return { probability: new Float32Array(n), activation: new Float64Array(n), top: new Int32Array(n), topProbability: new Float32Array(n) };
}

function place(out: OcclusionValues, part: OcclusionValues, start: number): void {
  out.probability.set(part.probability, start);
  out.activation.set(part.activation, start);
  out.top.set(part.top, start);
  out.topProbability.set(part.topProbability, start);
}

