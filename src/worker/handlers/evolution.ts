/**
 * The 'evolution' request (paper, Fig. 4): for chosen features, the strongest activation over a
 * set of images at each training snapshot, projected to pixels; a grid of features x snapshots.
 *
 * Snapshots are zfnet-mini's saved epochs (when it is the page's model; 'final' is the page's
 * model itself), or model files the user gives (checkpoints of their own training, in training
 * order). Snapshots are loaded one at a time, when their turn comes, and dropped after: a few
 * copies of a large model need not fit in memory at once.
 */
import { AbortError, ArgumentError, ZFError } from '../../errors.js';
import type { Model } from '../../engine/model.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Point } from '../../graph/names.js';
import type { Pixels } from '../../io/preprocess.js';
import type { RgbaImage } from '../../deconv/render.js';
import {
  evolutionGrid, evolutionSummary, featureEvolution, projectionRow, type FeatureRef, type Snapshot,
} from '../../analyses/evolution.js';
import { DEFAULT_MODEL, savedSnapshots } from '../../models/default-model.js';
import type { AnalysisContext, NamedImage } from '../context.js';
import { checkImages } from './images.js';

export interface EvolutionRequest {
  type: 'evolution';
  /** The sample set each snapshot's strongest activations are searched in (1 to 256 images). */
  images: NamedImage[];
  /** The features to follow (1 to 32): a map of a layer, at `point` (default: the layer's feature map). */
  features: { layer: string; point?: string; map: number }[];
  /** zfnet-mini's epochs, in column order; 'final' is the current model (default: every saved epoch, then 'final'). */
  epochs?: (number | 'final')[];
  /** Instead of epochs: model files (ONNX), in training order, each with its column's label. */
  snapshots?: { source: string | Blob; label: string }[];
}

/** One cell's numbers: the strongest activation, which image and position it came from, its receptive box. */
export type EvolutionCellMessage = ReturnType<typeof evolutionSummary>['cells'][number][number];

export interface EvolutionResultMessage {
  /** Column labels: 'epoch 1' ... 'final', or the snapshots' own labels. */
  snapshots: string[];
  features: { layer: string; point: Point; map: number }[];
  /** [feature][snapshot]. */
  cells: EvolutionCellMessage[][];
  /** [feature][snapshot]: each cell's projection cropped to its receptive box, each row enlarged alike. */
  rows: RgbaImage[][];
  /** The whole grid as one picture (rows: features, columns: snapshots). */
  grid: RgbaImage;
  /** The images' names; a cell's `image` indexes this. */
  images: string[];
  /** zfnet-mini's saved epochs, without the one that is the final weights (so a view can offer them). */
  available?: number[];
  /** The saved epoch whose weights are the final ones, if any. */
  finalEpoch?: number;
  ms: number;
}

export const MAX_EVOLUTION_IMAGES = 256;
export const MAX_EVOLUTION_FEATURES = 32;
export const MAX_EVOLUTION_SNAPSHOTS = 16;

/** Share of the progress bar for decoding the images (the rest: the snapshots, in turn). */
const DECODE_SHARE = 0.1;

export async function evolutionHandler(context: AnalysisContext, request: EvolutionRequest): Promise<EvolutionResultMessage> {
  const t0 = performance.now();
  const features = checkFeatureList(request.features);
  const images = checkImages(request.images, 'evolution', 1, MAX_EVOLUTION_IMAGES);
  // Progress only moves forward: a snapshot's load reports into its slot, and the scan that
  // follows starts again from the slot's start.
  let shown = 0;
  const report = (f: number) => {
    if (f > shown) context.progress((shown = Math.min(1, f)));
  };
  const plan = request.snapshots !== undefined
    ? fileSnapshots(context, request, features, report)
    : await epochSnapshots(context, request, features, report);

  const pixels: Pixels[] = [];
  for (let i = 0; i < images.length; i++) {
    pixels.push(await context.decode(images[i].source, images[i].name));
    report(DECODE_SHARE * (i + 1) / images.length);
    await context.checkpoint();
  }
  // Snapshots of one network share its preprocessing: do it once. Files keep the pixels, so
  // each is preprocessed by its own model's preset.
  const set: (Pixels | Tensor)[] = plan.sameNetwork ? pixels.map((p) => context.model.preprocess(p)) : pixels;

  const result = await featureEvolution(plan.snapshots, set, features, {
    signal: context.signal, onProgress: (f) => report(DECODE_SHARE + (1 - DECODE_SHARE) * f),
  });
  const rows = result.cells.map((row) => projectionRow(row, result.preprocess));
  const { snapshots, features: resolved, cells } = evolutionSummary(result);
  return {
    snapshots, features: resolved, cells, rows, grid: evolutionGrid(result), images: images.map((im) => im.name),
    available: plan.available, finalEpoch: plan.finalEpoch, ms: performance.now() - t0,
  };
}

interface Plan { snapshots: Snapshot[]; sameNetwork: boolean; available?: number[]; finalEpoch?: number }

type Report = (fraction: number) => void;

/** zfnet-mini's saved epochs (checked against its manifest before any work), and 'final'. */
async function epochSnapshots(context: AnalysisContext, request: EvolutionRequest, features: FeatureRef[],
                              report: Report): Promise<Plan> {
  const { info, model } = context;
  if (info.source !== DEFAULT_MODEL) {
    throw new ArgumentError(`epochs are ${DEFAULT_MODEL}'s training snapshots, but the model is ${info.name} ` +
      `(${info.source}); give the snapshots as model files instead (snapshots: [{ source, label }])`);
  }
  const saved = await savedSnapshots({ baseUrl: context.modelsUrl, signal: context.signal });
  const available = saved.epochs.filter((e) => e !== saved.final);
  const epochs = request.epochs ?? [...available, 'final' as const];
  if (!Array.isArray(epochs) || epochs.length === 0) throw new ArgumentError('epochs is empty: give at least one epoch or \'final\'');
  if (epochs.length > MAX_EVOLUTION_SNAPSHOTS) {
    throw new ArgumentError(`evolution takes at most ${MAX_EVOLUTION_SNAPSHOTS} snapshots, got ${epochs.length} epochs`);
  }
  epochs.forEach((e, i) => {
    if (e !== 'final' && !saved.epochs.includes(e)) {
      throw new ArgumentError(`${DEFAULT_MODEL} has no snapshot for epoch ${JSON.stringify(e)}; saved epochs: ` +
        `${saved.epochs.join(', ')} (or 'final')`);
    }
    if (epochs.indexOf(e) !== i) throw new ArgumentError(`epoch ${e} is listed twice`);
  });
  // Every snapshot is the current model's network: a bad feature fails now, before any work.
  checkFeatures(model, features, info.name);
  const n = epochs.length;
  const snapshots = epochs.map((e, s): Snapshot => e === 'final'
    ? { label: 'final', model }
    : {
        label: `epoch ${e}`,
        model: () => loadSnapshot(`epoch ${e}`, () => context.loadOther(DEFAULT_MODEL, {
          epoch: e, onProgress: (f) => report(DECODE_SHARE + (1 - DECODE_SHARE) * (s + 0.2 * f) / n),
        })),
      });
  return { snapshots, sameNetwork: true, available, finalEpoch: saved.final };
}

/** Model files the user gave; each is checked (features, input) when it loads. */
function fileSnapshots(context: AnalysisContext, request: EvolutionRequest, features: FeatureRef[], report: Report): Plan {
  const list = request.snapshots;
  if (request.epochs !== undefined) throw new ArgumentError('give epochs or snapshots, not both');
  if (!Array.isArray(list) || list.length === 0) throw new ArgumentError('snapshots is empty: give at least one model file');
  if (list.length > MAX_EVOLUTION_SNAPSHOTS) {
    throw new ArgumentError(`evolution takes at most ${MAX_EVOLUTION_SNAPSHOTS} snapshots, got ${list.length}`);
  }
  list.forEach((s, i) => {
    if (!s || typeof s.label !== 'string' || !s.label.trim()) throw new ArgumentError(`snapshot ${i} has no label`);
    if (typeof s.source !== 'string' && !(typeof Blob !== 'undefined' && s.source instanceof Blob)) {
      throw new ArgumentError(`snapshot '${s.label}' has no source: give a URL or a file`);
    }
  });
  const n = list.length;
  const snapshots = list.map((s, k): Snapshot => ({
    label: s.label,
    model: () => loadSnapshot(s.label, async () => {
      const model = await context.loadOther(s.source, {
        onProgress: (f) => report(DECODE_SHARE + (1 - DECODE_SHARE) * (k + 0.5 * f) / n),
      });
      checkFeatures(model, features, 'this snapshot');
      return model;
    }),
  }));
  return { snapshots, sameNetwork: false };
}

/** A snapshot's load, its errors prefixed with the snapshot's label (same error class). */
async function loadSnapshot(label: string, load: () => Promise<Model>): Promise<Model> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ZFError && !(e instanceof AbortError)) {
      throw new (e.constructor as new (message: string) => ZFError)(`snapshot '${label}': ${e.message}`);
    }
    throw e;
  }
}

function checkFeatureList(features: unknown): FeatureRef[] {
  if (!Array.isArray(features) || features.length === 0) throw new ArgumentError('evolution needs at least one feature (layer and map)');
  if (features.length > MAX_EVOLUTION_FEATURES) {
    throw new ArgumentError(`evolution takes at most ${MAX_EVOLUTION_FEATURES} features, got ${features.length}`);
  }
  return features.map((f: Partial<FeatureRef> | null, i) => {
    if (!f || typeof f.layer !== 'string' || (f.point !== undefined && typeof f.point !== 'string') ||
        !Number.isInteger(f.map) || f.map! < 0) {
      throw new ArgumentError(`feature ${i} (${JSON.stringify(f)}) is not { layer, point?, map } with a whole map number >= 0`);
    }
    return f.point === undefined ? { layer: f.layer, map: f.map! } : { layer: f.layer, point: f.point, map: f.map! };
  });
}

/** Every feature's layer and point exist in `model`, and its map is in range. */
function checkFeatures(model: Model, features: readonly FeatureRef[], what: string): void {
  for (const f of features) {
    const r = model.resolve(f.layer, f.point);
    if (r.op < 0) throw new ArgumentError(`'${f.layer}' is the network input of ${what}: a feature is a map of a layer`);
    const maps = model.shapes[r.op][0];
    if (f.map >= maps) {
      throw new ArgumentError(`map ${f.map} is out of range: ${r.layer.name} ${r.point} of ${what} has ${maps} maps (0-${maps - 1})`);
    }
  }
}
