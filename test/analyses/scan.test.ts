// The data-set scan (paper, Fig. 2): its kept top-k per map must equal a brute-force sort of
// every image's activations (one forward pass per image), ties broken the documented way
// (stronger first, then the earlier image, then the earlier position); the projections must be
// the deconvnet's of that one unit, cropped to its receptive box, beside the image's patch.
import { describe, expect, test } from 'vitest';
import {
  Model, scanDataset, projectScan, scanSheet, scanIndex, AbortError, ArgumentError,
  type Network, type ScanImage, type ScanResult,
} from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { Mulberry32 } from '../../src/models/init.js';
import { TopK } from '../../src/analyses/scan-task.js';

/** Small ZFNet-like net: odd input, ceil pools, LRN, one-sided pads. */
function net(): Network {
  return {
    name: 'scan-net', input: [3, 23, 19], preprocess: 'none',
    ops: [
      conv(6, 5, 2, 1), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(),
      conv(8, 3, 1, [1, 0, 1, 1]), { kind: 'relu' },
      conv(7, 3, 1, 1), { kind: 'relu' }, maxpool(2, 2, { ceil: true }),
      { kind: 'flatten' }, dense(5), { kind: 'relu' }, dense(3), { kind: 'softmax' },
    ],
  };
}

async function modelOf(seed = 1): Promise<Model> {
  const model = await Model.create(net());
  model.initWeights(seed);
  return model;
}

/** 23 images; image 7 repeats image 2 and image 12 repeats image 7 (exact ties); image 9 is all zero (ties inside one map). */
function images(count = 23): ScanImage[] {
  const n = 3 * 23 * 19;
  const list: ScanImage[] = [];
  for (let i = 0; i < count; i++) {
    let data = new Mulberry32(100 + i).fillUniform(new Float32Array(n), 1);
    if (i === 7 || i === 12) data = (list[2].tensor!.data).slice();
    if (i === 9) data = new Float32Array(n);
    list.push({ name: `img-${i}`, tensor: { shape: [1, 3, 23, 19], data } });
  }
  return list;
}

interface Entry { value: number; image: number; pos: number }

/** Every image alone through the network, every position, sorted; per image only its max when distinct. */
function bruteForce(model: Model, list: ScanImage[], layer: string, map: number, top: number, distinct: boolean): Entry[] {
  const all: Entry[] = [];
  list.forEach((item, image) => {
    const run = model.forwardSync(item.tensor!);
    const a = run.activation(layer);
    const plane = a.shape[2] * a.shape[3];
    const values = a.data.subarray(map * plane, (map + 1) * plane);
    if (distinct) {
      let best = 0;
      values.forEach((v, p) => { if (v > values[best]) best = p; });
      all.push({ value: values[best], image, pos: best });
    } else {
      values.forEach((value, pos) => all.push({ value, image, pos }));
    }
  });
  all.sort((a, b) => b.value - a.value || a.image - b.image || a.pos - b.pos);
  return all.slice(0, top);
}

function expectTopK(model: Model, result: ScanResult, list: ScanImage[], distinct: boolean): void {
  for (const layer of result.layers) {
    const w = layer.shape[2];
    for (const m of layer.maps) {
      const want = bruteForce(model, list, layer.layer, m.map, result.top, distinct);
      const got = m.units.map((u) => ({ value: u.value, image: u.image, pos: u.y * w + u.x }));
      expect(got, `${layer.layer} map ${m.map}`).toEqual(want);
      for (const u of m.units) expect(u.name).toBe(`img-${u.image}`);
    }
  }
}

describe('TopK', () => {
  test('keeps the k strongest, in the total order, whatever the order offered', () => {
    const entries: [number, number, number][] = [];
    const r = new Mulberry32(5);
    for (let i = 0; i < 300; i++) entries.push([Math.round(r.next() * 20) / 4, Math.floor(r.next() * 30), Math.floor(r.next() * 9)]);
    const want = [...entries].sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]).slice(0, 9);
    for (let trial = 0; trial < 5; trial++) {
      const shuffled = [...entries].sort(() => r.next() - 0.5);
      const top = new TopK(9);
      for (const [v, i, p] of shuffled) top.offer(v, i, p);
      expect(top.values.map((v, k) => [v, top.images[k], top.positions[k]])).toEqual(want);
    }
  });
});

describe('scanDataset: the kept top-k equals a brute-force sort', () => {
  test('distinct images (the default): two layers, every map, ties between identical images', async () => {
    const model = await modelOf();
    const list = images();
    const result = await scanDataset(model, list, { layers: ['conv2', 'conv3'], workers: 0, batch: 4, project: false });
    expect(result.images).toBe(23);
    expect(result.layers.map((l) => l.maps.length)).toEqual([8, 7]);
    expectTopK(model, result, list, true);
    // The repeated image ties with its first occurrence: the earlier one ranks first.
    const conv2 = result.layers[0];
    const repeats = conv2.maps.flatMap((m) => m.units.map((u) => u.image)).filter((i) => i === 2 || i === 7 || i === 12);
    expect(repeats.length).toBeGreaterThan(0);
  });

  test('every position ranked (distinct: false), top 5, chosen maps, any batch size', async () => {
    const model = await modelOf(2);
    const list = images(17);
    for (const batch of [1, 5, 64]) {
      const result = await scanDataset(model, list, {
        layers: ['conv3'], maps: [6, 0, 3], top: 5, distinct: false, workers: 0, batch, project: false,
      });
      expect(result.layers[0].maps.map((m) => m.map)).toEqual([6, 0, 3]);
      expectTopK(model, result, list, false);
    }
  });

  test('a point other than relu, fewer images than top', async () => {
    const model = await modelOf(3);
    const list = images(4);
    const result = await scanDataset(model, list, { layers: ['conv1'], point: 'pool', workers: 0, project: false });
    expect(result.layers[0].point).toBe('pool');
    for (const m of result.layers[0].maps) expect(m.units).toHaveLength(4);
    const w = result.layers[0].shape[2];
    for (const m of result.layers[0].maps) {
      const want = list.map((item, image) => {
        const a = model.forwardSync(item.tensor!).activation('conv1', 'pool');
        const plane = a.shape[2] * a.shape[3];
        const v = a.data.subarray(m.map * plane, (m.map + 1) * plane);
        let best = 0;
        v.forEach((x, p) => { if (x > v[best]) best = p; });
        return { value: v[best], image, pos: best };
      }).sort((a, b) => b.value - a.value || a.image - b.image);
      expect(m.units.map((u) => ({ value: u.value, image: u.image, pos: u.y * w + u.x }))).toEqual(want);
    }
  });
});

describe('scanDataset: projections and patches', () => {
  test("each kept unit's projection is the deconvnet's for that position, cropped to its box; the patch is the image's", async () => {
    const model = await modelOf(4);
    const list = images(11);
    const result = await scanDataset(model, list, { layers: ['conv3'], maps: [1, 4], workers: 0 });
    for (const m of result.layers[0].maps) {
      expect(m.units).toHaveLength(9);
      for (const u of m.units) {
        const run = model.forwardSync(list[u.image].tensor!);
        const p = run.projectSync({ layer: 'conv3', map: u.map, keep: { y: u.y, x: u.x } });
        expect(p.units[0].value).toBe(u.value);
        expect(u.box).toEqual(p.units[0].box);
        const bh = u.box.y1 - u.box.y0, bw = u.box.x1 - u.box.x0;
        expect(u.projection!.length).toBe(3 * bh * bw);
        const data = list[u.image].tensor!.data;
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < bh; y++) {
            for (let x = 0; x < bw; x++) {
              const full = (c * 23 + u.box.y0 + y) * 19 + u.box.x0 + x;
              expect(u.projection![(c * bh + y) * bw + x]).toBe(p.data[full]);
              expect(u.patch![(c * bh + y) * bw + x]).toBe(data[full]);
            }
          }
        }
      }
    }
    // The paper's sheet: per map a 3x3 block of projections beside a 3x3 block of patches.
    const sheet = scanSheet(result, 'conv3', { columns: 2 });
    expect(sheet.width).toBeGreaterThan(4 * 3);
    expect(sheet.data.length).toBe(sheet.width * sheet.height * 4);
    const index = JSON.parse(JSON.stringify(scanIndex(result)));
    expect(index.layers[0].maps[0].units[0]).toEqual({
      value: result.layers[0].maps[0].units[0].value, image: result.layers[0].maps[0].units[0].image,
      name: result.layers[0].maps[0].units[0].name, y: result.layers[0].maps[0].units[0].y,
      x: result.layers[0].maps[0].units[0].x, box: result.layers[0].maps[0].units[0].box,
    });
  });

  test('sources: a function returning an async generator, lazy loaders; projectScan a few maps later', async () => {
    const model = await modelOf(5);
    const list = images(9);
    let loads = 0;
    const source = async function* () {
      for (const item of list) yield { name: item.name, load: async () => { loads++; return item.tensor!; } };
    };
    const result = await scanDataset(model, source, { layers: ['conv2'], workers: 0, project: false });
    expect(loads).toBe(9);
    expect(result.layers[0].maps[0].units[0].projection).toBeUndefined();
    await projectScan(model, source, result, { maps: [3] });
    // Only images holding kept units of map 3 were loaded again.
    const needed = new Set(result.layers[0].maps[3].units.map((u) => u.image));
    expect(loads).toBe(9 + needed.size);
    expect(result.layers[0].maps[3].units.every((u) => u.projection && u.patch)).toBe(true);
    expect(result.layers[0].maps[2].units.every((u) => u.projection === undefined)).toBe(true);
    expectTopK(model, result, list, true);
  });

  test('a one-shot generator cannot be read twice: a clear error; bad options; cancellation', async () => {
    const model = await modelOf(6);
    const list = images(6);
    const once = (function* () { yield* list; })();
    await expect(scanDataset(model, once, { layers: ['conv2'], workers: 0 })).rejects.toThrow(/images ran out before the projections/);
    await expect(scanDataset(model, list, { layers: ['conv9'], workers: 0 })).rejects.toThrow(/unknown layer 'conv9'/);
    await expect(scanDataset(model, list, { layers: ['conv2'], maps: [8], workers: 0 })).rejects.toThrow(/map 8 is out of range/);
    await expect(scanDataset(model, list, { top: 0, workers: 0 })).rejects.toThrow(ArgumentError);
    await expect(scanDataset(model, [{ name: 'bad' }], { workers: 0 })).rejects.toThrow(/bad: an image needs/);
    await expect(scanDataset(model, [{ name: 'wrong', tensor: { shape: [1, 3, 5, 5], data: new Float32Array(75) } }], { workers: 0 }))
      .rejects.toThrow(/wrong: the tensor has shape \[1, 3, 5, 5\]/);
    await expect(scanDataset(model, list, { workers: 0, signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    const controller = new AbortController();
    await expect(scanDataset(model, images(40), {
      workers: 0, batch: 2, signal: controller.signal,
      onProgress: (p) => { if (p.done >= 4) controller.abort(); },
    })).rejects.toThrow(AbortError);
  });
});

// Workers load the built engine (dist/index.js: `npm test` builds it first).
describe('scanDataset on workers', () => {
  test('2 workers keep the same units and projections as this thread', async () => {
    const model = await modelOf(7);
    const list = images(21);
    const options = { layers: ['conv2', 'conv3'], maps: [0, 2, 5], batch: 3 };
    const here = await scanDataset(model, list, { ...options, workers: 0 });
    const seen: string[] = [];
    const there = await scanDataset(model, list, { ...options, workers: 2, onProgress: (p) => seen.push(p.phase) });
    expect(there.layers).toEqual(here.layers);
    expect(seen).toContain('scan');
    expect(seen).toContain('project');
    expectTopK(model, there, list, true);
  });
});
