// The worker's 'evolution' handler (Fig. 4) in Node, with a context built from the real engine:
// zfnet-mini's saved epochs and its final weights. Every cell's strongest activation (value,
// image, position) equals a brute-force maximum over separate batch-1 forward passes of that
// snapshot; the pictures' geometry follows the cells' receptive boxes; 'final' is the page's
// model itself (no reload); snapshot files; progress and cancellation; and the errors a page can
// cause, each naming the value at fault.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { AbortError, ArgumentError } from '../../src/errors.js';
import { Model } from '../../src/engine/model.js';
import { conv } from '../../src/models/architectures.js';
import { loadModel } from '../../src/models/load.js';
import { decodeImage } from '../../src/io/image-node.js';
import type { Pixels } from '../../src/io/preprocess.js';
import type { AnalysisContext, NamedImage } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { evolutionHandler, type EvolutionRequest } from '../../src/worker/handlers/evolution.js';

const SAMPLES = new URL('../../models/samples/', import.meta.url);
const IMAGES: NamedImage[] = ['ankle-boot-1', 'bag-1', 'sneaker-1', 'trouser-1', 'coat-2', 'shirt-2']
  .map((n) => ({ source: new URL(`${n}.png`, SAMPLES).href, name: `${n}.png` }));
const pixelsOf = (im: NamedImage): Pixels => decodeImage(new Uint8Array(readFileSync(new URL(im.source as string))), im.name);

// The manifest read here, apart from the engine: which epochs are saved, which is the final file.
const manifest = JSON.parse(readFileSync(new URL('../../models/zfnet-mini/manifest.json', import.meta.url), 'utf8')) as
  { files: { final: string; epochs: Record<string, string> } };
const SAVED = Object.keys(manifest.files.epochs).map(Number).sort((a, b) => a - b);
const OFFERED = SAVED.filter((e) => manifest.files.epochs[e] !== manifest.files.final);

let mini: Model;
beforeAll(async () => { mini = await loadModel('zfnet-mini'); });

interface Fake { context: AnalysisContext; progress: number[]; loads: { source: string | Blob; epoch?: number }[]; stop: AbortController }

/** A context as the worker's host makes one: Node's PNG decoder, loadModel for other models. */
function fakeContext(model: Model, source = 'zfnet-mini', other?: (source: string | Blob) => Promise<Model>): Fake {
  const stop = new AbortController();
  const progress: number[] = [];
  const loads: Fake['loads'] = [];
  const context: AnalysisContext = {
    model, info: { name: model.network.name, source } as ModelInfo, signal: stop.signal,
    progress: (f) => progress.push(f),
    decode: async (src, name) => decodeImage(new Uint8Array(readFileSync(new URL(src as string))), name),
    loadOther: async (src, options = {}) => {
      loads.push({ source: src, epoch: options.epoch });
      const m = other ? await other(src) : await loadModel(src as string, { epoch: options.epoch, signal: stop.signal });
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

/** The strongest activation of one map over the images, each forwarded alone (first wins ties). */
function bruteForce(model: Model, images: Pixels[], layer: string, point: string, map: number) {
  let value = -Infinity, image = -1, y = -1, x = -1;
  images.forEach((px, i) => {
    const a = model.forwardSync(model.preprocess(px)).activation(layer, point);
    const [, , h, w] = a.shape.length === 4 ? a.shape : [1, a.shape[1], 1, 1];
    a.data.subarray(map * h * w, (map + 1) * h * w).forEach((v, p) => {
      if (v > value) { value = v; image = i; y = Math.floor(p / w); x = p % w; }
    });
  });
  return { value, image, y, x };
}

describe('zfnet-mini epochs', () => {
  test('every cell is the brute-force strongest activation of its snapshot; pictures follow the boxes', async () => {
    const fake = fakeContext(mini);
    const features = [{ layer: 'conv1', map: 3 }, { layer: 'conv3', map: 5 }, { layer: 'conv5', point: 'pool', map: 2 }];
    const request: EvolutionRequest = { type: 'evolution', images: IMAGES, features, epochs: [1, OFFERED.at(-1)!, 'final'] };
    const t0 = performance.now();
    const r = await evolutionHandler(fake.context, request);
    console.log(`evolution: ${IMAGES.length} images x 3 features x 3 snapshots in ${(performance.now() - t0).toFixed(0)} ms ` +
      `(worker ms ${r.ms.toFixed(0)})`);

    expect(r.snapshots).toEqual(['epoch 1', `epoch ${OFFERED.at(-1)}`, 'final']);
    // 'final' is the page's model: only the two epochs were loaded.
    expect(fake.loads).toEqual([{ source: 'zfnet-mini', epoch: 1 }, { source: 'zfnet-mini', epoch: OFFERED.at(-1) }]);
    expect(r.features).toEqual([
      { layer: 'conv1', point: 'relu', map: 3 }, { layer: 'conv3', point: 'relu', map: 5 }, { layer: 'conv5', point: 'pool', map: 2 },
    ]);
    expect(r.images).toEqual(IMAGES.map((im) => im.name));
    expect(r.available).toEqual(OFFERED);

    const pixels = IMAGES.map(pixelsOf);
    const models = [await loadModel('zfnet-mini', { epoch: 1 }), await loadModel('zfnet-mini', { epoch: OFFERED.at(-1) }), mini];
    models.forEach((model, s) => {
      r.features.forEach((f, k) => {
        const want = bruteForce(model, pixels, f.layer, f.point, f.map);
        const cell = r.cells[k][s];
        expect(want.value).toBeGreaterThan(0);
        expect(Math.abs(cell.value - want.value)).toBeLessThan(1e-5 * Math.max(1, want.value));
        expect([cell.image, cell.y, cell.x]).toEqual([want.image, want.y, want.x]);
      });
    });
    // Training changed the features: each one's strongest activation differs between epoch 1 and final.
    r.cells.forEach((row) => expect(row[0].value).not.toBeCloseTo(row[2].value, 3));

    // Each picture is its cell's receptive box, enlarged by the row's one integer factor.
    r.rows.forEach((row, k) => {
      expect(row).toHaveLength(3);
      const boxes = r.cells[k].map((c) => [c.box.y1 - c.box.y0, c.box.x1 - c.box.x0]);
      const factor = row[0].height / boxes[0][0];
      expect(Number.isInteger(factor) && factor >= 1).toBe(true);
      row.forEach((pic, s) => expect([pic.height, pic.width]).toEqual([boxes[s][0] * factor, boxes[s][1] * factor]));
      expect(Math.max(...row.map((p) => Math.max(p.width, p.height)))).toBeGreaterThanOrEqual(48);
    });
    // The grid: 3 columns and 3 rows of the largest cell, 4 px apart.
    const cellW = Math.max(...r.rows.flat().map((p) => p.width)), cellH = Math.max(...r.rows.flat().map((p) => p.height));
    expect([r.grid.width, r.grid.height]).toEqual([3 * cellW + 2 * 4, 3 * cellH + 2 * 4]);

    expect(fake.progress.every((p, i) => i === 0 || p >= fake.progress[i - 1])).toBe(true);
    expect(fake.progress.at(-1)).toBe(1);
    expect(fake.progress.filter((p) => p > 0.1 && p < 0.9).length).toBeGreaterThan(2);
    // Plain data a worker can post.
    expect(() => structuredClone(r)).not.toThrow();
  });

  test('by default: every saved epoch (the final one once), then final', async () => {
    const fake = fakeContext(mini);
    const r = await evolutionHandler(fake.context, { type: 'evolution', images: IMAGES.slice(0, 2), features: [{ layer: 'conv2', map: 0 }] });
    expect(r.snapshots).toEqual([...OFFERED.map((e) => `epoch ${e}`), 'final']);
    expect(fake.loads.map((l) => l.epoch)).toEqual(OFFERED);
    expect(r.finalEpoch).toBe(SAVED.find((e) => manifest.files.epochs[e] === manifest.files.final));
  });
});

/** A network of another input size, standing in for an ONNX snapshot of a different model. */
const small = () => Model.create({
  name: 'small', input: [1, 14, 14], preprocess: 'grayscale', ops: [conv(4, 3, 1, 1), { kind: 'relu' }],
});

describe('snapshot files', () => {
  test('loaded in order, labelled as given, each checked', async () => {
    const files = (s: string | Blob) => loadModel('zfnet-mini', { epoch: Number(/epoch-(\d+)/.exec(s as string)![1]) });
    const fake = fakeContext(mini, 'zfnet-mini', files);
    const r = await evolutionHandler(fake.context, {
      type: 'evolution', images: IMAGES.slice(0, 3), features: [{ layer: 'conv1', map: 0 }],
      snapshots: [{ source: 'epoch-2.onnx', label: 'two' }, { source: 'epoch-1.onnx', label: 'one' }],
    });
    expect(r.snapshots).toEqual(['two', 'one']);
    expect(fake.loads.map((l) => l.source)).toEqual(['epoch-2.onnx', 'epoch-1.onnx']);
    expect(r.available).toBeUndefined();
    const pixels = IMAGES.slice(0, 3).map(pixelsOf);
    const want = bruteForce(await loadModel('zfnet-mini', { epoch: 1 }), pixels, 'conv1', 'relu', 0);
    expect(r.cells[0][1].value).toBeCloseTo(want.value, 5);
  });

  test('a snapshot of another input shape, or without the map, is named', async () => {
    const other = (s: string | Blob) => (s === 'small.onnx' ? small() : loadModel('zfnet-mini'));
    const run = (map: number) => evolutionHandler(fakeContext(mini, 'mine.onnx', other).context, {
      type: 'evolution', images: IMAGES.slice(0, 2), features: [{ layer: 'conv1', map }],
      snapshots: [{ source: 'mine.onnx', label: 'mine' }, { source: 'small.onnx', label: 'small one' }],
    });
    await expect(run(3)).rejects.toThrow(/snapshot 'small one' takes \[1, 14, 14\] but the first takes \[1, 28, 28\]/);
    const e = await run(9).catch((x) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/snapshot 'small one': map 9 is out of range: conv1 relu of this snapshot has 4 maps \(0-3\)/);
  });
});

describe('errors name what is at fault', () => {
  const run = (request: Partial<EvolutionRequest>, source = 'zfnet-mini') => evolutionHandler(fakeContext(mini, source).context,
    { type: 'evolution', images: IMAGES.slice(0, 1), features: [{ layer: 'conv1', map: 0 }], ...request });

  test('epochs', async () => {
    const e = await run({ epochs: [1, 4] }).catch((x) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe(`zfnet-mini has no snapshot for epoch 4; saved epochs: ${SAVED.join(', ')} (or 'final')`);
    await expect(run({ epochs: [] })).rejects.toThrow(/epochs is empty/);
    await expect(run({ epochs: [2, 2] })).rejects.toThrow(/epoch 2 is listed twice/);
    await expect(run({ epochs: [1], snapshots: [{ source: 'a.onnx', label: 'a' }] })).rejects.toThrow(/epochs or snapshots, not both/);
  });

  test('epochs of a model that is not zfnet-mini', async () => {
    for (const request of [{ epochs: [1] }, {}]) {
      const e = await run(request, 'https://example.com/my-net.onnx').catch((x) => x);
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(/model is zfnet-mini \(https:\/\/example.com\/my-net.onnx\); give the snapshots as model files/);
    }
  });

  test('features and images', async () => {
    await expect(run({ features: [{ layer: 'conv2', map: 64 }] })).rejects.toThrow(
      /^map 64 is out of range: conv2 relu of zfnet-mini has 64 maps \(0-63\)$/);
    await expect(run({ features: [{ layer: 'conv9', map: 0 }] })).rejects.toThrow(/unknown layer 'conv9'/);
    await expect(run({ features: [{ layer: 'conv1', map: -1 }] })).rejects.toThrow(/feature 0 .*"map":-1/);
    await expect(run({ features: [] })).rejects.toThrow(/at least one feature/);
    await expect(run({ features: Array.from({ length: 33 }, () => ({ layer: 'conv1', map: 0 })) })).rejects.toThrow(/at most 32 features, got 33/);
    await expect(run({ images: [] })).rejects.toThrow(/at least one image/);
    await expect(run({ images: Array.from({ length: 257 }, () => IMAGES[0]) })).rejects.toThrow(/at most 256 images, got 257/);
    await expect(run({ snapshots: [{ source: 'a.onnx', label: ' ' }] })).rejects.toThrow(/snapshot 0 has no label/);
  });
});

test('cancelled while a snapshot is scanned', async () => {
  const fake = fakeContext(mini);
  const origin = fake.context.progress;
  (fake.context as { progress: (f: number) => void }).progress = (f) => { origin(f); if (f > 0.3) fake.stop.abort(); };
  const e = await evolutionHandler(fake.context, { type: 'evolution', images: IMAGES, features: [{ layer: 'conv1', map: 0 }], epochs: [1, 2, 3] })
    .catch((x) => x);
  expect(e).toBeInstanceOf(AbortError);
  expect(fake.progress.at(-1)).toBeLessThan(1);
  expect(fake.loads.length).toBeLessThan(3);
});
