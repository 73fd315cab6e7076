// Deconvnet projection cost against the forward pass it starts from, in one interleaved run:
// ZFNet (paper geometry, seeded weights), one image; the strongest conv5 unit projected to
// pixels (`keep: 'max'`), and the top-9 positions of the same map, each projected separately
// in one call (`keep: 'top-9'`). Targets: max <= 0.25x, top-9 <= 1.5x of one forward pass.
// Environment: BENCH_ROUNDS (15), BENCH_WARMUP (3), BENCH_MODE (deconvnet|guided|gradient).
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { loadModel } from '../dist/index.js';

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
