// The worker's 'diagnosis' handler in Node, with a context built from the real engine: the
// trained zfnet-mini beside its own epoch-1 snapshot (per-filter RMS against a direct
// computation from each model's conv1 weights, the pictures' geometry from the architecture,
// the charts' series), beside a random AlexNet (11x11/4 conv1), progress and cancellation, and
// the errors a page can cause (each naming the value at fault).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { AbortError, ArgumentError, ImageDecodeError, ModelFormatError } from '../../src/errors.js';
import { Model } from '../../src/engine/model.js';
import { dense } from '../../src/models/architectures.js';
import { loadModel } from '../../src/models/load.js';
import { decodeImage } from '../../src/io/image-node.js';
import type { AnalysisContext, NamedImage } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { diagnosisHandler, type DiagnosisRequest } from '../../src/worker/handlers/diagnosis.js';

const SAMPLES = new URL('../../models/samples/', import.meta.url);
const IMAGES: NamedImage[] = ['ankle-boot-1', 'bag-1', 'sneaker-1', 'trouser-1', 'coat-2', 'shirt-2']
  .map((n) => ({ source: new URL(`${n}.png`, SAMPLES).href, name: `${n}.png` }));

let mini: Model;
beforeAll(async () => { mini = await loadModel('zfnet-mini'); });

interface Fake { context: AnalysisContext; progress: number[]; loads: { source: string | Blob; options: unknown }[]; stop: AbortController }

/** A context as the worker's host makes one, with Node's PNG decoder and loadModel. */
function fakeContext(model: Model, other?: (source: string | Blob) => Promise<Model>): Fake {
  const stop = new AbortController();
  const progress: number[] = [];
  const loads: Fake['loads'] = [];
  const context: AnalysisContext = {
    model, info: { name: model.network.name, source: model.network.name } as ModelInfo, signal: stop.signal,
    progress: (f) => progress.push(f),
    decode: async (source, name) => {
      if (typeof source !== 'string') throw new Error('the fake context decodes URLs only');
      return decodeImage(new Uint8Array(readFileSync(new URL(source))), name);
    },
    loadOther: async (source, options = {}) => {
      loads.push({ source, options: { seed: options.seed, epoch: options.epoch } });
      const m = other ? await other(source) : await loadModel(source as string, { seed: options.seed, epoch: options.epoch, signal: stop.signal });
      options.onProgress?.(1);
      return m;
    },
    checkpoint: async () => {
      await new Promise((r) => setTimeout(r, 0));
      if (stop.signal.aborted) throw new AbortError('cancelled');
    },
  };
  return { context, progress, loads, stop };
}

/** RMS of each conv1 filter, straight from the weights. */
function conv1Rms(model: Model): number[] {
  const [f, ...rest] = model.weightShapes().conv1.weight;
  const per = rest.reduce((a, b) => a * b, 1);
  const w = model.getWeights('conv1').weight;
  return Array.from({ length: f }, (_, k) => {
    let s = 0;
    for (let i = k * per; i < (k + 1) * per; i++) s += w[i] * w[i];
    return Math.sqrt(s / per);
  });
}

describe('zfnet-mini beside its epoch-1 snapshot', () => {
  test('two models, RMS from the weights, pictures, charts, progress', async () => {
    const fake = fakeContext(mini);
    const request: DiagnosisRequest = { type: 'diagnosis', images: IMAGES, compare: { source: 'zfnet-mini', epoch: 1 }, layer2Maps: 6 };
    const t0 = performance.now();
    const r = await diagnosisHandler(fake.context, request);
    console.log(`zfnet-mini vs epoch 1, ${IMAGES.length} images: ${(performance.now() - t0).toFixed(0)} ms`);

    expect(fake.loads).toEqual([{ source: 'zfnet-mini', options: { seed: undefined, epoch: 1 } }]);
    expect(r.models.map((m) => m.label)).toEqual(['zfnet-mini', 'zfnet-mini epoch 1']);
    const early = await loadModel('zfnet-mini', { epoch: 1 });
    const [trained, snapshot] = r.models;
    for (const [m, model] of [[trained, mini], [snapshot, early]] as const) {
      const rms = conv1Rms(model);
      expect(m.summary.filters.map((f) => f.rms)).toHaveLength(32);
      m.summary.filters.forEach((f, k) => expect(f.rms).toBeCloseTo(rms[k], 6));
      const sorted = [...rms].sort((a, b) => a - b);
      expect(m.summary.summary.rms.min).toBeCloseTo(sorted[0], 6);
      expect(m.summary.summary.rms.max).toBeCloseTo(sorted[31], 6);
      expect(m.summary.summary.rms.median).toBeCloseTo((sorted[15] + sorted[16]) / 2, 6);
      expect(m.summary.conv1).toMatchObject({ layer: 'conv1', filters: 32, kernel: [5, 5] });
      expect(m.summary.summary.samples).toBe(IMAGES.length);
      // 32 filters of 5x5, enlarged 8x (about 42 px) in 6 columns with 2 px gaps: 6 rows.
      expect([m.filters.width, m.filters.height]).toEqual([6 * 40 + 5 * 2, 6 * 40 + 5 * 2]);
      expect(m.summary.layer2!.units.map((u) => u.map)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(m.layer2!.width).toBeGreaterThan(0);
    }
    // Training changed the filters: the two models' RMS differ filter by filter.
    const changed = trained.summary.filters.filter((f, k) => Math.abs(f.rms - snapshot.summary.filters[k].rms) > 1e-4);
    expect(changed.length).toBeGreaterThan(16);
    // One series per model, labelled as the models are.
    for (const svg of [r.charts.spectrum, r.charts.rms]) {
      expect(svg.match(/<polyline/g)).toHaveLength(2);
      expect(svg).toContain('<title>zfnet-mini epoch 1');
    }
    expect(r.charts.spectrum).toContain('zfnet-mini (5x5/1)');
    // Progress rises to 1, through every stage.
    expect(fake.progress.every((p, i) => i === 0 || p >= fake.progress[i - 1])).toBe(true);
    expect(fake.progress.at(-1)).toBe(1);
    expect(fake.progress.some((p) => p > 0.1 && p < 0.5)).toBe(true);
    expect(fake.progress.some((p) => p > 0.6 && p < 1)).toBe(true);
    // Plain data a worker can post, with nothing of the models' memory in it.
    expect(() => structuredClone(r)).not.toThrow();
  });

  test('without images: weights only, no layer-2 pictures, one model', async () => {
    const r = await diagnosisHandler(fakeContext(mini).context, { type: 'diagnosis' });
    expect(r.models).toHaveLength(1);
    expect(r.models[0].layer2).toBeNull();
    expect(r.models[0].summary.summary.deadByActivity).toBeNull();
    expect(r.charts.rms.match(/<polyline/g)).toHaveLength(1);
  });

  test('a label that repeats the current model is told apart', async () => {
    const r = await diagnosisHandler(fakeContext(mini).context, { type: 'diagnosis', compare: { source: 'zfnet-mini', label: 'zfnet-mini' } });
    expect(r.models.map((m) => m.label)).toEqual(['zfnet-mini', 'zfnet-mini (compared)']);
  });
});

test('beside a random AlexNet: its 11x11 stride-4 conv1, colour filters', async () => {
  const fake = fakeContext(mini);
  const t0 = performance.now();
  const r = await diagnosisHandler(fake.context, { type: 'diagnosis', compare: { source: 'alexnet', seed: 3 } });
  console.log(`zfnet-mini vs alexnet, no images: ${(performance.now() - t0).toFixed(0)} ms`);
  expect(fake.loads[0]).toEqual({ source: 'alexnet', options: { seed: 3, epoch: undefined } });
  const a = r.models[1];
  expect(a.label).toBe('alexnet');
  expect(a.summary.conv1).toMatchObject({ filters: 64, channels: 3, kernel: [11, 11], stride: [4, 4] });
  // 64 filters of 11x11, enlarged 4x (44 px), 8 columns.
  expect([a.filters.width, a.filters.height]).toEqual([8 * 44 + 7 * 2, 8 * 44 + 7 * 2]);
  // Random He-uniform weights: RMS = bound / sqrt 3 = sqrt(2 / fan-in), about 0.035.
  expect(a.summary.summary.rms.median).toBeCloseTo(Math.sqrt(2 / (3 * 121)), 2);
  expect(r.charts.spectrum).toContain('alexnet (11x11/4)');
});

describe('errors name what is at fault', () => {
  const run = (request: Partial<DiagnosisRequest>, other?: (s: string | Blob) => Promise<Model>) =>
    diagnosisHandler(fakeContext(mini, other).context, { type: 'diagnosis', ...request });

  test('requests', async () => {
    await expect(run({ images: [] })).rejects.toThrow(ArgumentError);
    const many = Array.from({ length: 65 }, () => IMAGES[0]);
    await expect(run({ images: many })).rejects.toThrow(/at most 64 images, got 65/);
    await expect(run({ layer2Maps: 0 })).rejects.toThrow(/layer2Maps .* got 0/);
    await expect(run({ layer2Maps: 2.5 })).rejects.toThrow(ArgumentError);
    await expect(run({ compare: { source: 'alexnet', epoch: 2 } })).rejects.toThrow(/snapshot of zfnet-mini, not of alexnet/);
    await expect(run({ compare: { source: '' } })).rejects.toThrow(/compare.source/);
  });

  test('an image that cannot be decoded, by name', async () => {
    const broken = { source: new URL('../../models/zfnet-mini/manifest.json', import.meta.url).href, name: 'manifest.json' };
    const e = await run({ images: [IMAGES[0], broken] }).catch((x) => x);
    expect(e).toBeInstanceOf(ImageDecodeError);
    expect(e.message).toContain('manifest.json');
  });

  test('the compared model: a missing snapshot, no conv layer, a bad file', async () => {
    const e = await run({ compare: { source: 'zfnet-mini', epoch: 4 } }).catch((x) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/to compare with \(zfnet-mini epoch 4\).*epoch 4/);
    const flat = () => Model.create({ name: 'mlp', input: [1, 4, 4], preprocess: 'grayscale', ops: [{ kind: 'flatten' }, dense(3)] });
    const f = await run({ compare: { source: 'mlp.onnx', label: 'my MLP' } }, flat).catch((x) => x);
    expect(f).toBeInstanceOf(ArgumentError);
    expect(f.message).toMatch(/\(my MLP\).*mlp has no conv layer/);
    const g = await run({ compare: { source: new Blob([new Uint8Array([1, 2, 3])]) } }, (s) => loadModel(s)).catch((x) => x);
    expect(g).toBeInstanceOf(ModelFormatError);
    expect(g.message).toMatch(/the ONNX file/);
  });
});

test('cancelled while the other model is diagnosed', async () => {
  const fake = fakeContext(mini);
  const origin = fake.context.progress;
  // Abort once the current model is done and the other is loading.
  (fake.context as { progress: (f: number) => void }).progress = (f) => { origin(f); if (f > 0.6) fake.stop.abort(); };
  const e = await diagnosisHandler(fake.context, { type: 'diagnosis', images: IMAGES.slice(0, 2), compare: { source: 'zfnet-mini', epoch: 2 } })
    .catch((x) => x);
  expect(e).toBeInstanceOf(AbortError);
  expect(fake.progress.at(-1)).toBeLessThan(1);
});
