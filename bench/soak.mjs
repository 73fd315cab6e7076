// `npm run soak` (not in CI: minutes): the engine under repetition (issue 14).
//
//   1. SOAK_CYCLES (10,000) cycles of load / forward / project / dispose on SOAK_MODEL
//      (zfnet-mini, the built-in default); every SOAK_SAMPLE cycles, after a full GC, the
//      process's memory (RSS, JS heap, array buffers) is sampled. The slope per cycle (least
//      squares over the samples after the first tenth) is printed; target: below 1 KB a cycle.
//   2. SOAK_CANCELS (1,000) occlusion starts on SOAK_OCCLUSION_MODEL (zfnet, 224 x 224, fast
//      path, SOAK_WORKERS threads), each cancelled at a random moment within SOAK_CANCEL_MS.
//      The cancel latency is the time from the moment the cancel was due (its timer's due
//      time: the wait for the stretch of work under way counts) to the promise's rejection;
//      the longest stretch is the largest gap of a zero-delay timer chain running beside it
//      (wall clock, and the process's CPU time in it: on a loaded machine the two differ).
//      Worst, 99th percentile and median are printed, with the memory slope per start. At the
//      end the model, cancelled a thousand times, runs one occlusion to completion and its maps
//      are compared with a fresh model's (bit for bit).
//
// Environment (fewer cycles for a quick look: SOAK_CYCLES=500 SOAK_CANCELS=50 npm run soak; 0 skips a part):
//   SOAK_CYCLES=10000  SOAK_SAMPLE=100  SOAK_MODEL=zfnet-mini
//   SOAK_CANCELS=1000  SOAK_OCCLUSION_MODEL=zfnet  SOAK_WORKERS=1  SOAK_CANCEL_MS=500
// Needs --expose-gc for the memory samples (the npm script passes it); exits 1 when the cycles
// leak more than 1 KB a cycle, a cancel takes over 100 ms, or the cancelled model's maps differ.
import { loadModel, occlusion } from '../dist/index.js';

const CYCLES = intEnv('SOAK_CYCLES', 10_000, 0);
const SAMPLE = intEnv('SOAK_SAMPLE', 100);
const MODEL = process.env.SOAK_MODEL || 'zfnet-mini';
const CANCELS = intEnv('SOAK_CANCELS', 1000, 0);
const OCCLUSION_MODEL = process.env.SOAK_OCCLUSION_MODEL || 'zfnet';
const WORKERS = intEnv('SOAK_WORKERS', 1, 0);
const CANCEL_MS = intEnv('SOAK_CANCEL_MS', 500);
const LEAK_BYTES = 1024;
const LATENCY_MS = 100;

function intEnv(name, fallback, min = 1) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

if (typeof globalThis.gc !== 'function') {
  console.error('soak: run with node --expose-gc (npm run soak does) to sample memory after a full GC');
  process.exit(2);
}

function memory() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, buffers: m.arrayBuffers + m.external };
}

/** Least-squares slope of ys over xs, after the first tenth (warm-up). */
function slope(samples, key) {
  const s = samples.slice(Math.floor(samples.length / 10));
  if (s.length < 2) return NaN;
  const n = s.length;
  const mx = s.reduce((a, p) => a + p.cycle, 0) / n, my = s.reduce((a, p) => a + p[key], 0) / n;
  let num = 0, den = 0;
  for (const p of s) { num += (p.cycle - mx) * (p[key] - my); den += (p.cycle - mx) ** 2; }
  return num / den;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function report(what, samples) {
  const first = samples[0], last = samples.at(-1);
  const slopes = { rss: slope(samples, 'rss'), heap: slope(samples, 'heap'), buffers: slope(samples, 'buffers') };
  console.log(`${what}: memory slope per cycle: RSS ${kb(slopes.rss)}, JS heap ${kb(slopes.heap)}, ` +
    `array buffers ${kb(slopes.buffers)} (RSS ${mb(first.rss)} -> ${mb(last.rss)}, ${samples.length} samples)`);
  return slopes;
}

function image(seed, length) {
  const data = new Float32Array(length);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 - 0.5) * 100;
  }
  return data;
}

const percentile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
};

let failed = false;

// 1. load / forward / project / dispose
if (CYCLES > 0) {
  const samples = [];
  const t0 = performance.now();
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const model = await loadModel(MODEL);
    const input = { shape: [1, ...model.network.input], data: image(cycle, model.network.input.reduce((a, b) => a * b, 1)) };
    const run = await model.forward(input);
    const layer = model.layers.filter((l) => l.kind === 'conv').at(-1).name;
    await run.project({ layer, map: cycle % 8, keep: 'max' });
    if (typeof model.dispose === 'function') model.dispose();
    if (cycle === 1 || cycle % SAMPLE === 0) samples.push({ cycle, ...memory() });
    if (cycle % Math.max(1, Math.floor(CYCLES / 10)) === 0) {
      console.log(`  cycle ${cycle}/${CYCLES}, ${((performance.now() - t0) / cycle).toFixed(1)} ms a cycle, RSS ${mb(samples.at(-1).rss)}`);
    }
  }
  const s = report(`${CYCLES} x load/forward/project/dispose of ${MODEL}`, samples);
  if (s.rss > LEAK_BYTES || s.heap > LEAK_BYTES) { failed = true; console.log(`  FAIL: over ${kb(LEAK_BYTES)} a cycle`); }
}

// 2. occlusion started and cancelled at a random moment
if (CANCELS > 0) {
  const model = await loadModel(OCCLUSION_MODEL);
  const input = { shape: [1, ...model.network.input], data: image(1, model.network.input.reduce((a, b) => a * b, 1)) };
  const options = { size: 50, stride: 8, workers: WORKERS };
  await occlusion(model, input, { ...options, size: 56, stride: 56 }); // warm
  const latencies = [], stretches = [], cpuStretches = [], samples = [];
  let finished = 0;
  for (let k = 1; k <= CANCELS; k++) {
    const controller = new AbortController();
    const after = Math.random() * CANCEL_MS;
    let stop = false, last = performance.now(), lastCpu = cpuNow(), worst = 0, worstCpu = 0;
    const tick = () => {
      const now = performance.now(), cpu = cpuNow();
      worst = Math.max(worst, now - last);
      worstCpu = Math.max(worstCpu, cpu - lastCpu);
      last = now;
      lastCpu = cpu;
      if (!stop) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const due = performance.now() + after;
    setTimeout(() => controller.abort(), after);
    try {
      await occlusion(model, input, { ...options, signal: controller.signal });
      finished += 1;
    } catch (e) {
      if (e?.name !== 'AbortError') throw e;
      latencies.push(performance.now() - due);
    } finally {
      stop = true;
    }
    stretches.push(worst);
    cpuStretches.push(worstCpu);
    if (k === 1 || k % Math.max(1, Math.floor(CANCELS / 20)) === 0) samples.push({ cycle: k, ...memory() });
    if (k % Math.max(1, Math.floor(CANCELS / 10)) === 0) {
      console.log(`  start ${k}/${CANCELS}: worst cancel latency so far ${Math.max(...latencies).toFixed(1)} ms`);
    }
  }
  const fmt = (xs) => `worst ${Math.max(...xs).toFixed(1)} ms, 99th percentile ${percentile(xs, 0.99).toFixed(1)} ms, ` +
    `median ${percentile(xs, 0.5).toFixed(1)} ms`;
  console.log(`${CANCELS} occlusion starts on ${OCCLUSION_MODEL} (workers ${WORKERS}), cancelled within ${CANCEL_MS} ms ` +
    `(${finished} finished first): cancel latency ${fmt(latencies)}; longest stretch ${fmt(stretches)} wall clock, ` +
    `${fmt(cpuStretches)} of the process's CPU time (with workers, theirs too)`);
  report(`${CANCELS} cancelled occlusions`, samples);
  if (Math.max(...latencies) > LATENCY_MS) { failed = true; console.log(`  FAIL: a cancel took over ${LATENCY_MS} ms`); }
  // Still usable: the same maps as a fresh model's.
  const small = { size: 56, stride: 28, workers: WORKERS };
  const after = await occlusion(model, input, small);
  const fresh = await occlusion(await loadModel(OCCLUSION_MODEL), input, small);
  const same = ['probability', 'activation', 'top'].every((key) => after[key].every((v, i) => Object.is(v, fresh[key][i])));
  console.log(`the model after ${CANCELS} cancels: ${same ? 'the same maps as a fresh model (bit for bit)' : 'DIFFERENT maps from a fresh model'}`);
  if (!same) failed = true;
  if (typeof model.dispose === 'function') model.dispose();
}

process.exit(failed ? 1 : 0);
