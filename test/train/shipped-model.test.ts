// The shipped default model, models/zfnet-mini/ (written by `npm run train`): its manifest, the
// final weights' accuracy on the committed subset of the first 500 Fashion-MNIST test images,
// every snapshot loading and its accuracy, and the committed sample PNGs.
// These tests are skipped only while models/zfnet-mini/manifest.json does not exist (the
// training run writes it last); once it exists they run, and a missing subset or weight file
// fails them.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Model } from '../../src/engine/model.js';
import { decodeImage } from '../../src/io/image-node.js';
import { FASHION_MNIST_LABELS, zfnetMini } from '../../src/models/architectures.js';
import { loadDefaultModel, readManifest } from '../../src/models/default-model.js';
import { imagesToTensor, parseIdx, type IdxArray } from '../../src/train/idx.js';
import { describeTensors, type WeightsManifest } from '../../src/weights/format.js';
import { maxAbsDiff } from '../helpers/wasm.js';

const MODELS = new URL('../../models/', import.meta.url);
const DIR = new URL('zfnet-mini/', MODELS);
const MANIFEST = new URL('manifest.json', DIR);
const SHIPPED = existsSync(MANIFEST);

/** The bound on the 500 committed test images (the issue asks >= 91% on all 10,000). */
const FINAL_ACCURACY = 0.88;
/** A snapshot from an earlier epoch may beat the final weights on 500 images by chance, not by more. */
const SNAPSHOT_MARGIN = 0.03;
/** The budget for the final weights plus the snapshots. */
const MAX_BYTES = 6 * 1024 * 1024;

if (!SHIPPED) {
  console.warn('shipped-model tests SKIPPED: models/zfnet-mini/manifest.json does not exist yet ' +
    '(`npm run train` writes it when training finishes)');
}

/** Fraction of the subset's images the model classifies correctly (inference, batch of 50). */
function accuracy(model: Model, images: IdxArray, labels: Uint8Array): number {
  let correct = 0;
  const n = labels.length, chunk = 50;
  for (let from = 0; from < n; from += chunk) {
    const m = Math.min(chunk, n - from);
    const probs = model.forwardSync({ shape: [m, 1, 28, 28], data: imagesToTensor(images, from, m) }).output().data;
    for (let b = 0; b < m; b++) {
      const row = probs.subarray(b * 10, b * 10 + 10);
      if (row.indexOf(Math.max(...row)) === labels[from + b]) correct++;
    }
  }
  return correct / n;
}

describe.skipIf(!SHIPPED)('the shipped zfnet-mini (skipped while models/zfnet-mini/manifest.json does not exist)', () => {
  let manifest: WeightsManifest;
  let images: IdxArray;
  let labels: Uint8Array;
  let finalAccuracy: number;
  const baseUrl = MODELS;

  beforeAll(async () => {
    manifest = (await readManifest({ baseUrl })).manifest;
    const read = (file: string) => {
      const url = new URL(file, DIR);
      if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} is missing: the manifest exists, so the subset must be committed with it`);
      return parseIdx(gunzipSync(readFileSync(url)), file);
    };
    images = read('test-500-images.idx.gz');
    labels = read('test-500-labels.idx.gz').data;
    const final = await loadDefaultModel({ baseUrl, batch: 50 });
    finalAccuracy = accuracy(final, images, labels);
  });

  test('the manifest describes zfnet-mini, its tensors, classes and training, and lists files that exist', async () => {
    expect(images.dims).toEqual([500, 28, 28]);
    expect(labels.length).toBe(500);
    const net = zfnetMini();
    expect(manifest.network.input).toEqual(net.input);
    // The same ops; only the fc dropout rate may differ (the last epochs fine-tuned at 0.2, see
    // manifest.training.lrSchedule), and it has no effect at inference.
    const rateless = (ops: typeof net.ops) => ops.map((op) => (op.kind === 'dropout' ? { kind: 'dropout' } : op));
    expect(rateless(manifest.network.ops)).toEqual(rateless(net.ops));
    expect(manifest.network.preprocess).toBe('grayscale');
    expect(manifest.network.labels).toEqual(FASHION_MNIST_LABELS);
    const model = await loadDefaultModel({ baseUrl });
    expect(manifest.tensors).toEqual(JSON.parse(JSON.stringify(describeTensors(model))));
    const files = [manifest.files.final, ...Object.values(manifest.files.epochs)];
    for (const f of files) expect(existsSync(new URL(f, DIR)), f).toBe(true);
    expect(Object.keys(manifest.files.epochs).length).toBeGreaterThanOrEqual(2);
    // Weights plus snapshots within the budget (each distinct file counted once).
    const bytes = [...new Set(files)].reduce((a, f) => a + statSync(new URL(f, DIR)).size, 0);
    const all = readdirSync(DIR).reduce((a, f) => a + statSync(new URL(f, DIR)).size, 0);
    console.log(`models/zfnet-mini: weights and snapshots ${(bytes / 1048576).toFixed(2)} MB, whole folder ${(all / 1048576).toFixed(2)} MB`);
    expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
  });

  test('the manifest records a test accuracy of at least 91% on the 10,000 test images (the issue\'s bound)', () => {
    const training = manifest.training as { testAccuracy?: number; epochs?: number } | undefined;
    console.log(`manifest: ${training?.epochs} epochs, test accuracy ${training?.testAccuracy} (10,000 images), ` +
      `snapshots at epochs ${Object.keys(manifest.files.epochs).join(', ')}`);
    expect(training?.testAccuracy).toBeGreaterThanOrEqual(0.91);
  });

  test(`the final weights classify at least ${FINAL_ACCURACY * 100}% of the 500 committed test images`, () => {
    console.log(`zfnet-mini final: accuracy ${(100 * finalAccuracy).toFixed(1)}% on the first 500 Fashion-MNIST test images`);
    expect(finalAccuracy).toBeGreaterThanOrEqual(FINAL_ACCURACY);
  });

  test('every snapshot loads, differs from the others, and does not beat the final weights by much', async () => {
    const epochs = Object.keys(manifest.files.epochs).map(Number).sort((a, b) => a - b);
    const seen = new Map<string, number>();
    const lines: string[] = [];
    const failures: string[] = [];
    for (const epoch of epochs) {
      const model = await loadDefaultModel({ baseUrl, epoch, batch: 50 });
      const acc = accuracy(model, images, labels);
      lines.push(`epoch ${epoch}: ${(100 * acc).toFixed(1)}%`);
      // Distinct files hold distinct weights (the final one may also be listed as the last epoch).
      const key = Array.from(model.getWeights('conv1').weight.subarray(0, 64)).join(',');
      const file = manifest.files.epochs[String(epoch)];
      if (seen.has(key) && file !== manifest.files.final) failures.push(`epoch ${epoch} has the same weights as epoch ${seen.get(key)}`);
      seen.set(key, epoch);
      if (acc > finalAccuracy + SNAPSHOT_MARGIN) {
        failures.push(`epoch ${epoch} (${(100 * acc).toFixed(1)}%) beats the final weights (${(100 * finalAccuracy).toFixed(1)}%) ` +
          `by more than ${SNAPSHOT_MARGIN * 100} points`);
      }
      if (file === manifest.files.final && acc !== finalAccuracy) failures.push(`epoch ${epoch} is the final file but scores differently`);
      // Every snapshot is a trained model already: far above chance (10%).
      if (!(acc >= 0.5)) failures.push(`epoch ${epoch}: ${(100 * acc).toFixed(1)}% is hardly trained`);
    }
    console.log(`zfnet-mini snapshots on the 500 images: ${lines.join(', ')}; final ${(100 * finalAccuracy).toFixed(1)}%`);
    expect(failures).toEqual([]);
  });

  test('the committed sample PNGs are those test images, preprocessed identically, and mostly classified right', async () => {
    const slugs = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
    const model = await loadDefaultModel({ baseUrl });
    let right = 0;
    const failures: string[] = [];
    for (let c = 0; c < 10; c++) {
      // The samples are the first two test images of each class (scripts/extract-samples.mjs).
      const indices: number[] = [];
      for (let i = 0; i < 500 && indices.length < 2; i++) if (labels[i] === c) indices.push(i);
      for (let k = 0; k < indices.length; k++) {
        const file = `${slugs[c]}-${k + 1}.png`;
        const pixels = decodeImage(readFileSync(new URL(`samples/${file}`, MODELS)), file);
        const tensor = model.preprocess(pixels);
        const d = maxAbsDiff(tensor.data, imagesToTensor(images, indices[k], 1));
        if (!(d <= 1e-7)) failures.push(`${file} is not test image ${indices[k]} preprocessed as the subset (max diff ${d})`);
        const probs = (await model.forward(pixels)).probabilities();
        if (probs.indexOf(Math.max(...probs)) === c) right++;
      }
    }
    console.log(`zfnet-mini final on the 20 sample PNGs: ${right} right`);
    expect(failures).toEqual([]);
    expect(right).toBeGreaterThanOrEqual(16);
  });
});
