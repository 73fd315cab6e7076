/**
 * The fast path of occlusion sensitivity (paper, Fig. 7): many occluded copies of one image
 * through the network, computing only what the occluder changes.
 *
 * - **Spatial ops** (conv, pools, ReLU, LRN) run per position on crops. The occluder box is the
 *   affected span of the input; through each op the affected span grows to every output whose
 *   window reads it. Outside it the activations equal the unoccluded image's (the *base*, kept
 *   from one ordinary forward pass). For a window op the input crop is cut from the base around
 *   the affected outputs' windows, the changed part is laid over it, and the op runs on the crop
 *   with its pads shifted (as src/deconv/walk.ts does for the transposed conv). The numbers are
 *   the full computation's, bit for bit: every output sums the same terms in the same order.
 * - **Dense ops** (after the last spatial op) run batched: the last spatial output of each
 *   position (base + its changed span) goes into one slot of a batch, so each fc weight is
 *   read once per batch, not once per position.
 *
 * The engine borrows the model's weights, its conv scratch and its base activations (image 0 of
 * the planned buffers), and keeps its own buffers after the model's plan. While an engine is in
 * use the model must not run other forward passes (one model per worker does this).
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
import type { Box } from '../graph/shapes.js';
import { size } from '../graph/shapes.js';
import type { WorkerContext } from './pool-worker.js';
import { softmax } from '../engine/run.js';

/** Rows [y0, y1) and columns [x0, x1) of a tensor; empty when y0 >= y1 or x0 >= x1. */
type Span = Box;

/** What is read per occluded position. */
export interface OcclusionTarget {
  /** The class whose probability is recorded. */
  classIndex: number;
  /** The op whose output holds the recorded feature map (a spatial op, or a dense section op). */
  op: number;
  /** The feature map (channel; for a 1-D output, the unit). */
  map: number;
}

/** Per position: the class probability, the map's total activation, the most probable class. */
export interface OcclusionValues {
  probability: Float32Array;
  activation: Float64Array;
  top: Int32Array;
  topProbability: Float32Array;
}

interface Buffers {
  plan: unknown;
  batch: number;
  a: Region; b: Region; c: Region;
  switches: Region;
  /** Batch slots for the first dense op's input, then each dense section op's output. */
  slots: Region;
  dense: (Region | undefined)[];
}

const cache = new WeakMap<Model, Buffers>();

/** Index of the first op whose output is not [C, H, W] (the dense section), or ops.length. */
export function denseStart(model: Model): number {
  const i = model.shapes.findIndex((s) => s.length !== 3);
  return i < 0 ? model.shapes.length : i;
}

export class OcclusionEngine {
  private readonly g: number;
  private readonly buffers: Buffers;
  private baseReady = false;
  /** The chosen map's values on the unoccluded image (outside the changed span they stay). */
  private baseMap: Float32Array = new Float32Array(0);
  /** What the base and target are (a worker reuses the engine while it stays the same). */
  key = '';

  constructor(readonly model: Model, readonly batch: number, readonly target: OcclusionTarget) {
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
    this.g = denseStart(model);
    for (let i = this.g; i < model.network.ops.length; i++) {
      const kind = model.network.ops[i].kind;
      if (!['dense', 'relu', 'dropout', 'flatten', 'softmax'].includes(kind)) {
        throw new ArgumentError(`occlusion: op ${i} (${kind}) after the first fully connected layer is not supported`);
      }
    }
    this.buffers = this.allocate(batch);
  }

  /** Buffers after the model's plan, reused while the plan stays the same and is large enough. */
  private allocate(batch: number): Buffers {
    const m = this.model;
    const known = cache.get(m);
    if (known && known.plan === m.planned && known.batch >= batch) return known;
    // New regions at the top (never a reset: something else may have allocated after ours).
    const arena = m.arena;
    const shapes = m.shapes;
    let largest = size(m.network.input);
    let pooled = 1;
    for (let i = 0; i < this.g; i++) {
      largest = Math.max(largest, size(shapes[i]));
      if (m.network.ops[i].kind === 'maxpool') pooled = Math.max(pooled, size(shapes[i]));
    }
    const last = this.g === 0 ? size(m.network.input) : size(shapes[this.g - 1]);
    const a = arena.alloc(largest, 'occlusion crop');
    const b = arena.alloc(largest, 'occlusion crop');
    const c = arena.alloc(largest, 'occlusion crop');
    const switches = arena.alloc(pooled, 'occlusion switches');
    const slots = arena.alloc(batch * last, 'occlusion batch');
    const dense: (Region | undefined)[] = [];
    let prev = slots;
    for (let i = this.g; i < m.network.ops.length; i++) {
      const kind = m.network.ops[i].kind;
      const r = kind === 'dropout' || kind === 'flatten' ? prev : arena.alloc(batch * size(shapes[i]), 'occlusion batch');
      dense[i] = r;
      prev = r;
    }
    const buffers = { plan: m.planned, batch, a, b, c, switches, slots, dense };
    cache.set(m, buffers);
    return buffers;
  }

  /**
   * Run the unoccluded image ([C * H * W], preprocessed and finite) through the spatial ops:
   * the base every position reuses. The fc layers are not run (a worker that only computes
   * the spatial ops has no fc weights). Same kernels and arguments as Model.forwardSync, so
   * the same numbers.
   */
  setBase(input: Float32Array): void {
    const m = this.model;
    if (this.buffers.plan !== m.planned) throw new Error('the model re-planned its memory under the occlusion engine');
    const k = m.kernels;
    m.arena.write(m.inputRegion(), input);
    for (let i = 0; i < this.g; i++) {
      const op = m.network.ops[i];
      const x = m.opInputRegion(i).offset, y = m.outputRegion(i).offset;
      const [c, h, w] = m.inputShape(i);
      const out = m.shapes[i];
      if (op.kind === 'conv') {
        const p = m.paramsAt(i)!;
        k.conv2d(1, c, h, w, op.filters, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
          out[1], out[2], op.groups, x, p.weight.offset, p.bias?.offset ?? 0, y, m.planned.scratch.offset);
      } else if (op.kind === 'relu') {
        k.relu(size(out), x, y);
      } else if (op.kind === 'maxpool') {
        k.maxpool(c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1], out[1], out[2],
          x, y, m.switchRegion(i)!.offset);
      } else if (op.kind === 'avgpool') {
        k.avgpool(c, h, w, op.kernel[0], op.kernel[1], op.stride[0], op.stride[1], op.pads[0], op.pads[1],
          op.pads[2], op.pads[3], out[1], out[2], op.countIncludePad ? 1 : 0, x, y);
      } else if (op.kind === 'lrn') {
        k.lrn(1, c, h * w, op.size, op.alpha, op.beta, op.bias, x, y);
      } else if (op.kind !== 'dropout' && op.kind !== 'flatten') {
        throw new ArgumentError(`occlusion: op ${i} (${op.kind}) on a spatial tensor is not supported`);
      }
    }
    // Whatever Run was read before now reads this image's spatial activations.
    m.generation += 1;
    const { op, map } = this.target;
    if (op < this.g) {
      const [, h, w] = m.shapes[op];
      this.baseMap = m.arena.read(m.outputRegion(op), map * h * w, h * w);
    }
    this.baseReady = true;
  }

  /** Floats of one position's last spatial output (the fc layers' input). */
  get slotSize(): number {
    return size(this.g === 0 ? this.model.network.input : this.model.shapes[this.g - 1]);
  }

  /** Evaluate occluded copies of the base image, start to end (see `spatialOnly` + `finishDense` for the split form). */
  evaluate(boxes: readonly Box[], fill: Float32Array, signal?: AbortSignal): OcclusionValues {
    if (!this.baseReady) throw new Error('setBase first');
    const n = boxes.length;
    const out = emptyValues(n);
    for (let start = 0; start < n; start += this.batch) {
      if (signal?.aborted) throw new AbortError('occlusion cancelled');
      const count = Math.min(this.batch, n - start);
      for (let j = 0; j < count; j++) {
        out.activation[start + j] = this.spatial(boxes[start + j], fill, j);
      }
      this.denseSection(count, start, out);
    }
    return out;
  }

  /**
   * The spatial ops only: each position's last spatial output ([n, slotSize]) and the chosen
   * map's total (NaN when the map is in the fc layers). A worker without fc weights does this;
   * `finishDense` (where the fc weights are) completes it.
   */
  spatialOnly(boxes: readonly Box[], fill: Float32Array): { slots: Float32Array; activation: Float64Array } {
    if (!this.baseReady) throw new Error('setBase first');
    const n = boxes.length, s = this.slotSize;
    const slots = new Float32Array(n * s);
    const activation = new Float64Array(n);
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      for (let j = 0; j < count; j++) activation[start + j] = this.spatial(boxes[start + j], fill, j);
      slots.set(this.model.arena.read(this.buffers.slots, 0, count * s), start * s);
    }
    if (this.target.op >= this.g) activation.fill(NaN);
    return { slots, activation };
  }

  /** The fc layers on positions computed by `spatialOnly` (on any model with the same weights). */
  finishDense(part: { slots: Float32Array; activation: Float64Array }): OcclusionValues {
    const n = part.activation.length, s = this.slotSize;
    const out = emptyValues(n);
    out.activation.set(part.activation);
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      this.model.arena.write(this.buffers.slots, part.slots.subarray(start * s, (start + count) * s));
      this.denseSection(count, start, out);
    }
    return out;
  }

  /**
   * The spatial ops for one occluder: writes the last spatial output into batch slot `slot`;
   * returns the chosen map's total when it is a spatial map (else 0: read in the dense section).
   */
  private spatial(box: Box, fill: Float32Array, slot: number): number {
    const m = this.model;
    const k = m.kernels;
    const { a, b, c, switches } = this.buffers;
    const [ci, hi, wi] = m.network.input;
    let span: Span = {
      y0: Math.max(0, box.y0), x0: Math.max(0, box.x0), y1: Math.min(hi, box.y1), x1: Math.min(wi, box.x1),
    };
    let total = this.target.op < this.g ? NaN : 0;
    let cur = a, free = b;
    let live = !isEmpty(span);
    if (live) {
      // The occluded input crop: every channel filled with its value.
      const area = (span.y1 - span.y0) * (span.x1 - span.x0);
      for (let ch = 0; ch < ci; ch++) k.fill(cur.offset + ch * area * 4, fill[ch], area);
    }
    for (let i = 0; i < this.g && live; i++) {
      const op = m.network.ops[i];
      const [C, H, W] = m.inputShape(i);
      const [OC, OH, OW] = m.shapes[i];
      if (op.kind === 'conv' || op.kind === 'maxpool' || op.kind === 'avgpool') {
        const [KH, KW] = op.kernel, [SH, SW] = op.stride, [PT, PL] = op.pads;
        const o: Span = {
          y0: Math.max(0, Math.floor((span.y0 + PT - KH) / SH) + 1), y1: Math.min(OH, Math.ceil((span.y1 + PT) / SH)),
          x0: Math.max(0, Math.floor((span.x0 + PL - KW) / SW) + 1), x1: Math.min(OW, Math.ceil((span.x1 + PL) / SW)),
        };
        if (isEmpty(o)) { live = false; break; }
        const g: Span = {
          y0: Math.max(0, o.y0 * SH - PT), y1: Math.min(H, (o.y1 - 1) * SH - PT + KH),
          x0: Math.max(0, o.x0 * SW - PL), x1: Math.min(W, (o.x1 - 1) * SW - PL + KW),
        };
        const gh = g.y1 - g.y0, gw = g.x1 - g.x0;
        // The input crop: the base around the windows, the changed span laid over it.
        let x = cur;
        if (!sameSpan(g, span)) {
          x = free;
          k.cropWindow(C, H, W, g.y0, g.x0, gh, gw, m.opInputRegion(i).offset, x.offset);
          this.overlay(C, span, cur, g, x, c);
        }
        const y = x === a ? b : a;
        const oh = o.y1 - o.y0, ow = o.x1 - o.x0;
        const pt = PT + g.y0 - o.y0 * SH, pl = PL + g.x0 - o.x0 * SW;
        if (op.kind === 'conv') {
          const p = m.paramsAt(i)!;
          k.conv2d(1, C, gh, gw, OC, KH, KW, SH, SW, pt, pl, oh, ow, op.groups, x.offset, p.weight.offset,
            p.bias?.offset ?? 0, y.offset, m.planned.scratch.offset);
        } else if (op.kind === 'maxpool') {
          k.maxpool(C, gh, gw, KH, KW, SH, SW, pt, pl, oh, ow, x.offset, y.offset, switches.offset);
        } else {
          // The crop's end pads: the original ones plus the image cells below/right of the crop,
          // so a window clipped to the padded input is clipped at the same place.
          const pb = op.pads[2] + H - g.y1, pr = op.pads[3] + W - g.x1;
          k.avgpool(C, gh, gw, KH, KW, SH, SW, pt, pl, pb, pr, oh, ow, op.countIncludePad ? 1 : 0,
            x.offset, y.offset);
        }
        cur = y;
        free = y === a ? b : a;
        span = o;
      } else if (op.kind === 'relu') {
        k.relu(OC * (span.y1 - span.y0) * (span.x1 - span.x0), cur.offset, free.offset);
        [cur, free] = [free, cur];
      } else if (op.kind === 'lrn') {
        k.lrn(1, OC, (span.y1 - span.y0) * (span.x1 - span.x0), op.size, op.alpha, op.beta, op.bias, cur.offset, free.offset);
        [cur, free] = [free, cur];
      } else if (op.kind !== 'dropout' && op.kind !== 'flatten') {
        throw new ArgumentError(`occlusion: op ${i} (${op.kind}) on a spatial tensor is not supported`);
      }
      if (i === this.target.op) total = this.mapTotal(span, cur);
    }
    if (Number.isNaN(total)) total = this.mapTotal(null, cur);
    // The last spatial output, whole: the base, with the changed span laid over it.
    const last = this.g - 1;
    const shape = last < 0 ? m.network.input : m.shapes[last];
    const n = size(shape);
    const dst = this.buffers.slots.offset + slot * n * 4;
    const base = last < 0 ? m.inputRegion().offset : m.outputRegion(last).offset;
    const mem = new Float32Array(m.arena.memory.buffer);
    mem.copyWithin(dst >> 2, base >> 2, (base >> 2) + n);
    if (live) k.placeWindow(shape[0], shape[1], shape[2], span.y0, span.x0, span.y1 - span.y0, span.x1 - span.x0, cur.offset, dst);
    return total;
  }

  /** Lay the part of crop `src` (at `span`) that lies inside `g` over crop `dst` (at `g`). */
  private overlay(C: number, span: Span, src: Region, g: Span, dst: Region, tmp: Region): void {
    const k = this.model.kernels;
    const i: Span = {
      y0: Math.max(span.y0, g.y0), y1: Math.min(span.y1, g.y1), x0: Math.max(span.x0, g.x0), x1: Math.min(span.x1, g.x1),
    };
    if (isEmpty(i)) return;
    const gh = g.y1 - g.y0, gw = g.x1 - g.x0;
    const ih = i.y1 - i.y0, iw = i.x1 - i.x0;
    let from = src;
    if (!sameSpan(i, span)) {
      k.cropWindow(C, span.y1 - span.y0, span.x1 - span.x0, i.y0 - span.y0, i.x0 - span.x0, ih, iw, src.offset, tmp.offset);
      from = tmp;
    }
    k.placeWindow(C, gh, gw, i.y0 - g.y0, i.x0 - g.x0, ih, iw, from.offset, dst.offset);
  }

  /**
   * The chosen map's total on the occluded image: base values outside `span`, the crop's inside,
   * summed in row-major order in float64 (the naive path sums the full map the same way).
   */
  private mapTotal(span: Span | null, crop: Region): number {
    const { op, map } = this.target;
    const [, h, w] = this.model.shapes[op];
    const base = this.baseMap;
    let s = 0;
    if (!span || isEmpty(span)) {
      for (let i = 0; i < base.length; i++) s += base[i];
      return s;
    }
    const sw = span.x1 - span.x0;
    const view = new Float32Array(this.model.arena.memory.buffer, crop.offset + map * (span.y1 - span.y0) * sw * 4,
      (span.y1 - span.y0) * sw);
    for (let y = 0; y < h; y++) {
      const inside = y >= span.y0 && y < span.y1;
      for (let x = 0; x < w; x++) {
        s += inside && x >= span.x0 && x < span.x1 ? view[(y - span.y0) * sw + x - span.x0] : base[y * w + x];
      }
    }
    return s;
  }

  /** The dense ops on `count` filled slots; results go to positions start..start+count-1. */
  private denseSection(count: number, start: number, out: OcclusionValues): void {
    const m = this.model;
    const k = m.kernels;
    const ops = m.network.ops;
    let x = this.buffers.slots;
    for (let i = this.g; i < ops.length; i++) {
      const op = ops[i];
      const y = this.buffers.dense[i]!;
      const n = size(m.shapes[i]);
      if (op.kind === 'dense') {
        const p = m.paramsAt(i)!;
        k.dense(count, size(m.inputShape(i)), op.units, x.offset, p.weight.offset, p.bias?.offset ?? 0, y.offset);
      } else if (op.kind === 'relu') {
        k.relu(count * n, x.offset, y.offset);
      } else if (op.kind === 'softmax') {
        k.softmax(count, n, x.offset, y.offset);
      }
      x = y;
    }
    const last = ops.length - 1;
    const classes = size(m.shapes[last]);
    const rows = m.arena.read(x, 0, count * classes);
    const { op: tOp, map, classIndex } = this.target;
    const unit = tOp >= this.g ? m.arena.read(this.buffers.dense[tOp]!, 0, count * size(m.shapes[tOp])) : undefined;
    for (let j = 0; j < count; j++) {
      const row = rows.subarray(j * classes, (j + 1) * classes);
      const p = ops[last].kind === 'softmax' ? row : softmax(row);
      const t = argmax(p);
      out.probability[start + j] = p[classIndex];
      out.top[start + j] = t;
      out.topProbability[start + j] = p[t];
      if (unit) out.activation[start + j] = unit[j * size(m.shapes[tOp]) + map];
    }
  }
}

function emptyValues(n: number): OcclusionValues {
  return { probability: new Float32Array(n), activation: new Float64Array(n), top: new Int32Array(n), topProbability: new Float32Array(n) };
}

function isEmpty(s: Span): boolean {
  return s.y0 >= s.y1 || s.x0 >= s.x1;
}

function sameSpan(a: Span, b: Span): boolean {
  return a.y0 === b.y0 && a.y1 === b.y1 && a.x0 === b.x0 && a.x1 === b.x1;
}

/** The most probable class; ties go to the lower index (as Run.top sorts). */
export function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

/** A pool job: a share of the positions of one occlusion call. */
export interface OcclusionJob {
  /** Names the unoccluded image: each worker runs it once per name. */
  base: string;
  /** The unoccluded image, [C * H * W] (preprocessed). */
  input: Float32Array;
  fill: Float32Array;
  target: OcclusionTarget;
  boxes: Box[];
  batch: number;
  /** 'all': the whole network; 'spatial': up to the fc layers (the caller runs those). */
  layers: 'all' | 'spatial';
}

/** Either the finished values, or the spatial part (see OcclusionEngine.spatialOnly). */
export type OcclusionJobResult =
  | { values: OcclusionValues }
  | { slots: Float32Array; activation: Float64Array };

/** Run an occlusion job on a worker's model (pool-worker.ts). */
export function occlusionJob(context: WorkerContext, job: OcclusionJob): OcclusionJobResult {
  const key = `${job.base}/${job.batch}/${job.target.classIndex}/${job.target.op}/${job.target.map}`;
  let engine = context.state.get('occlusion') as OcclusionEngine | undefined;
  if (!engine || engine.key !== key) {
    engine = new OcclusionEngine(context.model, job.batch, job.target);
    engine.setBase(job.input);
    engine.key = key;
    context.state.set('occlusion', engine);
  }
  return job.layers === 'spatial' ? engine.spatialOnly(job.boxes, job.fill) : { values: engine.evaluate(job.boxes, job.fill) };
}
