// The engine's forward pass: points, switches, batches, backends, and refusing bad input.
import { describe, expect, test } from 'vitest';
import {
  ArgumentError, Model, StaleRunError, loadModel, zfnet, type Network, type Tensor,
} from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { mulberry32 } from '../../src/models/init.js';

const small: Network = {
  name: 'small', input: [3, 23, 21], preprocess: 'none',
  ops: [conv(6, 5, 2, [1, 2, 0, 1]), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(),
    conv(6, 3, 1, 1, 2), { kind: 'relu' }, maxpool(2, 2),
    { kind: 'flatten' }, dense(7), { kind: 'relu' }, { kind: 'dropout', rate: 0.5 }, dense(4), { kind: 'softmax' }],
};

function randomInput(shape: number[], seed: number, scale = 1): Tensor {
  const random = mulberry32(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b));
  for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * scale;
  return { shape, data };
}

async function smallModel(backend: 'simd' | 'scalar' = 'simd'): Promise<Model> {
  const model = await Model.create(small, { backend });
  model.initWeights(3);
  return model;
}

describe('points and switches', () => {
  test('relu is conv rectified; pool is the max over each window of relu; switches point at it', async () => {
    const model = await smallModel();
    const run = await model.forward(randomInput([2, 3, 23, 21], 1));
    const pre = run.activation('conv1', 'conv').data;
    const post = run.activation('conv1').data;
    expect(post).toEqual(pre.map((v) => Math.max(v, 0)));
    expect(pre.some((v) => v < 0)).toBe(true);

    const pool = run.activation('conv1', 'pool');
    const sw = run.switches('conv1');
    expect(pool.shape).toEqual([2, 6, 5, 5]); // conv 10x10 (pads t1 l2 b0 r1), ceil pool 5x5
    expect(sw.shape).toEqual(pool.shape);
    const [, , h, w] = run.activation('conv1').shape;
    const planeIn = h * w, planeOut = 5 * 5;
    let checked = 0;
    for (let p = 0; p < 2 * 6; p++) {
      for (let o = 0; o < planeOut; o++) {
        const s = sw.data[p * planeOut + o];
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(planeIn);
        expect(post[p * planeIn + s]).toBe(pool.data[p * planeOut + o]);
        checked++;
      }
    }
    expect(checked).toBe(2 * 6 * 25);
  });

  test('norm point exists after LRN and differs from pool; fc layers expose conv and relu', async () => {
    const model = await smallModel();
    const run = await model.forward(randomInput([1, 3, 23, 21], 2));
    expect(run.activation('conv1', 'norm').shape).toEqual([1, 6, 5, 5]);
    expect(run.activation('conv1', 'norm').data).not.toEqual(run.activation('conv1', 'pool').data);
    expect(run.activation('fc3').shape).toEqual([1, 7]);
    expect(run.activation('fc4', 'conv').shape).toEqual([1, 4]);
  });

  test('probabilities sum to 1 and top(k) is sorted', async () => {
    const model = await smallModel();
    const run = await model.forward(randomInput([1, 3, 23, 21], 3));
    const p = run.probabilities();
    expect(p.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    const top = run.top(3);
    expect(top).toHaveLength(3);
    expect(top[0].probability).toBeGreaterThanOrEqual(top[1].probability);
    expect(top[0].probability).toBe(Math.max(...p));
    expect(top[0].label).toBe(`class ${top[0].index}`);
  });
});

describe('batches', () => {
  test('a batch of 3 gives each image the result it gets alone, and re-plans memory once', async () => {
    const model = await smallModel();
    expect(model.batchCapacity).toBe(1);
    const batch = randomInput([3, 3, 23, 21], 4);
    const all = (await model.forward(batch)).activation('conv2', 'pool').data;
    expect(model.batchCapacity).toBe(3);
    const per = all.length / 3;
    for (let n = 0; n < 3; n++) {
      const one = { shape: [1, 3, 23, 21], data: batch.data.slice(n * 3 * 23 * 21, (n + 1) * 3 * 23 * 21) };
      const alone = (await model.forward(one)).activation('conv2', 'pool').data;
      expect(alone).toEqual(all.slice(n * per, (n + 1) * per));
    }
  });
});

describe('backends', () => {
  test('SIMD and scalar builds agree on ZFNet within 1e-5 relative', async () => {
    const input = randomInput([1, 3, 224, 224], 5, 100);
    const results: Record<string, Float32Array[]> = {};
    for (const backend of ['simd', 'scalar'] as const) {
      const model = await loadModel('zfnet', { backend, seed: 9 });
      expect(model.backend).toBe(backend);
      const run = await model.forward(input);
      results[backend] = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']
        .map((layer) => run.activation(layer, 'conv').data);
    }
    results.simd.forEach((a, i) => {
      const b = results.scalar[i];
      let maxAbs = 0, maxDiff = 0;
      for (let j = 0; j < a.length; j++) {
        maxAbs = Math.max(maxAbs, Math.abs(b[j]));
        maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
      }
      console.log(`zfnet layer ${i + 1}: simd vs scalar max diff ${maxDiff.toExponential(2)} (max |x| ${maxAbs.toExponential(2)})`);
      expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxAbs);
    });
  });
});

describe('bad input gets a typed error naming the problem', () => {
  test('wrong shape, wrong length, non-finite values', async () => {
    const model = await smallModel();
    await expect(model.forward({ shape: [1, 3, 24, 21], data: new Float32Array(3 * 24 * 21) }))
      .rejects.toThrow(/\[1, 3, 24, 21\] does not fit small, which takes \[N, 3, 23, 21\]/);
    await expect(model.forward({ shape: [1, 3, 23, 21], data: new Float32Array(5) }))
      .rejects.toThrow(ArgumentError);
    const nan = randomInput([1, 3, 23, 21], 6);
    nan.data[17] = NaN;
    await expect(model.forward(nan)).rejects.toThrow(/input value 17 is NaN/);
    nan.data[17] = -Infinity;
    await expect(model.forward(nan)).rejects.toThrow(/input value 17 is -Infinity/);
    await expect(model.forward({ shape: [0, 3, 23, 21], data: new Float32Array(0) })).rejects.toThrow(ArgumentError);
    await expect(model.forward(new Float32Array(10) as unknown as Tensor)).rejects.toThrow(ArgumentError);
  });

  test('unknown layers and points, images out of range, stale runs', async () => {
    const model = await smallModel();
    const run = await model.forward(randomInput([1, 3, 23, 21], 7));
    expect(() => run.activation('conv9')).toThrow(/unknown layer 'conv9'; this model has conv1, conv2, fc3, fc4/);
    expect(() => run.activation('conv2', 'norm')).toThrow(/layer conv2 has no point 'norm'; it has conv, relu, pool/);
    expect(() => run.switches('fc3')).toThrow(ArgumentError);
    expect(() => run.top(5, 1)).toThrow(/image 1 is out of range: this run has 1 image/);
    await model.forward(randomInput([1, 3, 23, 21], 8));
    expect(() => run.activation('conv1')).toThrow(StaleRunError);
  });

  test('weights of the wrong size or type are refused', async () => {
    const model = await smallModel();
    expect(model.weightShapes().conv2).toEqual({ weight: [6, 3, 3, 3], bias: [6] });
    expect(() => model.setWeights('conv2', { weight: new Float32Array(161) }))
      .toThrow(/conv2: weight must be a Float32Array of 162 values \[6, 3, 3, 3\], got 161 values/);
    expect(() => model.setWeights('conv2', { weight: new Float64Array(162) as unknown as Float32Array }))
      .toThrow(/got Float64Array/);
    expect(() => model.setWeights('conv2', { weight: new Float32Array(162), bias: new Float32Array(5) }))
      .toThrow(/conv2: bias must be a Float32Array of 6 values, got 5 values/);
    expect(() => model.setWeights('conv7', { weight: new Float32Array(1) })).toThrow(/unknown layer 'conv7'/);
    const w = new Float32Array(162).map((_, i) => i);
    model.setWeights('conv2', { weight: w, bias: new Float32Array(6).fill(0.5) });
    expect(model.getWeights('conv2').weight).toEqual(w);
    expect(model.getWeights('conv2').bias).toEqual(new Float32Array(6).fill(0.5));
  });
});

test('zfnet memory is planned once: weights plus activations, no growth on later passes', async () => {
  const model = await Model.create(zfnet(), {});
  const before = model.memoryBytes;
  const input = randomInput([1, 3, 224, 224], 10);
  await model.forward(input);
  await model.forward(input);
  expect(model.memoryBytes).toBe(before);
  console.log(`zfnet arena: ${(before / 2 ** 20).toFixed(1)} MiB for 62.4 M parameters (249.4 MB) + activations`);
  expect(before).toBeLessThan(320 * 2 ** 20);
});

test('forward takes an image\'s RGBA pixels and preprocesses them by the network\'s preset', async () => {
  const model = await Model.create({ ...small, preprocess: 'caffe' });
  model.initWeights(3);
  const pixels = { width: 40, height: 30, data: new Uint8ClampedArray(40 * 30 * 4).map((_, i) => (i * 37) % 256) };
  const direct = (await model.forward(pixels)).output().data;
  const tensor = model.preprocess(pixels);
  expect(tensor.shape).toEqual([1, 3, 23, 21]);
  expect((await model.forward(tensor)).output().data).toEqual(direct);
  expect(model.preprocess(pixels, 'none').data).not.toEqual(tensor.data);
});
