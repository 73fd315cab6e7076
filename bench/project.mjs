// Deconvnet projection cost against the forward pass it starts from, in one interleaved run:
// ZFNet (paper geometry, seeded weights), one image; the strongest conv5 unit projected to
// pixels (`keep: 'max'`), and the top-9 positions of the same map, each projected separately
// in one call (`keep: 'top-9'`). Targets: max <= 0.25x, top-9 <= 1.5x of one forward pass.
// Then ResNet-50 (the full-size torchvision export, see graph-models.mjs; skipped with the command
// that creates it when the file is missing): the strongest map of the last block's output
// (BENCH_RESNET_LAYER, default '/layer4/layer4.2/relu_2/Relu_output_0', [2048, 7, 7]) projected
// to pixels (`keep: 'max'`), and a Grad-CAM at the same tensor (`run.gradcamSync({ layer })`:
// the gradient of the top class's logit back to it), each against a forward pass, interleaved.
// Target: the projection <= 0.25x of a forward pass.
// Environment: BENCH_ROUNDS (15), BENCH_WARMUP (3), BENCH_MODE (deconvnet|guided|gradient),
// BENCH_MODELS (default bench/models/), BENCH_RESNET_LAYER.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { loadModel } from '../dist/index.js';
import { findModel, opWork } from './graph-models.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const mode = process.env.BENCH_MODE ?? 'deconvnet';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`;

const model = await loadModel('zfnet', { seed: 1 });
const png = PNG.sync.read(readFileSync(new URL('../models/samples/sneaker-1.png', import.meta.url)));
const input = model.preprocess({ width: png.width, height: png.height, data: png.data });

// The conv5 map with the strongest activation on this image.
const first = model.forwardSync(input);
const conv5 = first.activation('conv5');
const perMap = conv5.shape[2] * conv5.shape[3];
let map = 0;
conv5.data.forEach((v, i) => { if (v > conv5.data[map * perMap]) map = Math.floor(i / perMap); });
let best = 0;
for (let m = 0; m < conv5.shape[1]; m++) {
  const peak = Math.max(...conv5.data.subarray(m * perMap, (m + 1) * perMap));
  if (peak > best) { best = peak; map = m; }
}

const times = { forward: [], max: [], top9: [] };
let units;
for (let r = 0; r < warmup + rounds; r++) {
  let t = performance.now();
  const run = model.forwardSync(input);
  run.output();
  const tf = performance.now() - t;
  t = performance.now();
  const one = run.projectSync({ layer: 'conv5', map, keep: 'max', mode });
  const tm = performance.now() - t;
  t = performance.now();
  const nine = run.projectSync({ layer: 'conv5', map, keep: 'top-9', mode });
  const t9 = performance.now() - t;
  units = { one: one.units[0], nine: nine.units.length };
  if (r >= warmup) { times.forward.push(tf); times.max.push(tm); times.top9.push(t9); }
}

console.log(`# deconvnet projection benchmark: Node ${process.versions.node}, zfnet (${model.backend}), mode ${mode}, ` +
  `${rounds} interleaved rounds after ${warmup} warm-up`);
console.log(`conv5 map ${map} (strongest on models/samples/sneaker-1.png): max unit at ${units.one.y},${units.one.x} ` +
  `value ${units.one.value.toFixed(2)}, receptive box ${JSON.stringify(units.one.box)}`);
const f = median(times.forward);
console.log('');
console.log('what                          median ms  min-max ms     / forward  target');
console.log('----------------------------  ---------  -------------  ---------  ------');
const row = (name, xs, target) => console.log(`${name.padEnd(28)}  ${median(xs).toFixed(1).padStart(9)}  ` +
  `${range(xs).padStart(13)}  ${(median(xs) / f).toFixed(2).padStart(9)}  ${target}`);
row('forward pass (batch 1)', times.forward, '');
row('project conv5 max', times.max, '<= 0.25');
row('project conv5 top-9 (9 walks)', times.top9, '<= 1.50');

// ---------------------------------------------------------------------------------------------
// ResNet-50: a projection from the last block's output, and a Grad-CAM there.

/** The map of a [1, K, h, w] activation with the largest single value. */
function strongestMap(t) {
  const per = t.shape[2] * t.shape[3];
  let best = -Infinity;
  let which = 0;
  for (let i = 0; i < t.data.length; i++) if (t.data[i] > best) { best = t.data[i]; which = Math.floor(i / per); }
  return which;
}

const resnetPath = findModel('resnet50');
if (resnetPath) {
  const layer = process.env.BENCH_RESNET_LAYER ?? '/layer4/layer4.2/relu_2/Relu_output_0';
  const resnet = await loadModel(resnetPath, { name: 'resnet50' });
  const x = resnet.preprocess({ width: png.width, height: png.height, data: png.data });
  const act = resnet.forwardSync(x).activation(layer);
  const rmap = strongestMap(act);
  const rt = { forward: [], max: [], cam: [] };
  let unit;
  let cam;
  for (let r = 0; r < warmup + rounds; r++) {
    let t = performance.now();
    const run = resnet.forwardSync(x);
    run.output();
    const tf = performance.now() - t;
    t = performance.now();
    const one = run.projectSync({ layer, map: rmap, keep: 'max', mode });
    const tm = performance.now() - t;
    t = performance.now();
    cam = run.gradcamSync({ layer });
    const tc = performance.now() - t;
    unit = one.units[0];
    if (r >= warmup) { rt.forward.push(tf); rt.max.push(tm); rt.cam.push(tc); }
  }
  const rf = median(rt.forward);
  console.log(`\n# resnet50 (${resnet.backend}, ${resnetPath}), mode ${mode}, ${rounds} interleaved rounds after ${warmup} warm-up`);
  console.log(`${layer} [${act.shape.slice(1)}]: map ${rmap} (strongest on models/samples/sneaker-1.png), max unit at ${unit.y},${unit.x} ` +
    `value ${unit.value.toFixed(2)}, receptive box ${JSON.stringify(unit.box)}; Grad-CAM of class ${cam.class} (${cam.label})`);
  console.log('');
  console.log('what                          median ms  min-max ms     / forward  target');
  console.log('----------------------------  ---------  -------------  ---------  ------');
  const rrow = (name, xs, target) => console.log(`${name.padEnd(28)}  ${median(xs).toFixed(1).padStart(9)}  ` +
    `${range(xs).padStart(13)}  ${(median(xs) / rf).toFixed(2).padStart(9)}  ${target}`);
  rrow('forward pass (batch 1)', rt.forward, '');
  rrow('project layer4.2 out, max', rt.max, '<= 0.25');
  rrow('Grad-CAM at layer4.2 out', rt.cam, '');

  // What the walk has to do: the transposed convs of every conv below the layer, cropped to the
  // region one unit can reach. A unit of the last block reaches the whole image, and its region
  // covers the whole map from the block's first stride-2 conv down: only the work inside that
  // stage can be cropped, so the walk costs about as many multiply-adds as the forward's convs.
  const at = resnet.network.tensors.get(layer);
  const byStage = new Map();
  let below = 0;
  let all = 0;
  resnet.network.ops.forEach((op, i) => {
    const macs = op.kind === 'conv' ? opWork(resnet, i).macs : 0;
    all += macs;
    if (i > at) return;
    below += macs;
    const stage = /^\/(layer\d+)\//.exec(op.name ?? '')?.[1] ?? 'stem';
    byStage.set(stage, (byStage.get(stage) ?? 0) + macs);
  });
  console.log(`conv multiply-adds below ${layer}: ${(below / 1e9).toFixed(2)} G of the forward's ${(all / 1e9).toFixed(2)} G; by stage: ` +
    [...byStage].map(([k, v]) => `${k} ${(100 * v / all).toFixed(0)}%`).join(', ') + '.');
  const own = /^\/(layer\d+)\//.exec(layer)?.[1];
  if (own && byStage.has(own)) {
    console.log(`The walk to pixels repeats them as transposed convs; only ${own}'s can be cropped, so at least ` +
      `${(100 * (below - byStage.get(own)) / all).toFixed(0)}% of a forward's conv work remains ` +
      `(a projection of about ${((below - byStage.get(own)) / all).toFixed(2)}x a forward or more, at equal kernel speed).`);
  }
}
