// `npm run bench`: one forward pass of ZFNet (paper) and AlexNet (torchvision), batch 1,
// 1x3x224x224, one thread, in our engine and in the two WebAssembly engines a user would pick
// instead (onnxruntime-web's wasm backend, tfjs with the wasm backend), all with the same seeded
// weights. The three outputs are checked to agree first; then the engines are timed
// interleaved (A B C A B C ...) after a warm-up, and our engine's time is broken down per layer.
//
// Then the graph CNNs imported from ONNX (ResNet-50, MobileNet-v2, SqueezeNet-1.1, GoogLeNet:
// the full-size torchvision exports of scripts/export-torchvision.py --full, in BENCH_MODELS),
// from the same file in our engine (loadModel) and in onnxruntime-web: logits checked against
// onnxruntime's, the two timed interleaved, our time broken down by op kind and conv shape.
// A model whose file is missing is skipped with the command that creates it.
//
// Environment:
//   BENCH_ROUNDS=20    timed rounds per network (each round runs every engine once)
//   BENCH_WARMUP=5     untimed rounds first
//   BENCH_BACKEND=simd|scalar   our engine's build (default simd)
//   BENCH_NETS=zfnet,alexnet,resnet50,mobilenet_v2,squeezenet1_1,googlenet
//                      which networks; a name that is not built in is an ONNX file NAME.onnx in
//                      BENCH_MODELS (any of the 17 exports: densenet121, efficientnet_b0 ...)
//   BENCH_MODELS=DIR   where the ONNX exports are (default bench/models/, see graph-models.mjs)
// See bench/README.md for how to read the output.
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount, setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { Model, zfnet, alexnetTorchvision, networkToOnnx, simdSupported, loadModel } from '../dist/index.js';
import { findModel, groupTimes, opWork, MODEL_DIR } from './graph-models.mjs';

const ROUNDS = intEnv('BENCH_ROUNDS', 20);
const WARMUP = intEnv('BENCH_WARMUP', 5);
const BACKEND = process.env.BENCH_BACKEND ?? 'simd';
const GRAPHS = ['resnet50', 'mobilenet_v2', 'squeezenet1_1', 'googlenet'];
const NETS = (process.env.BENCH_NETS ?? ['zfnet', 'alexnet', ...GRAPHS].join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const AGREEMENT = 1e-3;     // abort if any two engines differ by more (relative to the output's max)
const SIMD_LIMIT = 44;      // GFLOP/s: f32x4 mul+add, one thread (shared/docs/performance.md)
const DRAM_GBS = 9.1;       // GB/s: streaming reads from linear memory, one thread
const SEED = 1;
const TARGET = 0.8;         // the issue's target for graph models: ours / onnxruntime <= 0.8

const NETWORKS = { zfnet: () => zfnet(), alexnet: () => alexnetTorchvision() };

function intEnv(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

if (BACKEND !== 'simd' && BACKEND !== 'scalar') throw new Error(`BENCH_BACKEND must be simd or scalar, got '${BACKEND}'`);
for (const n of NETS) {
  if (!NETWORKS[n] && !/^[\w.-]+$/.test(n)) throw new Error(`BENCH_NETS: '${n}' is neither a built-in network (${Object.keys(NETWORKS).join(', ')}) nor a model file name`);
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** A plain-text table: first row is the header; numbers right-aligned. */
function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) => r.map((cell, c) => {
    const s = String(cell ?? '');
    return c === 0 || !/^[-+\d.,x%/() ]+$/.test(s) ? s.padEnd(widths[c]) : s.padStart(widths[c]);
  }).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** max |a - b| / max |ref|. */
function relDiff(a, b, ref) {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

// ---------------------------------------------------------------------------------------------
// The network's work, from its description

/** Multiply-adds and weight floats of each conv/dense op. */
function work(model) {
  const ops = model.network.ops.map((op, i) => {
    const [c] = model.inputShape(i);
    const out = model.shapes[i];
    if (op.kind === 'conv') {
      const perOutput = (c / op.groups) * op.kernel[0] * op.kernel[1];
      return { macs: out[0] * out[1] * out[2] * perOutput, weights: op.filters * perOutput };
    }
    if (op.kind === 'dense') {
      const inputs = model.inputShape(i).reduce((a, b) => a * b, 1);
      return { macs: op.units * inputs, weights: op.units * inputs };
    }
    return { macs: 0, weights: 0 };
  });
  const sum = (kind, key) => ops.reduce((s, o, i) => s + (model.network.ops[i].kind === kind ? o[key] : 0), 0);
  return { ops, convMacs: sum('conv', 'macs'), fcMacs: sum('dense', 'macs'), fcWeights: sum('dense', 'weights') };
}

// ---------------------------------------------------------------------------------------------
// Inputs and weights

function seededInput(shape, seed) {
  // mulberry32, as the engine's initWeights: reproducible across runs and machines.
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
  for (let i = 0; i < data.length; i++) data[i] = 2 * random() - 1;
  return { shape, data };
}

/** NCHW -> NHWC, one image batch. */
function toNHWC({ shape: [n, c, h, w], data }) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + ch] = data[(b * c + ch) * h * w + p];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The peers

async function initPeers() {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.logLevel = 'error';

  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) {
    // Bundlers and some installs do not find the .wasm files next to the JS: point at them.
    setWasmPaths(fileURLToPath(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
  }
  await tf.ready();
  return {
    tfjs: `tfjs-backend-wasm ${tf.version_core} (${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, ` +
      `${getThreadsCount()} thread)`,
    ort: `onnxruntime-web ${ort.env.versions.web} wasm (SIMD, ${ort.env.wasm.numThreads} thread)`,
  };
}

async function ortEngine(net, model) {
  const bytes = networkToOnnx(net, (name) => model.getWeights(name));
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3,
  });
  return {
    name: 'onnxruntime-web',
    run: async (input) => {
      const out = await session.run({ input: new ort.Tensor('float32', input.data, input.shape) });
      const data = out.output.data;
      out.output.dispose?.();
      return data;
    },
    release: () => session.release(),
  };
}

/**
 * The same network as tfjs ops, NHWC. Weights are converted once: conv OIHW -> HWIO, dense
 * [units, inputs] -> [inputs, units] with the first dense layer's inputs reordered from our
 * C,H,W flattening to tfjs's H,W,C (what a converted Keras model does). Conv padding is an
 * explicit tf.pad then 'valid'; ceil-mode max-pools pad the end too (with 0 after a ReLU, exact
 * for max, else -Infinity); conv and dense fuse their bias and a following ReLU, as tfjs-layers
 * models do.
 */
function tfjsEngine(net, model) {
  const steps = [];
  const keep = [];
  const param = (t) => (keep.push(t), t);
  let shape = [...net.input]; // our [C, H, W] / [units]
  let nonNegative = false;
  const ops = net.ops;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const layer = model.layers.find((l) => l.op === i);
    const fuseRelu = ops[i + 1]?.kind === 'relu';
    switch (op.kind) {
      case 'conv': {
        if (op.groups !== 1) throw new Error('tfjs bench: grouped convolutions are not built here');
        const { weight, bias } = model.getWeights(layer.name);
        const [oc, ic, kh, kw] = [op.filters, shape[0], op.kernel[0], op.kernel[1]];
        const hwio = new Float32Array(weight.length);
        for (let o = 0; o < oc; o++) for (let c = 0; c < ic; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
          hwio[((y * kw + x) * ic + c) * oc + o] = weight[((o * ic + c) * kh + y) * kw + x];
        }
        const filter = param(tf.tensor4d(hwio, [kh, kw, ic, oc]));
        const b = param(tf.tensor1d(bias ?? new Float32Array(oc)));
        const [pt, pl, pb, pr] = op.pads;
        const padded = pt || pl || pb || pr;
        steps.push((x) => tf.fused.conv2d({
          x: padded ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : x, filter, bias: b,
          strides: op.stride, pad: 'valid', activation: fuseRelu ? 'relu' : 'linear',
        }));
        shape = model.shapes[i];
        nonNegative = fuseRelu;
        if (fuseRelu) i += 1;
        break;
      }
      case 'relu':
        steps.push((x) => tf.relu(x));
        nonNegative = true;
        break;
      case 'maxpool': {
        const [, h, w] = shape;
        const [oh, ow] = model.shapes[i].slice(1);
        const [kh, kw] = op.kernel;
        const [sh, sw] = op.stride;
        const [pt, pl] = op.pads;
        // End pads that make 'valid' pooling give our (possibly ceil-mode) output size.
        const pb = Math.max(0, (oh - 1) * sh + kh - h - pt);
        const pr = Math.max(0, (ow - 1) * sw + kw - w - pl);
        const fill = nonNegative ? 0 : -Infinity;
        const padded = pt || pl || pb || pr;
        steps.push((x) => tf.maxPool(padded ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]], fill) : x, op.kernel, op.stride, 'valid'));
        shape = model.shapes[i];
        break;
      }
      case 'lrn': {
        if (op.size % 2 !== 1) throw new Error('tfjs bench: LRN needs an odd size');
        // tfjs does not divide alpha by size; ONNX/Caffe (and we) do.
        steps.push((x) => tf.localResponseNormalization(x, (op.size - 1) / 2, op.bias, op.alpha / op.size, op.beta));
        break;
      }
      case 'flatten':
        break; // the dense layer reshapes
      case 'dropout':
        break; // identity at inference
      case 'dense': {
        const { weight, bias } = model.getWeights(layer.name);
        const inputs = shape.reduce((a, b) => a * b, 1);
        const units = op.units;
        // Transposed weights [inputs, units], rows in NHWC flattening order when the input is spatial.
        const t = new Float32Array(weight.length);
        const [c, h, w] = shape.length === 3 ? shape : [inputs, 1, 1];
        for (let u = 0; u < units; u++) {
          for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) {
            t[(p * c + ch) * units + u] = weight[u * inputs + ch * h * w + p];
          }
        }
        const b = param(tf.tensor2d(t, [inputs, units]));
        const bb = param(tf.tensor1d(bias ?? new Float32Array(units)));
        steps.push((x) => tf.fused.matMul({
          a: x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1]), b, bias: bb, activation: fuseRelu ? 'relu' : 'linear',
        }));
        shape = [units];
        nonNegative = fuseRelu;
        if (fuseRelu) i += 1;
        break;
      }
      case 'softmax':
        steps.push((x) => tf.softmax(x));
        break;
      default:
        throw new Error(`tfjs bench: op ${op.kind} is not built here`);
    }
  }
  return {
    name: 'tfjs-wasm',
    run: async (input) => {
      const nhwc = input.nhwc;
      const out = tf.tidy(() => {
        let x = tf.tensor4d(nhwc, [input.shape[0], input.shape[2], input.shape[3], input.shape[1]]);
        for (const step of steps) x = step(x);
        return x;
      });
      const data = out.dataSync();
      out.dispose();
      return data;
    },
    release: () => keep.forEach((t) => t.dispose()),
  };
}

function oursEngine(model) {
  return {
    name: `ours (${model.backend})`,
    timings: [],
    run: async function (input) {
      const run = model.forwardSync(input, { profile: true });
      const data = run.output().data;
      this.timings.push(run.timings);
      return data;
    },
    release: () => {},
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Interleaved timing: WARMUP rounds, then ROUNDS rounds of A B C A B C ... (engines[0] is ours:
 * its profiled timings keep the timed rounds only). Prints the engine table; returns the medians.
 */
async function timeInterleaved(engines, input, gflop) {
  const times = engines.map(() => []);
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let k = 0; k < engines.length; k++) {
      const t0 = performance.now();
      await engines[k].run(input);
      const dt = performance.now() - t0;
      if (r >= WARMUP) times[k].push(dt);
    }
    if (r === WARMUP - 1) engines[0].timings.length = 0;
  }

  const med = times.map(median);
  console.log(`\nforward pass, batch 1, ${ROUNDS} interleaved rounds after ${WARMUP} warm-up:`);
  console.log(table([
    ['engine', 'median ms', 'min-max ms', 'GFLOP/s', 'ours / engine'],
    ...engines.map((e, k) => [
      e.name, fmt(med[k]),
      `${fmt(Math.min(...times[k]))}-${fmt(Math.max(...times[k]))}`,
      fmt(gflop / (med[k] / 1e3)), k === 0 ? '1.00' : fmt(med[0] / med[k], 2),
    ]),
  ]));
  return med;
}

async function benchNetwork(key) {
  const net = NETWORKS[key]();
  const model = await Model.create(net, { backend: BACKEND });
  model.initWeights(SEED);
  const w = work(model);
  const gflop = (2 * (w.convMacs + w.fcMacs)) / 1e9;
  const input = seededInput([1, ...net.input], SEED + 1);
  input.nhwc = toNHWC(input);

  console.log(`\n## ${net.name}: ${net.ops.length} ops, input 1x${net.input.join('x')}, ` +
    `${(w.convMacs / 1e6).toFixed(0)} M conv MACs + ${(w.fcMacs / 1e6).toFixed(1)} M fc MACs = ${gflop.toFixed(3)} GFLOP, ` +
    `fc weights ${(w.fcWeights * 4 / 1e6).toFixed(1)} MB`);

  const ours = oursEngine(model);
  const engines = [ours, await ortEngine(net, model), tfjsEngine(net, model)];

  // 1. Agreement, before any timing.
  const outputs = [];
  for (const e of engines) outputs.push(await e.run(input));
  ours.timings.length = 0;
  const ref = outputs[0];
  const pairs = [[0, 1], [0, 2], [1, 2]].map(([a, b]) => {
    const d = relDiff(outputs[a], outputs[b], ref);
    return [`${engines[a].name} vs ${engines[b].name}`, d.toExponential(2), d <= AGREEMENT ? 'ok' : 'DISAGREE'];
  });
  console.log(`\nagreement on the output (max |a-b| / max |ours|, limit ${AGREEMENT}):`);
  console.log(table([['pair', 'max rel diff', 'verdict'], ...pairs]));
  if (pairs.some((p) => p[2] !== 'ok')) {
    engines.forEach((e) => e.release());
    throw new Error(`${net.name}: the engines disagree; not timing them`);
  }

  // 2. Interleaved timing: warm-up, then A B C A B C ...
  const med = await timeInterleaved(engines, input, gflop);

  // 3. Our time per layer (medians of the profiled ops of the timed rounds).
  const opMed = net.ops.map((_, i) => median(ours.timings.map((t) => t[i])));
  const groups = [];
  let current = { name: '(input)', ops: [] };
  net.ops.forEach((op, i) => {
    const layer = model.layers.find((l) => l.op === i);
    if (layer) groups.push(current = { name: layer.name, ops: [] });
    current.ops.push(i);
  });
  const rows = [['layer', 'ops', 'ms', 'share', 'conv/fc ms', 'GFLOP', 'GFLOP/s', `% of ${SIMD_LIMIT}`, 'weights GB/s']];
  let convMs = 0;
  let fcMs = 0;
  for (const g of groups.filter((g) => g.ops.length > 0)) {
    const main = g.ops.find((i) => net.ops[i].kind === 'conv' || net.ops[i].kind === 'dense');
    const layerMs = median(ours.timings.map((t) => g.ops.reduce((s, i) => s + t[i], 0)));
    const kind = main === undefined ? undefined : net.ops[main].kind;
    const mainMs = main === undefined ? NaN : opMed[main];
    const flop = main === undefined ? 0 : 2 * w.ops[main].macs / 1e9;
    const rate = flop / (mainMs / 1e3);
    if (kind === 'conv') convMs += mainMs;
    if (kind === 'dense') fcMs += mainMs;
    rows.push([
      g.name, g.ops.map((i) => net.ops[i].kind).join('+'), fmt(layerMs, 2),
      `${fmt(100 * layerMs / med[0], 0)}%`, fmt(mainMs, 2), fmt(flop, 3), fmt(rate),
      kind === 'conv' ? `${fmt(100 * rate / SIMD_LIMIT, 0)}%` : '',
      kind === 'dense' ? fmt(w.ops[main].weights * 4 / 1e9 / (mainMs / 1e3)) : '',
    ]);
  }
  const sumOps = opMed.reduce((a, b) => a + b, 0);
  const convRate = 2 * w.convMacs / 1e9 / (convMs / 1e3);
  rows.push(['all convs', '', '', '', fmt(convMs, 2), fmt(2 * w.convMacs / 1e9, 3), fmt(convRate),
    `${fmt(100 * convRate / SIMD_LIMIT, 0)}%`, '']);
  rows.push(['all fc', '', '', '', fmt(fcMs, 2), fmt(2 * w.fcMacs / 1e9, 3), fmt(2 * w.fcMacs / 1e9 / (fcMs / 1e3)), '',
    fmt(w.fcWeights * 4 / 1e9 / (fcMs / 1e3))]);
  console.log(`\n${engines[0].name} per layer (median ms of each op; sum of op medians ${fmt(sumOps, 1)} ms):`);
  console.log(table(rows));
  const convFloor = 2 * w.convMacs / 1e9 / SIMD_LIMIT * 1e3;
  const fcFloor = w.fcWeights * 4 / 1e9 / DRAM_GBS * 1e3;
  console.log(`documented one-thread limits (${SIMD_LIMIT} GFLOP/s mul+add, ${DRAM_GBS} GB/s streaming): conv ${fmt(convFloor)} ms + ` +
    `fc ${fmt(fcFloor)} ms = ${fmt(convFloor + fcFloor)} ms; ours ${fmt(med[0])} ms ` +
    `(limit / ours = ${fmt((convFloor + fcFloor) / med[0], 2)}; conv alone ${fmt(convFloor / convMs, 2)}, fc alone ${fmt(fcFloor / fcMs, 2)})`);

  engines.forEach((e) => e.release());
  return { net: net.name, med, names: engines.map((e) => e.name), ortDiff: relDiff(outputs[0], outputs[1], outputs[1]) };
}

/** onnxruntime-web on an ONNX file's bytes, as is (its first input and output). */
async function ortFileEngine(bytes) {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3,
  });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  return {
    name: 'onnxruntime-web',
    run: async (input) => {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', input.data, input.shape) });
      const data = out[outputName].data;
      out[outputName].dispose?.();
      return data;
    },
    release: () => session.release(),
  };
}

const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

/**
 * A graph CNN from its ONNX file (MODEL_DIR/key.onnx): ours (loadModel) against onnxruntime-web
 * on the same bytes. Undefined when the file is missing (findModel says how to create it).
 */
async function benchGraph(key) {
  const path = findModel(key);
  if (!path) return undefined;
  const bytes = readFileSync(path);
  const model = await loadModel(path, { backend: BACKEND, name: key });
  const net = model.network;
  const works = net.ops.map((_, i) => opWork(model, i));
  const sum = (kind, field) => works.reduce((s, w, i) => s + (net.ops[i].kind === kind ? w[field] : 0), 0);
  const convMacs = sum('conv', 'macs');
  const fcMacs = sum('dense', 'macs');
  const weightsMB = (sum('conv', 'weights') + sum('dense', 'weights')) * 4 / 1e6;
  const gflop = 2 * (convMacs + fcMacs) / 1e9;
  const kinds = new Map();
  for (const op of net.ops) kinds.set(op.kind, (kinds.get(op.kind) ?? 0) + 1);
  const input = seededInput([1, ...net.input], SEED + 1);

  console.log(`\n## ${key} (${path}): ${net.ops.length} ops (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}), ` +
    `input 1x${net.input.join('x')}, ${(convMacs / 1e6).toFixed(0)} M conv MACs + ${(fcMacs / 1e6).toFixed(1)} M fc MACs = ` +
    `${gflop.toFixed(3)} GFLOP, weights ${weightsMB.toFixed(1)} MB`);

  const ours = oursEngine(model);
  const engines = [ours, await ortFileEngine(bytes)];

  // 1. Agreement: our logits against onnxruntime's, before any timing.
  const [a, b] = [await engines[0].run(input), await engines[1].run(input)];
  ours.timings.length = 0;
  const diff = relDiff(a, b, b);
  const top = [argmax(a), argmax(b)];
  console.log(`\nlogits against onnxruntime's: max |ours - ort| / max |ort| = ${diff.toExponential(2)} (limit ${AGREEMENT}), ` +
    `top-1 class ours ${top[0]}, onnxruntime ${top[1]}: ${diff <= AGREEMENT ? 'ok' : 'DISAGREE'}`);
  if (!(diff <= AGREEMENT)) {
    engines.forEach((e) => e.release());
    throw new Error(`${key}: our logits differ from onnxruntime's by ${diff.toExponential(2)}; not timing it`);
  }

  // 2. Interleaved timing: warm-up, then A B A B ...
  const med = await timeInterleaved(engines, input, gflop);
  const ratio = med[0] / med[1];

  // 3. Our time by op kind and conv shape (medians of each op over the timed rounds, summed per group).
  const forwardMs = med[0];
  const opMs = net.ops.map((_, i) => median(ours.timings.map((t) => t[i])));
  const groups = groupTimes(model, opMs, forwardMs);
  const sumOps = opMs.reduce((x, y) => x + y, 0);
  console.log(`\n${ours.name} by op kind and conv shape (sum of the median ms of each op; all ops ${fmt(sumOps, 1)} ms, ` +
    `forward median ${fmt(forwardMs, 1)} ms):`);
  console.log(table([
    ['group', 'ops', 'ms', 'share', 'GFLOP', 'GFLOP/s', `% of ${SIMD_LIMIT}`],
    ...groups.map((g) => [g.key, String(g.count), fmt(g.ms, 2), `${fmt(100 * g.share, 0)}%`,
      g.macs ? fmt(g.gflop, 3) : '', g.macs ? fmt(g.rate) : '',
      g.key.startsWith('conv') || g.key.startsWith('depthwise') || g.key.startsWith('grouped') ? `${fmt(100 * g.rate / SIMD_LIMIT, 0)}%` : '']),
  ]));
  const convMs = groups.filter((g) => /^(conv|depthwise|grouped) /.test(g.key)).reduce((s, g) => s + g.ms, 0);
  const convFloor = 2 * convMacs / 1e9 / SIMD_LIMIT * 1e3;
  console.log(`all convs ${fmt(convMs, 1)} ms (${fmt(100 * convMs / forwardMs, 0)}% of the forward) at ` +
    `${fmt(2 * convMacs / 1e9 / (convMs / 1e3))} GFLOP/s; at ${SIMD_LIMIT} GFLOP/s they would take ${fmt(convFloor, 1)} ms. ` +
    `ours / onnxruntime = ${fmt(ratio, 2)}: ${verdict(ratio)}`);

  engines.forEach((e) => e.release());
  return { net: key, med, names: engines.map((e) => e.name), ortDiff: diff };
}

/** The issue's target for ours / onnxruntime. */
function verdict(ratio) {
  if (ratio <= TARGET) return `meets the target (<= ${TARGET})`;
  if (ratio <= 1) return `at parity or faster, not yet ${TARGET}`;
  return `slower than onnxruntime (target ${TARGET})`;
}

const peers = await initPeers();
console.log(`# forward-pass benchmark: Node ${process.versions.node}, ${process.arch}, ours: ${BACKEND} build ` +
  `(SIMD supported: ${simdSupported()}), ${peers.ort}, ${peers.tfjs}`);
console.log('one thread everywhere, batch 1, seeded He-uniform weights (seed 1), uniform [-1, 1] input');

const results = [];
let failed = false;
for (const key of NETS) {
  try {
    const r = NETWORKS[key] ? await benchNetwork(key) : await benchGraph(key);
    if (r) results.push(r);
  } catch (e) {
    console.error(`\n${e.message}`);
    failed = true;
  }
}
if (results.length > 0) {
  console.log('\n## summary (median ms; ratio < 1 means we are faster; logits diff = max |ours - ort| / max |ort|)');
  const peerNames = ['onnxruntime-web', 'tfjs-wasm'];
  const ms = (r, name) => r.med[r.names.indexOf(name)];
  console.log(table([
    ['network', `${results[0].names[0]} ms`, ...peerNames.map((n) => `${n} ms`), ...peerNames.map((n) => `ours / ${n}`),
      'logits diff vs ort', `target ours / ort <= ${TARGET}`],
    ...results.map((r) => [
      r.net, fmt(r.med[0]), ...peerNames.map((n) => fmt(ms(r, n))), ...peerNames.map((n) => fmt(r.med[0] / ms(r, n), 2)),
      r.ortDiff.toExponential(1), verdict(r.med[0] / ms(r, 'onnxruntime-web')),
    ]),
  ]));
}
console.log(`\nmodels folder: ${MODEL_DIR}`);
process.exit(failed ? 1 : 0);
