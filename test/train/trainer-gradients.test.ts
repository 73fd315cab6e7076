// The whole Trainer (src/train/trainer.ts) against finite differences of the loss, on both
// builds: a tiny network with every trainable stage (conv, relu, ceil-mode max-pool, LRN with a
// large alpha so its cross-channel terms matter, grouped conv, floor max-pool, flatten, dense,
// relu, dense, softmax), batch 3, seeded weights. computeGradients (read with readGradients)
// must be the gradient of the MEAN cross-entropy over the batch. Two finite-difference checks:
//  - through model.forwardSync (float32, what the brief asks), on a sample of weights and every
//    bias of every layer, skipping entries whose +-h perturbation flips a ReLU or a max-pool
//    switch (the loss has a kink there and no derivative to compare with);
//  - through the float64 reference forward (test/reference/network.ts) with a tiny step, which
//    pins the gradients far more tightly (~1e-6).
// Then the bookkeeping around it: mean vs sum, read/writeGradients, applyUpdate (SGD formula,
// no decay on biases, renormalisation of conv filters only), step, the errors, dropout (rate 0
// and 0.5), and a larger-batch forward pass on the trained model (which re-plans its memory).
import { beforeAll, describe, expect, test } from 'vitest';
import { Model } from '../../src/engine/model.js';
import { ArgumentError } from '../../src/errors.js';
import type { Network, Op } from '../../src/graph/layers.js';
import { size } from '../../src/graph/shapes.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import { Trainer } from '../../src/train/trainer.js';
import { BACKENDS, describeDiff, fmt, maxAbs, maxAbsDiff, mulberry32, randomF32 } from '../helpers/wasm.js';
import { filterRms, sgdMomentumF32 } from '../reference/kernels.js';
import { referenceForward } from '../reference/network.js';

const N = 3;
const CLASSES = 5;

/** `dropout`: a dropout op of that rate after the first dense layer's ReLU. */
function tinyNet(dropout?: number): Network {
  const relu: Op = { kind: 'relu' };
  return {
    name: 'tiny', input: [2, 11, 11], preprocess: 'none',
    ops: [
      conv(6, 3, 1, [1, 1, 0, 1]), relu, maxpool(3, 2, { ceil: true }),  // 6x10x11 -> 6x5x5 (ceil)
      { kind: 'lrn', size: 3, alpha: 1, beta: 0.75, bias: 1 },
      conv(8, 3, 1, 1, 2), relu, maxpool(2, 2),                          // groups 2; 8x5x5 -> 8x2x2
      { kind: 'flatten' }, dense(12), relu,
      ...(dropout === undefined ? [] : [{ kind: 'dropout', rate: dropout } as Op]),
      dense(CLASSES), { kind: 'softmax' },
    ],
  };
}

const random = mulberry32(2024);
const IMAGES = randomF32(N * 2 * 11 * 11, random, 0, 1);
const LABELS = [0, 3, 4];

/** Mean cross-entropy over the batch, in float64 from the float32 logits (the op before softmax). */
function meanCrossEntropy(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  let total = 0;
  for (let b = 0; b < labels.length; b++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, logits[b * classes + c]);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(logits[b * classes + c] - m);
    total += Math.log(s) + m - logits[b * classes + labels[b]];
  }
  return total / labels.length;
}

async function seededModel(backend: 'simd' | 'scalar', network = tinyNet(), batch = N): Promise<Model> {
  const model = await Model.create(network, { backend, batch });
  model.initWeights(7);
  return model;
}

/** Where each layer's weight and bias sit in readGradients' layout (parameter = op order). */
function layout(model: Model) {
  let at = 0;
  return model.layers.map((l) => {
    const w = model.getWeights(l.name);
    const entry = { name: l.name, op: l.op, weight: at, weightLength: w.weight.length, bias: at + w.weight.length,
      biasLength: w.bias?.length ?? 0 };
    at += w.weight.length + (w.bias?.length ?? 0);
    return entry;
  });
}

interface Entry { layer: string; which: 'weight' | 'bias'; index: number; grad: number }

/** Per layer: the 6 largest |gradient| weights, 10 other weights at random, and every bias. */
function sample(model: Model, grads: Float32Array): Entry[] {
  const pick = mulberry32(99);
  const entries: Entry[] = [];
  for (const l of layout(model)) {
    const g = grads.subarray(l.weight, l.weight + l.weightLength);
    const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
    const chosen = new Set(order.slice(0, 6));
    while (chosen.size < Math.min(16, l.weightLength)) chosen.add(Math.floor(pick() * l.weightLength));
    for (const index of chosen) entries.push({ layer: l.name, which: 'weight', index, grad: g[index] });
    for (let index = 0; index < l.biasLength; index++) {
      entries.push({ layer: l.name, which: 'bias', index, grad: grads[l.bias + index] });
    }
  }
  return entries;
}

/** The activation pattern of the last forward pass: every ReLU's on/off and every max-pool's switches. */
function pattern(model: Model, n: number): string {
  return model.network.ops.map((op, i) => {
    const count = n * size(model.shapes[i]);
    if (op.kind === 'relu') return Array.from(model.arena.read(model.outputRegion(i), 0, count), (v) => (v > 0 ? 1 : 0)).join('');
    if (op.kind === 'maxpool') return model.arena.readI32(model.switchRegion(i)!, 0, count).join(',');
    return '';
  }).join('|');
}

/**
 * Central differences through model.forwardSync (float32). The loss is evaluated from float32
 * activations, so it scatters by up to EPS_LOSS between nearby weights (measured on this net:
 * residuals of a straight-line fit over 21 points 1e-4 apart reach 3.5e-7, typically 1e-7).
 * A central difference with step h therefore carries up to EPS_LOSS / h of noise, while its
 * truncation error, h^2 L'''/6, stays below ~1e-5 for h <= 1e-2 here (measured against the
 * float64 reference). Steps are tried from 1e-2 (noise <= 5e-5) down to 1e-3 (noise <= 5e-4):
 * the largest one whose +-h perturbation flips no ReLU and no max-pool switch is used (the
 * loss is smooth on that interval); if every step flips one, the entry sits on a kink and is
 * skipped. An entry passes when |fd - g| <= EPS_LOSS / h + 1e-3 |g|.
 */
const EPS_LOSS = 5e-7;
const STEPS = [1e-2, 3e-3, 1e-3];

function finiteDifferences(model: Model, entries: Entry[]) {
  const last = model.network.ops.length - 1;
  const loss = () => {
    const run = model.forwardSync({ shape: [N, ...model.network.input], data: IMAGES });
    return meanCrossEntropy(run.opOutput(last - 1).data, LABELS, CLASSES);
  };
  loss();
  const base = pattern(model, N);
  return entries.map((e) => {
    const original = model.getWeights(e.layer);
    const at = (delta: number) => {
      const changed = { weight: Float32Array.from(original.weight), bias: original.bias && Float32Array.from(original.bias) };
      changed[e.which]![e.index] += delta;
      model.setWeights(e.layer, changed);
      return { loss: loss(), kink: pattern(model, N) !== base, value: changed[e.which]![e.index] };
    };
    let result: { fd: number; h: number } | undefined;
    for (const h of STEPS) {
      const plus = at(h), minus = at(-h);
      if (plus.kink || minus.kink) continue;
      result = { fd: (plus.loss - minus.loss) / (plus.value - minus.value), h };
      break;
    }
    model.setWeights(e.layer, original);
    return result;
  });
}

/** Central differences of the float64 reference network's mean loss, step 1e-6 on float64 weights. */
function referenceDifferences(network: Network, weights: Record<string, { weight: Float32Array; bias?: Float32Array }>,
                              entries: Entry[]): number[] {
  const last = network.ops.length - 1;
  return entries.map((e) => {
    const at = (delta: number) => {
      const w64: Record<string, { weight: Float64Array; bias?: Float64Array }> = {};
      for (const [k, v] of Object.entries(weights)) {
        w64[k] = { weight: Float64Array.from(v.weight), bias: v.bias && Float64Array.from(v.bias) };
      }
      w64[e.layer][e.which]![e.index] += delta;
      const outs = referenceForward(network, (l) => w64[l] as unknown as { weight: Float32Array; bias?: Float32Array }, IMAGES, N);
      return meanCrossEntropy(outs[last - 1], LABELS, CLASSES);
    };
    return (at(1e-6) - at(-1e-6)) / 2e-6;
  });
}

/** Gradients of the tiny net at the seeded weights, and the float64 reference differences (same for both builds). */
let refEntries: Entry[] | undefined;
let refFd: number[] | undefined;

describe.each(BACKENDS)('Trainer gradients [%s]', (backend) => {
  let model: Model;
  let trainer: Trainer;
  let grads: Float32Array;
  let loss: number;

  beforeAll(async () => {
    model = await seededModel(backend);
    trainer = new Trainer(model, 1);
    loss = trainer.computeGradients(IMAGES, LABELS).loss;
    grads = trainer.readGradients();
  });

  test('the reported loss is the mean cross-entropy of the forward pass', () => {
    const run = model.forwardSync({ shape: [N, ...model.network.input], data: IMAGES });
    const last = model.network.ops.length - 1;
    const ours = meanCrossEntropy(run.opOutput(last - 1).data, LABELS, CLASSES);
    console.log(`Trainer [${backend}] loss ${loss}, float64 from the logits ${ours}`);
    expect(Math.abs(loss - ours)).toBeLessThan(1e-5);
    expect(grads.length).toBe(layout(model).reduce((a, l) => a + l.weightLength + l.biasLength, 0));
    expect(grads.every(Number.isFinite)).toBe(true);
  });

  test('computeGradients matches central differences of the mean loss through forwardSync', () => {
    const entries = sample(model, grads);
    const fds = finiteDifferences(model, entries);
    // The weights are back as they were: the same forward pass gives the same gradients.
    trainer.computeGradients(IMAGES, LABELS);
    expect(maxAbsDiff(trainer.readGradients(), grads)).toBe(0);

    const failures: string[] = [];
    const perLayer = new Map<string, { meaningful: number; kinks: number; worstRel: number; worstNoise: number }>();
    entries.forEach((e, i) => {
      const s = perLayer.get(e.layer) ?? { meaningful: 0, kinks: 0, worstRel: 0, worstNoise: 0 };
      perLayer.set(e.layer, s);
      const r = fds[i];
      if (!r) { s.kinks++; return; }
      const noise = EPS_LOSS / r.h;
      const err = Math.abs(e.grad - r.fd);
      const name = `${e.layer}.${e.which}[${e.index}]`;
      if (!(err <= noise + 1e-3 * Math.abs(e.grad))) {
        failures.push(`${name}: gradient ${e.grad}, finite difference ${r.fd} at h = ${r.h} ` +
          `(error ${fmt(err)}, allowed ${fmt(noise + 1e-3 * Math.abs(e.grad))})`);
      }
      s.worstNoise = Math.max(s.worstNoise, err / noise);
      // Meaningful magnitude: the noise bound is at most 5% of the gradient there.
      if (Math.abs(e.grad) >= 20 * noise) {
        s.meaningful++;
        s.worstRel = Math.max(s.worstRel, err / Math.abs(e.grad));
      }
    });
    for (const [layer, s] of perLayer) {
      console.log(`Trainer [${backend}] ${layer} vs forwardSync differences: ${s.meaningful} meaningful entries, ` +
        `max rel error ${fmt(s.worstRel)}; every entry within ${s.worstNoise.toFixed(2)} x the noise bound; ` +
        `${s.kinks} skipped (a ReLU or switch flips even at +-${STEPS[STEPS.length - 1]})`);
      // Every layer must be checked on enough meaningful entries, not waved through as kinks.
      if (s.meaningful < 4) failures.push(`${layer}: only ${s.meaningful} meaningful entries checked (${s.kinks} kinks)`);
    }
    expect(failures).toEqual([]);
  });

  test('computeGradients matches central differences of the float64 reference network (step 1e-6)', () => {
    // The reference forward is float64 throughout, so its difference quotient is good to ~1e-8;
    // what remains is the float32 rounding of the trainer's own backward pass (~1e-6 relative).
    if (!refEntries) {
      refEntries = sample(model, grads);
      const weights = Object.fromEntries(model.layers.map((l) => [l.name, model.getWeights(l.name)]));
      refFd = referenceDifferences(model.network, weights, refEntries);
    }
    const g = new Map(layout(model).map((l) => [l.name, l]));
    let worst = 0, worstAbs = 0;
    const failures: string[] = [];
    refEntries.forEach((e, i) => {
      const l = g.get(e.layer)!;
      const ours = grads[(e.which === 'weight' ? l.weight : l.bias) + e.index];
      const fd = refFd![i];
      const name = `${e.layer}.${e.which}[${e.index}]`;
      if (Math.abs(fd) >= 1e-3) {
        const rel = Math.abs(ours - fd) / Math.abs(fd);
        worst = Math.max(worst, rel);
        if (!(rel <= 1e-4)) failures.push(`${name}: gradient ${ours}, float64 finite difference ${fd} (rel ${fmt(rel)})`);
      } else {
        const d = Math.abs(ours - fd);
        worstAbs = Math.max(worstAbs, d);
        if (!(d <= 1e-6)) failures.push(`${name}: gradient ${ours}, float64 finite difference ${fd} (abs ${fmt(d)})`);
      }
    });
    console.log(`Trainer [${backend}] vs float64 reference differences, ${refEntries.length} entries: ` +
      `max rel error ${fmt(worst)} (|g| >= 1e-3), max abs error ${fmt(worstAbs)} (smaller)`);
    expect(failures).toEqual([]);
  });

  test('the gradient is of the mean loss: a batch of 3 averages its images\' gradients', async () => {
    const one = await seededModel(backend);
    const t = new Trainer(one, 1);
    const each = [0, 1, 2].map((b) => {
      t.computeGradients(IMAGES.subarray(b * 242, (b + 1) * 242), [LABELS[b]]);
      return t.readGradients();
    });
    const mean = each[0].map((_, i) => (each[0][i] + each[1][i] + each[2][i]) / 3);
    const d = maxAbsDiff(grads, mean) / maxAbs(mean);
    console.log(`Trainer [${backend}] batch gradient vs mean of single-image gradients: rel diff ${fmt(d)}`);
    expect(d).toBeLessThan(1e-5);
  });
});

describe.each(BACKENDS)('Trainer updates [%s]', (backend) => {
  test('writeGradients then readGradients round-trips; applyUpdate is SGD with momentum, no decay on biases', async () => {
    const model = await seededModel(backend);
    const trainer = new Trainer(model, 1);
    const before = Object.fromEntries(model.layers.map((l) => [l.name, model.getWeights(l.name)]));
    const total = trainer.readGradients().length;
    const g1 = randomF32(total, mulberry32(5), -0.5, 0.5), g2 = randomF32(total, mulberry32(6), -0.5, 0.5);
    trainer.writeGradients(g1);
    expect(maxAbsDiff(trainer.readGradients(), g1)).toBe(0);
    const hyper = { lr: 0.05, momentum: 0.9, decay: 0.01, radius: 0 };
    trainer.applyUpdate(hyper);
    trainer.writeGradients(g2);
    trainer.applyUpdate(hyper);
    const failures: string[] = [];
    for (const l of layout(model)) {
      const b = before[l.name], after = model.getWeights(l.name);
      for (const which of ['weight', 'bias'] as const) {
        const start = which === 'weight' ? l.weight : l.bias, length = which === 'weight' ? l.weightLength : l.biasLength;
        if (!length) continue;
        const w = Float32Array.from(b[which]!), v = new Float32Array(length);
        const decay = which === 'weight' ? hyper.decay : 0;
        sgdMomentumF32(w, g1.subarray(start, start + length), v, hyper.lr, hyper.momentum, decay);
        sgdMomentumF32(w, g2.subarray(start, start + length), v, hyper.lr, hyper.momentum, decay);
        if (maxAbsDiff(after[which]!, w) !== 0) failures.push(`${l.name}.${which}: ${describeDiff(after[which]!, w)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test('applyUpdate renormalises conv filters above the radius, and no dense rows', async () => {
    const model = await seededModel(backend);
    const trainer = new Trainer(model, 1);
    trainer.writeGradients(new Float32Array(trainer.readGradients().length));
    const before = Object.fromEntries(model.layers.map((l) => [l.name, model.getWeights(l.name)]));
    // He-uniform conv1 filters have RMS ~ sqrt(2/18) = 0.33: all above a radius of 0.2.
    trainer.applyUpdate({ lr: 0.01, momentum: 0.9, decay: 0, radius: 0.2 });
    const failures: string[] = [];
    for (const l of model.layers) {
      const w = model.getWeights(l.name).weight, was = before[l.name].weight;
      const rows = model.weightShapes()[l.name].weight[0], per = w.length / rows;
      const rmsBefore = filterRms(rows, per, was), rms = filterRms(rows, per, w);
      if (l.kind === 'dense') {
        if (maxAbsDiff(w, was) !== 0) failures.push(`${l.name}: a dense layer changed with zero gradient and no decay`);
        continue;
      }
      rms.forEach((r, f) => {
        const expected = rmsBefore[f] > Math.fround(0.2) ? Math.fround(0.2) : rmsBefore[f];
        if (!(Math.abs(r - expected) <= 1e-6 * expected)) failures.push(`${l.name} filter ${f}: RMS ${rmsBefore[f]} -> ${r}, expected ${expected}`);
      });
    }
    expect(failures).toEqual([]);
  });

  test('step is computeGradients then applyUpdate, and two trainers with the same seed agree bit for bit', async () => {
    const [a, b] = [await seededModel(backend), await seededModel(backend)];
    const ta = new Trainer(a, 1), tb = new Trainer(b, 1);
    const hyper = { lr: 0.05, momentum: 0.9, decay: 5e-4, radius: 0.1 };
    const losses: number[][] = [[], []];
    for (let s = 0; s < 3; s++) {
      losses[0].push(ta.step(IMAGES, LABELS, hyper).loss);
      losses[1].push(tb.computeGradients(IMAGES, LABELS).loss);
      tb.applyUpdate(hyper);
    }
    expect(losses[0]).toEqual(losses[1]);
    for (const l of a.layers) expect(maxAbsDiff(a.getWeights(l.name).weight, b.getWeights(l.name).weight)).toBe(0);
    expect(losses[0][2]).toBeLessThan(losses[0][0]); // three steps on one batch lower its loss
  });

  test('a forward pass with a larger batch on the model does not silently corrupt its trainer', async () => {
    // Model.forwardSync re-plans the model's memory for a larger batch (src/engine/model.ts
    // planFor); the Trainer's gradients, momentum and scratch were allocated after the old plan.
    // Acceptable outcomes: the trainer refuses to go on, or it goes on correctly.
    const [a, b] = [await seededModel(backend), await seededModel(backend)];
    const ta = new Trainer(a, 1), tb = new Trainer(b, 1);
    const hyper = { lr: 0.05, momentum: 0.9, decay: 5e-4, radius: 0.1 };
    ta.step(IMAGES, LABELS, hyper);
    tb.step(IMAGES, LABELS, hyper);
    // The model refuses the larger batch outright (its plan is pinned by the trainer)...
    expect(() => b.forwardSync({ shape: [8, ...b.network.input], data: randomF32(8 * 242, mulberry32(8), 0, 1) }))
      .toThrow(/planned for 3 image\(s\) and a Trainer holds memory/);
    // ...and the trainer goes on exactly like its untouched twin.
    let refused = false;
    try {
      tb.step(IMAGES, LABELS, hyper);
    } catch {
      refused = true;
    }
    if (refused) return;
    ta.step(IMAGES, LABELS, hyper);
    const d = maxAbsDiff(tb.readGradients(), ta.readGradients());
    const w = Math.max(...a.layers.map((l) => maxAbsDiff(b.getWeights(l.name).weight, a.getWeights(l.name).weight)));
    expect({ gradients: d, weights: w }, 'max |difference| to an untouched twin after one more step').toEqual({ gradients: 0, weights: 0 });
  });

  test('errors: too large a batch, a label out of range, a network without softmax', async () => {
    const model = await seededModel(backend);
    const trainer = new Trainer(model, 1);
    const four = new Float32Array(4 * 242);
    expect(() => trainer.computeGradients(four, [0, 1, 2, 3])).toThrow(ArgumentError);
    expect(() => trainer.computeGradients(IMAGES, [0, 5, 1])).toThrow(/label 5 of image 1/);
    expect(() => trainer.computeGradients(IMAGES, [0, -1, 1])).toThrow(ArgumentError);
    const logits = tinyNet();
    logits.ops.pop();
    const noSoftmax = await Model.create(logits, { backend, batch: 2 });
    expect(() => new Trainer(noSoftmax)).toThrow(/ends in softmax/);
  });
});

describe.each(BACKENDS)('Trainer and dropout [%s]', (backend) => {
  test('a dropout op with rate 0 is the identity for training too: the same loss and gradients as without it', async () => {
    const plain = await seededModel(backend);
    const withDropout = await seededModel(backend, tinyNet(0));
    const a = new Trainer(plain, 1), b = new Trainer(withDropout, 1);
    const la = a.computeGradients(IMAGES, LABELS).loss, lb = b.computeGradients(IMAGES, LABELS).loss;
    expect(lb).toBe(la);
    const ga = a.readGradients(), gb = b.readGradients();
    const zeroLayers = layout(withDropout).filter((l) =>
      maxAbs(gb.subarray(l.weight, l.weight + l.weightLength)) === 0 && maxAbs(ga.subarray(l.weight, l.weight + l.weightLength)) > 0)
      .map((l) => l.name);
    expect(zeroLayers, 'layers whose gradient is all zero with dropout(rate 0) but not without').toEqual([]);
    expect(maxAbsDiff(gb, ga)).toBe(0);
  });

  test('dropout with rate 0.5: seeded and deterministic, and every layer still gets a gradient', async () => {
    const runs = await Promise.all([0, 1].map(async () => {
      const model = await seededModel(backend, tinyNet(0.5));
      const t = new Trainer(model, 42);
      const losses = [0, 1, 2].map(() => t.computeGradients(IMAGES, LABELS).loss);
      return { losses, grads: t.readGradients(), model };
    }));
    expect(runs[0].losses).toEqual(runs[1].losses);
    expect(maxAbsDiff(runs[0].grads, runs[1].grads)).toBe(0);
    // Different masks on each call: the losses differ from one call to the next.
    expect(new Set(runs[0].losses).size).toBeGreaterThan(1);
    for (const l of layout(runs[0].model)) {
      expect(maxAbs(runs[0].grads.subarray(l.weight, l.weight + l.weightLength)), l.name).toBeGreaterThan(0);
    }
  });
});
