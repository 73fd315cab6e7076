/**
 * Correspondence (paper, Fig. 8 and its table): does the network relate the same object part
 * across images? For N images and one part box per image (the left eye in five dog photos),
 * occlude the box and take, at layer l,
 *
 *   e_i = x_i - x~_i                      (features of the original minus of the occluded image)
 *   Delta_l = sum over pairs i != j of H(sign(e_i), sign(e_j))
 *
 * with H the Hamming distance. Lower is more consistent. The control occludes a random box of
 * the same size in each image (seeded), averaged over `random` trials.
 *
 * Conventions (stated because the paper does not):
 * - The sum runs over ordered pairs, as the paper's formula is written (i, j = 1..N, i != j), so
 *   each unordered pair counts twice: Delta = 2 * sum over i < j.
 * - sign() is three-valued: sign(0) = 0, a value of its own. A feature the occluder does not
 *   change (e = 0, e.g. outside its receptive field, or 0 before and after a ReLU) matches
 *   another image's unchanged feature and differs from a changed one. With `epsilon`, |e| <=
 *   epsilon counts as 0.
 * - `mean` is the mean over pairs of H / dims (the fraction of features whose sign change
 *   differs; the paper's table reports this "mean feature sign change"), `std` its standard
 *   deviation over the unordered pairs (population).
 * - Originals and occluded images are forwarded in batches of the same size and layout, so a
 *   feature the occluder cannot reach differs by exactly 0.
 */
import { ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Box } from '../graph/shapes.js';
import type { Point } from '../graph/names.js';
import { Mulberry32 } from '../models/init.js';
import {
  checkBatch, distinctLayers, featuresOf, imagesOf, lastConvLayer, lastHiddenLayer, layerLabel, resolveLayers, stack,
  throwIfAborted, yieldToEventLoop, type ImageSet, type LayerPoint,
} from './invariance.js';

/** What fills the occluded box: 0 in tensor units (the preset's mean colour), the image's own per-channel mean, or a value. */
export type MaskFill = 'zero' | 'mean' | number;

export interface ConsistencyScore {
  /** Sum over ordered pairs i != j of the Hamming distance of the sign vectors. */
  delta: number;
  /** Ordered pairs summed: N (N - 1). */
  pairs: number;
  /** Length of each sign vector. */
  dims: number;
  /** Mean over pairs of Hamming / dims. */
  mean: number;
  /** Standard deviation over unordered pairs of Hamming / dims. */
  std: number;
}

/** sign(e) as -1, 0, +1 (|e| <= epsilon counts as 0). */
export function signs(e: Float32Array, epsilon = 0): Int8Array {
  const out = new Int8Array(e.length);
  for (let i = 0; i < e.length; i++) out[i] = e[i] > epsilon ? 1 : e[i] < -epsilon ? -1 : 0;
  return out;
}

/** Positions at which two sign vectors differ. */
export function hamming(a: Int8Array, b: Int8Array): number {
  if (a.length !== b.length) throw new ArgumentError(`sign vectors of ${a.length} and ${b.length} values cannot be compared`);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d += 1;
  return d;
}

/** Hamming distances of every unordered pair i < j, in order (0,1), (0,2), ..., (1,2), ... */
export function pairDistances(signVectors: readonly Int8Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < signVectors.length; i++) {
    for (let j = i + 1; j < signVectors.length; j++) out.push(hamming(signVectors[i], signVectors[j]));
  }
  return out;
}

function score(distances: readonly number[], n: number, dims: number): ConsistencyScore {
  const sum = distances.reduce((a, b) => a + b, 0);
  const fractions = distances.map((d) => (dims > 0 ? d / dims : 0));
  const { mean, std } = meanStd(fractions);
  return { delta: 2 * sum, pairs: n * (n - 1), dims, mean, std };
}

function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * Delta for the feature differences e_1..e_N (the pure scoring function): at least 2 vectors of
 * the same length.
 */
export function consistency(diffs: readonly Float32Array[], options: { epsilon?: number } = {}): ConsistencyScore {
  if (!Array.isArray(diffs) || diffs.length < 2) throw new ArgumentError('consistency needs at least 2 difference vectors');
  const dims = diffs[0].length;
  if (diffs.some((d) => d.length !== dims)) throw new ArgumentError('the difference vectors must all have the same length');
  const epsilon = checkEpsilon(options.epsilon);
  return score(pairDistances(diffs.map((d) => signs(d, epsilon))), diffs.length, dims);
}

function checkEpsilon(epsilon: number | undefined): number {
  const e = epsilon ?? 0;
  if (!Number.isFinite(e) || e < 0) throw new ArgumentError(`epsilon must be a number >= 0, got ${epsilon}`);
  return e;
}

/** Throw unless `box` is a non-empty integer box inside a C x H x W input. */
export function checkBox(box: Box, input: readonly number[], what = 'box'): void {
  const [, h, w] = input;
  const { y0, x0, y1, x1 } = box ?? ({} as Box);
  if (![y0, x0, y1, x1].every(Number.isInteger) || y0 < 0 || x0 < 0 || y1 > h || x1 > w || y0 >= y1 || x0 >= x1) {
    throw new ArgumentError(`${what} { y0: ${y0}, x0: ${x0}, y1: ${y1}, x1: ${x1} } is not a non-empty box inside the ` +
      `${h} x ${w} input (rows y0..y1-1, columns x0..x1-1)`);
  }
}

/** A copy of one image (C x H x W values) with `box` filled. */
export function maskBox(image: Float32Array, input: readonly number[], box: Box, fill: MaskFill = 'zero'): Float32Array {
  const [c, h, w] = input;
  checkBox(box, input);
  if (typeof fill === 'number' ? !Number.isFinite(fill) : fill !== 'zero' && fill !== 'mean') {
    throw new ArgumentError(`fill must be 'zero', 'mean' or a finite number, got ${fill}`);
  }
  const out = image.slice();
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    let value = typeof fill === 'number' ? fill : 0;
    if (fill === 'mean') {
      let s = 0;
      for (let i = 0; i < plane; i++) s += image[ch * plane + i];
      value = s / plane;
    }
    for (let y = box.y0; y < box.y1; y++) out.fill(value, ch * plane + y * w + box.x0, ch * plane + y * w + box.x1);
  }
  return out;
}

/** For each box, a box of the same size at a uniformly random position inside the input. */
export function randomBoxes(boxes: readonly Box[], input: readonly number[], random: () => number): Box[] {
  const [, h, w] = input;
  return boxes.map((b) => {
    const bh = b.y1 - b.y0, bw = b.x1 - b.x0;
    const y0 = Math.min(h - bh, Math.floor(random() * (h - bh + 1)));
    const x0 = Math.min(w - bw, Math.floor(random() * (w - bw + 1)));
    return { y0, x0, y1: y0 + bh, x1: x0 + bw };
  });
}

export interface CorrespondenceOptions {
  /**
   * Layers (default: the last conv layer and the last hidden fc layer: conv5 and fc7, the paper's
   * 5 and 7; in an imported graph, the last conv block's output and the features the classifier
   * reads: see lastConvLayer and lastHiddenLayer).
   */
  layers?: readonly (string | LayerPoint)[];
  /** Trials of random boxes for the control (default 1; 0 for none). */
  random?: number;
  /** Seed of the random boxes (default 1). */
  seed?: number;
  fill?: MaskFill;
  /** |e| <= epsilon counts as sign 0 (default 0). */
  epsilon?: number;
  /** Images per forward pass (default 8). */
  batch?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface RandomScore extends ConsistencyScore {
  /** Random trials: delta and mean are averages over them, std is over all pairs of all trials. */
  trials: number;
  /** Standard deviation of delta over the trials. */
  deltaStd: number;
}

export interface CorrespondenceRow {
  layer: string;
  point: Point;
  dims: number;
  part: ConsistencyScore;
  random: RandomScore | null;
}

export interface CorrespondenceResult {
  model: string;
  images: number;
  boxes: Box[];
  /** [trial][image]: the control's boxes. */
  randomBoxes: Box[][];
  seed: number;
  fill: MaskFill;
  epsilon: number;
  /** How sign(0) is treated, for the record. */
  signOfZero: string;
  rows: CorrespondenceRow[];
}

export const SIGN_OF_ZERO = 'sign(0) = 0, a third value: it matches only another 0';

/**
 * The consistency table for `images` (at least 2) and one part box per image. The model must
 * not be used by anything else until the promise settles.
 */
export async function correspondence(model: Model, images: ImageSet, boxes: readonly Box[],
                                     options: CorrespondenceOptions = {}): Promise<CorrespondenceResult> {
  return model.exclusive('correspondence analysis', (held) => correspondenceHeld(held, images, boxes, options));
}

async function correspondenceHeld(model: Model, images: ImageSet, boxes: readonly Box[],
                                     options: CorrespondenceOptions = {}): Promise<CorrespondenceResult> {
  const list = imagesOf(model, images);
  const input = model.network.input;
  if (list.length < 2) throw new ArgumentError(`correspondence needs at least 2 images, got ${list.length}`);
  if (!Array.isArray(boxes) || boxes.length !== list.length) {
    throw new ArgumentError(`give one box per image: ${list.length} image(s), ${boxes?.length ?? 0} box(es)`);
  }
  boxes.forEach((b, i) => checkBox(b, input, `box ${i}`));
  const trials = options.random ?? 1;
  if (!Number.isInteger(trials) || trials < 0) throw new ArgumentError(`random must be an integer >= 0, got ${options.random}`);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw new ArgumentError(`seed must be an integer >= 0, got ${options.seed}`);
  const fill = options.fill ?? 'zero';
  maskBox(new Float32Array(input[0] * input[1] * input[2]), input, boxes[0], fill); // checks fill
  const epsilon = checkEpsilon(options.epsilon);
  const layers = options.layers ? resolveLayers(model, options.layers)
    : distinctLayers(resolveLayers(model, [{ layer: lastConvLayer(model) }, { layer: lastHiddenLayer(model) }]));
  const batch = checkBatch(options.batch);
  const what = 'the correspondence analysis';
  throwIfAborted(options.signal, what);

  const random = new Mulberry32(seed);
  const controls = Array.from({ length: trials }, () => randomBoxes(boxes, input, () => random.next()));
  const sets = [boxes.map((b) => ({ ...b })), ...controls];
  // signs[set][layer][image]
  const signVectors = sets.map(() => layers.map(() => new Array<Int8Array>(list.length)));
  const steps = Math.ceil(list.length / batch) * (1 + sets.length);
  let done = 0;
  options.onProgress?.(0);
  for (let start = 0; start < list.length; start += batch) {
    const chunk = list.slice(start, start + batch);
    await yieldToEventLoop();
    throwIfAborted(options.signal, what);
    const run = model.forwardSync(stack(model, chunk));
    const originals = layers.map((l) => featuresOf(run, l));
    options.onProgress?.(++done / steps);
    for (let s = 0; s < sets.length; s++) {
      await yieldToEventLoop();
      throwIfAborted(options.signal, what);
      const occluded = chunk.map((img, i) => maskBox(img, input, sets[s][start + i], fill));
      const occ = model.forwardSync(stack(model, occluded));
      layers.forEach((l, li) => {
        featuresOf(occ, l).forEach((x, i) => {
          const e = originals[li][i];
          for (let k = 0; k < e.length; k++) x[k] = e[k] - x[k];
          signVectors[s][li][start + i] = signs(x, epsilon);
        });
      });
      options.onProgress?.(++done / steps);
    }
  }

  const n = list.length;
  const rows = layers.map((l, li): CorrespondenceRow => {
    const part = score(pairDistances(signVectors[0][li]), n, l.size);
    let randomScore: RandomScore | null = null;
    if (trials > 0) {
      const perTrial = signVectors.slice(1).map((set) => pairDistances(set[li]));
      const deltas = perTrial.map((d) => score(d, n, l.size).delta);
      const all = score(perTrial.flat(), n, l.size);
      const d = meanStd(deltas);
      randomScore = { ...all, delta: d.mean, deltaStd: d.std, trials };
    }
    return { layer: l.layer, point: l.point, dims: l.size, part, random: randomScore };
  });
  return {
    model: model.network.name, images: n, boxes: sets[0], randomBoxes: controls, seed, fill, epsilon,
    signOfZero: SIGN_OF_ZERO, rows,
  };
}

/** The result as a plain-text table: one row per layer, columns part and random (Delta, then mean +- std). */
export function correspondenceTable(result: CorrespondenceResult): string {
  const cell = (s: ConsistencyScore | null, extra = '') => (s
    ? `${fmt(s.delta)}${extra} (${s.mean.toFixed(4)} ± ${s.std.toFixed(4)})` : '-');
  const rows = result.rows.map((r) => [
    layerLabel(r), String(r.dims), cell(r.part),
    cell(r.random, r.random && r.random.trials > 1 ? ` ± ${fmt(r.random.deltaStd)}` : ''),
  ]);
  const head = ['layer', 'features', 'part: Delta (mean ± std)',
    `random${result.randomBoxes.length > 1 ? ` x${result.randomBoxes.length}` : ''}: Delta (mean ± std)`];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
