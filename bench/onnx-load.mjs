// `node bench/onnx-load.mjs [--json]` (after `npm run build`): memory and time of importing a
// full-size ZFNet-shaped ONNX model (the paper's geometry, 62.4 M parameters, a 250 MB file).
//
// The file is written first (seeded weights, networkToOnnx), then each way of loading it runs in
// a fresh Node process so its peak resident memory (maxRSS) is its own:
//   path   loadModel('/tmp/.../zfnet.onnx'): weights read from disk straight into the wasm memory
//   bytes  loadModel(readFileSync(...)): the file in memory, weights copied from it once
// Each prints the file size, the model's wasm memory (the arena), the peak RSS, the baseline
// RSS of a process that only imported the engine, and the load time; each checks that the
// imported model's output equals the original model's bit for bit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MB = 2 ** 20;
const self = fileURLToPath(import.meta.url);
const role = process.argv[2];

if (role === '--write') {
  // Child: write the model and the reference output.
  const [, , , file] = process.argv;
  const { Model, zfnet, networkToOnnx } = await import('../dist/index.js');
  const net = zfnet();
  const model = await Model.create(net);
  model.initWeights(1);
  writeFileSync(file, networkToOnnx(net, (n) => model.getWeights(n), { inputName: 'data_0', outputName: 'prob_1' }));
  writeFileSync(`${file}.out`, model.forwardSync(input()).output().data);
  process.exit(0);
}

if (role === '--load') {
  // Child: load the model one way, report memory and time.
  const [, , , mode, file] = process.argv;
  const { loadModel } = await import('../dist/index.js');
  const baseline = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now();
  let model;
  if (mode === 'path') {
    model = await loadModel(file);
  } else if (mode === 'bytes') {
    model = await loadModel(readFileSync(file));
  } else if (mode === 'none') {
    model = undefined;
  }
  const seconds = (performance.now() - t0) / 1000;
  let same = true;
  if (model) {
    const ours = model.forwardSync(input()).output().data;
    const buf = readFileSync(`${file}.out`);
    const ref = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    same = ours.length === ref.length && ours.every((v, i) => v === ref[i]);
  }
  const heap = process.memoryUsage();
  console.log(JSON.stringify({
    mode, seconds, baseline, peakRss: process.resourceUsage().maxRSS * 1024, arena: model?.memoryBytes ?? 0,
    heapUsed: heap.heapUsed, external: heap.external, arrayBuffers: heap.arrayBuffers, same,
  }));
  process.exit(0);
}

function input() {
  const data = new Float32Array(3 * 224 * 224);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { shape: [1, 3, 224, 224], data };
}

// Parent.
const json = process.argv.includes('--json');
const dir = mkdtempSync(join(tmpdir(), 'zf-onnx-load-'));
try {
  const file = join(dir, 'zfnet.onnx');
  const w = spawnSync(process.execPath, [self, '--write', file], { stdio: 'inherit' });
  if (w.status !== 0) throw new Error('writing the model failed');
  const fileBytes = statSync(file).size;
  const results = [];
  for (const mode of ['none', 'path', 'bytes']) {
    const r = spawnSync(process.execPath, [self, '--load', mode, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`loading (${mode}) failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const idle = results[0].peakRss;
  const rows = results.slice(1).map((r) => ({ ...r, file: fileBytes, idle, overArena: r.peakRss - idle - r.arena }));
  if (json) {
    console.log(JSON.stringify(rows));
  } else {
    console.log(`ZFNet (paper geometry) as ONNX: ${(fileBytes / MB).toFixed(0)} MB file; a process that only imported the engine peaks at ${(idle / MB).toFixed(0)} MB RSS`);
    for (const r of rows) {
      const grew = r.peakRss - idle;
      console.log(`  ${r.mode.padEnd(5)}: peak RSS ${(r.peakRss / MB).toFixed(0)} MB, ${(grew / MB).toFixed(0)} MB above idle, against a ` +
        `model memory (arena) of ${(r.arena / MB).toFixed(0)} MB and arena + file ${((r.arena + fileBytes) / MB).toFixed(0)} MB; ` +
        `after loading: JS heap ${(r.heapUsed / MB).toFixed(0)} MB, array buffers ${(r.arrayBuffers / MB).toFixed(0)} MB; ` +
        `${r.seconds.toFixed(2)} s; output ${r.same ? 'identical to the original' : 'DIFFERENT'}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
