/**
 * The top-9 of a data set (paper, Figs. 1-2): stream a set of images through the network and
 * keep, for every feature map of the chosen layers, its k strongest activations (value, image,
 * position) in O(maps x k) memory; then run each kept unit's image again, project the unit alone
 * to pixel space (deconvnet by default) and crop its receptive field from the projection and
 * from the image. `scanSheet` draws a layer the paper's way.
 *
 * Order (deterministic): stronger activation first; on equal values the earlier image, then the
 * earlier position (row-major). By default each image contributes at most one activation per map
 * (its strongest position, ties: the first in row-major order), so the 9 come from 9 different
 * images as in the paper's figures; `distinct: false` ranks every (image, position).
 *
 * The forward passes run on the worker pool (pool.ts) in batches; images are read as they are
 * needed (at most a few batches are in flight), and the projections need a second look at only
 * the images that hold a kept unit.
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import type { Point } from '../graph/names.js';
import type { Box } from '../graph/shapes.js';
import { size } from '../graph/shapes.js';
import type { Pixels, PresetSpec } from '../io/preprocess.js';
import type { Preprocess } from '../graph/layers.js';
import { MODES, type ProjectionMode } from '../deconv/walk.js';
import type { Projection } from '../deconv/project.js';
import { inputToImage, projectionToImage, tileImages, type DisplayMode, type RgbaImage } from '../deconv/render.js';
import { availableCores, ModelPool } from './pool.js';
import { lastConvLayer } from './invariance.js';
import type { WorkerContext } from './pool-worker.js';
import {
  TopK, projectUnitOf, scanForwardEach, type ScanForwardJob, type ScanForwardResult, type ScanProjectJob,
  type ScanProjectResult,
} from './scan-task.js';

/** One image of a data set: decoded pixels (preprocessed by the model's preset), a tensor, or a loader of either. */
export interface ScanImage {
  name?: string;
  pixels?: Pixels;
  /** [1, C, H, W] or [C, H, W], preprocessed. */
  tensor?: Tensor;
  /** Read the image when it is needed (the projections ask again only for the images they need). */
  load?: () => Promise<Pixels | Tensor> | Pixels | Tensor;
}

/**
 * The images: an array or any (async) iterable; for the projections they are read a second time,
 * so a one-shot iterator (a generator object) must come as a function that returns a fresh one.
 */
export type ScanSource = Iterable<ScanImage> | AsyncIterable<ScanImage> | (() => Iterable<ScanImage> | AsyncIterable<ScanImage>);

export interface ScanProgress {
  phase: 'scan' | 'project';
  /** Images scanned, or kept images projected. */
  done: number;
  /** Known for the projections (the images holding kept units); for the scan, when the source is an array. */
  total?: number;
}

export interface ScanOptions {
  /** Layers to scan (default: the last conv layer; in an imported graph, the last conv block's output: lastConvLayer). */
  layers?: string[];
  /** The point of every layer (default: relu, the paper's feature maps). */
  point?: Point | string;
  /** Maps to keep (default: every map); the same list for every layer. */
  maps?: number[];
  /** Activations kept per map (default 9). */
  top?: number;
  /** One activation per image and map (default true), or every position ranked. */
  distinct?: boolean;
  /** Project the kept units and crop the patches (default true). */
  project?: boolean;
  mode?: ProjectionMode;
  /** Images per forward batch (default 8; in this thread they run one at a time, a turn of the event loop between). */
  batch?: number;
  /** Workers (default: the number of cores; 0 or 1 computes in this thread, on `model`). */
  workers?: number;
  pool?: ModelPool;
  engineUrl?: string | URL;
  onProgress?: (progress: ScanProgress) => void;
  signal?: AbortSignal;
}

export interface ScanUnit {
  value: number;
  /** Index of the image in the source, and its name. */
  image: number;
  name: string;
  map: number;
  y: number;
  x: number;
  /** The unit's receptive field in input pixels (clipped to the image). */
  box: Box;
  /** After projecting: the projection and the image patch, each [C, box height, box width]. */
  projection?: Float32Array;
  patch?: Float32Array;
}

export interface ScanMap {
  map: number;
  /** Strongest first; fewer than `top` when the data set has fewer images (distinct) or positions. */
  units: ScanUnit[];
}

export interface ScanLayer {
  layer: string;
  point: Point;
  /** The layer point's shape for one image: [maps, H, W] (or [units] for fc layers). */
  shape: number[];
  maps: ScanMap[];
}

export interface ScanResult {
  /** Images scanned. */
  images: number;
  top: number;
  distinct: boolean;
  mode: ProjectionMode;
  /** The model's input shape and preset (for drawing patches). */
  input: number[];
  preprocess: Preprocess;
  layers: ScanLayer[];
  milliseconds: number;
}

interface Target { layer: string; point: Point; op: number; shape: number[]; maps: number[]; tops: TopK[] }

export async function scanDataset(model: Model, images: ScanSource, options: ScanOptions = {}): Promise<ScanResult> {
  return model.exclusive('scan', (held) => scanDatasetHeld(held, images, options));
}

async function scanDatasetHeld(model: Model, images: ScanSource, options: ScanOptions = {}): Promise<ScanResult> {
  const t0 = performance.now();
  const { signal } = options;
  if (signal?.aborted) throw new AbortError('scan cancelled');
  const top = options.top ?? 9;
  if (!Number.isInteger(top) || top < 1) throw new ArgumentError(`top must be a positive integer, got ${top}`);
  const batch = options.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
  const mode = options.mode ?? 'deconvnet';
  if (!MODES.includes(mode)) throw new ArgumentError(`mode '${mode}' is not one of ${MODES.join(', ')}`);
  const distinct = options.distinct ?? true;
  const layerNames = options.layers ?? [lastConv(model)];
  if (!Array.isArray(layerNames) || layerNames.length === 0) throw new ArgumentError('layers must name at least one layer');
  const targets: Target[] = layerNames.map((name) => {
    const { layer, point, op } = model.resolve(name, options.point);
    if (op < 0) throw new ArgumentError(`'${name}' is the network input: scan a layer's maps`);
    const shape = model.shapes[op];
    const count = shape[0];
    const maps = options.maps ?? Array.from({ length: count }, (_, i) => i);
    for (const m of maps) {
      if (!Number.isInteger(m) || m < 0 || m >= count) {
        throw new ArgumentError(`map ${m} is out of range: ${layer.name} ${point} has ${count} maps (0-${count - 1})`);
      }
    }
    return { layer: layer.name, point, op, shape, maps: [...maps], tops: maps.map(() => new TopK(top)) };
  });

  // Names of the images that may still be kept: those in a heap, and those not merged yet.
  const names = new Map<number, string>();
  const unmerged = new Set<number>();
  const capacity = targets.reduce((n, t) => n + t.maps.length * top, 0);
  const prune = () => {
    if (names.size <= 2 * capacity + 1024) return;
    const low = Math.min(Infinity, ...unmerged);
    const keep = new Set<number>();
    for (const t of targets) for (const heap of t.tops) for (const i of heap.images) keep.add(i);
    for (const i of names.keys()) if (i < low && !keep.has(i)) names.delete(i);
  };
  const runner = await Runner.start(model, options, signal);
  let scanned = 0;
  try {
    // Pass 1: stream the images through the network in batches.
    const perImage = size(model.network.input);
    let pending: Float32Array[] = [];
    const inFlight = new Set<Promise<void>>();
    const limit = Math.max(2, 2 * runner.workers);
    let failure: unknown;
    const submit = (tensors: Float32Array[], first: number) => {
      const data = new Float32Array(tensors.length * perImage);
      tensors.forEach((t, i) => data.set(t, i * perImage));
      const job: ScanForwardJob = {
        data, count: tensors.length, first, ops: targets.map((t) => t.op), maps: targets.map((t) => t.maps), top, distinct,
      };
      unmerged.add(first);
      const p = runner.forward(job).then((result) => {
        merge(targets, result, top);
        unmerged.delete(first);
        prune();
        scanned += tensors.length;
        options.onProgress?.({ phase: 'scan', done: scanned, total: Array.isArray(images) ? images.length : undefined });
      }, (e) => { failure ??= e; });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    let index = 0;
    for await (const item of iterate(images)) {
      if (signal?.aborted) throw new AbortError('scan cancelled');
      if (failure) throw failure;
      names.set(index, item?.name ?? `image ${index}`);
      pending.push(await tensorOf(model, item, index));
      index += 1;
      if (pending.length === batch) {
        submit(pending, index - pending.length);
        pending = [];
        while (inFlight.size >= limit) await Promise.race(inFlight);
      }
    }
    if (pending.length > 0) submit(pending, index - pending.length);
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (signal?.aborted) throw new AbortError('scan cancelled');

    const layers: ScanLayer[] = targets.map((t) => ({
      layer: t.layer, point: t.point, shape: t.shape,
      maps: t.maps.map((map, m) => ({
        map,
        units: t.tops[m].values.map((value, k) => {
          const image = t.tops[m].images[k], pos = t.tops[m].positions[k];
          const w = t.shape.length === 3 ? t.shape[2] : 1;
          const y = Math.floor(pos / w), x = pos % w;
          return { value, image, name: names.get(image) ?? `image ${image}`, map, y, x, box: boxOf(model, t.op, y, x) };
        }),
      })),
    }));
    const result: ScanResult = {
      images: index, top, distinct, mode, input: [...model.network.input], preprocess: model.network.preprocess, layers,
      milliseconds: 0,
    };
    if (options.project ?? true) await projectWith(runner, model, images, result, options);
    result.milliseconds = performance.now() - t0;
    return result;
  } finally {
    await runner.close();
  }
}

/**
 * Project the kept units of `result` (all, or those of `layers`/`maps`) and crop their patches:
 * fills `projection` and `patch` of each. Reads the images again (only those holding kept units).
 * Useful after `scanDataset(..., { project: false })` to project a few maps at a time.
 */
export async function projectScan(model: Model, images: ScanSource, result: ScanResult,
                                  options: Omit<ScanOptions, 'layers' | 'top' | 'distinct' | 'project'> & {
                                    layers?: string[]; maps?: number[];
                                  } = {}): Promise<ScanResult> {
  return model.exclusive('scan projection', (held) => projectScanHeld(held, images, result, options));
}

async function projectScanHeld(model: Model, images: ScanSource, result: ScanResult,
                                  options: Omit<ScanOptions, 'layers' | 'top' | 'distinct' | 'project'> & {
                                    layers?: string[]; maps?: number[];
                                  } = {}): Promise<ScanResult> {
  const runner = await Runner.start(model, options, options.signal);
  try {
    await projectWith(runner, model, images, result, options);
    return result;
  } finally {
    await runner.close();
  }
}

async function projectWith(runner: Runner, model: Model, images: ScanSource, result: ScanResult,
                           options: { layers?: string[]; maps?: number[]; mode?: ProjectionMode;
                             onProgress?: (p: ScanProgress) => void; signal?: AbortSignal }): Promise<void> {
  const { signal } = options;
  const mode = options.mode ?? result.mode;
  if (!MODES.includes(mode)) throw new ArgumentError(`mode '${mode}' is not one of ${MODES.join(', ')}`);
  // Kept units by image.
  const byImage = new Map<number, { layer: ScanLayer; unit: ScanUnit }[]>();
  // Layers as asked for: short names, or tensor names of a graph (which may name a layer's point).
  const asked = options.layers?.map((name) => {
    const r = model.resolve(name, model.network.tensors?.has(name) ? undefined : result.layers.find((l) => l.layer === name)?.point);
    return { name, layer: r.layer.name, point: r.point };
  });
  for (const layer of result.layers) {
    if (asked && !asked.some((a) => a.name === layer.layer || (a.layer === layer.layer && a.point === layer.point))) continue;
    for (const m of layer.maps) {
      if (options.maps && !options.maps.includes(m.map)) continue;
      for (const unit of m.units) {
        let list = byImage.get(unit.image);
        if (!list) byImage.set(unit.image, list = []);
        list.push({ layer, unit });
      }
    }
  }
  if (byImage.size === 0) return;
  const total = byImage.size;
  let done = 0, index = 0, seen = 0;
  const inFlight = new Set<Promise<void>>();
  const limit = Math.max(2, 2 * runner.workers);
  let failure: unknown;
  for await (const item of iterate(images)) {
    if (signal?.aborted) throw new AbortError('scan cancelled');
    if (failure) throw failure;
    const wanted = byImage.get(index);
    if (wanted) {
      seen += 1;
      const data = await tensorOf(model, item, index);
      const job: ScanProjectJob = {
        data, mode,
        units: wanted.map(({ layer, unit }) => ({ layer: layer.layer, point: layer.point, map: unit.map, y: unit.y, x: unit.x })),
      };
      const p = runner.project(job).then((r) => {
        r.units.forEach((u, k) => {
          const unit = wanted[k].unit;
          unit.box = u.box;
          unit.projection = u.projection;
          unit.patch = u.patch;
        });
        done += 1;
        options.onProgress?.({ phase: 'project', done, total });
      }, (e) => { failure ??= e; });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      while (inFlight.size >= limit) await Promise.race(inFlight);
    }
    index += 1;
    if (seen === total) break;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  if (signal?.aborted) throw new AbortError('scan cancelled');
  if (seen < total) {
    throw new ArgumentError(`the images ran out before the projections: ${total - seen} image(s) holding kept units were ` +
      'not given a second time (pass an array, or a function that returns the images afresh)');
  }
}

/** Forward and projection jobs, on a pool or in this thread. */
class Runner {
  private constructor(private readonly model: Model, private readonly pool: ModelPool | undefined,
                      private readonly own: boolean, readonly workers: number, private readonly signal?: AbortSignal) {}

  static async start(model: Model, options: { workers?: number; pool?: ModelPool; engineUrl?: string | URL },
                     signal?: AbortSignal): Promise<Runner> {
    if (options.pool) {
      if (!options.pool.complete) throw new ArgumentError('the pool holds only some layers\' weights; the scan needs them all');
      return new Runner(model, options.pool, false, options.pool.size, signal);
    }
    const workers = options.workers ?? await availableCores();
    if (workers <= 1) return new Runner(model, undefined, false, 1, signal);
    const pool = await ModelPool.create(model, { workers, engineUrl: options.engineUrl, signal });
    return new Runner(model, pool, true, workers, signal);
  }

  private context(): WorkerContext {
    return { model: this.model, state: new Map() };
  }

  /**
   * In this thread, the jobs run one after another, with a turn of the event loop before each
   * forward pass and each projection (so a cancel lands within one of them, not a batch).
   */
  private queue: Promise<unknown> = Promise.resolve();

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  private readonly step = async (): Promise<void> => {
    await turn();
    if (this.signal?.aborted) throw new AbortError('scan cancelled');
  };

  async forward(job: ScanForwardJob): Promise<ScanForwardResult> {
    if (this.pool) return this.pool.run('scan-forward', job, { signal: this.signal, transfer: [job.data.buffer as ArrayBuffer] });
    return this.serial(async () => {
      await this.step();
      return scanForwardEach(this.context(), job, this.step);
    });
  }

  async project(job: ScanProjectJob): Promise<ScanProjectResult> {
    if (this.pool) return this.pool.run('scan-project', job, { signal: this.signal, transfer: [job.data.buffer as ArrayBuffer] });
    return this.serial(async () => {
      await this.step();
      const run = this.model.forwardSync({ shape: [1, ...this.model.network.input], data: job.data });
      const units: ScanProjectResult['units'] = [];
      for (const u of job.units) {
        await this.step();
        units.push(projectUnitOf(this.model, run, job, u));
      }
      return { units };
    });
  }

  async close(): Promise<void> {
    if (this.own) await this.pool!.close();
  }
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function merge(targets: Target[], result: ScanForwardResult, top: number): void {
  targets.forEach((t, l) => {
    const r = result.layers[l];
    t.tops.forEach((heap, m) => {
      for (let k = 0; k < r.counts[m]; k++) heap.offer(r.values[m * top + k], r.images[m * top + k], r.positions[m * top + k]);
    });
  });
}

function iterate(source: ScanSource): Iterable<ScanImage> | AsyncIterable<ScanImage> {
  const s = typeof source === 'function' ? source() : source;
  if (!s || (typeof (s as Iterable<ScanImage>)[Symbol.iterator] !== 'function' &&
      typeof (s as AsyncIterable<ScanImage>)[Symbol.asyncIterator] !== 'function')) {
    throw new ArgumentError('images must be an array, an iterable or async iterable of images, or a function returning one');
  }
  return s;
}

/** One image as its preprocessed data [C * H * W]. */
async function tensorOf(model: Model, item: ScanImage, index: number): Promise<Float32Array> {
  const name = item?.name ?? `image ${index}`;
  let value: Pixels | Tensor | undefined = item?.tensor ?? item?.pixels;
  if (!value && item?.load) value = await item.load();
  if (!value) throw new ArgumentError(`${name}: an image needs pixels, a tensor or a load function`);
  const want = model.network.input;
  const tensor = 'shape' in value ? value : model.preprocess(value);
  const s = tensor.shape;
  const ok = (s.length === 4 && s[0] === 1 && s[1] === want[0] && s[2] === want[1] && s[3] === want[2]) ||
    (s.length === 3 && s[0] === want[0] && s[1] === want[1] && s[2] === want[2]);
  if (!ok || !(tensor.data instanceof Float32Array) || tensor.data.length !== size(want)) {
    throw new ArgumentError(`${name}: the tensor has shape [${s.join(', ')}] but ${model.network.name} takes [1, ${want.join(', ')}]`);
  }
  for (let i = 0; i < tensor.data.length; i++) {
    if (!Number.isFinite(tensor.data[i])) throw new ArgumentError(`${name}: value ${i} is ${tensor.data[i]}; inputs must be finite`);
  }
  return tensor.data.slice();
}

function boxOf(model: Model, op: number, y: number, x: number): Box {
  const f = model.fields[op];
  const [, h, w] = model.network.input;
  if (f.global) return { y0: 0, x0: 0, y1: h, x1: w };
  const y0 = f.offset[0] + y * f.jump[0], x0 = f.offset[1] + x * f.jump[1];
  return { y0: Math.max(0, y0), x0: Math.max(0, x0), y1: Math.min(h, y0 + f.extent[0]), x1: Math.min(w, x0 + f.extent[1]) };
}

function lastConv(model: Model): string {
  const convs = model.layers.filter((l) => l.kind === 'conv');
  if (convs.length === 0) throw new ArgumentError(`${model.network.name} has no conv layer; name a layer`);
  return lastConvLayer(model);
}

// ---------------------------------------------------------------------------------------------
// Pictures (render.ts does the drawing; no DOM, no Node)

export interface ScanSheetOptions {
  /** The preset the images were preprocessed with (default: the result's). */
  preprocess?: Preprocess | PresetSpec;
  /** Only these maps (default: every map of the layer that has projected units). */
  maps?: number[];
  /** Maps per row of the sheet (default: ceil(sqrt(maps))). */
  columns?: number;
  mode?: DisplayMode;
  /** Pixels between tiles inside a block (default 1), between the two blocks of a map (default 4), between maps (default 12). */
  gap?: number;
  pairGap?: number;
  mapGap?: number;
  background?: readonly [number, number, number] | readonly [number, number, number, number];
}

/** A kept unit's projection (contrast-stretched on its own) and its image patch, as pictures. */
export function scanUnitImages(result: Pick<ScanResult, 'preprocess' | 'input' | 'mode'>, layer: Pick<ScanLayer, 'layer' | 'point'>,
                               unit: ScanUnit, options: { preprocess?: Preprocess | PresetSpec; mode?: DisplayMode } = {}):
    { projection: RgbaImage; patch: RgbaImage } {
  if (!unit.projection || !unit.patch) throw new ArgumentError(`unit ${unit.y},${unit.x} of ${layer.layer} map ${unit.map} is not projected yet`);
  const c = result.input[0];
  const bh = unit.box.y1 - unit.box.y0, bw = unit.box.x1 - unit.box.x0;
  const preprocess = options.preprocess ?? result.preprocess;
  const projection: Projection = {
    image: 0, preprocess: result.preprocess, layer: layer.layer, point: layer.point, map: unit.map, mode: result.mode,
    keep: `${unit.y},${unit.x}`, shape: [1, c, bh, bw], data: unit.projection,
    units: [{ map: unit.map, y: unit.y, x: unit.x, value: unit.value, box: unit.box }],
    boxes: [{ y0: 0, x0: 0, y1: bh, x1: bw }],
  };
  return {
    projection: projectionToImage(projection, 0, { preprocess, mode: options.mode }),
    patch: inputToImage({ shape: [1, c, bh, bw], data: unit.patch }, preprocess),
  };
}

/**
 * The paper's sheet for one layer (Fig. 2): for each map, its projections in a square block
 * (3 x 3 for the top 9, strongest first, row-major) beside the block of their image patches;
 * the maps in a grid, row-major.
 */
export function scanSheet(result: ScanResult, layer: ScanLayer | string, options: ScanSheetOptions = {}): RgbaImage {
  const l = typeof layer === 'string' ? result.layers.find((x) => x.layer === layer) : layer;
  if (!l) throw new ArgumentError(`layer ${String(layer)} was not scanned; scanned: ${result.layers.map((x) => x.layer).join(', ')}`);
  const maps = l.maps.filter((m) => (options.maps ? options.maps.includes(m.map) : m.units.some((u) => u.projection)));
  if (maps.length === 0) throw new ArgumentError(`no projected map of ${l.layer} to draw`);
  const background = options.background ?? [255, 255, 255, 255];
  const blocks = maps.map((m) => {
    if (m.units.length === 0) return tileImages([blank(8, 8, background)], { background });
    const pictures = m.units.map((u) => scanUnitImages(result, l, u, options));
    const columns = Math.ceil(Math.sqrt(result.top));
    const tile = (images: RgbaImage[]) => tileImages(images, { columns: Math.min(columns, images.length), gap: options.gap ?? 1, background });
    return tileImages([tile(pictures.map((p) => p.projection)), tile(pictures.map((p) => p.patch))],
      { columns: 2, gap: options.pairGap ?? 4, background });
  });
  return tileImages(blocks, { columns: options.columns, gap: options.mapGap ?? 12, background });
}

function blank(width: number, height: number, rgba: readonly number[]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([rgba[0], rgba[1], rgba[2], rgba[3] ?? 255], i);
  return { width, height, data };
}

/** The kept units without pixel data (for a JSON index). */
export function scanIndex(result: ScanResult): object {
  return {
    images: result.images, top: result.top, distinct: result.distinct, mode: result.mode,
    layers: result.layers.map((l) => ({
      layer: l.layer, point: l.point, shape: l.shape,
      maps: l.maps.map((m) => ({
        map: m.map,
        units: m.units.map((u) => ({ value: u.value, image: u.image, name: u.name, y: u.y, x: u.x, box: u.box })),
      })),
    })),
  };
}
