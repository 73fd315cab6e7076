// Occlusion sensitivity: the fast path (region-limited convs on crops, batched fc layers) must
// give the naive path's maps (one full forward pass per position) on every position: the
// class probability and the map's total within 1e-5, the top class exactly. Tiny networks with
// awkward geometry (odd sizes, stride not dividing, pads on one side, stride > kernel, ceil
// pools, average pools, logits out), and ZFNet-shaped small nets; occluders at the borders and
// larger than the image. Also the grid, the fill values, the defaults, and cancellation.
import { describe, expect, test } from 'vitest';
import {
  Model, ModelPool, scanDataset, occlusion, occlusionGrid, occluderBox, occlusionFill, occludeImage, AbortError, ArgumentError,
  occlusionImage, occlusionOverlay, jet, classColor, inputToImage, type Network, type OcclusionOptions, type OcclusionResult,
} from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { Mulberry32 } from '../../src/models/init.js';

const TOLERANCE = 1e-5;

async function modelOf(network: Network, seed = 3): Promise<Model> {
  const model = await Model.create(network);
  model.initWeights(seed);
  return model;
}

function inputOf(network: Network, seed = 11, scale = 1): { shape: number[]; data: Float32Array } {
  const [c, h, w] = network.input;
  return { shape: [1, c, h, w], data: new Mulberry32(seed).fillUniform(new Float32Array(c * h * w), scale) };
}

/** Fast (in this thread) against naive, every position and every map. */
function expectSame(fast: OcclusionResult, naive: OcclusionResult, label: string): void {
  expect(fast.grid, label).toEqual(naive.grid);
  expect([fast.classIndex, fast.map, fast.layer, fast.point], label).toEqual([naive.classIndex, naive.map, naive.layer, naive.point]);
  const n = fast.grid.rows * fast.grid.cols;
  expect(fast.probability.length, label).toBe(n);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(naive.activation[i]));
  for (let i = 0; i < n; i++) {
    expect(Math.abs(fast.probability[i] - naive.probability[i]), `${label}: probability at ${i}`).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(fast.topProbability[i] - naive.topProbability[i]), `${label}: top probability at ${i}`).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(fast.activation[i] - naive.activation[i]), `${label}: activation at ${i}`)
      .toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
    expect(fast.top[i], `${label}: top class at ${i}`).toBe(naive.top[i]);
  }
}

async function compare(model: Model, input: { shape: number[]; data: Float32Array }, options: OcclusionOptions, label: string) {
  const naive = await occlusion(model, input, { ...options, naive: true });
  const fast = await occlusion(model, input, { ...options, workers: 0 });
  expect(naive.path).toBe('naive');
  expect(fast.path).toBe('fast');
  expectSame(fast, naive, label);
  return { fast, naive };
}

/** Tiny: odd sizes, one-sided pads, ceil pool, LRN, stride 3 > kernel 2 (rows no window reads), average pool. */
function tiny(): Network {
  return {
    name: 'tiny', input: [2, 13, 11], preprocess: 'none',
    ops: [
      conv(3, 3, 1, 1), { kind: 'relu' }, maxpool(2, 2, { ceil: true }), lrn(3, 1e-2, 0.75, 1),
      conv(4, 3, 2, [1, 0, 0, 1]), { kind: 'relu' },
      { kind: 'avgpool', kernel: [2, 2], stride: [1, 1], pads: [1, 1, 0, 0], ceil: false, countIncludePad: false },
      { kind: 'flatten' }, dense(6), { kind: 'relu' }, { kind: 'dropout', rate: 0.5 }, dense(4), { kind: 'softmax' },
    ],
  };
}

/** Windows that skip input rows (stride 3, kernel 2): occluders there change nothing downstream. */
function gappy(): Network {
  return {
    name: 'gappy', input: [1, 17, 14], preprocess: 'none',
    ops: [
      conv(3, 2, 3, 0), { kind: 'relu' }, conv(5, 3, 1, [2, 1, 0, 1]), { kind: 'relu' },
      maxpool(3, 2, { ceil: true, pads: [1, 1, 1, 1] }), dense(7), { kind: 'relu' }, dense(3),
    ],
  };
}

/** ZFNet's pattern with few maps: conv 7/2 pad 1, ceil pools, LRN, conv 5/2, three 3x3 convs, 3 fc. */
function zfnetSmall(h: number, w: number, classes = 10): Network {
  return {
    name: 'zfnet-small', input: [3, h, w], preprocess: 'caffe',
    ops: [
      conv(8, 7, 2, 1), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(),
      conv(12, 5, 2, 0), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(),
      conv(16, 3, 1, 1), { kind: 'relu' },
      conv(16, 3, 1, 1), { kind: 'relu' },
      conv(12, 3, 1, 1), { kind: 'relu' }, maxpool(3, 2, { ceil: true }),
      { kind: 'flatten' }, dense(32), { kind: 'relu' }, { kind: 'dropout', rate: 0.5 },
      dense(32), { kind: 'relu' }, { kind: 'dropout', rate: 0.5 }, dense(classes), { kind: 'softmax' },
    ],
  };
}

describe('occlusion grid and fill', () => {
  test('positions cover the image; the last ones hang over the border', () => {
    const g = occlusionGrid(20, 13, 7, 4);
    expect(g.ys).toEqual([0, 4, 8, 12, 16]);
    expect(g.xs).toEqual([0, 4, 8]);
    expect([g.rows, g.cols]).toEqual([5, 3]);
    expect(occluderBox(g, 4, 2)).toEqual({ y0: 16, x0: 8, y1: 20, x1: 13 });
    expect(occlusionGrid(224, 224, 32, 8).rows).toBe(25);
    expect(occlusionGrid(224, 224, 32, 16).rows).toBe(13);
    const big = occlusionGrid(10, 12, 40, 3);
    expect([big.rows, big.cols]).toEqual([1, 1]);
    expect(occluderBox(big, 0, 0)).toEqual({ y0: 0, x0: 0, y1: 10, x1: 12 });
    expect(() => occlusionGrid(10, 10, 0, 1)).toThrow(ArgumentError);
    expect(() => occlusionGrid(10, 10, 3, 1.5)).toThrow(ArgumentError);
  });

  test('fill: zero, the per-channel mean, a number, one value per channel', () => {
    const img = Float32Array.from([1, 2, 3, 4, 10, 10, 10, 30]);
    expect(Array.from(occlusionFill('zero', img, 2))).toEqual([0, 0]);
    expect(Array.from(occlusionFill(undefined, img, 2))).toEqual([0, 0]);
    expect(Array.from(occlusionFill('mean', img, 2))).toEqual([2.5, 15]);
    expect(Array.from(occlusionFill(-1.5, img, 2))).toEqual([-1.5, -1.5]);
    expect(Array.from(occlusionFill([7, 8], img, 2))).toEqual([7, 8]);
    expect(() => occlusionFill([1], img, 2)).toThrow(ArgumentError);
    expect(() => occlusionFill(NaN, img, 2)).toThrow(ArgumentError);
    const out = occludeImage(img, [2, 2, 2], { y0: 1, x0: 0, y1: 5, x1: 1 }, Float32Array.from([-1, -2]));
    expect(Array.from(out)).toEqual([1, 2, -1, 4, 10, 10, -2, 30]);
  });
});

describe('occlusion: the fast path equals one forward pass per position', () => {
  test('tiny net: sizes and strides, borders, every map of every layer, mean and constant fills', async () => {
    const net = tiny();
    const model = await modelOf(net);
    const input = inputOf(net);
    const layers = model.layers.filter((l) => l.kind === 'conv').map((l) => l.name);
    for (const [size, stride] of [[3, 2], [4, 3], [5, 5], [1, 1], [20, 7], [6, 4]]) {
      for (const layer of layers) {
        const maps = model.shapes[model.resolve(layer).op][0];
        for (let map = 0; map < maps; map++) {
          await compare(model, input, { size, stride, layer, map, fill: map % 2 ? 'mean' : 0.25 }, `${layer} map ${map} ${size}/${stride}`);
        }
      }
    }
    // Every class, and the other points of a layer.
    for (let classIndex = 0; classIndex < 4; classIndex++) {
      await compare(model, input, { size: 3, stride: 2, classIndex }, `class ${classIndex}`);
    }
    for (const point of ['conv', 'pool', 'norm']) {
      await compare(model, input, { size: 4, stride: 3, layer: 'conv1', point, map: 1 }, `conv1 ${point}`);
    }
    // An fc layer's unit as the "map".
    await compare(model, input, { size: 3, stride: 2, layer: 'fc3', point: 'relu', map: 5 }, 'fc3 unit 5');
  });

  test('windows that skip rows, pads on one side, a padded ceil pool, logits out', async () => {
    const net = gappy();
    const model = await modelOf(net, 5);
    const input = inputOf(net, 2);
    for (const [size, stride] of [[1, 1], [2, 3], [3, 2], [5, 4]]) {
      for (let map = 0; map < 5; map++) {
        await compare(model, input, { size, stride, layer: 'conv2', map, fill: 'mean' }, `gappy conv2 map ${map} ${size}/${stride}`);
      }
      await compare(model, input, { size, stride, layer: 'conv1', point: 'conv', map: 2 }, `gappy conv1 ${size}/${stride}`);
    }
  });

  test('ZFNet-shaped nets (odd, non-square inputs): every map of conv5 and of conv2', async () => {
    for (const [h, w] of [[99, 87], [64, 71]]) {
      const net = zfnetSmall(h, w);
      const model = await modelOf(net, 9);
      // Caffe-like values (~±128): LRN really normalises.
      const input = inputOf(net, 4, 128);
      for (const [size, stride] of [[16, 8], [11, 6], [9, 13]]) {
        for (let map = 0; map < 12; map++) {
          await compare(model, input, { size, stride, layer: 'conv5', map, fill: 'zero' }, `zf ${h}x${w} conv5 map ${map} ${size}/${stride}`);
        }
      }
      for (let map = 0; map < 12; map += 3) {
        await compare(model, input, { size: 13, stride: 7, layer: 'conv2', map, fill: 'mean' }, `zf ${h}x${w} conv2 map ${map}`);
      }
    }
  });

  test('batches of any size give the same maps', async () => {
    const net = zfnetSmall(67, 67);
    const model = await modelOf(net, 2);
    const input = inputOf(net, 8, 100);
    const ref = await occlusion(model, input, { size: 10, stride: 5, naive: true });
    for (const batch of [1, 3, 16, 500]) {
      expectSame(await occlusion(model, input, { size: 10, stride: 5, batch, workers: 0 }), ref, `batch ${batch}`);
    }
  });
});

describe('occlusion: defaults, errors, progress, cancellation', () => {
  test('defaults: the top class, the last conv layer, its strongest map; the baseline', async () => {
    const net = zfnetSmall(64, 64);
    const model = await modelOf(net, 4);
    const input = inputOf(net, 3, 120);
    const run = model.forwardSync(input);
    const top = run.top(1)[0];
    const conv5 = run.activation('conv5');
    let best = 0;
    conv5.data.forEach((v, i) => { if (v > conv5.data[best]) best = i; });
    const r = await occlusion(model, input, { size: 16, stride: 16, workers: 0 });
    expect(r.classIndex).toBe(top.index);
    expect(r.layer).toBe('conv5');
    expect(r.point).toBe('relu');
    expect(r.map).toBe(Math.floor(best / (conv5.shape[2] * conv5.shape[3])));
    expect(r.baseline.probability).toBeCloseTo(top.probability, 6);
    expect(r.baseline.top).toBe(top.index);
    expect(r.label).toBe('class ' + top.index);
    expect(r.fill).toEqual([0, 0, 0]);
    expect(r.labels).toHaveLength(10);
  });

  test('bad options are ArgumentErrors naming the problem', async () => {
    const net = tiny();
    const model = await modelOf(net);
    const input = inputOf(net);
    await expect(occlusion(model, input, { size: 3, stride: 2, classIndex: 4 })).rejects.toThrow(/class 4 is out of range/);
    await expect(occlusion(model, input, { size: 3, stride: 2, layer: 'conv9' })).rejects.toThrow(/unknown layer 'conv9'/);
    await expect(occlusion(model, input, { size: 3, stride: 2, map: 4 })).rejects.toThrow(/map 4 is out of range/);
    await expect(occlusion(model, input, { size: 0, stride: 2 })).rejects.toThrow(ArgumentError);
    await expect(occlusion(model, input, { size: 3, stride: 2, fill: [1, 2, 3] })).rejects.toThrow(/fill/);
    await expect(occlusion(model, { shape: [1, 2, 11, 13], data: new Float32Array(286) }, { size: 3, stride: 2 }))
      .rejects.toThrow(/input shape \[1, 2, 11, 13\] does not fit tiny, which takes \[N, 2, 13, 11\]/);
    await expect(occlusion(model, input, { size: 3, stride: 2, image: 1 })).rejects.toThrow(/image 1 is out of range/);
    const bad = input.data.slice();
    bad[5] = NaN;
    await expect(occlusion(model, { shape: input.shape, data: bad }, { size: 3, stride: 2 })).rejects.toThrow(/NaN/);
  });

  test('progress reaches 1; an aborted signal rejects with AbortError, before and during', async () => {
    const net = zfnetSmall(99, 87);
    const model = await modelOf(net);
    const input = inputOf(net, 1, 100);
    const seen: number[] = [];
    await occlusion(model, input, { size: 8, stride: 4, batch: 8, workers: 0, onProgress: (f) => seen.push(f) });
    expect(seen.length).toBeGreaterThan(2);
    expect(seen[seen.length - 1]).toBe(1);
    expect(seen.every((f, i) => i === 0 || f >= seen[i - 1])).toBe(true);

    await expect(occlusion(model, input, { size: 8, stride: 4, signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    for (const naive of [false, true]) {
      const controller = new AbortController();
      let calls = 0;
      const p = occlusion(model, input, {
        size: 8, stride: 2, batch: 4, workers: 0, naive, signal: controller.signal,
        onProgress: () => { if (++calls === 1) controller.abort(); },
      });
      await expect(p).rejects.toThrow(AbortError);
    }
    // The model still works afterwards.
    const again = await occlusion(model, input, { size: 30, stride: 30, workers: 0 });
    expect(again.probability.every((p) => p >= 0 && p <= 1)).toBe(true);
  });
});

// Workers load the built engine (dist/index.js: `npm test` builds it first).
describe('occlusion on workers', () => {
  test('this thread with workers, or workers alone, give the naive maps; a pool passed in is reused and left open', async () => {
    const net = zfnetSmall(99, 87);
    const model = await modelOf(net, 6);
    const input = inputOf(net, 9, 100);
    const options = { size: 12, stride: 5, layer: 'conv4', fill: 'mean' as const, batch: 8 };
    const ref = await occlusion(model, input, { ...options, naive: true });
    const three = await occlusion(model, input, { ...options, workers: 3 });
    // The pool workers that computed: none when this thread was done before the pool started.
    expect(three.local).toBe(true);
    expect(three.workers).toBeGreaterThanOrEqual(0);
    expect(three.workers).toBeLessThanOrEqual(2);
    expectSame(three, ref, 'this thread and 2 workers');
    const remote = await occlusion(model, input, { ...options, workers: 2, local: false });
    expect([remote.workers, remote.local]).toEqual([2, false]);
    expectSame(remote, ref, '2 workers alone');
    // Few positions: no pool is started.
    const few = await occlusion(model, input, { ...options, size: 50, stride: 40, workers: 2 });
    expect(few.workers).toBe(0);
    // An fc unit as the "map": the workers' spatial part, this thread's fc layers.
    const fc = { ...options, layer: 'fc6', point: 'relu', map: 7 };
    expectSame(await occlusion(model, input, { ...fc, workers: 2 }), await occlusion(model, input, { ...fc, naive: true }), 'fc6 unit');
    // A pool with the conv weights only: fine for occlusion beside this thread, refused by the scan.
    const convOnly = await ModelPool.create(model, { workers: 1, layers: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] });
    try {
      expect(convOnly.complete).toBe(false);
      expectSame(await occlusion(model, input, { ...options, pool: convOnly }), ref, 'conv-only pool');
      await expect(occlusion(model, input, { ...options, pool: convOnly, local: false })).rejects.toThrow(/only some layers/);
      await expect(scanDataset(model, [{ tensor: input }], { pool: convOnly })).rejects.toThrow(/only some layers/);
    } finally {
      await convOnly.close();
    }
    const pool = await ModelPool.create(model, { workers: 2 });
    try {
      const seen: number[] = [];
      const a = await occlusion(model, input, { ...options, pool, onProgress: (f) => seen.push(f) });
      expectSame(a, ref, 'pool, first call');
      expect(seen[seen.length - 1]).toBe(1);
      // Another image and class on the same pool.
      const other = inputOf(net, 10, 100);
      const b = await occlusion(model, other, { ...options, pool, classIndex: 3 });
      expectSame(b, await occlusion(model, other, { ...options, classIndex: 3, naive: true }), 'pool, second image');
      // Cancelling one call leaves the pool usable.
      const controller = new AbortController();
      const p = occlusion(model, input, { ...options, stride: 2, pool, signal: controller.signal, onProgress: () => controller.abort() });
      await expect(p).rejects.toThrow(AbortError);
      expectSame(await occlusion(model, input, { ...options, pool }), ref, 'pool, after a cancel');
    } finally {
      await pool.close();
    }
    await expect(pool.run('occlusion', {} as never)).rejects.toThrow(/closed/);
  });

  test('a pool that cannot start is no pool: this thread computes every position', async () => {
    const net = zfnetSmall(99, 87);
    const model = await modelOf(net, 4);
    const input = inputOf(net, 5, 100);
    const options = { size: 12, stride: 5, batch: 8, engineUrl: new URL('./no-such-engine.js', import.meta.url) };
    const alone = await occlusion(model, input, { ...options, workers: 1 });
    const t0 = performance.now();
    const fell = await occlusion(model, input, { ...options, workers: 3 });
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect([fell.workers, fell.local]).toEqual([0, true]);
    expect(Array.from(fell.probability)).toEqual(Array.from(alone.probability));
    expect(Array.from(fell.activation)).toEqual(Array.from(alone.activation));
    expect(Array.from(fell.top)).toEqual(Array.from(alone.top));
    // Without this thread there is nothing to fall back on: the pool's error.
    await expect(occlusion(model, input, { ...options, workers: 2, local: false })).rejects.toThrow(/no-such-engine\.js/);
    // A cancel is still a cancel.
    const controller = new AbortController();
    controller.abort();
    await expect(occlusion(model, input, { ...options, workers: 3, signal: controller.signal })).rejects.toThrow(AbortError);
  });

  test('a worker that cannot load the engine fails with a message naming the module', async () => {
    const model = await modelOf(tiny());
    await expect(ModelPool.create(model, { workers: 1, engineUrl: new URL('./no-such-engine.js', import.meta.url) }))
      .rejects.toThrow(/could not load the engine from .*no-such-engine\.js/);
  });
});

describe('occlusion pictures', () => {
  test('heatmaps at grid and image scale, nearest occluder centre; overlay; class colours', async () => {
    const net = tiny();
    const model = await modelOf(net);
    const input = inputOf(net);
    const r = await occlusion(model, input, { size: 4, stride: 3, workers: 0 });
    expect([r.grid.rows, r.grid.cols]).toEqual([4, 4]);
    const grid = occlusionImage(r, 'probability', { scale: 'grid' });
    expect([grid.width, grid.height]).toEqual([4, 4]);
    const full = occlusionImage(r, 'activation');
    expect([full.width, full.height]).toEqual([11, 13]);
    // Pixel (y, x) shows the position whose occluder centre is nearest: rows 2, 5, 8, 11; columns 2, 5, 8, 10.
    const px = (img: { width: number; data: Uint8ClampedArray }, y: number, x: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
    const cell = (y: number, x: number) => px(occlusionImage(r, 'activation', { scale: 'grid' }), y, x);
    expect(px(full, 0, 0)).toEqual(cell(0, 0));
    expect(px(full, 12, 10)).toEqual(cell(3, 3));
    expect(px(full, 7, 4)).toEqual(cell(2, 1));
    expect(px(full, 4, 9)).toEqual(cell(1, 3));
    // Probability on jet from 0 to 1; activation from its min (dark blue) to its max (dark red).
    expect(jet(0)).toEqual([0, 0, 128]);
    expect(jet(1)).toEqual([128, 0, 0]);
    expect(jet(0.5)).toEqual([128, 255, 128]);
    let lo = 0;
    r.activation.forEach((v, i) => { if (v < r.activation[lo]) lo = i; });
    expect(cell(Math.floor(lo / 4), lo % 4)).toEqual([0, 0, 128, 255]);
    const top = occlusionImage(r, 'top', { scale: 'grid' });
    expect(px(top, 0, 0).slice(0, 3)).toEqual(classColor(r.top[0]));
    expect(new Set([0, 1, 2, 3, 4, 5, 6, 7].map((i) => classColor(i).join())).size).toBe(8);
    // Over the image (a 3-channel net): alpha 1 is the heatmap, alpha 0 the image.
    const rgbNet = zfnetSmall(64, 64);
    const rgbInput = inputOf(rgbNet, 3, 100);
    const rgb = await occlusion(await modelOf(rgbNet), rgbInput, { size: 16, stride: 12, workers: 0 });
    const over = occlusionOverlay(rgb, 'probability', rgbInput, 'caffe', { alpha: 1 });
    expect(Array.from(over.data)).toEqual(Array.from(occlusionImage(rgb, 'probability').data));
    expect(Array.from(occlusionOverlay(rgb, 'top', rgbInput, 'caffe', { alpha: 0 }).data))
      .toEqual(Array.from(inputToImage(rgbInput, 'caffe').data));
    expect(() => occlusionOverlay(rgb, 'probability', rgbInput, 'caffe', { alpha: 2 })).toThrow(ArgumentError);
    expect(() => occlusionImage(r, 'nope' as never)).toThrow(/not one of probability, activation, top/);
  });
});
