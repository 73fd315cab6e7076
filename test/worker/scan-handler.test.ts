// The worker's 'scan' request, called directly with a fake host context (the shipped zfnet-mini
// and its 20 sample PNGs, decoded in Node): its units, pictures and index must be the engine's
// scanDataset / scanSheet / scanIndex of the same images; images are decoded lazily (every image
// once, and again only those holding a kept unit); bad requests fail before any work with a
// typed error naming the value at fault; cancelling stops it.
import { beforeAll, describe, expect, test } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  AbortError, ArgumentError, ImageDecodeError, Model, loadModel, scanDataset, scanIndex, scanSheet,
  type Network, type Pixels,
} from '../../src/index.js';
import { decodeImage } from '../../src/io/image-node.js';
import { conv } from '../../src/models/architectures.js';
import type { AnalysisContext, NamedImage } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { MAX_SCAN_IMAGES, scanHandler, type ScanRequest } from '../../src/worker/handlers/scan.js';

const samplesDir = fileURLToPath(new URL('../../models/samples/', import.meta.url));
const files = readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort();
const decoded = new Map<string, Pixels>(files.map((f) => [f, decodeImage(readFileSync(samplesDir + f), f)]));
const images: NamedImage[] = files.map((f) => ({ source: `samples/${f}`, name: f }));

let model: Model;
beforeAll(async () => { model = await loadModel('zfnet-mini'); });

/** What the host gives a handler; `decode` reads the samples by their URL and counts every call. */
function fakeContext(m: Model = model, signal = new AbortController().signal) {
  const decodes: string[] = [];
  const progress: number[] = [];
  const context: AnalysisContext = {
    model: m,
    // The handler does not read it; the host's description of the model is not needed here.
    info: { name: m.network.name } as ModelInfo,
    signal,
    progress: (f) => progress.push(f),
    decode: async (source, name) => {
      decodes.push(name);
      if (typeof source !== 'string') throw new Error(`the test decodes URLs only, got ${typeof source}`);
      const pixels = decoded.get(source.replace('samples/', ''));
      if (!pixels) throw new Error('not a PNG: bad bytes');
      return pixels;
    },
    loadOther: () => Promise.reject(new Error('not used')),
    checkpoint: async () => { if (signal.aborted) throw new AbortError('cancelled'); },
  };
  return { context, decodes, progress };
}

const sampleImages = () => files.map((f) => ({ name: f, pixels: decoded.get(f)! }));
const request = (r: Omit<ScanRequest, 'type' | 'images'> & { images?: unknown } = {}) =>
  ({ type: 'scan', images, ...r }) as ScanRequest;

describe('scan handler', () => {
  test('defaults: conv5, maps 0-15, top 9; units, blocks, sheet and index are the engine\'s', async () => {
    const { context, decodes, progress } = fakeContext();
    const r = await scanHandler(context, request());
    expect([r.layer, r.point, r.shape, r.images, r.top, r.mode]).toEqual(['conv5', 'relu', [48, 7, 7], 20, 9, 'deconvnet']);
    expect(r.maps.map((m) => m.map)).toEqual(Array.from({ length: 16 }, (_, i) => i));

    const want = await scanDataset(model, sampleImages(), { layers: ['conv5'], maps: r.maps.map((m) => m.map), top: 9, workers: 1 });
    const layer = want.layers[0];
    r.maps.forEach((m, k) => {
      const units = layer.maps[k].units.map((u) => ({ value: u.value, image: u.image, name: u.name, y: u.y, x: u.x, box: u.box }));
      expect(m.units, `map ${m.map}`).toEqual(units);
      expect(m.units.length).toBe(9);
      const block = scanSheet(want, layer, { maps: [m.map] });
      expect([m.block.width, m.block.height]).toEqual([block.width, block.height]);
      expect(Buffer.from(m.block.data).equals(Buffer.from(block.data)), `map ${m.map}'s block`).toBe(true);
    });
    const sheet = scanSheet(want, layer, { maps: r.maps.map((m) => m.map) });
    expect([r.sheet.width, r.sheet.height]).toEqual([sheet.width, sheet.height]);
    expect(Buffer.from(r.sheet.data).equals(Buffer.from(sheet.data))).toBe(true);
    expect(JSON.parse(JSON.stringify(r.index))).toEqual(JSON.parse(JSON.stringify(scanIndex(want))));

    // Every image once for the scan, then again each image that holds a kept unit.
    const holding = new Set(r.maps.flatMap((m) => m.units.map((u) => u.name)));
    expect(decodes.length).toBe(20 + holding.size);
    // Progress over both phases: rises, ends at 1, and the scan phase alone does not reach it.
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
    expect(progress.at(-1)).toBeCloseTo(1, 6);
    expect(progress.filter((p) => p < 0.999).length).toBeGreaterThanOrEqual(20);
    console.log(`zfnet-mini conv5, 16 maps, 20 images: ${r.ms.toFixed(0)} ms; sheet ${r.sheet.width}x${r.sheet.height}`);
  });

  test('chosen layer, maps (in the order asked), top and mode', async () => {
    const { context, decodes } = fakeContext();
    const maps = [63, 5, 0];
    const r = await scanHandler(context, request({ layer: 'conv2', maps, top: 4, mode: 'guided' }));
    // Lazy: the projections decode only the (at most 12) images holding kept units, not all 20 again.
    const holding = new Set(r.maps.flatMap((m) => m.units.map((u) => u.name)));
    expect(holding.size).toBeLessThanOrEqual(12);
    expect(decodes.length).toBe(20 + holding.size);
    expect([r.layer, r.shape, r.top, r.mode]).toEqual(['conv2', [64, 14, 14], 4, 'guided']);
    expect(r.maps.map((m) => m.map)).toEqual(maps);
    const want = await scanDataset(model, sampleImages(), { layers: ['conv2'], maps, top: 4, mode: 'guided', workers: 1 });
    r.maps.forEach((m, k) => {
      expect(m.units).toEqual(want.layers[0].maps[k].units.map((u) => ({ value: u.value, image: u.image, name: u.name, y: u.y, x: u.x, box: u.box })));
    });
    // Guided projections differ from the deconvnet's: the mode reached the projections.
    const deconv = await scanHandler(fakeContext().context, request({ layer: 'conv2', maps, top: 4 }));
    expect(Buffer.from(deconv.sheet.data).equals(Buffer.from(r.sheet.data))).toBe(false);
  });

  test('a layer with fewer than 16 maps defaults to all of them', async () => {
    const small = await Model.create({
      name: 'three-maps', input: [1, 12, 12], preprocess: 'grayscale', ops: [conv(3, 3, 1, 1), { kind: 'relu' }],
    });
    small.initWeights(3);
    const r = await scanHandler(fakeContext(small).context, request({ images: images.slice(0, 5) }));
    expect([r.layer, r.maps.map((m) => m.map), r.images]).toEqual(['conv1', [0, 1, 2], 5]);
    expect(r.maps.every((m) => m.units.length === 5)).toBe(true);
  });

  test('bad requests fail before any image is decoded, naming the value at fault', async () => {
    const cases: [Parameters<typeof request>[0], RegExp][] = [
      [{ images: [] }, /at least one image/],
      [{ images: 'a.png' }, /images must be a list of \{ source, name \}, got string/],
      [{ images: Array.from({ length: MAX_SCAN_IMAGES + 1 }, (_, i) => ({ source: `x/${i}.png`, name: `${i}.png` })) },
        /at most 10000 images.*got 10001/],
      [{ images: [{ name: 'lost.png' }] }, /image 0 \(lost\.png\) has no source/],
      [{ layer: 'conv9' }, /unknown layer 'conv9'.*conv1, conv2, conv3, conv4, conv5/],
      [{ layer: 'fc6' }, /fc6 relu has no spatial feature maps.*conv1, conv2, conv3, conv4, conv5/],
      [{ layer: 'conv5', maps: [48] }, /map 48 is out of range: conv5 has 48 maps \(0-47\)/],
      [{ layer: 'conv1', maps: [0, -1] }, /map -1 is out of range: conv1 has 32 maps/],
      [{ maps: [1.5] }, /map 1.5 is out of range/],
      [{ maps: [] }, /at least one map of conv5/],
      [{ maps: [3, 3] }, /map 3 of conv5 is listed twice/],
      [{ top: 0 }, /top must be a whole number from 1 to 16, got 0/],
      [{ top: 17 }, /got 17/],
      [{ top: 2.5 }, /got 2.5/],
      [{ mode: 'saliency' as never }, /mode 'saliency' is not one of deconvnet/],
    ];
    for (const [r, message] of cases) {
      const { context, decodes } = fakeContext();
      const error = await scanHandler(context, request(r)).then(() => undefined, (e: unknown) => e);
      expect(error, String(message)).toBeInstanceOf(ArgumentError);
      expect((error as Error).message).toMatch(message);
      expect(decodes).toEqual([]);
    }
  });

  test('a sheet too large to send is refused up front, saying how many maps fit', async () => {
    // A 1024 x 1024 input with 128 px receptive fields: 64 maps at top 16 would be ~36 M pixels.
    const net: Network = { name: 'wide-fields', input: [1, 1024, 1024], preprocess: 'grayscale', ops: [conv(64, 128, 64), { kind: 'relu' }] };
    const big = await Model.create(net);
    big.initWeights(1);
    const { context, decodes } = fakeContext(big);
    const error = await scanHandler(context, request({ maps: Array.from({ length: 64 }, (_, i) => i), top: 16 }))
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(/sheet of 64 maps of conv1 at top 16 would be about \d+ million pixels.*at most (\d+) maps/);
    const fit = Number((error as Error).message.match(/at most (\d+) maps/)![1]);
    expect(fit).toBeGreaterThan(1);
    expect(fit).toBeLessThan(64);
    expect(decodes).toEqual([]);
  });

  test('an image that cannot be decoded is named', async () => {
    const { context } = fakeContext();
    const list = [...images.slice(0, 3), { source: 'samples/notes.txt', name: 'holiday/notes.txt' }, ...images.slice(3, 6)];
    const error = await scanHandler(context, request({ images: list })).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toMatch(/^holiday\/notes\.txt could not be read as an image: not a PNG: bad bytes$/);
  });

  test('cancelling stops the scan with an AbortError', async () => {
    const controller = new AbortController();
    const { context, progress, decodes } = fakeContext(model, controller.signal);
    const progressOf = context.progress;
    const cancelling: AnalysisContext = { ...context, progress: (f) => { progressOf(f); if (progress.length === 1) controller.abort(); } };
    const error = await scanHandler(cancelling, request()).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    // The first batch (8 images) was reported, then it stopped: not all 20 images, no projections.
    expect(decodes.length).toBeLessThan(20);
  });
});
