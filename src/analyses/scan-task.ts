/**
 * The two jobs of the data-set scan (scan.ts), run by the pool's workers or in the calling
 * thread: the forward pass over a batch of images, keeping per feature map only the batch's k
 * strongest activations; and the projection of the kept units of one image.
 */
import { ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Run } from '../engine/run.js';
import type { Box } from '../graph/shapes.js';
import type { ProjectionMode } from '../deconv/walk.js';
import type { WorkerContext } from './pool-worker.js';

/**
 * The order of activations: stronger value first; on equal values the lower image index, then
 * the lower flat position (row-major) first. A total order, so the kept set does not depend on
 * the order in which images or batches are seen.
 */
export function stronger(v: number, image: number, pos: number, w: number, wImage: number, wPos: number): boolean {
  return v > w || (v === w && (image < wImage || (image === wImage && pos < wPos)));
}

/** The k strongest of what is offered, strongest first: a bounded sorted list, O(k) memory. */
export class TopK {
  readonly values: number[] = [];
  readonly images: number[] = [];
  readonly positions: number[] = [];
  constructor(readonly k: number) {}

  get length(): number { return this.values.length; }

  /** Would `v` at (image, pos) enter? */
  accepts(v: number, image: number, pos: number): boolean {
    const n = this.values.length;
    return n < this.k || stronger(v, image, pos, this.values[n - 1], this.images[n - 1], this.positions[n - 1]);
  }

  offer(v: number, image: number, pos: number): void {
    if (!this.accepts(v, image, pos)) return;
    const { values, images, positions } = this;
    let i = values.length;
    if (i === this.k) { values.pop(); images.pop(); positions.pop(); i -= 1; }
    values.push(v); images.push(image); positions.push(pos);
    while (i > 0 && stronger(v, image, pos, values[i - 1], images[i - 1], positions[i - 1])) {
      values[i] = values[i - 1]; images[i] = images[i - 1]; positions[i] = positions[i - 1];
      i -= 1;
    }
    values[i] = v; images[i] = image; positions[i] = pos;
  }
}

/** A batch of images to scan. */
export interface ScanForwardJob {
  /** [count, C, H, W] preprocessed. */
  data: Float32Array;
  count: number;
  /** The data-set index of the first image. */
  first: number;
  /** Op index of each scanned layer point, and the maps scanned at each. */
  ops: number[];
  maps: number[][];
  top: number;
  /** One activation per image and map (its strongest position), or every position. */
  distinct: boolean;
}

/** Per scanned layer: for each map (in `maps` order) up to `top` entries at [m * top, m * top + counts[m]). */
export interface ScanForwardResult {
  layers: { values: Float32Array; images: Int32Array; positions: Int32Array; counts: Int32Array }[];
}

export function scanForwardJob(context: WorkerContext, job: ScanForwardJob): ScanForwardResult {
  const model = context.model;
  const perImage = model.network.input;
  const run = model.forwardSync({ shape: [job.count, ...perImage], data: job.data });
  return {
    layers: job.ops.map((op, l) => {
      const shape = model.shapes[op];
      const maps = shape[0];
      const plane = shape.length === 3 ? shape[1] * shape[2] : 1;
      const data = run.opOutput(op).data;
      return batchTop(data, job.count, maps, plane, job.maps[l], job.top, job.first, job.distinct);
    }),
  };
}

/** The k strongest entries per requested map of a batch's activations [count, maps, plane]. */
export function batchTop(data: Float32Array, count: number, maps: number, plane: number, wanted: number[], k: number,
                         first: number, distinct: boolean): ScanForwardResult['layers'][number] {
  const values = new Float32Array(wanted.length * k);
  const images = new Int32Array(wanted.length * k);
  const positions = new Int32Array(wanted.length * k);
  const counts = new Int32Array(wanted.length);
  wanted.forEach((map, m) => {
    const top = new TopK(k);
    for (let n = 0; n < count; n++) {
      const base = (n * maps + map) * plane;
      if (distinct) {
        let best = 0;
        for (let p = 1; p < plane; p++) if (data[base + p] > data[base + best]) best = p;
        top.offer(data[base + best], first + n, best);
      } else {
        for (let p = 0; p < plane; p++) {
          const v = data[base + p];
          if (top.accepts(v, first + n, p)) top.offer(v, first + n, p);
        }
      }
    }
    counts[m] = top.length;
    values.set(top.values, m * k);
    images.set(top.images, m * k);
    positions.set(top.positions, m * k);
  });
  return { values, images, positions, counts };
}

/** The kept units of one image to project. */
export interface ScanProjectJob {
  /** The image [C * H * W], preprocessed. */
  data: Float32Array;
  units: { layer: string; point: string; map: number; y: number; x: number }[];
  mode: ProjectionMode;
}

/** Per unit: its projection and the image patch, both cropped to its receptive box ([C, h, w]). */
export interface ScanProjectResult {
  units: { box: Box; projection: Float32Array; patch: Float32Array }[];
}

export function scanProjectJob(context: WorkerContext, job: ScanProjectJob): ScanProjectResult {
  return projectUnitsOf(context.model, job);
}

export function projectUnitsOf(model: Model, job: ScanProjectJob): ScanProjectResult {
  const run = model.forwardSync({ shape: [1, ...model.network.input], data: job.data });
  return { units: job.units.map((u) => projectUnitOf(model, run, job, u)) };
}

/** One kept unit of `job` projected on `run` (the forward pass of `job.data`), and its patch. */
export function projectUnitOf(model: Model, run: Run, job: ScanProjectJob, u: ScanProjectJob['units'][number]):
    ScanProjectResult['units'][number] {
  const input = model.network.input;
  const p = run.projectSync({ layer: u.layer, point: u.point, map: u.map, keep: { y: u.y, x: u.x }, mode: job.mode });
  const box = p.units[0]?.box;
  if (!box) throw new ArgumentError(`no unit at ${u.y},${u.x} of ${u.layer} map ${u.map}`);
  return { box, projection: cropTensor(p.data, input, box), patch: cropTensor(job.data, input, box) };
}

/**
 * A forward job's images one at a time (each image's result is the same as in the batch for
 * [C, H, W] layers; the fc layers within float32 rounding), merged as the batch's would be:
 * `between` runs after each image but the last (the calling thread's turns).
 */
export async function scanForwardEach(context: WorkerContext, job: ScanForwardJob,
                                      between: () => Promise<void>): Promise<ScanForwardResult> {
  const perImage = job.data.length / job.count;
  const parts: ScanForwardResult[] = [];
  for (let n = 0; n < job.count; n++) {
    if (n > 0) await between();
    parts.push(scanForwardJob(context, {
      ...job, data: job.data.subarray(n * perImage, (n + 1) * perImage), count: 1, first: job.first + n,
    }));
  }
  if (parts.length === 1) return parts[0];
  const k = job.top;
  return {
    layers: job.ops.map((_, l) => {
      const wanted = job.maps[l].length;
      const values = new Float32Array(wanted * k), images = new Int32Array(wanted * k), positions = new Int32Array(wanted * k);
      const counts = new Int32Array(wanted);
      for (let m = 0; m < wanted; m++) {
        const top = new TopK(k);
        for (const part of parts) {
          const r = part.layers[l];
          for (let j = 0; j < r.counts[m]; j++) top.offer(r.values[m * k + j], r.images[m * k + j], r.positions[m * k + j]);
        }
        counts[m] = top.length;
        values.set(top.values, m * k);
        images.set(top.images, m * k);
        positions.set(top.positions, m * k);
      }
      return { values, images, positions, counts };
    }),
  };
}

/** A box of an image [C, H, W] as [C, h, w]. */
export function cropTensor(data: Float32Array, [c, h, w]: readonly number[], box: Box): Float32Array {
  const bh = box.y1 - box.y0, bw = box.x1 - box.x0;
  const out = new Float32Array(c * bh * bw);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < bh; y++) {
      const from = (ch * h + box.y0 + y) * w + box.x0;
      out.set(data.subarray(from, from + bw), (ch * bh + y) * bw);
    }
  }
  return out;
}
