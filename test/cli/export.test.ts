// zf-vis export: the trained default model as ONNX runs in onnxruntime with our outputs, and
// re-imports into our engine unchanged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as ort from 'onnxruntime-web';
import { loadModel } from '../../src/index.js';
import { decodeImage } from '../../src/io/image-node.js';

ort.env.wasm.numThreads = 1;
const SAMPLES = ['ankle-boot-1', 'trouser-1', 'bag-1', 'dress-2'];

test('zf-vis export writes zfnet-mini as ONNX that onnxruntime runs with our outputs', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'zf-export-')), 'zfnet-mini.onnx');
  const run = spawnSync(process.execPath, ['cli/zf-vis.js', 'export', '--onnx', out, '--json'], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const report = JSON.parse(run.stdout);
  expect(report.layers).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);

  const model = await loadModel('zfnet-mini', { batch: SAMPLES.length });
  const images = SAMPLES.map((name) => model.preprocess(decodeImage(readFileSync(`models/samples/${name}.png`), name)));
  const input = new Float32Array(images.length * 784);
  images.forEach((t, i) => input.set(t.data, i * 784));
  const ours = (await model.forward({ shape: [images.length, 1, 28, 28], data: input })).output().data;

  const bytes = readFileSync(out);
  const session = await ort.InferenceSession.create(new Uint8Array(bytes));
  const result = await session.run({ input: new ort.Tensor('float32', input, [images.length, 1, 28, 28]) });
  const theirs = result.output.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
  console.log(`zfnet-mini export: onnxruntime vs ours max abs diff ${maxDiff.toExponential(2)} on probabilities`);
  expect(maxDiff).toBeLessThan(1e-5);

  const reimported = await loadModel(new Uint8Array(bytes), { batch: images.length });
  expect(reimported.network.preprocess).toBe('grayscale');
  expect(reimported.network.labels?.[9]).toBe('Ankle boot');
  const again = (await reimported.forward({ shape: [images.length, 1, 28, 28], data: input })).output().data;
  expect(Array.from(again)).toEqual(Array.from(ours));
  expect(reimported.network.labels?.[again.subarray(0, 10).indexOf(Math.max(...again.subarray(0, 10)))]).toBe('Ankle boot');
}, 120_000);

test('zf-vis export refuses bad usage with one line', () => {
  const run = spawnSync(process.execPath, ['cli/zf-vis.js', 'export', '--model', 'zfnet', '--epoch', '3', '--onnx', '/tmp/x.onnx'], { encoding: 'utf8' });
  expect(run.status).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/--epoch applies to zfnet-mini only/);
});
