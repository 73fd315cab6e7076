// Issue 14 item 3: a model held by a long analysis refuses other work with a BusyError (it does not
// queue it), for every analysis: occlusion, scan, invariance, correspondence, diagnosis, evolution.
// Each analysis runs twice on identically weighted models: once alone, once while a timer calls
// forward() on the same model at every turn of the event loop. Every such call must be refused
// with a BusyError, the result must equal the undisturbed one, and the model is usable afterwards.
import { describe, expect, test } from 'vitest';
import {
  BusyError, Model, correspondence, diagnoseArchitecture, featureEvolution, invariance, occlusion, scanDataset,
  type Network, type Tensor,
} from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';

const relu = { kind: 'relu' } as const;
const tiny: Network = {
  name: 'tiny', input: [1, 16, 16], preprocess: 'grayscale',
  ops: [conv(4, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }), conv(5, 3, 1, 1), relu, maxpool(2, 2),
    { kind: 'flatten' }, dense(8), relu, dense(3), { kind: 'softmax' }],
};

const images: Tensor[] = Array.from({ length: 6 }, (_, k) => ({
  shape: [1, 1, 16, 16], data: new Float32Array(256).map((_, i) => Math.sin(i * (0.13 + 0.07 * k)) * (1 + k / 5)),
}));
const boxes = [
  { y0: 2, x0: 3, y1: 6, x1: 7 }, { y0: 3, x0: 3, y1: 7, x1: 7 }, { y0: 2, x0: 4, y1: 6, x1: 8 },
  { y0: 1, x0: 2, y1: 5, x1: 6 }, { y0: 4, x0: 4, y1: 8, x1: 8 }, { y0: 5, x0: 1, y1: 9, x1: 5 },
];

async function model(): Promise<Model> {
  const m = await Model.create(tiny);
  m.initWeights(21);
  return m;
}

/** The result without its timings (which differ run to run). */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    return Object.fromEntries(Object.entries(x).filter(([k]) => !/millis|^ms$|time/i.test(k)).map(([k, v]) => [k, strip(v)]));
  }
  return x;
}

const analyses: [string, (m: Model) => Promise<unknown>][] = [
  ['occlusion', (m) => occlusion(m, images[0], { size: 3, stride: 1, workers: 1, layer: 'conv2' })],
  ['occlusion (naive)', (m) => occlusion(m, images[1], { size: 4, stride: 2, workers: 1, layer: 'conv2', naive: true })],
  ['scan', (m) => scanDataset(m, images.map((tensor, i) => ({ name: `img${i}`, tensor })), { layers: ['conv2'], top: 2, batch: 2, workers: 1 })],
  ['invariance', (m) => invariance(m, images[2], { kinds: ['translate'], amounts: { translate: [-2, 0, 2] }, batch: 2 })],
  ['correspondence', (m) => correspondence(m, images, boxes, { layers: ['conv1', 'conv2:pool'], random: 2, seed: 3, batch: 2 })],
  ['diagnosis', (m) => diagnoseArchitecture(m, { images, layer2: { maps: [0, 3] }, batch: 2 })],
  ['evolution', (m) => featureEvolution([{ label: 'a', model: m }], images, [{ layer: 'conv1', map: 2 }, { layer: 'conv2', map: 1 }], { batch: 2 })],
];

describe('a model busy with an analysis refuses other work with BusyError', () => {
  for (const [name, analysis] of analyses) {
    test(name, async () => {
      const expected = strip(await analysis(await model()));
      const m = await model();
      const before = m.forwardSync(images[3]);
      const weights = m.getWeights('conv1');
      const pending = analysis(m);
      // At once (the analysis is under way: its promise has not settled)...
      expect(m.busyWith).toBeTypeOf('string');
      // (synchronous checks only: an analysis may settle in a few microtasks)
      const refusedAsync = m.forward(images[4]);
      expect(() => m.forwardSync(images[4])).toThrow(BusyError);
      expect(() => m.setWeights('conv1', weights)).toThrow(BusyError);
      expect(() => m.dispose()).toThrow(BusyError);
      expect(() => before.projectSync({ layer: 'conv2', map: 0 })).toThrow(BusyError);
      expect(() => before.activation('conv1')).toThrow(BusyError);
      await expect(refusedAsync).rejects.toThrow(BusyError);
      // ...and at every turn of the event loop while it runs.
      let refused = 0, accepted = 0;
      const others: unknown[] = [];
      const timer = setInterval(() => {
        try { m.forwardSync(images[5]); accepted += 1; } catch (e) { if (e instanceof BusyError) refused += 1; else others.push(e); }
      }, 0);
      let got: unknown;
      try { got = strip(await pending); } finally { clearInterval(timer); }
      console.log(`${name}: ${refused} forward() calls refused while it ran, ${accepted} accepted`);
      expect(others).toEqual([]);
      expect(accepted).toBe(0);
      expect(got).toEqual(expected);
      expect(m.busyWith).toBeUndefined();
      // Free again: the refused work can run now.
      expect(m.forwardSync(images[4]).probabilities(0)).toHaveLength(3);
    });
  }

  test('the message names the model and the analysis', async () => {
    const m = await model();
    const pending = occlusion(m, images[0], { size: 3, stride: 2, workers: 1 });
    expect(() => m.forwardSync(images[1])).toThrow(/tiny is busy with occlusion: forward\(\) now would overwrite its buffers/);
    await pending;
  });

  test('a failed analysis frees the model', async () => {
    const m = await model();
    await expect(occlusion(m, images[0], { size: 0, stride: 1 })).rejects.toThrow();
    expect(m.busyWith).toBeUndefined();
    expect(m.forwardSync(images[1]).batch).toBe(1);
  });
});
