// Real torchvision exports (test/fixtures/torchvision/*.onnx, written by
// scripts/export-torchvision.py: the torchvision classes at small widths, seeded, BN statistics
// non-trivial, exported with torch.onnx.export as a user would) against onnxruntime-web, from the
// same bytes and the same seeded input. Compared: the logits, and every float tensor a node
// computes (onnxruntime returns them once they are appended to the graph's outputs, see
// test/helpers/onnx-outputs.ts) that our engine exposes through run.activation(tensorName);
// tensors it folds away or does not keep (ArgumentError) are skipped and counted. One test per
// model, so each passes or fails alone; each prints what it compared and the largest relative
// difference (of the tensor's max |value|), and where.
//
// The full-size classifiers (scripts/export-torchvision.py --full DIR, not committed) get the
// same comparison when ZF_TORCHVISION_FULL=DIR is set:
//   ZF_TORCHVISION_FULL=/tmp/tv npx vitest run --project node test/onnx/torchvision.test.ts
import * as ort from 'onnxruntime-web';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { relDiff } from '../helpers/compare.js';
import { FLOAT, readGraph, withOutputs, type GraphInfo } from '../helpers/onnx-outputs.js';
import { ArgumentError, readOnnx, type Model, type Run } from '../../src/index.js';
import { seededInput } from './builder.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const TOLERANCE = 1e-4;
const MODELS = [
  'resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'densenet121', 'vgg11_bn', 'efficientnet_b0',
  'shufflenet_v2_x0_5',
];

const fixture = (name: string) => new URL(`../fixtures/torchvision/${name}.onnx`, import.meta.url);

function opSummary(g: GraphInfo): string {
  const counts = new Map<string, number>();
  for (const n of g.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
}

/** Run `f`; on failure rethrow naming the model and the stage (import, forward...) it failed in. */
async function stage<T>(model: string, what: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = e as Error;
    throw new Error(`${model}: ${what} failed: ${err.name}: ${err.message}`, { cause: e });
  }
}

/** Compare `bytes` in our engine and onnxruntime on a seeded input; print and assert. */
async function compare(model: string, bytes: Uint8Array, seed: number): Promise<void> {
  const g = readGraph(bytes);
  expect(g.inputs).toHaveLength(1);
  expect(g.outputs.map((o) => o.name)).toEqual(['logits']);
  const [input] = g.inputs;
  const x = seededInput(input.dims, seed);

  // Every float tensor a node computes, in graph order (Constant nodes' values are not computed;
  // the int64 Shape/Gather/Slice arithmetic of a chunk or a reshape is not an activation).
  const computed = g.nodes.filter((n) => n.opType !== 'Constant')
    .flatMap((n) => n.outputs.filter(Boolean).map((t) => ({ tensor: t, op: n.opType, node: n.name })));
  const floats = computed.filter((c) => g.types.get(c.tensor) === FLOAT && c.tensor !== 'logits');
  const other = computed.length - floats.length - 1;
  console.log(`${model}: input ${input.name} [${input.dims}], ${g.nodes.length} nodes (${opSummary(g)})`);

  // onnxruntime, with the intermediate tensors as extra outputs.
  const session = await ort.InferenceSession.create(withOutputs(bytes, floats.map((f) => ({ name: f.tensor, elemType: FLOAT }))));
  let ref: ort.InferenceSession.OnnxValueMapType;
  try {
    ref = await session.run({ [input.name]: new ort.Tensor('float32', x.data, input.dims) });
  } finally {
    await session.release();
  }

  // Our engine, from the same bytes.
  const imported = await stage(model, 'readOnnx', () => readOnnx(bytes));
  const ours: Model = await stage(model, 'createModel', () => imported.createModel());
  const run: Run = await stage(model, 'forwardSync', () => ours.forwardSync(x));

  const logits = run.output();
  const refLogits = ref.logits;
  expect(logits.data.length, `${model}: logits ${logits.shape} vs onnxruntime ${refLogits.dims}`).toBe(refLogits.data.length);
  const logitsDiff = relDiff(logits.data, refLogits.data as Float32Array);

  const skipped: string[] = [];
  const wrongSize: string[] = [];
  let compared = 0;
  let worst = 0;
  let where = '';
  let firstOver = '';
  for (const { tensor, op, node } of floats) {
    let t;
    try {
      t = run.activation(tensor);
    } catch (e) {
      if (e instanceof ArgumentError) { skipped.push(tensor); continue; }
      throw new Error(`${model}: run.activation('${tensor}') (${op} ${node}) failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    }
    const r = ref[tensor];
    if (t.data.length !== r.data.length) {
      wrongSize.push(`${tensor} (${op} ${node}): ours [${t.shape}], onnxruntime [${r.dims}]`);
      continue;
    }
    const d = relDiff(t.data, r.data as Float32Array);
    compared += 1;
    if (d > TOLERANCE && !firstOver) firstOver = `${tensor} (${op} ${node}) ${d.toExponential(2)}`;
    if (d >= worst) { worst = d; where = `${tensor} (${op} ${node})`; }
  }
  console.log(`${model}: logits max rel diff ${logitsDiff.toExponential(2)}; ${floats.length} float node outputs: ` +
    `${compared} compared, ${skipped.length} skipped (not exposed), ${wrongSize.length} of another size` +
    (compared ? `; worst ${worst.toExponential(2)} at ${where}` : '') + (firstOver ? `; first over ${TOLERANCE}: ${firstOver}` : '') +
    `; ${other} int/bool tensors (shape arithmetic) not compared`);
  if (skipped.length) console.log(`${model}: skipped: ${skipped.join(' ')}`);

  expect(wrongSize, `${model}: tensors whose size differs from onnxruntime's`).toEqual([]);
  expect(logitsDiff, `${model}: logits`).toBeLessThanOrEqual(TOLERANCE);
  expect(worst, `${model}: worst intermediate at ${where}`).toBeLessThanOrEqual(TOLERANCE);
}

test.each(MODELS.map((name, i) => [name, i] as const))('%s: logits and every exposed tensor against onnxruntime', async (name, i) => {
  await compare(name, new Uint8Array(readFileSync(fixture(name))), 100 + i);
}, 30_000);

const fullDir = process.env.ZF_TORCHVISION_FULL;
describe.runIf(fullDir)('full-size torchvision classifiers (ZF_TORCHVISION_FULL)', () => {
  const files = fullDir ? readdirSync(fullDir).filter((f) => f.endsWith('.onnx')).sort() : [];
  test.each(files.map((f, i) => [f.replace(/\.onnx$/, ''), i] as const))('%s (full size)', async (name, i) => {
    await compare(name, new Uint8Array(readFileSync(join(fullDir!, `${name}.onnx`))), 200 + i);
  }, 600_000);
});
