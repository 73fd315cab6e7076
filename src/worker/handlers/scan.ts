/**
 * The 'scan' request: the top-k of a data set for one layer (paper, Figs. 1-2). Every image goes
 * through the network once; for each chosen map the k strongest activations are kept (one per
 * image), projected alone to pixel space and cropped to their receptive field beside the image
 * patch. The page gets each map's block of pictures, the layer's whole sheet, and the kept units
 * as plain data.
 *
 * Images are decoded when scanDataset asks for them (ScanImage.load), so a folder of thousands
 * of files never sits decoded in memory; the projections decode only the images that hold a kept
 * unit, a second time.
 */
import { AbortError, ArgumentError, ImageDecodeError, ZFError } from '../../errors.js';
import type { Model } from '../../engine/model.js';
import type { Tensor } from '../../engine/tensor.js';
import { defaultPoint, type Point } from '../../graph/names.js';
import type { Box } from '../../graph/shapes.js';
import { MODES, type ProjectionMode } from '../../deconv/walk.js';
import { tileImages, type RgbaImage } from '../../deconv/render.js';
import { scanDataset, scanIndex, scanSheet, type ScanImage, type ScanProgress } from '../../analyses/scan.js';
import { ModelPool } from '../../analyses/pool.js';
import { lastConvLayer, layerLabel } from '../../analyses/invariance.js';
import { forwardMacs } from '../../engine/cost.js';
import type { AnalysisContext, NamedImage } from '../context.js';
import { checkImages } from './images.js';

export interface ScanRequest {
  type: 'scan';
  images: NamedImage[];
  /** A spatial layer: a short name or any [C, H, W] tensor of an imported graph (default: the last conv layer; a graph's last conv block's output). */
  layer?: string;
  /** Where on the layer (default: relu, the paper's feature maps). */
  point?: Point;
  /** Which maps (default: the first 16, or all when the layer has fewer). */
  maps?: number[];
  /** Activations kept per map, 1 to MAX_SCAN_TOP (default 9). */
  top?: number;
  /** default: deconvnet. */
  mode?: ProjectionMode;
  /**
   * Pool workers (default: the host's pool when the set is big enough to pay for starting it,
   * POOL_FROM_MACS); 0 or 1: this thread alone; 2 or more: the pool, at most that many workers,
   * whenever the host offers one.
   */
  workers?: number;
}

/** A kept activation, without pixel data. */
export interface ScanUnitMessage {
  value: number;
  /** Index of the image in the request's `images`, and its name. */
  image: number;
  name: string;
  y: number;
  x: number;
  /** The unit's receptive field in input pixels (clipped to the input). */
  box: Box;
}

export interface ScanMapMessage {
  map: number;
  /** Strongest first; fewer than `top` only when fewer images were scanned. */
  units: ScanUnitMessage[];
  /** This map's projections in a square block beside the block of their image patches, as on the sheet. */
  block: RgbaImage;
}

/** scanIndex's JSON: the kept units of every scanned layer (here, one). */
export interface ScanIndex {
  images: number;
  top: number;
  distinct: boolean;
  mode: ProjectionMode;
  layers: { layer: string; point: Point; shape: number[]; maps: { map: number; units: ScanUnitMessage[] }[] }[];
}

export interface ScanResultMessage {
  layer: string;
  point: Point;
  /** The layer point's shape for one image: [maps, H, W]. */
  shape: number[];
  /** Images scanned. */
  images: number;
  top: number;
  mode: ProjectionMode;
  /** The requested maps, in the requested order. */
  maps: ScanMapMessage[];
  /** The paper-style sheet of the layer: every map's block, in a grid. */
  sheet: RgbaImage;
  index: ScanIndex;
  /** Threads the forward passes and projections ran on: 1 (this worker), or the pool's workers. */
  workers: number;
  ms: number;
}

/** A data set of at most this many images per request: the page sends every file at once. */
export const MAX_SCAN_IMAGES = 10_000;
/** At most 16 activations per map: a 4 x 4 block is the largest that still reads as one figure. */
export const MAX_SCAN_TOP = 16;
/** Maps when the request names none: the paper shows a subset too (16 fill a 4 x 4 sheet). */
export const DEFAULT_SCAN_MAPS = 16;
/**
 * The sheet's largest size in pixels (64 MiB of RGBA; the blocks are as much again). ZFNet's
 * conv5 (139 px receptive fields) at 16 maps and top 16 is about 10 M; all its 256 maps are not.
 */
export const MAX_SHEET_PIXELS = 16 * 2 ** 20;
/**
 * The scan computes on the host's pool (when it offers one) from this much work, in
 * multiply-adds over the whole set: starting the pool and copying the model into it costs
 * 0.1-0.4 s, and then this worker only decodes images while the pool runs the network. Measured
 * in Chromium on 2 cores: zfnet-mini (9 M per image) over 80 images was slower on the pool
 * (1.8 s against 1.3 s); AlexNet (0.7 G per image) gains from a few dozen images on.
 */
export const POOL_FROM_MACS = 20e9;

// scanSheet's layout (its defaults): for the size estimate made before any work is done, and
// to put the maps' blocks together into the sheet (the Node test holds it equal to scanSheet's).
const TILE_GAP = 1, PAIR_GAP = 4, MAP_GAP = 12;
const WHITE = [255, 255, 255, 255] as const;

export async function scanHandler(context: AnalysisContext, request: ScanRequest): Promise<ScanResultMessage> {
  const t0 = performance.now();
  const { model, signal } = context;
  const images = checkImages(request.images, 'scan', 1, MAX_SCAN_IMAGES);
  const { layer, point, maps } = checkLayerAndMaps(model, request);
  const top = request.top ?? 9;
  if (!Number.isInteger(top) || top < 1 || top > MAX_SCAN_TOP) {
    throw new ArgumentError(`top must be a whole number from 1 to ${MAX_SCAN_TOP}, got ${top}`);
  }
  const mode = request.mode ?? 'deconvnet';
  if (!MODES.includes(mode)) throw new ArgumentError(`mode '${mode}' is not one of ${MODES.join(', ')}`);
  checkSheetSize(model, layer, point, maps.length, top);

  const source: ScanImage[] = images.map(({ source: src, name }) => ({ name, load: () => readImage(context, src, name) }));
  // The two phases by their work: a forward pass per image, then (about) one projection per kept unit.
  const kept = maps.length * Math.min(top, images.length);
  const scanShare = images.length / (images.length + kept);
  const onProgress = (p: ScanProgress) => context.progress(p.phase === 'scan'
    ? scanShare * (p.done / images.length)
    : scanShare + (1 - scanShare) * (p.done / Math.max(1, p.total ?? 1)));

  const cap = request.workers ?? Infinity;
  if (!(cap >= 0) || (Number.isFinite(cap) && !Number.isInteger(cap))) throw new ArgumentError(`workers must be a whole number >= 0, got ${cap}`);
  const worth = request.workers !== undefined || images.length * forwardMacs(model) >= POOL_FROM_MACS;
  const offered = context.pool && worth ? Math.min(context.pool.workers, cap) : 1;
  // A pool that cannot start (the page may not create its workers, or their script does not
  // load) is no pool: this worker scans alone, as it would without one. A cancel still fails.
  const pool = offered >= 2
    ? await ModelPool.create(model, { workers: offered, spawnWorker: context.pool!.spawnWorker, signal }).catch((e: unknown) => {
      if (signal.aborted || e instanceof AbortError) throw e;
      return undefined;
    })
    : undefined;
  let result;
  try {
    result = await scanDataset(model, source, {
      layers: [layer], point, maps, top, mode, distinct: true, workers: 1, pool, signal, onProgress,
    });
  } finally {
    await pool?.close();
  }
  await context.checkpoint();
  const scanned = result.layers[0];
  const mapMessages: ScanMapMessage[] = scanned.maps.map((m) => ({
    map: m.map,
    units: m.units.map((u) => ({ value: u.value, image: u.image, name: u.name, y: u.y, x: u.x, box: { ...u.box } })),
    block: scanSheet(result, scanned, { maps: [m.map] }),
  }));
  // The blocks in a grid, as scanSheet lays out a layer (its map gap, white): no picture drawn twice.
  const sheet = tileImages(mapMessages.map((m) => m.block), { gap: MAP_GAP, background: WHITE });
  return {
    layer: scanned.layer, point: scanned.point, shape: [...scanned.shape], images: result.images, top, mode,
    maps: mapMessages, sheet, index: scanIndex(result) as ScanIndex, workers: pool?.size ?? 1, ms: performance.now() - t0,
  };
}

function checkLayerAndMaps(model: Model, request: ScanRequest): { layer: string; point: Point; maps: number[] } {
  const spatial = model.layers.filter((l) => model.shapes[l.points[defaultPoint(l)]!].length === 3);
  const convs = model.layers.filter((l) => l.kind === 'conv');
  if (request.layer === undefined && convs.length === 0) throw new ArgumentError(`${model.network.name} has no conv layer to scan`);
  // The engine's default: the last conv layer; in an imported graph, the last conv block's output.
  const name = request.layer ?? lastConvLayer(model);
  if (typeof name !== 'string') throw new ArgumentError(`layer must be a layer's name, got ${String(name)}`);
  const { layer, point, op } = model.resolve(name, request.point);
  const shape = model.tensorShape(op);
  if (shape.length !== 3 || op < 0) {
    const what = op < 0 ? `${name} is the network input` : `${layerLabel({ layer: layer.name, point })} has no spatial feature maps`;
    const takes = model.network.tensors && convs.length > 0
      ? `a layer or tensor of [C, H, W] maps, e.g. ${lastConvLayer(model)}`
      : spatial.map((l) => l.name).join(', ') || 'a conv layer';
    throw new ArgumentError(`${what} (shape [${shape.join(', ')}]); the scan takes ${takes}`);
  }
  const count = shape[0];
  const maps = request.maps ?? Array.from({ length: Math.min(DEFAULT_SCAN_MAPS, count) }, (_, i) => i);
  if (!Array.isArray(maps) || maps.length === 0) throw new ArgumentError(`maps must list at least one map of ${layer.name}`);
  const seen = new Set<number>();
  for (const m of maps) {
    if (!Number.isInteger(m) || m < 0 || m >= count) {
      throw new ArgumentError(`map ${m} is out of range: ${layer.name} has ${count} maps (0-${count - 1})`);
    }
    if (seen.has(m)) throw new ArgumentError(`map ${m} of ${layer.name} is listed twice`);
    seen.add(m);
  }
  return { layer: layer.name, point, maps: [...maps] };
}

/**
 * Refuse, before any work, a sheet too large to send and paint: every receptive field is at most
 * the layer's extent (clipped to the input), and scanSheet makes every cell the largest one.
 */
function checkSheetSize(model: Model, layer: string, point: Point, maps: number, top: number): void {
  const op = model.resolve(layer, point).op;
  const field = model.fields[op];
  const [, h, w] = model.network.input;
  const cellH = field.global ? h : Math.min(h, field.extent[0]);
  const cellW = field.global ? w : Math.min(w, field.extent[1]);
  const columns = Math.ceil(Math.sqrt(top)), rows = Math.ceil(top / columns);
  const blockW = 2 * (columns * cellW + (columns - 1) * TILE_GAP) + PAIR_GAP;
  const blockH = rows * cellH + (rows - 1) * TILE_GAP;
  const pixels = (m: number) => {
    const sheetColumns = Math.ceil(Math.sqrt(m)), sheetRows = Math.ceil(m / sheetColumns);
    return (sheetColumns * blockW + (sheetColumns - 1) * MAP_GAP) * (sheetRows * blockH + (sheetRows - 1) * MAP_GAP);
  };
  if (pixels(maps) <= MAX_SHEET_PIXELS) return;
  let fit = maps;
  while (fit > 1 && pixels(fit) > MAX_SHEET_PIXELS) fit -= 1;
  throw new ArgumentError(`the sheet of ${maps} maps of ${layer} at top ${top} would be about ` +
    `${(pixels(maps) / 1e6).toFixed(0)} million pixels, more than ${(MAX_SHEET_PIXELS / 1e6).toFixed(0)} million; ` +
    `ask for at most ${fit} maps at a time`);
}

/** Decode and preprocess one image; any failure names the image (a folder may hold a stray file). */
async function readImage(context: AnalysisContext, source: NamedImage['source'], name: string): Promise<Tensor> {
  try {
    return context.model.preprocess(await context.decode(source, name));
  } catch (e) {
    if (e instanceof AbortError || context.signal.aborted) throw e;
    const message = e instanceof Error ? e.message : String(e);
    // The host's decoder already names the image; say it once.
    if (e instanceof ZFError && message.includes(name)) throw e;
    throw new ImageDecodeError(`${name} could not be read as an image: ${message}`);
  }
}
