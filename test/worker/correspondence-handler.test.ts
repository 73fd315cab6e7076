// The worker's 'correspondence' handler in Node, on the shipped zfnet-mini and its sample PNGs,
// with a hand-made AnalysisContext: refusals name the value at fault (and come before any image
// is decoded), the result equals correspondence() called directly, Delta for two images equals
// a direct computation (mask by hand, forward, subtract, compare signs), progress, cancel.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { AbortError, ArgumentError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { decodeImage } from '../../src/io/image-node.js';
import type { Model } from '../../src/engine/model.js';
import type { Box } from '../../src/graph/shapes.js';
import type { Pixels } from '../../src/io/preprocess.js';
import { correspondence, correspondenceTable } from '../../src/analyses/correspondence.js';
import type { AnalysisContext, NamedImage } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import {
  correspondenceHandler, DEFAULT_RANDOM_TRIALS, MAX_CORRESPONDENCE_IMAGES, type CorrespondenceRequest,
} from '../../src/worker/handlers/correspondence.js';

const SAMPLES = new URL('../../models/samples/', import.meta.url);
const shoe = (name: string): NamedImage => ({ source: new URL(`${name}.png`, SAMPLES).href, name: `${name}.png` });
const SHOES = ['ankle-boot-1', 'ankle-boot-2', 'sandal-1', 'sneaker-1'].map(shoe);
const pixelsOf = (im: NamedImage): Pixels => decodeImage(readFileSync(new URL(im.source as string)), im.name);

let model: Model;
beforeAll(async () => { model = await loadModel('zfnet-mini'); });

/** The worker host's context, minus the worker: file URLs are read from disk, pixels pass through. */
function fakeContext(options: { abortAfterProgress?: boolean } = {}) {
  const controller = new AbortController();
  const progress: number[] = [];
  const decoded: string[] = [];
  const context: AnalysisContext = {
    model, info: { input: model.network.input } as unknown as ModelInfo, signal: controller.signal,
    progress: (f) => { progress.push(f); if (options.abortAfterProgress && f > 0) controller.abort(); },
    decode: async (source, name) => {
      decoded.push(name);
      return typeof source === 'string' ? pixelsOf({ source, name }) : source as Pixels;
    },
    loadOther: () => { throw new Error('not used'); },
    checkpoint: async () => {
      await new Promise((r) => setTimeout(r, 0));
      if (controller.signal.aborted) throw new AbortError('cancelled');
    },
  };
  return { context, progress, decoded };
}

const request = (fields: Partial<CorrespondenceRequest>): CorrespondenceRequest =>
  ({ type: 'correspondence', images: SHOES, boxes: SHOES.map(() => ({ y0: 8, x0: 4, y1: 16, x1: 12 })), ...fields });

describe('refusals', () => {
  test.each([
    ['one image', { images: SHOES.slice(0, 1), boxes: [{ y0: 0, x0: 0, y1: 4, x1: 4 }] }, /at least 2 images, got 1/],
    ['too many images', { images: Array(MAX_CORRESPONDENCE_IMAGES + 1).fill(SHOES[0]), boxes: [] }, /at most 64 images, got 65/],
    ['a box short', { boxes: [{ y0: 0, x0: 0, y1: 4, x1: 4 }] }, /one box per image: 4 image\(s\), 1 box\(es\)/],
    ['no boxes', { boxes: undefined as unknown as Box[] }, /4 image\(s\), 0 box\(es\)/],
    ['a box past the edge', {
      boxes: [...SHOES.slice(0, 2).map(() => ({ y0: 0, x0: 0, y1: 4, x1: 4 })), { y0: 20, x0: 0, y1: 29, x1: 4 }, { y0: 0, x0: 0, y1: 4, x1: 4 }],
    }, /the box of image 2 \(sandal-1\.png\) \{ y0: 20, x0: 0, y1: 29, x1: 4 \} is not a non-empty box inside the 28 x 28 input/],
    ['an empty box', { boxes: SHOES.map(() => ({ y0: 5, x0: 5, y1: 5, x1: 9 })) }, /image 0 \(ankle-boot-1\.png\).*y1: 5/],
    ['a fractional box', { boxes: SHOES.map(() => ({ y0: 0.5, x0: 0, y1: 4, x1: 4 })) }, /y0: 0\.5/],
    ['random < 0', { random: -1 }, /random must be a whole number of trials from 0 to 100, got -1/],
    ['random too many', { random: 101 }, /got 101/],
    ['fill', { fill: 'grey' as never }, /fill must be 'zero' or 'mean', got "grey"/],
    ['layers not a list', { layers: 'conv5' as never }, /layers must be a list of layer names.*"conv5"/],
    ['an image without a source', { images: [SHOES[0], { name: 'x.png' } as NamedImage, SHOES[2], SHOES[3]] }, /image 1 \(x\.png\) has no source/],
  ])('%s', async (_what, fields, message) => {
    const { context, decoded } = fakeContext();
    const run = correspondenceHandler(context, request(fields));
    await expect(run).rejects.toThrow(ArgumentError);
    await expect(run).rejects.toThrow(message);
    // Refused before a single image is decoded.
    expect(decoded).toEqual([]);
  });

  test('an unknown layer and a bad seed are refused by the analysis, as ArgumentErrors', async () => {
    await expect(correspondenceHandler(fakeContext().context, request({ layers: ['conv9'] }))).rejects.toThrow(/conv9/);
    await expect(correspondenceHandler(fakeContext().context, request({ seed: -2 }))).rejects.toThrow(/seed must be an integer >= 0, got -2/);
    await expect(correspondenceHandler(fakeContext().context, request({ seed: -2 }))).rejects.toThrow(ArgumentError);
  });
});

describe('results', () => {
  test('equal correspondence() called directly; the table, names and progress', async () => {
    const boxes: Box[] = [{ y0: 18, x0: 2, y1: 26, x1: 10 }, { y0: 17, x0: 3, y1: 25, x1: 11 },
      { y0: 16, x0: 1, y1: 24, x1: 9 }, { y0: 15, x0: 2, y1: 23, x1: 10 }];
    const { context, progress, decoded } = fakeContext();
    const t0 = performance.now();
    const message = await correspondenceHandler(context, request({ boxes, layers: ['conv1', 'conv5', 'fc7:conv'], random: 3, seed: 7, fill: 'mean' }));
    const ms = performance.now() - t0;
    const direct = await correspondence(model, SHOES.map(pixelsOf), boxes, { layers: ['conv1', 'conv5', 'fc7:conv'], random: 3, seed: 7, fill: 'mean' });
    expect(message.result).toEqual(direct);
    expect(message.table).toBe(correspondenceTable(direct));
    expect(message.names).toEqual(SHOES.map((s) => s.name));
    expect(decoded).toEqual(message.names);
    expect(message.result.rows.map((r) => `${r.layer} ${r.point}`)).toEqual(['conv1 relu', 'conv5 relu', 'fc7 conv']);
    expect(message.result.randomBoxes).toHaveLength(3);
    expect(message.ms).toBeGreaterThan(0);
    // Structured-clone safe: the message is plain data.
    expect(structuredClone(message)).toEqual(message);
    // Decoding reports up to 0.1, the analysis the rest, never backwards, ending at 1.
    expect(progress[0]).toBeCloseTo(0.025, 9);
    expect(progress[progress.length - 1]).toBe(1);
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
    console.log(`correspondence handler, 4 images x 3 layers x (1 + 3 trials) on zfnet-mini: ${ms.toFixed(0)} ms\n${message.table}`);
  });

  test('defaults: the engine\'s layers (conv5 and fc7), DEFAULT_RANDOM_TRIALS trials, seed 1, fill zero; pixels as sources', async () => {
    const images = SHOES.slice(0, 2).map((s) => ({ source: pixelsOf(s), name: s.name }));
    const message = await correspondenceHandler(fakeContext().context, {
      type: 'correspondence', images, boxes: [{ y0: 7, x0: 7, y1: 21, x1: 21 }, { y0: 7, x0: 7, y1: 21, x1: 21 }],
    });
    expect(message.result.rows.map((r) => r.layer)).toEqual(['conv5', 'fc7']);
    expect(message.result.randomBoxes).toHaveLength(DEFAULT_RANDOM_TRIALS);
    expect(message.result.rows[0].random!.trials).toBe(DEFAULT_RANDOM_TRIALS);
    expect([message.result.seed, message.result.fill]).toEqual([1, 'zero']);
  });

  test('two images, no control: Delta = 2 H(sign(e_1), sign(e_2)), computed by hand', async () => {
    const pair = [shoe('sneaker-1'), shoe('sneaker-2')];
    const boxes: Box[] = [{ y0: 10, x0: 3, y1: 17, x1: 12 }, { y0: 11, x0: 4, y1: 18, x1: 13 }];
    const message = await correspondenceHandler(fakeContext().context, request({ images: pair, boxes, random: 0, layers: ['conv2', 'conv5', 'fc7'] }));
    const [c, h, w] = model.network.input;
    for (const row of message.result.rows) {
      // e_i: the original's features minus the masked copy's (box set to 0 in tensor units), each image forwarded alone.
      const e = pair.map((im, i) => {
        const x = model.preprocess(pixelsOf(im));
        const original = model.forwardSync(x).activation(row.layer, row.point).data.slice();
        const masked = x.data.slice();
        for (let ch = 0; ch < c; ch++) {
          for (let y = boxes[i].y0; y < boxes[i].y1; y++) masked.fill(0, ch * h * w + y * w + boxes[i].x0, ch * h * w + y * w + boxes[i].x1);
        }
        const occluded = model.forwardSync({ shape: [1, c, h, w], data: masked }).activation(row.layer, row.point).data;
        return original.map((v, k) => v - occluded[k]);
      });
      const sign = (v: number) => Math.sign(v);
      let hamming = 0;
      for (let k = 0; k < e[0].length; k++) if (sign(e[0][k]) !== sign(e[1][k])) hamming++;
      expect(row.dims).toBe(e[0].length);
      expect(row.part.delta).toBe(2 * hamming);
      expect(row.part.pairs).toBe(2);
      expect(row.part.mean).toBeCloseTo(hamming / row.dims, 12);
      expect(row.part.std).toBe(0);
      expect(row.random).toBeNull();
      // A real test: the part changes some features of each image, and not all alike.
      expect(hamming).toBeGreaterThan(0);
      console.log(`sneakers 1 and 2, ${row.layer}: H = ${hamming} of ${row.dims}`);
    }
  });

  test('cancelling stops the run with an AbortError', async () => {
    const { context } = fakeContext({ abortAfterProgress: true });
    await expect(correspondenceHandler(context, request({ random: 2 }))).rejects.toThrow(AbortError);
  });
});
