/**
 * Feature evolution during training (paper, Fig. 4): for chosen features (layer, map), the
 * strongest activation over a sample set at each training snapshot, projected to pixel space
 * (deconvnet, keeping that one activation), as a grid of features x snapshots.
 *
 * Also the two steps it is made of, which the architecture diagnosis reuses:
 * `strongestActivations` (a brute-force maximum over images and positions, batched) and
 * `projectActivations` (each found activation projected from its own image).
 */
import { ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Preprocess } from '../graph/layers.js';
import type { Point } from '../graph/names.js';
import { receptiveBox, size, type Box } from '../graph/shapes.js';
import type { Projection } from '../deconv/project.js';
import type { ProjectionMode } from '../deconv/walk.js';
import { projectionToImage, tileImages, type DisplayMode, type RgbaImage } from '../deconv/render.js';
import { enlargeNearest } from './transform.js';
import {
  checkBatch, imagesOf, stack, throwIfAborted, yieldToEventLoop, type ImageSet,
} from './invariance.js';

/** One feature: a map (channel) of a layer at a point; for fc layers, a unit. */
export interface FeatureRef { layer: string; point?: Point | string; map: number }

/** 'conv1:3' or 'conv5:pool:7' -> a FeatureRef. */
export function parseFeature(spec: string): FeatureRef {
  const parts = spec.trim().split(':');
  const map = Number(parts[parts.length - 1]);
  if ((parts.length !== 2 && parts.length !== 3) || !parts[0] || !/^\d+$/.test(parts[parts.length - 1]) || !Number.isSafeInteger(map)) {
    throw new ArgumentError(`feature '${spec}' is not LAYER:MAP or LAYER:POINT:MAP (e.g. conv1:3, conv5:pool:7)`);
  }
  return parts.length === 3 ? { layer: parts[0], point: parts[1], map } : { layer: parts[0], map };
}

export function featureLabel(f: { layer: string; point?: string; map: number }): string {
  return `${f.layer}${f.point ? ` ${f.point}` : ''} map ${f.map}`;
}

/** The strongest activation of one feature over a set of images. */
export interface StrongestActivation {
  layer: string;
  point: Point;
  map: number;
  /** The activation (the maximum over every image and position). */
  value: number;
  /** Index into the image set, and the position in the map (0, 0 for fc units). */
  image: number;
  y: number;
  x: number;
  /** The unit's receptive field in input pixels. */
  box: Box;
}

interface ResolvedFeature { layer: string; point: Point; op: number; map: number; h: number; w: number; per: number }

function resolveFeatures(model: Model, features: readonly FeatureRef[]): ResolvedFeature[] {
  if (!Array.isArray(features) || features.length === 0) throw new ArgumentError('give at least one feature (layer and map)');
  return features.map((f) => {
    const r = model.resolve(f.layer, f.point);
    if (r.op < 0) throw new ArgumentError(`'${f.layer}' is the network input: a feature is a map of a layer`);
    const shape = model.shapes[r.op];
    const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
    if (!Number.isInteger(f.map) || f.map < 0 || f.map >= maps) {
      throw new ArgumentError(`map ${f.map} is out of range: ${r.layer.name} ${r.point} has ${maps} maps (0-${maps - 1})`);
    }
    return { layer: r.layer.name, point: r.point, op: r.op, map: f.map, h, w, per: size(shape) };
  });
}

/**
 * What a feature is computed by: its tensor's shape, and the conv and dense layers (with their
 * weight shapes) up to it. Ops without weights may differ (an exporter's extra Identity or Cast).
 */
interface FeatureNetwork { shape: number[]; layers: string[] }

function featureNetwork(model: Model, f: ResolvedFeature): FeatureNetwork {
  const weights = model.weightShapes();
  return {
    shape: [...model.tensorShape(f.op)],
    layers: model.layers.filter((l) => l.op <= f.op).map((l) => `${l.name} [${weights[l.name].weight.join(', ')}]`),
  };
}

/** How two snapshots' networks differ up to a feature, or '' when they do not. */
function networkDifference(a: FeatureNetwork, b: FeatureNetwork): string {
  const n = Math.max(a.layers.length, b.layers.length);
  for (let i = 0; i < n; i++) {
    if (a.layers[i] !== b.layers[i]) {
      return `layer ${i + 1} is ${b.layers[i] ?? 'missing'} there but ${a.layers[i] ?? 'missing'} in the first`;
    }
  }
  if (a.shape.join() !== b.shape.join()) return `the feature's tensor is [${b.shape.join(', ')}] there but [${a.shape.join(', ')}] in the first`;
  return '';
}

export interface StrongestOptions {
  /** Images per forward pass (default 8). */
  batch?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/**
 * For each feature, its largest activation over all images and positions. Ties go to the first
 * image, then the first position in row-major order (as `keep: 'max'` does within one map).
 */
export async function strongestActivations(model: Model, images: ImageSet, features: readonly FeatureRef[],
                                           options: StrongestOptions = {}): Promise<StrongestActivation[]> {
  return model.exclusive('strongest-activation search', (held) => strongestActivationsHeld(held, images, features, options));
}

async function strongestActivationsHeld(model: Model, images: ImageSet, features: readonly FeatureRef[],
                                           options: StrongestOptions = {}): Promise<StrongestActivation[]> {
  const list = imagesOf(model, images);
  const resolved = resolveFeatures(model, features);
  const batch = checkBatch(options.batch);
  const best = resolved.map(() => ({ value: -Infinity, image: 0, at: 0 }));
  const ops = [...new Set(resolved.map((f) => f.op))];
  options.onProgress?.(0);
  for (let start = 0; start < list.length; start += batch) {
    await yieldToEventLoop();
    throwIfAborted(options.signal, 'the activation scan');
    const chunk = list.slice(start, start + batch);
    const run = model.forwardSync(stack(model, chunk));
    const outputs = new Map(ops.map((op) => [op, run.opOutput(op).data]));
    resolved.forEach((f, k) => {
      const data = outputs.get(f.op)!;
      const plane = f.h * f.w;
      for (let i = 0; i < chunk.length; i++) {
        const base = i * f.per + f.map * plane;
        for (let p = 0; p < plane; p++) {
          if (data[base + p] > best[k].value) best[k] = { value: data[base + p], image: start + i, at: p };
        }
      }
    });
    options.onProgress?.(Math.min(list.length, start + batch) / list.length);
  }
  return resolved.map((f, k) => {
    const y = Math.floor(best[k].at / f.w), x = best[k].at % f.w;
    return {
      layer: f.layer, point: f.point, map: f.map, value: best[k].value, image: best[k].image, y, x,
      box: receptiveBox(model.fields[f.op], y, x, model.network.input),
    };
  });
}

/**
 * Each activation projected to pixel space from its own image, keeping only that unit
 * (`keep: { y, x }`). Images are forwarded in batches of distinct images.
 */
export async function projectActivations(model: Model, images: ImageSet, activations: readonly StrongestActivation[],
                                         options: { mode?: ProjectionMode; batch?: number; signal?: AbortSignal } = {}):
    Promise<Projection[]> {
  return model.exclusive('activation projection', (held) => projectActivationsHeld(held, images, activations, options));
}

async function projectActivationsHeld(model: Model, images: ImageSet, activations: readonly StrongestActivation[],
                                         options: { mode?: ProjectionMode; batch?: number; signal?: AbortSignal } = {}):
    Promise<Projection[]> {
  const list = imagesOf(model, images);
  const batch = checkBatch(options.batch);
  const distinct = [...new Set(activations.map((a) => a.image))];
  for (const i of distinct) {
    if (!Number.isInteger(i) || i < 0 || i >= list.length) throw new ArgumentError(`image ${i} is out of range: ${list.length} image(s) given`);
  }
  const out = new Array<Projection>(activations.length);
  for (let start = 0; start < distinct.length; start += batch) {
    await yieldToEventLoop();
    throwIfAborted(options.signal, 'the projections');
    const chunk = distinct.slice(start, start + batch);
    const run = model.forwardSync(stack(model, chunk.map((i) => list[i])));
    activations.forEach((a, k) => {
      const slot = chunk.indexOf(a.image);
      if (slot < 0) return;
      out[k] = run.projectSync({
        layer: a.layer, point: a.point, map: a.map, keep: { y: a.y, x: a.x }, mode: options.mode ?? 'deconvnet',
        image: slot, signal: options.signal,
      });
    });
  }
  return out;
}

/** A training snapshot (or any model): a label and the model, or a function that loads it when its turn comes. */
export interface Snapshot {
  label: string;
  model: Model | (() => Model | Promise<Model>);
}

export interface EvolutionOptions extends StrongestOptions {
  mode?: ProjectionMode;
}

export interface EvolutionCell extends StrongestActivation {
  /** [1, C, H, W]: the projection of this activation from its image. */
  projection: Projection;
}

export interface EvolutionResult {
  snapshots: string[];
  features: { layer: string; point: Point; map: number }[];
  /** [feature][snapshot]. */
  cells: EvolutionCell[][];
  /** How the images were preprocessed (of the first snapshot's network), for display. */
  preprocess: Preprocess;
}

/**
 * For every snapshot in turn (each loaded only when needed, so one is in memory at a time if
 * given as loaders), the strongest activation of each feature over `images`, projected. Every
 * snapshot must take the same input shape.
 */
export async function featureEvolution(snapshots: readonly Snapshot[], images: ImageSet, features: readonly FeatureRef[],
                                       options: EvolutionOptions = {}): Promise<EvolutionResult> {
  if (!Array.isArray(snapshots) || snapshots.length === 0) throw new ArgumentError('give at least one snapshot');
  const cells: EvolutionCell[][] = features.map(() => []);
  let resolved: { layer: string; point: Point; map: number }[] = [];
  let preprocess: Preprocess = 'none';
  let input: readonly number[] | undefined;
  let first: { label: string; features: FeatureNetwork[] } | undefined;
  for (let s = 0; s < snapshots.length; s++) {
    throwIfAborted(options.signal, 'the feature evolution');
    const snap = snapshots[s];
    const model: Model = typeof snap.model === 'function' ? await snap.model() : snap.model;
    if (input && model.network.input.some((d, i) => d !== input![i])) {
      throw new ArgumentError(`snapshot '${snap.label}' takes [${model.network.input.join(', ')}] but the first takes ` +
        `[${input.join(', ')}]; every snapshot must take the same input`);
    }
    if (!input) {
      input = model.network.input;
      preprocess = model.network.preprocess;
    }
    // Every snapshot must compute each feature with the same network up to it (its layers and
    // their weight shapes): the other layers (a new classifier, say) may differ.
    let mine: FeatureNetwork[];
    try {
      mine = resolveFeatures(model, features).map((f) => featureNetwork(model, f));
    } catch (e) {
      if (!(e instanceof ArgumentError) || snapshots.length === 1) throw e;
      throw new ArgumentError(`snapshot '${snap.label}': ${e.message}`);
    }
    if (!first) {
      first = { label: snap.label, features: mine };
    } else {
      mine.forEach((f, k) => {
        const difference = networkDifference(first!.features[k], f);
        if (difference) {
          throw new ArgumentError(`snapshot '${snap.label}' is not the network of '${first!.label}' up to ` +
            `${featureLabel(features[k])}: ${difference}; snapshots must be one network at different points of its training`);
        }
      });
    }
    const part = (f: number) => (s + f) / snapshots.length;
    const hits = await strongestActivations(model, images, features, {
      batch: options.batch, signal: options.signal, onProgress: (f) => options.onProgress?.(part(f * 0.9)),
    });
    if (s === 0) resolved = hits.map((h) => ({ layer: h.layer, point: h.point, map: h.map }));
    const projections = await projectActivations(model, images, hits, { mode: options.mode, batch: options.batch, signal: options.signal });
    hits.forEach((h, f) => cells[f].push({ ...h, projection: projections[f] }));
    options.onProgress?.(part(1));
  }
  return { snapshots: snapshots.map((s) => s.label), features: resolved, cells, preprocess };
}

export interface EvolutionGridOptions {
  /** Crop each projection to its unit's receptive box (default true). */
  crop?: boolean;
  /** Enlarge each row (nearest neighbour, integer factor) until its largest cell is at least this many pixels (default 48). */
  minCell?: number;
  mode?: DisplayMode;
  gap?: number;
}

/** One row of projections as pictures, enlarged together so the row's largest is >= minCell. */
export function projectionRow(projections: readonly { projection: Projection; box: Box }[], preprocess: Preprocess,
                              options: EvolutionGridOptions = {}): RgbaImage[] {
  const crop = options.crop ?? true;
  const images = projections.map((c) => projectionToImage(c.projection, 0, {
    preprocess, crop: crop ? c.box : undefined, mode: options.mode,
  }));
  const largest = Math.max(...images.map((i) => Math.max(i.width, i.height)));
  const factor = Math.max(1, Math.ceil((options.minCell ?? 48) / largest));
  return images.map((i) => enlargeNearest(i, factor));
}

/**
 * The paper's Fig. 4 layout: a row per feature, a column per snapshot (left to right in the
 * order given), each cell the projection, contrast-stretched on its own.
 */
export function evolutionGrid(result: EvolutionResult, options: EvolutionGridOptions = {}): RgbaImage {
  const rows = result.cells.map((row) => projectionRow(row, result.preprocess, options));
  return tileImages(rows.flat(), { columns: result.snapshots.length, gap: options.gap ?? 4 });
}

/** The result without the projection tensors, for JSON. */
export function evolutionSummary(result: EvolutionResult) {
  return {
    snapshots: result.snapshots, features: result.features,
    cells: result.cells.map((row) => row.map(({ projection: _p, ...rest }) => rest)),
  };
}
