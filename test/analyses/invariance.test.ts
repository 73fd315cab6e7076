// Invariance (Fig. 5) on a tiny network: every distance against a direct computation (two
// separate batch-1 forward passes and the difference of the activations), identity amounts give
// exactly 0, plus the image transforms themselves, progress, cancellation and the charts.
import { describe, expect, test } from 'vitest';
import { AbortError, ArgumentError, Model, namedLayers, zfnet, alexnetTorchvision, type Network } from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import {
  invariance, invarianceCharts, lastHiddenLayer, lowAndHighLayers, defaultAmounts, euclidean,
} from '../../src/analyses/invariance.js';
import { transformPixels, transformPlane, transformTensor, enlargeNearest } from '../../src/analyses/transform.js';

const relu = { kind: 'relu' } as const;
const tiny: Network = {
  name: 'tiny', input: [2, 12, 12], preprocess: 'none',
  ops: [conv(4, 3, 1, 1), relu, maxpool(2, 2), conv(6, 3, 1, 1), relu, maxpool(2, 2),
    { kind: 'flatten' }, dense(10), relu, dense(5), { kind: 'softmax' }],
};

async function tinyModel(seed = 3): Promise<Model> {
  const model = await Model.create(tiny);
  model.initWeights(seed);
  return model;
}

function image(seed = 1): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(2 * 12 * 12).map((_, i) => Math.sin(i * 0.37 * seed) + 0.3 * Math.cos(i * 0.11));
  return { shape: [1, 2, 12, 12], data };
}

describe('transforms', () => {
  const h = 5, w = 6;
  const plane = new Float32Array(h * w).map((_, i) => i + 1);
  const at = (p: Float32Array, y: number, x: number) => p[y * w + x];

  test('integer vertical translation moves rows, filling with the fill value', () => {
    const down = transformPlane(plane, h, w, { kind: 'translate', amount: 2 }, -1);
    for (let x = 0; x < w; x++) {
      expect(at(down, 0, x)).toBe(-1);
      expect(at(down, 1, x)).toBe(-1);
      for (let y = 2; y < h; y++) expect(at(down, y, x)).toBe(at(plane, y - 2, x));
    }
    const up = transformPlane(plane, h, w, { kind: 'translate', amount: -1 });
    for (let x = 0; x < w; x++) expect(at(up, h - 1, x)).toBe(0);
    expect(at(up, 0, 3)).toBe(at(plane, 1, 3));
  });

  test('half-pixel translation is the mean of two rows', () => {
    const t = transformPlane(plane, h, w, { kind: 'translate', amount: 0.5 });
    expect(at(t, 2, 4)).toBeCloseTo((at(plane, 1, 4) + at(plane, 2, 4)) / 2, 6);
  });

  test('rotation by 90 degrees turns a square image counter-clockwise, exactly; 360 is the identity', () => {
    const n = 5;
    const sq = new Float32Array(n * n).map((_, i) => i);
    const r = transformPlane(sq, n, n, { kind: 'rotate', amount: 90 });
    // Counter-clockwise as displayed: the right column becomes the top row.
    for (let i = 0; i < n; i++) expect(r[0 * n + i]).toBe(sq[i * n + (n - 1)]);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) expect(r[y * n + x]).toBe(sq[x * n + (n - 1 - y)]);
    expect(Array.from(transformPlane(sq, n, n, { kind: 'rotate', amount: 360 }))).toEqual(Array.from(sq));
  });

  test('scale: identity is exact, a constant stays constant inside, shrinking averages and pads', () => {
    expect(Array.from(transformPlane(plane, h, w, { kind: 'scale', amount: 1 }))).toEqual(Array.from(plane));
    const c = new Float32Array(8 * 8).fill(3);
    const big = transformPlane(c, 8, 8, { kind: 'scale', amount: 1.7 }, 100);
    for (const v of big) expect(v).toBeCloseTo(3, 5);
    const small = transformPlane(c, 8, 8, { kind: 'scale', amount: 0.5 }, 0);
    // The middle 4x4 is the shrunk image (constant 3); the border is fill.
    expect(small[3 * 8 + 3]).toBeCloseTo(3, 5);
    expect(small[0]).toBe(0);
    // Enlarging by 2 about the centre (3.5): output index o samples the source at 3.5 + (o - 3.5) / 2.
    const ramp = new Float32Array(8).map((_, i) => i);
    const up = transformPlane(ramp, 1, 8, { kind: 'scale', amount: 2 });
    expect(up[4]).toBeCloseTo(3.75, 5);
    expect(up[3]).toBeCloseTo(3.25, 5);
    expect(up[7]).toBeCloseTo(5.25, 5);
  });

  test('tensors: every plane; pixels: RGB transformed, alpha 255; bad amounts refused', () => {
    const t = image();
    const moved = transformTensor(t, { kind: 'translate', amount: 1 });
    expect(moved.shape).toEqual(t.shape);
    expect(moved.data[144 + 12 + 5]).toBe(t.data[144 + 5]);
    const px = { width: 3, height: 2, data: new Uint8Array(24).map((_, i) => (i % 4 === 3 ? 7 : i * 10)) };
    const same = transformPixels(px, { kind: 'rotate', amount: 0 });
    for (let i = 0; i < 6; i++) {
      expect([same.data[i * 4], same.data[i * 4 + 1], same.data[i * 4 + 2], same.data[i * 4 + 3]])
        .toEqual([px.data[i * 4], px.data[i * 4 + 1], px.data[i * 4 + 2], 255]);
    }
    expect(() => transformTensor(t, { kind: 'scale', amount: 0 })).toThrow(ArgumentError);
    expect(() => transformTensor(t, { kind: 'skew' as never, amount: 1 })).toThrow(/skew/);
    const big = enlargeNearest({ width: 1, height: 1, data: new Uint8ClampedArray([1, 2, 3, 4]) }, 3);
    expect(big.width).toBe(3);
    expect(Array.from(big.data.slice(32, 36))).toEqual([1, 2, 3, 4]);
  });
});

describe('invariance', () => {
  test('default layers: layer 1 and the last hidden fc layer (fc7 for ZFNet and AlexNet)', () => {
    expect(lastHiddenLayer({ layers: namedLayers(zfnet()) })).toBe('fc7');
    expect(lastHiddenLayer({ layers: namedLayers(alexnetTorchvision()) })).toBe('fc7');
    expect(lowAndHighLayers({ layers: namedLayers(tiny) })).toEqual([{ layer: 'conv1' }, { layer: 'fc3' }]);
    expect(defaultAmounts('translate', [3, 224, 224])).toEqual([-60, -50, -40, -30, -20, -10, 0, 10, 20, 30, 40, 50, 60]);
    expect(defaultAmounts('scale', [3, 224, 224])).toEqual([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]);
    expect(defaultAmounts('rotate', [3, 224, 224])).toHaveLength(36);
  });

  test('distances equal direct feature differences; identity amounts give exactly 0', async () => {
    const model = await tinyModel();
    const x = image();
    const amounts = { translate: [-3, 0, 1.5, 4], scale: [0.6, 1, 1.4], rotate: [0, 30, 90, 200] };
    const progress: number[] = [];
    const result = await invariance(model, x, { amounts, batch: 3, onProgress: (f) => progress.push(f) });
    expect(result.layers.map((l) => `${l.layer} ${l.point}`)).toEqual(['conv1 relu', 'fc3 relu']);
    expect(progress[progress.length - 1]).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);

    // Direct: separate batch-1 forwards.
    const direct = await tinyModel();
    const base = direct.forwardSync(x);
    const f0 = [base.activation('conv1', 'relu').data, base.activation('fc3', 'relu').data];
    const p0 = base.probabilities(0);
    let top = 0;
    p0.forEach((p, i) => { if (p > p0[top]) top = i; });
    expect(result.classIndex).toBe(top);
    expect(result.probability).toBe(p0[top]);
    let worst = 0;
    for (const sweep of result.sweeps) {
      sweep.amounts.forEach((amount, k) => {
        const identity = (sweep.kind === 'scale' ? 1 : 0) === amount;
        if (identity) {
          expect(sweep.distances[0][k]).toBe(0);
          expect(sweep.distances[1][k]).toBe(0);
        }
        const run = direct.forwardSync(transformTensor(x, { kind: sweep.kind, amount }));
        const d = [euclidean(f0[0], run.activation('conv1').data), euclidean(f0[1], run.activation('fc3').data)];
        for (let l = 0; l < 2; l++) {
          const diff = Math.abs(sweep.distances[l][k] - d[l]) / Math.max(1, d[l]);
          worst = Math.max(worst, diff);
          expect(diff).toBeLessThan(1e-5);
          if (!identity) expect(d[l]).toBeGreaterThan(0);
        }
        expect(sweep.probability[k]).toBeCloseTo(run.probabilities(0)[top], 5);
      });
    }
    console.log(`invariance: largest relative difference from direct forwards ${worst.toExponential(2)}`);
  });

  test('a chosen class, one kind, and layers given by name', async () => {
    const model = await tinyModel();
    const r = await invariance(model, image(2), { kinds: ['rotate'], amounts: { rotate: [0, 45] }, classIndex: 4, layers: ['conv2:pool'] });
    expect(r.sweeps.map((s) => s.kind)).toEqual(['rotate']);
    expect(r.classIndex).toBe(4);
    expect(r.layers).toEqual([{ layer: 'conv2', point: 'pool', size: 6 * 3 * 3 }]);
    await expect(invariance(model, image(), { classIndex: 5 })).rejects.toThrow(/class 5 is out of range/);
    await expect(invariance(model, image(), { layers: ['conv9'] })).rejects.toThrow(ArgumentError);
    await expect(invariance(model, { shape: [1, 3, 12, 12], data: new Float32Array(432) })).rejects.toThrow(/takes \[N, 2, 12, 12\]/);
  });

  test('cancellation: before the start and between batches', async () => {
    const model = await tinyModel();
    const before = new AbortController();
    before.abort();
    await expect(invariance(model, image(), { signal: before.signal })).rejects.toThrow(AbortError);
    const during = new AbortController();
    const promise = invariance(model, image(), {
      batch: 2, signal: during.signal, onProgress: (f) => { if (f > 0) during.abort(); },
    });
    await expect(promise).rejects.toThrow(AbortError);
  });

  test('charts: one SVG per kind (a panel per layer and the probability) and the paper layout', async () => {
    const model = await tinyModel();
    const r = await invariance(model, image(), { amounts: { translate: [-2, 0, 2], scale: [1, 1.5], rotate: [0, 90, 180] } });
    const charts = invarianceCharts([r, { ...r, name: 'second' }]);
    for (const kind of ['translate', 'scale', 'rotate'] as const) {
      const svg = charts.byKind[kind]!;
      expect(svg.startsWith('<svg')).toBe(true);
      // 3 panels, 2 series each, one marker per amount.
      const points = r.sweeps.find((s) => s.kind === kind)!.amounts.length;
      expect(svg.match(/<circle/g)).toHaveLength(3 * 2 * points);
      expect(svg).toContain('second');
    }
    expect(charts.all.match(/<polyline/g)).toHaveLength(9 * 2);
    expect(charts.all).toContain('conv1 relu: distance to the original');
    expect(charts.all).toContain('rotation (degrees)');
  });
});
