/**
 * The fast path of occlusion sensitivity (paper, Fig. 7): many occluded copies of one image
 * through the network, computing only what the occluder changes. A loop over the op table.
 *
 * - **The spatial section**: every op whose output is [C, H, W] and whose inputs are too (or the
 *   image). Per position these run on crops: the occluder box is the changed part of the input;
 *   through each op the changed part grows by the op's region rule (src/engine/ops/region.ts:
 *   elementwise ops keep it, window ops grow it to every output whose window reads it; an op
 *   without one changes whole). Outside it the activations equal the unoccluded image's (the
 *   *base*, kept from one ordinary forward pass). Each input crop is cut from the base around
 *   what the changed outputs read, the changed part laid over it, and the op runs on the crop
 *   with its pads shifted. The numbers are the full computation's, bit for bit: every output
 *   sums the same terms in the same order. A tensor read by several ops (a residual branch) keeps
 *   its crop until all have read it.
 * - **The dense section** (the rest: fc layers, flatten...): run batched. Each position's tensors
 *   that the dense section reads (the *boundary*: base + changed part) go into one slot of a
 *   batch, so each fc weight is read once per batch, not once per position.
 *
 * The engine borrows the model's weights, its scratch and its base activations (image 0 of the
 * planned buffers), and keeps its own buffers in named workspaces of the model. While an engine is in use
 * the model must not run other forward passes (one model per worker does this).
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
import type { Box } from '../graph/shapes.js';
import { opInputs, size } from '../graph/shapes.js';
import { opDef } from '../engine/ops/index.js';
import type { Forward, Region as RegionRule } from '../engine/ops/types.js';
import { boxEmpty } from '../engine/ops/region.js';
import type { Op } from '../graph/layers.js';
import type { WorkerContext } from './pool-worker.js';
import { softmax } from '../engine/run.js';

/** What is read per occluded position. */
export interface OcclusionTarget {
  /** The class whose probability is recorded. */
  classIndex: number;
  /** The op whose output holds the recorded feature map. */
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

/** Which ops run per position on crops, which batched, and what passes between the two. */
export interface Sections {
  spatial: Uint8Array;
  /** Spatial ops, then dense ops, each in topological order. */
  spatialOps: number[];
  denseOps: number[];
  /** Tensors of the spatial section (or the image, -1) that the dense section reads, and the output if spatial. */
  boundary: number[];
}

export function sections(model: Model): Sections {
  const { ops } = model.network;
  const spatial = new Uint8Array(ops.length);
  const isSpatial = (t: number) => (t < 0 ? model.network.input.length === 3 : spatial[t] === 1);
  ops.forEach((op, i) => {
    if (model.shapes[i].length === 3 && opInputs(model.network, i).every(isSpatial)) spatial[i] = 1;
  });
  const all = [...ops.keys()];
  const spatialOps = all.filter((i) => spatial[i]);
  const denseOps = all.filter((i) => !spatial[i]);
  const boundary = new Set<number>();
  for (const i of denseOps) for (const t of opInputs(model.network, i)) if (isSpatial(t)) boundary.add(t);
  if (spatial[ops.length - 1]) boundary.add(ops.length - 1);
  return { spatial, spatialOps, denseOps, boundary: [...boundary].sort((a, b) => a - b) };
}

/** The first op of the dense section (a chain's spatial section is everything before it). */
export function denseStart(model: Model): number {
  return sections(model).denseOps[0] ?? model.network.ops.length;
}

/** The short-named layers a worker that computes only the spatial section needs. */
export function spatialLayers(model: Model): string[] {
  const { spatial } = sections(model);
  return model.layers.filter((l) => spatial[l.op]).map((l) => l.name);
}

/** An op without a region rule changes whole when any input changes, and is run whole. */
const WHOLE: RegionRule = {
  affected: (op, spans, xs, ys) => (spans.some((s) => s) ? { y0: 0, y1: ys[1], x0: 0, x1: ys[2] } : undefined),
  reads: (op, out, j, xs) => ({ y0: 0, y1: xs[j][1], x0: 0, x1: xs[j][2] }),
  forwardCrop(op, f) {
    const def = opDef(op);
    if (def.alias) f.k.copy(size(f.ys), f.x[0], f.y);
    else def.forward(op, { ...f, n: 1 });
  },
};

interface Buffers {
  plan: number;
  batch: number;
  /** Per tensor (t + 1), its changed part for the current position ([C, h, w] of the box). */
  crops: (Region | undefined)[];
  /** Per input slot, an input crop (the base around the reads, the changed part laid over). */
  temps: Region[];
  overlay: Region;
  switches: Region;
  /** Per boundary tensor, [batch, size] of that tensor per position. */
  slots: Map<number, Region>;
  /** Per dense op, [batch, size] of its output (a view op shares its input's). */
  dense: (Region | undefined)[];
  denseSwitches: (Region | undefined)[];
}

export class OcclusionEngine {
  private readonly sec: Sections;
  private readonly buffers: Buffers;
  private baseReady = false;
  /** The chosen map's values on the unoccluded image (outside the changed part they stay). */
  private baseMap: Float32Array = new Float32Array(0);
  /** What the base and target are (a worker reuses the engine while it stays the same). */
  key = '';

  constructor(readonly model: Model, readonly batch: number, readonly target: OcclusionTarget) {
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
    if (model.network.input.length !== 3) throw new ArgumentError('occlusion needs an image network ([C, H, W] input)');
    this.sec = sections(model);
    this.buffers = this.allocate(batch);
  }

  /** The engine's buffers: named workspaces of the model (the same while its plan stands). */
  private allocate(batch: number): Buffers {
    const m = this.model;
    const space = (name: string, floats: number) => m.workspace(`occlusion ${name}`, floats);
    const shape = (t: number) => m.tensorShape(t);
    const crops: (Region | undefined)[] = [];
    crops[0] = space('crop of the input', size(m.network.input));
    let largest = size(m.network.input), pooled = 1, reads = 1;
    for (const i of this.sec.spatialOps) {
      crops[i + 1] = space(`crop of tensor ${i}`, size(m.shapes[i]));
      for (const t of opInputs(m.network, i)) largest = Math.max(largest, size(shape(t)));
      reads = Math.max(reads, opInputs(m.network, i).length);
      pooled = Math.max(pooled, opDef(m.network.ops[i]).switches?.(m.network.ops[i], m.shapes[i]) ?? 0);
    }
    const temps = Array.from({ length: reads }, (_, j) => space(`input crop ${j}`, largest));
    const overlay = space('overlay', largest);
    const switches = space('switches', pooled);
    const slots = new Map<number, Region>();
    for (const t of this.sec.boundary) slots.set(t, space(`batch of tensor ${t}`, batch * size(shape(t))));
    const dense: (Region | undefined)[] = [];
    const denseSwitches: (Region | undefined)[] = [];
    const at = (t: number) => (slots.get(t) ?? dense[t])!;
    for (const i of this.sec.denseOps) {
      const op = m.network.ops[i];
      const def = opDef(op);
      dense[i] = def.alias ? at(opInputs(m.network, i)[0]) : space(`batch of tensor ${i}`, batch * size(m.shapes[i]));
      const slotsPerImage = def.switches?.(op, m.shapes[i]) ?? 0;
      denseSwitches[i] = slotsPerImage > 0 ? space(`switches of tensor ${i}`, batch * slotsPerImage) : undefined;
    }
    return { plan: m.planVersion, batch, crops, temps, overlay, switches, slots, dense, denseSwitches };
  }

  /**
   * Run the unoccluded image ([C * H * W], preprocessed and finite) through the spatial section:
   * the base every position reuses. The dense section is not run (a worker that only computes
   * the spatial section has no fc weights). The op table's forward passes, so the same numbers.
   */
  setBase(input: Float32Array): void {
    const m = this.model;
    if (this.buffers.plan !== m.planVersion) throw new Error('the model re-planned its memory under the occlusion engine');
    m.arena.write(m.inputRegion(), input);
    for (const i of this.sec.spatialOps) {
      const op = m.network.ops[i];
      opDef(op).forward(op, m.forwardArgs(i, 1));
    }
    // Whatever Run was read before now reads this image's spatial activations.
    m.generation += 1;
    const { op, map } = this.target;
    if (this.sec.spatial[op]) {
      const [, h, w] = m.shapes[op];
      this.baseMap = m.arena.read(m.outputRegion(op), map * h * w, h * w);
    }
    this.baseReady = true;
  }

  /** Floats of one position's boundary tensors (what the dense section reads). */
  get slotSize(): number {
    return this.sec.boundary.reduce((n, t) => n + size(this.model.tensorShape(t)), 0);
  }

  /** Evaluate occluded copies of the base image, start to end (see `spatialOnly` + `finishDense` for the split form). */
  evaluate(boxes: readonly Box[], fill: Float32Array, signal?: AbortSignal): OcclusionValues {
    if (!this.baseReady) throw new Error('setBase first');
    const n = boxes.length;
    const out = emptyValues(n);
    for (let start = 0; start < n; start += this.batch) {
      if (signal?.aborted) throw new AbortError('occlusion cancelled');
      const count = Math.min(this.batch, n - start);
      for (let j = 0; j < count; j++) out.activation[start + j] = this.spatial(boxes[start + j], fill, j);
      this.denseSection(count, start, out);
    }
    return out;
  }

  /**
   * The spatial section only: each position's boundary tensors ([n, slotSize], position by
   * position) and the chosen map's total (NaN when the map is in the dense section). A worker
   * without fc weights does this; `finishDense` (where the fc weights are) completes it.
   */
  spatialOnly(boxes: readonly Box[], fill: Float32Array): { slots: Float32Array; activation: Float64Array } {
    if (!this.baseReady) throw new Error('setBase first');
    const n = boxes.length, s = this.slotSize;
    const slots = new Float32Array(n * s);
    const activation = new Float64Array(n);
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      for (let j = 0; j < count; j++) activation[start + j] = this.spatial(boxes[start + j], fill, j);
      this.copySlots(count, (t, per, block) => {
        for (let j = 0; j < count; j++) slots.set(block.subarray(j * per, (j + 1) * per), (start + j) * s + t);
      });
    }
    if (!this.sec.spatial[this.target.op]) activation.fill(NaN);
    return { slots, activation };
  }

  /** The dense section on positions computed by `spatialOnly` (on any model with the same weights). */
  finishDense(part: { slots: Float32Array; activation: Float64Array }): OcclusionValues {
    const n = part.activation.length, s = this.slotSize;
    const out = emptyValues(n);
    out.activation.set(part.activation);
    const m = this.model;
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      let at = 0;
      for (const t of this.sec.boundary) {
        const per = size(m.tensorShape(t));
        const block = new Float32Array(count * per);
        for (let j = 0; j < count; j++) block.set(part.slots.subarray((start + j) * s + at, (start + j) * s + at + per), j * per);
        m.arena.write(this.buffers.slots.get(t)!, block);
        at += per;
      }
      this.denseSection(count, start, out);
    }
    return out;
  }

  /** Each boundary tensor's block of `count` positions, with its offset within a position's slot. */
  private copySlots(count: number, each: (offset: number, per: number, block: Float32Array) => void): void {
    let at = 0;
    for (const t of this.sec.boundary) {
      const per = size(this.model.tensorShape(t));
      each(at, per, this.model.arena.read(this.buffers.slots.get(t)!, 0, count * per));
      at += per;
    }
  }

  /**
   * The spatial section for one occluder: writes the boundary tensors into batch slot `slot`;
   * returns the chosen map's total when it is a spatial map (else 0: read in the dense section).
   */
  private spatial(box: Box, fill: Float32Array, slot: number): number {
    const m = this.model;
    const k = m.kernels;
    const { crops, temps } = this.buffers;
    const [ci, hi, wi] = m.network.input;
    const changed: (Box | undefined)[] = [];
    const inputSpan = { y0: Math.max(0, box.y0), x0: Math.max(0, box.x0), y1: Math.min(hi, box.y1), x1: Math.min(wi, box.x1) };
    if (!boxEmpty(inputSpan)) {
      // The occluded input crop: every channel filled with its value.
      changed[0] = inputSpan;
      const area = (inputSpan.y1 - inputSpan.y0) * (inputSpan.x1 - inputSpan.x0);
      for (let ch = 0; ch < ci; ch++) k.fill(crops[0]!.offset + ch * area * 4, fill[ch], area);
    }
    const targetSpatial = this.sec.spatial[this.target.op] === 1;
    let total = targetSpatial ? NaN : 0;
    if (changed[0]) {
      for (const i of this.sec.spatialOps) {
        const op = m.network.ops[i];
        const inputs = opInputs(m.network, i);
        const spans = inputs.map((t) => changed[t + 1]);
        if (spans.every((s) => !s)) continue;
        const region = (opDef(op).region ?? WHOLE) as RegionRule<Op>;
        const xs = inputs.map((t) => m.tensorShape(t)), ys = m.shapes[i];
        const out = region.affected(op, spans, xs, ys);
        if (!out || boxEmpty(out)) continue;
        const reads = inputs.map((t, j) => region.reads(op, out, j, xs, ys));
        const x = inputs.map((t, j) => this.inputCrop(t, reads[j], changed[t + 1], temps[j]));
        const f: Forward = {
          k, n: 1, x, xs, y: crops[i + 1]!.offset, ys, p: m.paramOffsets(i),
          switches: this.buffers.switches.offset, scratch: m.scratchRegion().offset,
        };
        region.forwardCrop(op, f, reads, out);
        changed[i + 1] = out;
        if (i === this.target.op) total = this.mapTotal(out, crops[i + 1]!);
      }
    }
    if (targetSpatial && Number.isNaN(total)) total = this.mapTotal(undefined, crops[this.target.op + 1]!);
    // The boundary tensors, whole: the base, with the changed part laid over it.
    for (const t of this.sec.boundary) {
      const shape = m.tensorShape(t);
      const n = size(shape);
      const dst = this.buffers.slots.get(t)!.offset + slot * n * 4;
      k.copy(n, m.tensorRegion(t).offset, dst);
      const c = changed[t + 1];
      if (c) k.placeWindow(shape[0], shape[1], shape[2], c.y0, c.x0, c.y1 - c.y0, c.x1 - c.x0, crops[t + 1]!.offset, dst);
    }
    return total;
  }

  /**
   * Tensor t over box `g` as an op reads it: its crop when that is exactly what changed, else
   * the base cut out at `g` with the changed part (if any) laid over it, in `tmp`.
   */
  private inputCrop(t: number, g: Box, changed: Box | undefined, tmp: Region): number {
    const m = this.model;
    const k = m.kernels;
    const crop = this.buffers.crops[t + 1]!;
    if (changed && sameBox(g, changed)) return crop.offset;
    const [c, h, w] = m.tensorShape(t);
    const gh = g.y1 - g.y0, gw = g.x1 - g.x0;
    k.cropWindow(c, h, w, g.y0, g.x0, gh, gw, m.tensorRegion(t).offset, tmp.offset);
    if (!changed) return tmp.offset;
    const i: Box = {
      y0: Math.max(changed.y0, g.y0), y1: Math.min(changed.y1, g.y1), x0: Math.max(changed.x0, g.x0), x1: Math.min(changed.x1, g.x1),
    };
    if (boxEmpty(i)) return tmp.offset;
    const ih = i.y1 - i.y0, iw = i.x1 - i.x0;
    let from = crop.offset;
    if (!sameBox(i, changed)) {
      k.cropWindow(c, changed.y1 - changed.y0, changed.x1 - changed.x0, i.y0 - changed.y0, i.x0 - changed.x0, ih, iw,
        crop.offset, this.buffers.overlay.offset);
      from = this.buffers.overlay.offset;
    }
    k.placeWindow(c, gh, gw, i.y0 - g.y0, i.x0 - g.x0, ih, iw, from, tmp.offset);
    return tmp.offset;
  }

  /**
   * The chosen map's total on the occluded image: base values outside `span`, the crop's inside,
   * summed in row-major order in float64 (the naive path sums the full map the same way).
   */
  private mapTotal(span: Box | undefined, crop: Region): number {
    const { op, map } = this.target;
    const [, h, w] = this.model.shapes[op];
    const base = this.baseMap;
    let s = 0;
    if (!span || boxEmpty(span)) {
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

  /** The dense section on `count` filled slots; results go to positions start..start+count-1. */
  private denseSection(count: number, start: number, out: OcclusionValues): void {
    const m = this.model;
    const { ops } = m.network;
    const { slots, dense, denseSwitches } = this.buffers;
    const at = (t: number) => (slots.get(t) ?? dense[t])!.offset;
    for (const i of this.sec.denseOps) {
      const op = ops[i];
      const inputs = opInputs(m.network, i);
      opDef(op).forward(op, {
        k: m.kernels, n: count, x: inputs.map(at), xs: inputs.map((t) => m.tensorShape(t)), y: dense[i]!.offset,
        ys: m.shapes[i], p: m.paramOffsets(i), switches: denseSwitches[i]?.offset ?? 0, scratch: m.scratchRegion().offset,
      });
    }
    const last = ops.length - 1;
    const classes = size(m.shapes[last]);
    const rows = m.arena.read({ offset: at(last), floats: count * classes }, 0, count * classes);
    const { op: tOp, map, classIndex } = this.target;
    const per = size(m.shapes[tOp]);
    const unit = this.sec.spatial[tOp] ? undefined : m.arena.read({ offset: at(tOp), floats: count * per }, 0, count * per);
    for (let j = 0; j < count; j++) {
      const row = rows.subarray(j * classes, (j + 1) * classes);
      const p = ops[last].kind === 'softmax' && ops[last].axis === undefined ? row : softmax(row);
      const t = argmax(p);
      out.probability[start + j] = p[classIndex];
      out.top[start + j] = t;
      out.topProbability[start + j] = p[t];
      if (unit) {
        const plane = per / m.shapes[tOp][0];
        let s = 0;
        for (let q = 0; q < plane; q++) s += unit[j * per + map * plane + q];
        out.activation[start + j] = s;
      }
    }
  }
}

function emptyValues(n: number): OcclusionValues {
  return { probability: new Float32Array(n), activation: new Float64Array(n), top: new Int32Array(n), topProbability: new Float32Array(n) };
}

function sameBox(a: Box, b: Box): boolean {
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
