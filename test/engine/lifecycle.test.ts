// Issue 14 items 4 and 8 on the engine: dispose() and Symbol.dispose (every later call throws a
// DisposedError), the batch cap (a plan never grows past maxBatch, so memory stays bounded), and
// a forward pass whose output is NaN/Infinity is a NonFiniteError naming the first op that made one.
import { describe, expect, test } from 'vitest';
import {
  ArgumentError, DisposedError, Model, NonFiniteError, occlusion, scanDataset, type Network, type Tensor,
} from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';

const relu = { kind: 'relu' } as const;
const tiny: Network = {
  name: 'tiny', input: [1, 16, 16], preprocess: 'grayscale',
  ops: [conv(4, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }), conv(5, 3, 1, 1), relu, maxpool(2, 2),
    { kind: 'flatten' }, dense(8), relu, dense(3), { kind: 'softmax' }],
};
const image = (n = 1, k = 0): Tensor => ({
  shape: [n, 1, 16, 16], data: new Float32Array(n * 256).map((_, i) => Math.sin(i * (0.1 + 0.01 * k))),
});

async function model(options = {}): Promise<Model> {
  const m = await Model.create(tiny, options);
  m.initWeights(5);
  return m;
}

describe('dispose()', () => {
  test('afterwards every call on the model and its runs throws DisposedError', async () => {
    const m = await model();
    const run = m.forwardSync(image());
    const weights = m.getWeights('conv1');
    const key = Object.keys(m.otherConstants())[0];
    expect(m.memoryBytes).toBeGreaterThan(0);
    m.dispose();
    expect(m.isDisposed).toBe(true);
    expect(m.memoryBytes).toBe(0);
    const calls: [string, () => unknown][] = [
      ['forwardSync', () => m.forwardSync(image())],
      ['setWeights', () => m.setWeights('conv1', weights)],
      ['getWeights', () => m.getWeights('conv1')],
      ['initWeights', () => m.initWeights(1)],
      ['otherConstants', () => m.otherConstants()],
      ['setConstant', () => m.setConstant(key ?? '#0:x', new Float32Array(1))],
      ['run.activation', () => run.activation('conv1')],
      ['run.probabilities', () => run.probabilities(0)],
      ['run.projectSync', () => run.projectSync({ layer: 'conv2', map: 0 })],
      ['run.switches', () => run.switches('conv1')],
      ['batchCapacity', () => m.batchCapacity],
      ['weightShapes', () => m.weightShapes()],
      ['resolve', () => m.resolve('conv1')],
      ['preprocess', () => m.preprocess({ width: 16, height: 16, data: new Uint8ClampedArray(1024) })],
    ];
    for (const [what, call] of calls) expect(call, what).toThrow(DisposedError);
    await expect(m.forward(image())).rejects.toThrow(DisposedError);
    await expect(occlusion(m, image(), { size: 3, stride: 2, workers: 1 })).rejects.toThrow(DisposedError);
    await expect(scanDataset(m, [{ name: 'a', tensor: image() }], { workers: 1 })).rejects.toThrow(DisposedError);
    expect(() => m.forwardSync(image())).toThrow(/tiny: forward\(\) was called after dispose\(\)/);
    m.dispose(); // twice is fine
  });

  test('Symbol.dispose releases it too', async () => {
    const m = await model();
    m[Symbol.dispose]();
    expect(() => m.forwardSync(image())).toThrow(DisposedError);
  });
});

describe('the batch cap', () => {
  test('a batch over maxBatch is refused and the memory does not grow', async () => {
    const m = await model({ maxBatch: 4 });
    expect(m.maxBatch).toBe(4);
    m.forwardSync(image(4));
    const bytes = m.memoryBytes;
    expect(() => m.forwardSync(image(5))).toThrow(ArgumentError);
    expect(() => m.forwardSync(image(5))).toThrow(/a batch of 5 is larger than tiny's cap of 4 image\(s\)/);
    expect(m.memoryBytes).toBe(bytes);
    expect(m.forwardSync(image(2)).batch).toBe(2);
    await expect(Model.create(tiny, { batch: 5, maxBatch: 4 })).rejects.toThrow(ArgumentError);
    await expect(Model.create(tiny, { maxBatch: 0 })).rejects.toThrow(ArgumentError);
  });

  test('a big network is capped at 16 images, not fewer', async () => {
    const wide: Network = { name: 'wide', input: [64, 256, 256], preprocess: 'none', ops: [conv(128, 3, 1, 1), relu, { kind: 'flatten' }, dense(2)] };
    const m = await Model.create(wide);
    console.log(`wide: ${(m.bytesPerImage() / 2 ** 20).toFixed(1)} MiB per image, cap ${m.maxBatch}`);
    expect(m.bytesPerImage()).toBeGreaterThan(2 ** 30 / 16);
    expect(m.maxBatch).toBe(16);
    m.dispose();
  });

  test('by default the per-image buffers are capped at 1 GiB', async () => {
    const m = await model();
    const per = m.bytesPerImage();
    console.log(`tiny: ${per} bytes per image, cap ${m.maxBatch} images, ${m.memoryBytes} bytes at batch 1`);
    expect(m.maxBatch).toBe(Math.max(16, Math.floor(2 ** 30 / per)));
    expect(() => m.forwardSync({ shape: [m.maxBatch + 1, 1, 16, 16], data: new Float32Array(0) })).toThrow(ArgumentError);
  });
});

describe('non-finite numbers', () => {
  test('a forward pass that overflows names the first op whose output is not finite', async () => {
    const m = await model();
    const w = m.getWeights('conv2');
    m.setWeights('conv2', { weight: w.weight.map(() => 3e38), bias: w.bias });
    const err = (() => { try { m.forwardSync(image()); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toMatch(/tiny: the forward pass produced -?Infinity at op 3 \(conv, 'conv2'\)/);
    // Put right, the model works again.
    m.setWeights('conv2', w);
    expect(m.forwardSync(image()).probabilities(0).every(Number.isFinite)).toBe(true);
  });

  test('setWeights and setConstant refuse NaN and Infinity', async () => {
    const m = await model();
    const w = m.getWeights('conv1');
    const bad = w.weight.slice();
    bad[7] = NaN;
    expect(() => m.setWeights('conv1', { weight: bad, bias: w.bias })).toThrow(/conv1: weight value 7 is NaN/);
    const badBias = w.bias!.slice();
    badBias[1] = -Infinity;
    expect(() => m.setWeights('conv1', { weight: w.weight, bias: badBias })).toThrow(/conv1: bias value 1 is -Infinity/);
    expect(m.getWeights('conv1')).toEqual(w);
  });
});
