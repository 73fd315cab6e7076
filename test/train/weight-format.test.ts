// The project's weight format (src/weights/format.ts): encodeWeights -> decodeWeightsInto gives
// back every weight rounded to f16, in layer order and little-endian; checkManifest refuses
// anything that is not a v1 f16 manifest; a file of the wrong size is refused naming both
// sizes; and loadDefaultModel reads a manifest, the final weights and a snapshot from a folder.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Model } from '../../src/engine/model.js';
import { ArgumentError, ModelFormatError } from '../../src/errors.js';
import { zfnetMini } from '../../src/models/architectures.js';
import { loadDefaultModel } from '../../src/models/default-model.js';
import { decodeHalf, encodeHalf, toHalf } from '../../src/weights/f16.js';
import {
  checkManifest, decodeWeightsInto, describeTensors, encodeWeights, FORMAT, type WeightsManifest,
} from '../../src/weights/format.js';
import { maxAbsDiff } from '../helpers/wasm.js';

function manifestFor(model: Model, epochs: Record<string, string> = {}): WeightsManifest {
  return {
    format: FORMAT, version: 1, network: model.network, dtype: 'f16', tensors: describeTensors(model),
    files: { final: 'weights.f16.bin', epochs }, training: { epochs: 2 },
  };
}

const rounded = (a: Float32Array) => decodeHalf(encodeHalf(a));

describe('weight format', () => {
  let model: Model;
  let bytes: Uint8Array;
  let total: number;

  beforeAll(async () => {
    model = await Model.create(zfnetMini());
    model.initWeights(3);
    bytes = encodeWeights(model);
    total = Object.values(model.weightShapes()).reduce(
      (a, s) => a + s.weight.reduce((x, y) => x * y, 1) + (s.bias ? s.bias[0] : 0), 0);
  });

  test('encodeWeights: 2 bytes per value, each layer\'s weight then bias in layer order, little-endian f16', () => {
    expect(bytes.byteLength).toBe(2 * total);
    const tensors = describeTensors(model);
    expect(tensors.map((t) => t.layer)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    expect(tensors[0]).toEqual({ layer: 'conv1', weight: [32, 1, 5, 5], bias: [32] });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    for (const t of tensors) {
      const w = model.getWeights(t.layer);
      for (const [what, values] of [['weight', w.weight], ['bias', w.bias!]] as const) {
        for (const i of [0, 1, values.length - 1]) {
          expect(view.getUint16(2 * (at + i), true), `${t.layer} ${what}[${i}]`).toBe(toHalf(values[i]));
        }
        at += values.length;
      }
    }
    expect(at).toBe(total);
  });

  test('decodeWeightsInto gives back every value rounded to f16, and re-encoding gives the same bytes', async () => {
    const manifest = manifestFor(model);
    const fresh = await Model.create(checkManifest(JSON.parse(JSON.stringify(manifest)), 'manifest').network);
    decodeWeightsInto(fresh, manifest, bytes, 'weights.f16.bin');
    const failures: string[] = [];
    let worstRel = 0;
    for (const layer of Object.keys(model.weightShapes())) {
      const a = model.getWeights(layer), b = fresh.getWeights(layer);
      if (maxAbsDiff(b.weight, rounded(a.weight)) !== 0) failures.push(`${layer} weight differs from its f16 rounding`);
      if (maxAbsDiff(b.bias!, rounded(a.bias!)) !== 0) failures.push(`${layer} bias differs from its f16 rounding`);
      for (let i = 0; i < a.weight.length; i++) {
        if (Math.abs(a.weight[i]) >= 2 ** -14) worstRel = Math.max(worstRel, Math.abs(b.weight[i] - a.weight[i]) / Math.abs(a.weight[i]));
      }
    }
    console.log(`f16 weights: ${total} values, ${bytes.byteLength} bytes; max relative rounding error (normals) ${worstRel.toExponential(2)}`);
    expect(failures).toEqual([]);
    expect(worstRel).toBeLessThanOrEqual(2 ** -11);
    expect(Array.from(encodeWeights(fresh))).toEqual(Array.from(bytes));
    // The decoded model runs like the original up to the f16 rounding of its weights.
    const input = { shape: [1, 1, 28, 28], data: Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 29) };
    const p = model.forwardSync(input).output().data, q = fresh.forwardSync(input).output().data;
    expect(maxAbsDiff(p, q)).toBeLessThan(2e-2);
  });

  test('decodeWeightsInto accepts an unaligned view of the bytes', async () => {
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const fresh = await Model.create(zfnetMini());
    decodeWeightsInto(fresh, manifestFor(model), shifted.subarray(1), 'shifted');
    expect(maxAbsDiff(fresh.getWeights('fc8').weight, rounded(model.getWeights('fc8').weight))).toBe(0);
  });

  test('a file of the wrong size is refused with a message naming the file and both sizes', async () => {
    const fresh = await Model.create(zfnetMini());
    const manifest = manifestFor(model);
    for (const wrong of [bytes.subarray(0, bytes.byteLength - 2), new Uint8Array(bytes.byteLength + 2), new Uint8Array(0),
      bytes.subarray(0, bytes.byteLength - 1)]) {
      let error: unknown;
      try { decodeWeightsInto(fresh, manifest, wrong, 'epoch-3.f16.bin'); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(ModelFormatError);
      const message = (error as Error).message;
      expect(message).toContain('epoch-3.f16.bin');
      expect(message).toContain(String(wrong.byteLength));
      expect(message).toContain(String(2 * total));
    }
  });

  test('checkManifest accepts a v1 f16 manifest and refuses anything else with a ModelFormatError', () => {
    const good = JSON.parse(JSON.stringify(manifestFor(model)));
    expect(checkManifest(good, 'good.json')).toBe(good);
    const bad: [string, unknown][] = [
      ['null', null], ['a string', 'manifest'], ['an empty object', {}], ['an array', []],
      ['another format', { ...good, format: 'onnx' }], ['version 2', { ...good, version: 2 }],
      ['f32 dtype', { ...good, dtype: 'f32' }], ['no tensors', { ...good, tensors: undefined }],
      ['tensors not a list', { ...good, tensors: {} }], ['no network', { ...good, network: undefined }],
      ['network without ops', { ...good, network: { ...good.network, ops: undefined } }],
      ['no files', { ...good, files: undefined }], ['final not a string', { ...good, files: { final: 3, epochs: {} } }],
    ];
    for (const [what, value] of bad) {
      expect(() => checkManifest(value, 'models/x/manifest.json'), what).toThrow(ModelFormatError);
      expect(() => checkManifest(value, 'models/x/manifest.json'), what).toThrow(/models\/x\/manifest\.json/);
    }
  });

  describe('loadDefaultModel from a folder (baseUrl)', () => {
    let dir: string;
    let snapshot: Model;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'zf-weights-'));
      mkdirSync(join(dir, 'zfnet-mini'));
      mkdirSync(join(dir, 'broken', 'zfnet-mini'), { recursive: true });
      mkdirSync(join(dir, 'badjson', 'zfnet-mini'), { recursive: true });
      snapshot = await Model.create(zfnetMini());
      snapshot.initWeights(4);
      const manifest = manifestFor(model, { 1: 'epoch-1.f16.bin', 2: 'weights.f16.bin' });
      writeFileSync(join(dir, 'zfnet-mini', 'manifest.json'), JSON.stringify(manifest));
      writeFileSync(join(dir, 'zfnet-mini', 'weights.f16.bin'), bytes);
      writeFileSync(join(dir, 'zfnet-mini', 'epoch-1.f16.bin'), encodeWeights(snapshot));
      // A manifest naming a snapshot that is not there, and one that is not JSON.
      writeFileSync(join(dir, 'broken', 'zfnet-mini', 'manifest.json'), JSON.stringify(manifestFor(model, { 1: 'missing.f16.bin' })));
      writeFileSync(join(dir, 'badjson', 'zfnet-mini', 'manifest.json'), '{ "format": ');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('the final weights, and each snapshot by epoch', async () => {
      const baseUrl = pathToFileURL(dir + '/');
      const final = await loadDefaultModel({ baseUrl });
      const first = await loadDefaultModel({ baseUrl, epoch: 1 });
      const last = await loadDefaultModel({ baseUrl, epoch: 2 });
      for (const layer of Object.keys(model.weightShapes())) {
        expect(maxAbsDiff(final.getWeights(layer).weight, rounded(model.getWeights(layer).weight)), layer).toBe(0);
        expect(maxAbsDiff(last.getWeights(layer).weight, rounded(model.getWeights(layer).weight)), layer).toBe(0);
        expect(maxAbsDiff(first.getWeights(layer).weight, rounded(snapshot.getWeights(layer).weight)), layer).toBe(0);
      }
      expect(final.network.name).toBe('zfnet-mini');
    });

    test('a missing epoch, a missing file and a broken manifest are refused clearly', async () => {
      const baseUrl = pathToFileURL(dir + '/');
      await expect(loadDefaultModel({ baseUrl, epoch: 5 })).rejects.toThrow(ArgumentError);
      await expect(loadDefaultModel({ baseUrl, epoch: 5 })).rejects.toThrow(/epoch 5.*saved epochs: 1, 2/);
      await expect(loadDefaultModel({ baseUrl: pathToFileURL(join(dir, 'broken') + '/'), epoch: 1 }))
        .rejects.toThrow(ModelFormatError);
      await expect(loadDefaultModel({ baseUrl: pathToFileURL(join(dir, 'broken') + '/'), epoch: 1 }))
        .rejects.toThrow(/missing\.f16\.bin/);
      await expect(loadDefaultModel({ baseUrl: pathToFileURL(join(dir, 'badjson') + '/') })).rejects.toThrow(/not JSON/);
      await expect(loadDefaultModel({ baseUrl: pathToFileURL(join(dir, 'nowhere') + '/') })).rejects.toThrow(ModelFormatError);
    });
  });
});
