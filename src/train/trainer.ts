/**
 * Mini-batch training with the engine's own kernels (paper, section 3 "Training details"):
 * softmax cross-entropy, backprop through every op by the op table's exact backward passes and
 * weight gradients (src/engine/ops/), dropout masks, SGD with momentum and weight decay, and the
 * filter RMS renormalisation. One Trainer holds one model replica planned for one batch size;
 * data parallelism (src/train/parallel.ts) runs one per core and sums their gradients.
 */
import { ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
import { opInputs, size } from '../graph/shapes.js';
import { Mulberry32 } from '../models/init.js';
import { opDef } from '../engine/ops/index.js';

export interface Hyper {
  /** Learning rate (the paper: 1e-2). */
  lr: number;
  momentum: number;
  /** L2 weight decay, applied to weights (not biases). */
  decay: number;
  /** Conv filters whose RMS exceeds this are rescaled to it (the paper: 0.1); 0 turns it off. */
  radius: number;
}

export const DEFAULT_HYPER: Hyper = { lr: 0.01, momentum: 0.9, decay: 5e-4, radius: 0.1 };

interface ParamGrads { op: number; weight: Region; bias?: Region; dWeight: Region; dBias?: Region; vWeight: Region; vBias?: Region }

export interface StepResult { loss: number; correct: number }

/** Trainers made so far: each one's workspaces are its own, even on a shared model. */
let trainers = 0;

export class Trainer {
  private readonly params: ParamGrads[] = [];
  private readonly gradA: Region;
  private readonly gradB: Region;
  private readonly scratch: Region;
  private readonly masks = new Map<number, Region>();
  private readonly random: Mulberry32;
  readonly batch: number;

  constructor(readonly model: Model, seed = 1) {
    const { arena, network, kernels: k } = model;
    this.batch = model.batchCapacity;
    // Our buffers are workspaces after the model's plan: a re-plan would drop them.
    model.pinPlan('a Trainer');
    const id = ++trainers;
    const space = (name: string, floats: number) => model.workspace(`trainer ${id} ${name}`, floats);
    const last = network.ops[network.ops.length - 1];
    if (last.kind !== 'softmax') throw new ArgumentError(`${network.name}: training needs a network that ends in softmax`);
    this.random = new Mulberry32(seed);
    let scratch = 0;
    const largest = Math.max(size(network.input), ...model.shapes.map(size));
    network.ops.forEach((op, i) => {
      const inputs = opInputs(network, i);
      if (inputs.length !== 1 || inputs[0] !== i - 1) {
        throw new ArgumentError(`${network.name}: training runs chains; op ${i} (${op.kind}) reads tensors [${inputs.join(', ')}]`);
      }
      const def = opDef(op);
      if (!def.backward) throw new ArgumentError(`${network.name}: op ${i} (${op.kind}) has no backward pass to train through`);
      const p = model.paramsAt(i);
      if (p && def.weightGrads) {
        this.params.push({
          op: i, weight: p.weight, bias: p.bias,
          dWeight: space(`weight gradient ${i}`, p.weight.floats), dBias: p.bias && space(`bias gradient ${i}`, p.bias.floats),
          vWeight: space(`weight momentum ${i}`, p.weight.floats), vBias: p.bias && space(`bias momentum ${i}`, p.bias.floats),
        });
      }
      const xs = model.inputShapes(i), out = model.shapes[i];
      scratch = Math.max(scratch, def.backScratch?.(op, xs, out, k) ?? 0, def.weightGradScratch?.(op, xs, out, k) ?? 0);
      if (op.kind === 'dropout') this.masks.set(i, space(`dropout mask ${i}`, this.batch * size(model.shapes[i])));
    });
    this.gradA = space('gradient a', this.batch * largest);
    this.gradB = space('gradient b', this.batch * largest);
    this.scratch = space('scratch', scratch);
    for (const p of this.params) {
      k.fill(p.vWeight.offset, 0, p.vWeight.floats);
      if (p.vBias) k.fill(p.vBias.offset, 0, p.vBias.floats);
    }
  }

  /** Forward with dropout, loss, backward: leaves the summed gradients of the batch in place. */
  computeGradients(images: Float32Array, labels: ArrayLike<number>): StepResult {
    const { model } = this;
    const { network, kernels: k, arena } = model;
    const n = labels.length;
    if (n < 1 || n > this.batch) throw new ArgumentError(`a training batch holds 1 to ${this.batch} images, got ${n}`);
    const run = model.forwardSync({ shape: [n, ...network.input], data: images }, {
      afterOp: (i, batch) => {
        const op = network.ops[i];
        if (op.kind !== 'dropout' || op.rate <= 0) return;
        const mask = this.masks.get(i)!, count = batch * size(model.shapes[i]);
        const keep = 1 / (1 - op.rate), m = arena.f32(mask);
        for (let j = 0; j < count; j++) m[j] = this.random.next() < op.rate ? 0 : keep;
        const at = model.opInputRegion(i).offset;
        k.applyMask(count, at, mask.offset, at);
      },
    });
    // Softmax cross-entropy: d loss / d logits = (p - onehot) / n, for the mean loss.
    const last = network.ops.length - 1;
    const classes = size(model.shapes[last]);
    const probs = run.opOutput(last).data;
    const grad = arena.f32(this.gradA);
    let loss = 0, correct = 0;
    for (let b = 0; b < n; b++) {
      const row = probs.subarray(b * classes, (b + 1) * classes);
      const label = labels[b];
      if (!(label >= 0 && label < classes)) throw new ArgumentError(`label ${label} of image ${b} is not a class 0-${classes - 1}`);
      loss -= Math.log(Math.max(row[label], 1e-30));
      let best = 0;
      for (let c = 0; c < classes; c++) {
        if (row[c] > row[best]) best = c;
        grad[b * classes + c] = (row[c] - (c === label ? 1 : 0)) / n;
      }
      if (best === label) correct++;
    }
    for (const p of this.params) {
      k.fill(p.dWeight.offset, 0, p.dWeight.floats);
      if (p.dBias) k.fill(p.dBias.offset, 0, p.dBias.floats);
    }
    this.backward(n, last - 1);
    return { loss: loss / n, correct };
  }

  /** Backprop from the gradient at op `top`'s output (in gradA) down to the first op. */
  private backward(n: number, top: number): void {
    const { model } = this;
    const { network, kernels: k } = model;
    let src = this.gradA, dst = this.gradB;
    for (let i = top; i >= 0; i--) {
      const op = network.ops[i];
      const def = opDef(op);
      // Dropout: the gradient passes where the forward pass kept the unit (scaled as it was).
      const mask = this.masks.get(i);
      if (mask && op.kind === 'dropout' && op.rate > 0) k.applyMask(n * size(model.shapes[i]), src.offset, mask.offset, src.offset);
      const b = {
        k, mode: 'gradient' as const, n, x: [model.opInputRegion(i).offset], xs: model.inputShapes(i),
        y: model.outputRegion(i).offset, ys: model.shapes[i], p: model.paramOffsets(i), switches: model.switchRegion(i)?.offset ?? 0,
        dy: src.offset, span: null, dx: [dst.offset], scratch: this.scratch.offset, cropIn: 0, cropOut: 0,
        packed: () => model.packedWeights(i).offset,
      };
      const grads = this.params.find((q) => q.op === i);
      if (grads) def.weightGrads!(op, b, { weight: grads.dWeight.offset, ...(grads.dBias ? { bias: grads.dBias.offset } : {}) });
      if (i === 0) return; // nobody needs the gradient of the image
      k.fill(dst.offset, 0, n * size(model.inputShape(i)));
      def.backward!(op, b);
      [src, dst] = [dst, src];
    }
  }

  /** All gradients, flattened in parameter order (for summing across replicas). */
  readGradients(): Float32Array {
    const regions = this.params.flatMap((p) => (p.dBias ? [p.dWeight, p.dBias] : [p.dWeight]));
    const out = new Float32Array(regions.reduce((a, r) => a + r.floats, 0));
    let at = 0;
    for (const r of regions) { out.set(this.model.arena.f32(r), at); at += r.floats; }
    return out;
  }

  /** Replace the gradients (e.g. by the sum over replicas), in readGradients' layout. */
  writeGradients(all: Float32Array): void {
    let at = 0;
    for (const p of this.params) {
      for (const r of p.dBias ? [p.dWeight, p.dBias] : [p.dWeight]) {
        this.model.arena.write(r, all.subarray(at, at + r.floats));
        at += r.floats;
      }
    }
  }

  /** SGD with momentum and weight decay, then the filter RMS renormalisation of every conv. */
  applyUpdate(hyper: Hyper): void {
    const { kernels: k, network } = this.model;
    for (const p of this.params) {
      k.sgdMomentum(p.weight.floats, p.weight.offset, p.dWeight.offset, p.vWeight.offset, hyper.lr, hyper.momentum, hyper.decay);
      if (p.bias) k.sgdMomentum(p.bias.floats, p.bias.offset, p.dBias!.offset, p.vBias!.offset, hyper.lr, hyper.momentum, 0);
      const op = network.ops[p.op];
      if (op.kind === 'conv' && hyper.radius > 0) {
        k.renormFilters(op.filters, p.weight.floats / op.filters, p.weight.offset, hyper.radius);
      }
      this.model.markWeightsChanged(p.op);
    }
  }

  step(images: Float32Array, labels: ArrayLike<number>, hyper: Hyper = DEFAULT_HYPER): StepResult {
    const result = this.computeGradients(images, labels);
    this.applyUpdate(hyper);
    return result;
  }
}
