// `npm run bench` (part of it): occlusion sensitivity (paper, Fig. 7) on ZFNet as in the paper
// (seeded random weights), 224x224 input, a 32 px grey square stepping by 8 px (25 x 25 = 625
// positions), in one run:
//   naive   one full forward pass per position, batch 1, this thread (the reference),
//   fast/1  the fast path in this thread (crops + batched fc layers, no workers),
//   fast/N  the fast path on N threads (default: every core): this thread starts at once and
//           N - 1 worker threads join in when they have loaded the model (their start-up is
//           inside the time: it is what a call costs).
// Then the ratio naive / fast, and the largest difference of the maps (probability of the
// class, total activation of the conv5 map, top class) between the paths.
//
// Environment:
//   BENCH_OCCLUSION_STRIDE=8     stride (px)
//   BENCH_OCCLUSION_SIZE=32      occluder side (px)
//   BENCH_OCCLUSION_THREADS=N    threads for fast/N (default: the machine's cores)
//   BENCH_OCCLUSION_BATCH=16     positions per batch through the fc layers
//   BENCH_OCCLUSION_ROUNDS=1     rounds (each runs naive, fast/1, fast/N once; medians shown)
//   BENCH_BACKEND=simd|scalar
import { availableParallelism } from 'node:os';
import { Model, zfnet, occlusion } from '../dist/index.js';

const SIZE = intEnv('BENCH_OCCLUSION_SIZE', 32);
const STRIDE = intEnv('BENCH_OCCLUSION_STRIDE', 8);
const THREADS = intEnv('BENCH_OCCLUSION_THREADS', availableParallelism());
const BATCH = intEnv('BENCH_OCCLUSION_BATCH', 16);
const ROUNDS = intEnv('BENCH_OCCLUSION_ROUNDS', 1);
const BACKEND = process.env.BENCH_BACKEND ?? 'simd';
const TOLERANCE = 1e-5;

function intEnv(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const range = (xs) => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})` : '');

const model = await Model.create(zfnet(), { backend: BACKEND });
model.initWeights(1);
// A smooth image; amplitude 2 keeps the seeded network's softmax unsaturated (at caffe's
// +-100 the top class has p = 1.0000 and the probability maps would compare nothing).
const [c, h, w] = model.network.input;
const data = new Float32Array(c * h * w);
for (let ch = 0; ch < c; ch++) {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[(ch * h + y) * w + x] = 2 * Math.sin(0.05 * x * (ch + 1) + 0.03 * y) * Math.cos(0.021 * (x + y) - ch);
    }
  }
}
const input = { shape: [1, c, h, w], data };
const options = { size: SIZE, stride: STRIDE, fill: 'zero', batch: BATCH };

console.log(`occlusion: ZFNet (paper, seeded weights), ${h}x${w}, ${SIZE} px square, stride ${STRIDE}, ` +
  `backend ${model.backend}, batch ${BATCH}, ${availableParallelism()} cores, Node ${process.versions.node}`);

// Warm-up: compile, touch memory.
await occlusion(model, input, { ...options, stride: 64, workers: 0 });
await occlusion(model, input, { ...options, stride: 96, naive: true });

// Wall time, and CPU time of the whole process (every thread, workers included): on a shared,
// loaded machine the CPU time still shows the work each path does.
const times = { naive: [], fast1: [], fastN: [] };
const cpu = { naive: [], fast1: [], fastN: [] };
let naiveResult, fast1Result, fastNResult;
async function timed(key, run) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  const result = await run();
  times[key].push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu[key].push((c.user + c.system) / 1000);
  return result;
}
for (let r = 0; r < ROUNDS; r++) {
  naiveResult = await timed('naive', () => occlusion(model, input, { ...options, naive: true }));
  fast1Result = await timed('fast1', () => occlusion(model, input, { ...options, workers: 1 }));
  fastNResult = await timed('fastN', () => occlusion(model, input, { ...options, workers: THREADS }));
}

function diff(a, b) {
  let p = 0, act = 0, scale = 0, top = 0;
  for (let i = 0; i < a.probability.length; i++) {
    p = Math.max(p, Math.abs(a.probability[i] - b.probability[i]), Math.abs(a.topProbability[i] - b.topProbability[i]));
    act = Math.max(act, Math.abs(a.activation[i] - b.activation[i]));
    scale = Math.max(scale, Math.abs(b.activation[i]));
    if (a.top[i] !== b.top[i]) top += 1;
  }
  return { p, act, rel: scale ? act / scale : act, top };
}

const positions = naiveResult.grid.rows * naiveResult.grid.cols;
const tn = median(times.naive), t1 = median(times.fast1), tN = median(times.fastN);
console.log(`positions: ${naiveResult.grid.rows} x ${naiveResult.grid.cols} = ${positions}; ` +
  `class ${naiveResult.classIndex} (p = ${naiveResult.baseline.probability.toPrecision(4)}), conv5 map ${naiveResult.map}`);
console.log(`naive   (1 forward per position, 1 thread): ${tn.toFixed(0)} ms${range(times.naive)}  ` +
  `(${(tn / positions).toFixed(1)} ms per position)`);
console.log(`fast/1  (crops + batched fc, this thread):   ${t1.toFixed(0)} ms${range(times.fast1)}  ` +
  `(${(t1 / positions).toFixed(1)} ms per position)   naive / fast/1 = ${(tn / t1).toFixed(2)}x`);
console.log(`fast/${THREADS}  (this thread + ${THREADS - 1} worker${THREADS > 2 ? 's' : ''}, start-up included):  ${tN.toFixed(0)} ms${range(times.fastN)}  ` +
  `(${(tN / positions).toFixed(1)} ms per position)   naive / fast/${THREADS} = ${(tn / tN).toFixed(2)}x`);
const cn = median(cpu.naive), c1 = median(cpu.fast1), cN = median(cpu.fastN);
console.log(`CPU time (all threads): naive ${(cn / 1000).toFixed(1)} s, fast/1 ${(c1 / 1000).toFixed(1)} s, ` +
  `fast/${THREADS} ${(cN / 1000).toFixed(1)} s (naive / fast/${THREADS} = ${(cn / cN).toFixed(2)}x less work); ` +
  `fast/${THREADS} kept ${(cN / tN).toFixed(2)} cores busy on average (the machine's other load takes the rest)`);
let ok = true;
for (const [name, r] of [['fast/1', fast1Result], [`fast/${THREADS}`, fastNResult]]) {
  const d = diff(r, naiveResult);
  console.log(`max |${name} - naive|: probability ${d.p.toExponential(2)}, conv5 map total ${d.act.toExponential(2)} ` +
    `(relative ${d.rel.toExponential(2)}), top class differs at ${d.top} of ${positions} positions`);
  if (d.p > TOLERANCE || d.rel > TOLERANCE || d.top > 0) ok = false;
}
if (!ok) {
  console.error(`FAIL: the fast path differs from the naive one by more than ${TOLERANCE}`);
  process.exit(1);
}
