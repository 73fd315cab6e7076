/**
 * `npm run train`: train zfnet-mini on Fashion-MNIST with the engine's own kernels, on both
 * cores (this thread and one worker, each computing half of every batch), and write the
 * shipped model: models/zfnet-mini/manifest.json, the final f16 weights and snapshots.
 * `--eval` only measures the shipped model's accuracy on the 10,000 test images.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { mkdir, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Model } from '../engine/model.js';
import { ZFError } from '../errors.js';
import { zfnetMini } from '../models/architectures.js';
import { loadModel } from '../models/load.js';
import { Mulberry32 } from '../models/init.js';
import { checkManifest, decodeWeightsInto, describeTensors, encodeWeights, FORMAT, type WeightsManifest } from '../weights/format.js';
import { readFile } from 'node:fs/promises';
import { DATASET_DIR, loadSplit, type Split } from './fashion-mnist.js';
import { imagesToTensor } from './idx.js';
import { DEFAULT_HYPER, Trainer, type StepResult } from './trainer.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: String(DEFAULT_HYPER.lr) },
    data: { type: 'string', default: DATASET_DIR },
    out: { type: 'string', default: 'models/zfnet-mini' },
    seed: { type: 'string', default: '1' },
    snapshots: { type: 'string', default: '1,2,3,5,8' },
    limit: { type: 'string' },
    eval: { type: 'boolean', default: false },
    // Continue the model in --out for --epochs more epochs at a constant --lr (fine-tuning).
    resume: { type: 'boolean', default: false },
    // Augment with random horizontal flips (Fashion-MNIST's items are near-symmetric left-right).
    flip: { type: 'boolean', default: false },
    // Dropout rate of the fc layers (the paper: 0.5); lower it to fit more when fine-tuning.
    dropout: { type: 'string' },
  },
});

/** Fraction of `split` the model classifies correctly, evaluated in chunks of its batch size. */
export function accuracy(model: Model, split: Split, count = split.labels.length): number {
  const chunk = model.batchCapacity;
  let correct = 0;
  for (let from = 0; from < count; from += chunk) {
    const n = Math.min(chunk, count - from);
    const run = model.forwardSync({ shape: [n, 1, 28, 28], data: imagesToTensor(split.images, from, n) });
    const probs = run.output().data;
    for (let b = 0; b < n; b++) {
      const row = probs.subarray(b * 10, b * 10 + 10);
      if (row.indexOf(Math.max(...row)) === split.labels[from + b]) correct++;
    }
  }
  return correct / count;
}

async function evaluate(): Promise<void> {
  const test = await loadSplit(values.data!, 't10k');
  const model = await loadModel('zfnet-mini', { batch: 100 });
  const t0 = performance.now();
  const acc = accuracy(model, test);
  console.log(`zfnet-mini: test accuracy ${(acc * 100).toFixed(2)}% on ${test.labels.length} Fashion-MNIST test images ` +
    `(${((performance.now() - t0) / 1000).toFixed(1)} s, ${model.backend})`);
}

/** Learning rate by epoch: the paper lowers it by hand when validation error plateaus; here x0.1 at 60% and 85%. */
function lrAt(epoch: number, epochs: number, lr: number): number {
  if (epoch > Math.round(epochs * 0.85)) return lr / 100;
  if (epoch > Math.round(epochs * 0.6)) return lr / 10;
  return lr;
}

async function train(): Promise<void> {
  const epochs = Number(values.epochs), batch = Number(values.batch), seed = Number(values.seed);
  const snapshots = new Set(values.snapshots!.split(',').filter(Boolean).map(Number));
  const [trainSet, test] = await Promise.all([loadSplit(values.data!, 'train'), loadSplit(values.data!, 't10k')]);
  const total = values.limit ? Math.min(Number(values.limit), trainSet.labels.length) : trainSet.labels.length;
  const half = batch / 2;
  const network = zfnetMini();
  if (values.dropout !== undefined) {
    for (const op of network.ops) if (op.kind === 'dropout') op.rate = Number(values.dropout);
  }
  const model = await Model.create(network, { batch: half });
  model.initWeights(seed);
  let previous: WeightsManifest | undefined;
  if (values.resume) {
    previous = checkManifest(JSON.parse(await readFile(`${values.out}/manifest.json`, 'utf8')), `${values.out}/manifest.json`);
    decodeWeightsInto(model, previous, new Uint8Array(await readFile(`${values.out}/${previous.files.final}`)), previous.files.final);
  }
  const firstEpoch = previous ? Number(previous.training?.epochs ?? 0) + 1 : 1;
  const lastEpoch = firstEpoch + epochs - 1;
  const trainer = new Trainer(model, seed);
  const weights = Object.fromEntries(Object.keys(model.weightShapes()).map((l) => [l, model.getWeights(l)]));
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: { network, batch: half, weights, seed: seed + 1 } });
  const replies: ((value: any) => void)[] = [];
  worker.on('message', (m) => replies.shift()?.(m));
  worker.on('error', (e) => { console.error(e); process.exit(1); });
  const reply = () => new Promise<any>((resolve) => replies.push(resolve));
  await reply(); // ready

  await mkdir(values.out!, { recursive: true });
  const random = new Mulberry32(seed);
  const order = Array.from({ length: total }, (_, i) => i);
  const manifest: WeightsManifest = {
    format: FORMAT, version: 1, network, dtype: 'f16', tensors: describeTensors(model),
    files: { final: 'weights.f16.bin', epochs: {} }, training: {},
  };
  const history: Record<string, unknown>[] = [];
  if (previous) {
    manifest.files.epochs = Object.fromEntries(Object.entries(previous.files.epochs).filter(([, f]) => f !== previous!.files.final));
    history.push(...((previous.training?.history as Record<string, unknown>[]) ?? []));
  }
  const started = performance.now();
  for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
    for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(random.next() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
    const hyper = { ...DEFAULT_HYPER, lr: previous ? Number(values.lr) : lrAt(epoch, epochs, Number(values.lr)) };
    let seen = 0, lossSum = 0, correct = 0;
    const t0 = performance.now();
    for (let from = 0; from + batch <= total; from += batch) {
      const pick = (offset: number) => {
        const images = new Float32Array(half * 784), labels = new Uint8Array(half);
        for (let b = 0; b < half; b++) {
          const idx = order[from + offset + b];
          const image = imagesToTensor(trainSet.images, idx, 1);
          if (values.flip && random.next() < 0.5) {
            for (let y = 0; y < 28; y++) image.subarray(y * 28, y * 28 + 28).reverse();
          }
          images.set(image, b * 784);
          labels[b] = trainSet.labels[idx];
        }
        return { images, labels };
      };
      const theirs = pick(half), mine = pick(0);
      const remote = reply();
      worker.postMessage({ type: 'grad', ...theirs }, [theirs.images.buffer]);
      const local: StepResult = trainer.computeGradients(mine.images, mine.labels);
      const other = await remote;
      const grads = trainer.readGradients();
      const sum = new Float32Array(grads.length);
      for (let j = 0; j < grads.length; j++) sum[j] = (grads[j] + other.grads[j]) / 2; // each half's mean -> batch mean
      trainer.writeGradients(sum);
      trainer.applyUpdate(hyper);
      const applied = reply();
      worker.postMessage({ type: 'apply', grads: sum, hyper });
      await applied;
      seen += batch; lossSum += (local.loss + other.loss) * half; correct += local.correct + other.correct;
      if (process.stderr.isTTY && (from / batch) % 20 === 0) {
        const rate = seen / ((performance.now() - t0) / 1000);
        process.stderr.write(`\repoch ${epoch}/${lastEpoch} ${seen}/${total} ${rate.toFixed(0)} examples/s ` +
          `loss ${(lossSum / seen).toFixed(4)} acc ${(100 * correct / seen).toFixed(2)}%   `);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const testAcc = accuracy(model, test);
    const line = { epoch, lr: hyper.lr, trainLoss: lossSum / seen, trainAccuracy: correct / seen, testAccuracy: testAcc,
      examplesPerSecond: seen / seconds, seconds };
    history.push(line);
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(`epoch ${epoch}/${lastEpoch}: ${(seen / seconds).toFixed(0)} examples/s, ${seconds.toFixed(1)} s, ` +
      `loss ${(lossSum / seen).toFixed(4)}, train ${(100 * correct / seen).toFixed(2)}%, test ${(100 * testAcc).toFixed(2)}%`);
    if (snapshots.has(epoch) && epoch !== lastEpoch) {
      const file = `epoch-${epoch}.f16.bin`;
      await writeFile(`${values.out}/${file}`, encodeWeights(model));
      manifest.files.epochs[String(epoch)] = file;
    }
  }
  await worker.terminate();
  await writeFile(`${values.out}/${manifest.files.final}`, encodeWeights(model));
  manifest.files.epochs[String(lastEpoch)] = manifest.files.final;
  const last = history[history.length - 1];
  manifest.training = {
    data: 'Fashion-MNIST (Debian dataset-fashion-mnist), 60,000 training images; accuracy on the 10,000 test images',
    epochs: lastEpoch, batch, seed, hyper: DEFAULT_HYPER,
    lrSchedule: previous ? `${(previous.training as any)?.lrSchedule}; then epochs ${firstEpoch}-${lastEpoch} at ${values.lr}` +
      `${values.flip ? ' with random horizontal flips' : ''}${values.dropout ? `, dropout ${values.dropout}` : ''}`
      : 'x0.1 after 60% and after 85% of the epochs',
    testAccuracy: last.testAccuracy,
    minutes: (previous ? Number(previous.training?.minutes ?? 0) : 0) + (performance.now() - started) / 60000, history,
  };
  await writeFile(`${values.out}/manifest.json`, JSON.stringify(manifest, null, 1) + '\n');
  // The first 500 test images, for the test suite's accuracy check without the Debian package.
  const subset = 500;
  await writeFile(`${values.out}/test-500-images.idx.gz`, gzipSync(new Uint8Array([0, 0, 8, 3, 0, 0, 1, 244, 0, 0, 0, 28, 0, 0, 0, 28,
    ...test.images.data.subarray(0, subset * 784)])));
  await writeFile(`${values.out}/test-500-labels.idx.gz`, gzipSync(new Uint8Array([0, 0, 8, 1, 0, 0, 1, 244,
    ...test.labels.subarray(0, subset)])));
  console.log(`wrote ${values.out}: test accuracy ${(100 * (last.testAccuracy as number)).toFixed(2)}%`);
}

try {
  await (values.eval ? evaluate() : train());
} catch (e) {
  if (e instanceof ZFError) {
    console.error(`train: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
