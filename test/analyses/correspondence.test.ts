// Correspondence (Fig. 8 and its table): Delta_l on a hand-made case through the pure scoring
// function, then through a tiny network against a direct computation (occlude by hand, forward,
// subtract, compare signs by hand).
import { describe, expect, test } from 'vitest';
import { AbortError, ArgumentError, Model, type Box, type Network } from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import {
  consistency, correspondence, correspondenceTable, hamming, maskBox, randomBoxes, signs,
} from '../../src/analyses/correspondence.js';
import { mulberry32 } from '../../src/models/init.js';

const relu = { kind: 'relu' } as const;
const tiny: Network = {
  name: 'tiny', input: [1, 16, 16], preprocess: 'grayscale',
  ops: [conv(3, 3, 1, 1), relu, maxpool(2, 2), conv(4, 3, 1, 1), relu, maxpool(2, 2),
    { kind: 'flatten' }, dense(12), relu, dense(4), { kind: 'softmax' }],
};

describe('the scoring function', () => {
  // e1 = [1, -2, 0, 0.5] -> [+, -, 0, +]
  // e2 = [2, 3, 0, -1]   -> [+, +, 0, -]
  // e3 = [0, -1, 0, 4]   -> [0, -, 0, +]
  // H(1,2) = 2 (positions 1, 3), H(1,3) = 1 (position 0), H(2,3) = 3 (positions 0, 1, 3).
  // Ordered pairs i != j: Delta = 2 * (2 + 1 + 3) = 12; pairs 6; per pair H/4 = 0.5, 0.25, 0.75.
  const e = [new Float32Array([1, -2, 0, 0.5]), new Float32Array([2, 3, 0, -1]), new Float32Array([0, -1, 0, 4])];

  test('Delta by hand, sign(0) = 0 as a third value', () => {
    expect(Array.from(signs(e[0]))).toEqual([1, -1, 0, 1]);
    expect(hamming(signs(e[1]), signs(e[2]))).toBe(3);
    const s = consistency(e);
    expect(s.delta).toBe(12);
    expect(s.pairs).toBe(6);
    expect(s.dims).toBe(4);
    expect(s.mean).toBeCloseTo(0.5, 12);
    expect(s.std).toBeCloseTo(Math.sqrt((0 + 0.25 ** 2 + 0.25 ** 2) / 3), 12);
  });

  test('epsilon: |e| <= epsilon counts as 0', () => {
    // e1[3] = 0.5 -> 0: H(1,2) = 2 (positions 1, 3), H(1,3) = 2 (positions 0, 3), H(2,3) = 3.
    expect(consistency(e, { epsilon: 0.6 }).delta).toBe(14);
  });

  test('identical sign patterns give 0; opposite ones give every feature', () => {
    const a = new Float32Array([1, -1, 0, 2]);
    expect(consistency([a, a.map((v) => v * 3), a]).delta).toBe(0);
    const b = a.map((v) => -v);
    // Zero stays zero under negation: 3 positions differ, 2 ordered pairs.
    expect(consistency([a, b]).delta).toBe(6);
    expect(() => consistency([a])).toThrow(ArgumentError);
    expect(() => consistency([a, new Float32Array(3)])).toThrow(/same length/);
  });
});

describe('occluders', () => {
  test('occlude fills the box in every channel with zero, the mean or a value', () => {
    const img = new Float32Array(2 * 4 * 4).map((_, i) => i);
    const box: Box = { y0: 1, x0: 1, y1: 3, x1: 2 };
    const z = maskBox(img, [2, 4, 4], box);
    expect([z[5], z[9], z[16 + 5], z[16 + 9]]).toEqual([0, 0, 0, 0]);
    expect(z[6]).toBe(6);
    const m = maskBox(img, [2, 4, 4], box, 'mean');
    expect(m[5]).toBe(7.5);
    expect(m[16 + 9]).toBe(23.5);
    expect(maskBox(img, [2, 4, 4], box, 0.25)[9]).toBe(0.25);
    expect(() => maskBox(img, [2, 4, 4], { y0: 3, x0: 0, y1: 5, x1: 1 })).toThrow(/inside the 4 x 4 input/);
  });

  test('random boxes have the part boxes sizes, lie inside and follow the seed', () => {
    const boxes = [{ y0: 0, x0: 0, y1: 5, x1: 3 }, { y0: 2, x0: 2, y1: 4, x1: 16 }];
    const a = randomBoxes(boxes, [1, 16, 16], mulberry32(5));
    const b = randomBoxes(boxes, [1, 16, 16], mulberry32(5));
    expect(a).toEqual(b);
    a.forEach((r, i) => {
      expect(r.y1 - r.y0).toBe(boxes[i].y1 - boxes[i].y0);
      expect(r.x1 - r.x0).toBe(boxes[i].x1 - boxes[i].x0);
      expect(r.y0).toBeGreaterThanOrEqual(0);
      expect(r.y1).toBeLessThanOrEqual(16);
      expect(r.x1).toBeLessThanOrEqual(16);
    });
  });
});

describe('through a tiny network', () => {
  const n = 4, per = 16 * 16;
  const images = Array.from({ length: n }, (_, k) => ({
    shape: [1, 1, 16, 16], data: new Float32Array(per).map((_, i) => Math.sin(i * 0.21 * (k + 1)) + 0.5),
  }));
  const boxes: Box[] = [
    { y0: 2, x0: 3, y1: 6, x1: 7 }, { y0: 3, x0: 3, y1: 7, x1: 7 }, { y0: 2, x0: 4, y1: 6, x1: 8 }, { y0: 1, x0: 2, y1: 5, x1: 6 },
  ];

  async function model(): Promise<Model> {
    const m = await Model.create(tiny);
    m.initWeights(11);
    return m;
  }

  /** The direct computation: originals and occluded images as two batches, e = x - x~, Hamming by hand. */
  function direct(m: Model, set: Box[], layer: string, point: string): number {
    const stackOf = (list: Float32Array[]) => {
      const data = new Float32Array(n * per);
      list.forEach((d, i) => data.set(d, i * per));
      return { shape: [n, 1, 16, 16], data };
    };
    const a = m.forwardSync(stackOf(images.map((t) => t.data))).activation(layer, point).data;
    const occluded = images.map((t, i) => {
      const d = t.data.slice();
      for (let y = set[i].y0; y < set[i].y1; y++) for (let x = set[i].x0; x < set[i].x1; x++) d[y * 16 + x] = 0;
      return d;
    });
    const b = m.forwardSync(stackOf(occluded)).activation(layer, point).data;
    const dims = a.length / n;
    const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);
    let delta = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        for (let k = 0; k < dims; k++) {
          if (sign(a[i * dims + k] - b[i * dims + k]) !== sign(a[j * dims + k] - b[j * dims + k])) delta += 1;
        }
      }
    }
    return delta;
  }

  test('Delta per layer for the part boxes and every random trial equals the direct computation', async () => {
    const m = await model();
    const progress: number[] = [];
    const r = await correspondence(m, images, boxes, {
      layers: ['conv1', 'conv2:pool', 'fc3'], random: 3, seed: 9, batch: n, onProgress: (f) => progress.push(f),
    });
    expect(progress[progress.length - 1]).toBe(1);
    expect(r.rows.map((row) => `${row.layer} ${row.point}`)).toEqual(['conv1 relu', 'conv2 pool', 'fc3 relu']);
    expect(r.randomBoxes).toHaveLength(3);
    const ref = await model();
    r.rows.forEach((row) => {
      const part = direct(ref, boxes, row.layer, row.point);
      expect(row.part.delta).toBe(part);
      expect(row.part.pairs).toBe(12);
      const trials = r.randomBoxes.map((set) => direct(ref, set, row.layer, row.point));
      const mean = trials.reduce((a, b) => a + b, 0) / trials.length;
      expect(row.random!.delta).toBeCloseTo(mean, 9);
      expect(row.random!.trials).toBe(3);
      console.log(`${row.layer} ${row.point}: part Delta ${part}, random ${trials.join(', ')}`);
    });
    // conv1 units far from every box are unchanged: e = 0 exactly, so many signs are 0 and match.
    expect(r.rows[0].part.mean).toBeLessThan(0.5);
    const table = correspondenceTable(r);
    expect(table.split('\n')).toHaveLength(2 + 3);
    expect(table).toMatch(/conv2 pool/);
    expect(r.signOfZero).toMatch(/sign\(0\) = 0/);
    expect(JSON.parse(JSON.stringify(r)).rows[0].part.delta).toBe(r.rows[0].part.delta);
  });

  test('the same seed gives the same control; batching does not change the part scores', async () => {
    const m = await model();
    const a = await correspondence(m, images, boxes, { layers: ['conv2'], random: 2, seed: 4, batch: 3 });
    const b = await correspondence(m, images, boxes, { layers: ['conv2'], random: 2, seed: 4, batch: 1 });
    expect(a.randomBoxes).toEqual(b.randomBoxes);
    expect(a.rows[0].part.delta).toBe(b.rows[0].part.delta);
    const c = await correspondence(m, images, boxes, { layers: ['conv2'], random: 0 });
    expect(c.rows[0].random).toBeNull();
  });

  test('bad input is refused with an ArgumentError', async () => {
    const m = await model();
    await expect(correspondence(m, images, boxes.slice(1))).rejects.toThrow(/one box per image/);
    await expect(correspondence(m, images.slice(0, 1), boxes.slice(0, 1))).rejects.toThrow(/at least 2 images/);
    await expect(correspondence(m, images, [...boxes.slice(1), { y0: 0, x0: 0, y1: 17, x1: 2 }])).rejects.toThrow(/box 3/);
    await expect(correspondence(m, images, boxes, { random: -1 })).rejects.toThrow(ArgumentError);
    await expect(correspondence(m, images, boxes, { fill: 'grey' as never })).rejects.toThrow(/fill/);
  });

  test('cancellation between batches', async () => {
    const m = await model();
    const stop = new AbortController();
    const run = correspondence(m, images, boxes, { batch: 2, signal: stop.signal, onProgress: (f) => { if (f > 0) stop.abort(); } });
    await expect(run).rejects.toThrow(AbortError);
  });
});
