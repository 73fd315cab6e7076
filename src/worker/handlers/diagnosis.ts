/**
 * The 'diagnosis' request (paper, Fig. 6): the current model's conv1 filters, their RMS, dead
 * filters and frequency content, and its layer-2 features, beside a second model's: an earlier
 * training snapshot, another architecture (ZFNet's 7x7/2 conv1 against AlexNet's 11x11/4) or an
 * ONNX file. The second model is loaded only for this request and dropped when it is done, so
 * at most two models are in memory at once.
 */
import { AbortError, ArgumentError, ZFError } from '../../errors.js';
import type { Model } from '../../engine/model.js';
import type { RgbaImage } from '../../deconv/render.js';
import type { Pixels } from '../../io/preprocess.js';
import { DEFAULT_MODEL } from '../../models/default-model.js';
import {
  diagnoseArchitecture, diagnosisCharts, diagnosisSummary, filterGrid, layer2Grid, type ArchitectureDiagnosis,
} from '../../analyses/diagnosis.js';
import type { AnalysisContext, NamedImage } from '../context.js';
import { checkImages } from './images.js';

export interface DiagnosisRequest {
  type: 'diagnosis';
  /** Sample images, for dead-by-activity and the layer-2 projections (both skipped without). */
  images?: NamedImage[];
  /** The model to show beside the current one (a built-in name, `zfnet-mini` with `epoch`, a URL, a file). */
  compare?: { source: string | Blob; seed?: number; epoch?: number; label?: string };
  /** How many layer-2 maps to project (default 16; fewer when the layer has fewer). */
  layer2Maps?: number;
}

export type DiagnosisSummary = ReturnType<typeof diagnosisSummary>;

export interface DiagnosedModel {
  /** What the page calls the model (unique within one result). */
  label: string;
  summary: DiagnosisSummary;
  /** conv1's filters (filterGrid: each stretched on its own, dead ones framed red). */
  filters: RgbaImage;
  /** The layer-2 projections (layer2Grid); null without images or without a second conv layer. */
  layer2: RgbaImage | null;
}

export interface DiagnosisResultMessage {
  /** The current model first, then the compared one. */
  models: DiagnosedModel[];
  /** SVG charts with one series per model: conv1's mean radial spectrum and its sorted filter RMS. */
  charts: { spectrum: string; rms: string };
  ms: number;
}

/** Images are decoded and run through both models: a few dozen say what a sample set can. */
export const MAX_DIAGNOSIS_IMAGES = 64;
/** Layer-2 maps projected per model: each is a picture in a grid a person looks at. */
export const MAX_LAYER2_MAPS = 64;

export async function diagnosisHandler(context: AnalysisContext, request: DiagnosisRequest): Promise<DiagnosisResultMessage> {
  const t0 = performance.now();
  check(request);
  const { compare } = request;
  // Every entry has a source and a name.
  const images = request.images && checkImages(request.images, 'diagnosis', 1, MAX_DIAGNOSIS_IMAGES);
  const maps = request.layer2Maps ?? 16;

  // Progress: decoding, the current model, then loading and diagnosing the other one.
  const plan = { decode: images ? 0.1 : 0, current: compare ? 0.4 : 0.9, load: compare ? 0.15 : 0, other: compare ? 0.35 : 0 };
  const total = plan.decode + plan.current + plan.load + plan.other;
  let done = 0, reported = 0;
  const stage = (weight: number) => {
    const start = done;
    done += weight / total;
    return (fraction: number) => {
      const at = start + (weight / total) * Math.min(1, Math.max(0, fraction));
      if (at > reported) { reported = at; context.progress(at); }
    };
  };

  // Decoded once: each model preprocesses the same pixels to its own input.
  const pixels: Pixels[] = [];
  if (images) {
    const step = stage(plan.decode);
    for (const [i, image] of images.entries()) {
      pixels.push(await context.decode(image.source, image.name));
      step((i + 1) / images.length);
      await context.checkpoint();
    }
  }
  const diagnose = (model: Model, onProgress: (f: number) => void) => diagnoseArchitecture(model, {
    images: images ? pixels : undefined, layer2: { maps: layer2Maps(model, maps) }, batch: batchFor(model),
    signal: context.signal, onProgress,
  });

  const first = await diagnose(context.model, stage(plan.current));
  const results = [{ label: context.info.name || context.model.network.name, diagnosis: first }];
  if (compare) {
    await context.checkpoint();
    const label = unique(compare.label || describe(compare.source, compare.epoch), results[0].label);
    const load = stage(plan.load), other = stage(plan.other);
    const diagnosis = await about(label, async () => {
      // Only this closure holds the model: it can be collected once its diagnosis is made.
      const model = await context.loadOther(compare.source, { seed: compare.seed, epoch: compare.epoch, onProgress: load });
      load(1);
      await context.checkpoint();
      return diagnose(model, other);
    });
    results.push({ label, diagnosis });
  }
  await context.checkpoint();

  // The charts' legends show the labels: two snapshots of zfnet-mini share a network name.
  const charts = diagnosisCharts(results.map((r) => ({ ...r.diagnosis, model: r.label })));
  const models = results.map(({ label, diagnosis }) => picture(label, diagnosis));
  context.progress(1);
  return { models, charts: { spectrum: charts.spectrum, rms: charts.rms }, ms: performance.now() - t0 };
}

function picture(label: string, d: ArchitectureDiagnosis): DiagnosedModel {
  return { label, summary: diagnosisSummary(d), filters: filterGrid(d), layer2: layer2Grid(d) };
}

function check(request: DiagnosisRequest): void {
  const { images, compare, layer2Maps } = request;
  if (images !== undefined) checkImages(images, 'diagnosis', 1, MAX_DIAGNOSIS_IMAGES);
  if (layer2Maps !== undefined && !(Number.isInteger(layer2Maps) && layer2Maps >= 1 && layer2Maps <= MAX_LAYER2_MAPS)) {
    throw new ArgumentError(`layer2Maps must be a whole number from 1 to ${MAX_LAYER2_MAPS}, got ${layer2Maps}`);
  }
  if (compare === undefined) return;
  if (!compare || typeof compare !== 'object') throw new ArgumentError(`compare must be { source, seed?, epoch?, label? }, got ${String(compare)}`);
  const { source, epoch, seed, label } = compare;
  if (label !== undefined && typeof label !== 'string') throw new ArgumentError(`compare.label must be text, got ${typeof label}`);
  if (epoch !== undefined && !(Number.isInteger(epoch) && epoch >= 0)) throw new ArgumentError(`compare.epoch must be a whole number, got ${String(epoch)}`);
  if (!(typeof source === 'string' && source !== '') && !(typeof Blob !== 'undefined' && source instanceof Blob)) {
    throw new ArgumentError(`compare.source must be a model name, a URL or an ONNX file, got ${String(source) || 'nothing'}`);
  }
  if (epoch !== undefined && source !== DEFAULT_MODEL) {
    throw new ArgumentError(`compare.epoch picks a training snapshot of ${DEFAULT_MODEL}, not of ${describe(source)}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) throw new ArgumentError(`compare.seed must be an integer, got ${seed}`);
}

/** The first `count` maps of the layer after conv1 (as many as it has). */
function layer2Maps(model: Model, count: number): number[] | undefined {
  const second = model.layers.filter((l) => l.kind === 'conv')[1];
  if (!second) return undefined;
  const available = model.shapes[model.resolve(second.name).op][0];
  return Array.from({ length: Math.min(count, available) }, (_, i) => i);
}

/**
 * Images per forward pass: 8 for small inputs; 2 for ImageNet-sized ones, whose batch of
 * activations, switches and scratch would otherwise add hundreds of MB beside two models.
 */
function batchFor(model: Model): number {
  const [, h, w] = model.network.input;
  return h * w > 64 * 64 ? 2 : 8;
}

/** A name for the compared model from what was asked for. */
function describe(source: string | Blob, epoch?: number): string {
  if (typeof source !== 'string') return typeof File !== 'undefined' && source instanceof File && source.name ? source.name : 'the ONNX file';
  const name = /^[a-z][a-z0-9+.-]*:/i.test(source) || source.includes('/') ? source.split(/[/?#]/).filter(Boolean).pop() ?? source : source;
  return epoch === undefined ? name : `${name} epoch ${epoch}`;
}

function unique(label: string, taken: string): string {
  return label === taken ? `${label} (compared)` : label;
}

/** Errors about the compared model say which model they are about (the first one's need not). */
async function about<T>(label: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof ZFError) || e instanceof AbortError) throw e;
    const Kind = e.constructor as new (message: string) => ZFError;
    throw new Kind(`the model to compare with (${label}): ${e.message}`);
  }
}
