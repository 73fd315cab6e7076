// `node bench/profile.mjs` (after `npm run build`): where the forward time of the graph CNNs goes,
// ours against onnxruntime-web, op by op. Both engines run the same ONNX file on the same seeded
// input, one thread, interleaved (ours, ort, ours, ort ...); ours is profiled with
// `forwardSync(x, { profile: true })` (run.timings, one performance.now() per op), onnxruntime
// with its own profiler (`enableProfiling`: a "<node>_kernel_time" event per node and run, which
// it prints on stdout at endProfiling; captured here, not shown).
//
// Each of onnxruntime's nodes is matched to our op of the same ONNX node name. onnxruntime fuses
// a Conv's following activation (Relu, Clip) into the Conv (FusedConv); our activations without
// a node of their own there are counted with the conv they follow, so both sides time the same
// work. Then, per model:
//   1. totals: the forward pass, the sum of the per-op medians, and what lies outside the ops;
//   2. by op kind and conv shape (depthwise / grouped / 1x1 / 3x3 ..., stride): ours ms, ort ms,
//      ours / ort, and both engines' GFLOP/s on the convs;
//   3. the BENCH_TOP convs where we lose the most time to onnxruntime (ms ours - ort), with shapes.
//
// Environment: BENCH_NETS (resnet50,mobilenet_v2,squeezenet1_1,googlenet; any NAME.onnx in
// BENCH_MODELS), BENCH_MODELS (default bench/models/), BENCH_ROUNDS (10), BENCH_WARMUP (3),
// BENCH_BACKEND (simd|scalar), BENCH_TOP (12).
import fs from 'node:fs';
import * as ort from 'onnxruntime-web';
import { loadModel } from '../dist/index.js';
import { findModel, opGroup, opWork } from './graph-models.mjs';

const ROUNDS = intEnv('BENCH_ROUNDS', 10);
const WARMUP = intEnv('BENCH_WARMUP', 3);
const TOP = intEnv('BENCH_TOP', 12);
const BACKEND = process.env.BENCH_BACKEND ?? 'simd';
const NETS = (process.env.BENCH_NETS ?? 'resnet50,mobilenet_v2,squeezenet1_1,googlenet').split(',').map((s) => s.trim()).filter(Boolean);
const SIMD_LIMIT = 44;

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
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) => r.map((cell, c) => {
    const s = String(cell ?? '');
    return c === 0 || !/^[-+\d.,x%/() ]+$/.test(s) ? s.padEnd(widths[c]) : s.padStart(widths[c]);
  }).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function seededInput(shape, seed) {
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

/**
 * onnxruntime's profile events: its wasm build writes them with fs.writeSync(1, ...) at
 * endProfiling; that one call is intercepted and parsed, everything else passes through.
 */
function endProfiling(session) {
  const write = fs.writeSync;
  let text = '';
  fs.writeSync = (fd, data, ...rest) => {
    if (fd === 1 && typeof data === 'string' && /"cat"\s*:|^\s*[[\]]\s*$/.test(data)) { text += data; return data.length; }
    return write.call(fs, fd, data, ...rest);
  };
  try {
    session.endProfiling();
  } finally {
    fs.writeSync = write;
  }
  const events = [];
  for (const line of text.split('\n')) {
    const s = line.trim().replace(/,$/, '');
    if (!s.startsWith('{')) continue;
    try { events.push(JSON.parse(s)); } catch { /* a partial line: ignore */ }
  }
  return events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
}

/** ms per onnxruntime node: the median over the timed runs (each node's first WARMUP events dropped). */
function ortNodeTimes(events) {
  const byNode = new Map();
  for (const e of events) {
    const name = e.name.slice(0, -'_kernel_time'.length);
    const n = byNode.get(name) ?? { name, op: e.args.op_name, inputs: e.args.input_type_shape, outputs: e.args.output_type_shape, durs: [] };
    n.durs.push(e.dur / 1e3);
    byNode.set(name, n);
  }
  for (const n of byNode.values()) n.ms = median(n.durs.slice(WARMUP));
  return byNode;
}

function convShape(model, i) {
  const op = model.network.ops[i];
  const [c, h, w] = model.inputShape(i);
  const [oc, oh, ow] = model.shapes[i];
  return `${c}->${oc} ${h}x${w}->${oh}x${ow} ${op.kernel.join('x')}/${op.stride[0]}${op.groups > 1 ? ` g${op.groups}` : ''}`;
}

async function profileModel(key) {
  const path = findModel(key);
  if (!path) return;
  const bytes = fs.readFileSync(path);
  const model = await loadModel(path, { backend: BACKEND, name: key });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3, enableProfiling: true,
  });
  const [inputName] = session.inputNames;
  const net = model.network;
  const ops = net.ops;
  const x = seededInput([1, ...net.input], 2);
  const feeds = { [inputName]: new ort.Tensor('float32', x.data, x.shape) };

  const ours = { total: [], timings: [] };
  const theirs = [];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    let t0 = performance.now();
    const run = model.forwardSync(x, { profile: true });
    run.output();
    const dt = performance.now() - t0;
    t0 = performance.now();
    const out = await session.run(feeds);
    const dto = performance.now() - t0;
    for (const t of Object.values(out)) t.dispose?.();
    if (r >= WARMUP) { ours.total.push(dt); ours.timings.push(run.timings); theirs.push(dto); }
  }
  const nodes = ortNodeTimes(endProfiling(session));
  await session.release();

  const opMs = ops.map((_, i) => median(ours.timings.map((t) => t[i])));
  const outside = median(ours.total.map((t, r) => t - ours.timings[r].reduce((a, b) => a + b, 0)));
  const ourTotal = median(ours.total);
  const ortTotal = median(theirs);
  const ortNodeSum = [...nodes.values()].reduce((s, n) => s + (Number.isFinite(n.ms) ? n.ms : 0), 0);

  // Units: each of onnxruntime's nodes with the op(s) of ours it covers. onnxruntime fuses into
  // a Conv the activation after it, and in residual blocks the Add after it (FusedConv's fourth
  // input, Z) and the activation after that: an op of ours with no node there that is one of
  // those is counted with the conv's node.
  const units = new Map(); // ORT node name -> { node, ops: [our op indices] }
  for (const n of nodes.values()) units.set(n.name, { node: n, ops: [] });
  const unitOf = [];
  const unmatched = [];
  const inputsOf = (i) => ops[i].inputs ?? [i - 1];
  const convUnit = (t) => (t >= 0 && unitOf[t] && ops[unitOf[t].ops[0]].kind === 'conv' ? unitOf[t] : undefined);
  ops.forEach((op, i) => {
    let unit;
    if (op.name && units.has(op.name)) unit = units.get(op.name);
    else if (op.kind === 'relu' || (op.kind === 'pointwise' && op.fn === 'clip')) unit = convUnit(inputsOf(i)[0]);
    else if (op.kind === 'binary' && op.fn === 'add' && !op.constant) {
      // The conv whose node took the sum in (4 inputs), and whose own output is not used elsewhere.
      unit = inputsOf(i).map(convUnit).find((u) => u && u.node.inputs?.length >= 4 && u.ops.length === 1);
    }
    if (unit) { unit.ops.push(i); unitOf[i] = unit; } else unmatched.push(i);
  });
  const ortOnly = [...units.values()].filter((u) => u.ops.length === 0).map((u) => u.node);

  // By group: the unit's head op (the first of ours it covers) gives the group.
  const groups = new Map();
  const add = (key, oursMs, ortMs, macs, count) => {
    const g = groups.get(key) ?? { key, count: 0, ours: 0, ort: 0, macs: 0 };
    g.count += count; g.ours += oursMs; g.ort += ortMs; g.macs += macs;
    groups.set(key, g);
  };
  const convUnits = [];
  for (const u of units.values()) {
    if (u.ops.length === 0) continue;
    const head = u.ops[0];
    const oursMs = u.ops.reduce((s, i) => s + opMs[i], 0);
    const fused = u.ops.slice(1).map((i) => `+${ops[i].kind === 'relu' ? 'relu' : ops[i].fn}`).join('');
    const key = opGroup(model, head) + fused;
    add(key, oursMs, u.node.ms, opWork(model, head).macs, 1);
    if (ops[head].kind === 'conv') convUnits.push({ head, oursMs, ortMs: u.node.ms, key, ortOp: u.node.op });
  }
  for (const i of unmatched) add(`${opGroup(model, i)} (no ort node)`, opMs[i], 0, opWork(model, i).macs, 1);
  for (const n of ortOnly) add(`ort ${n.op} (none of ours)`, 0, n.ms, 0, 1);

  console.log(`\n## ${key} (${path}), ${ROUNDS} interleaved rounds after ${WARMUP} warm-up`);
  console.log(table([
    ['engine', 'forward median ms', 'sum of op medians ms', 'outside the ops ms'],
    [`ours (${model.backend})`, fmt(ourTotal), fmt(opMs.reduce((a, b) => a + b, 0)), fmt(outside, 2)],
    ['onnxruntime-web (profiling on)', fmt(ortTotal), fmt(ortNodeSum), fmt(ortTotal - ortNodeSum, 2)],
  ]));
  console.log(`ours / onnxruntime = ${fmt(ourTotal / ortTotal, 2)} (onnxruntime's profiler adds a little to its time)`);

  const isConv = (k) => /^(conv|depthwise|grouped) /.test(k);
  const rows = [...groups.values()].sort((a, b) => Math.max(b.ours, b.ort) - Math.max(a.ours, a.ort));
  console.log('\nby op kind and conv shape (medians per op, summed; "+relu", "+add+relu": our ops that onnxruntime fuses into the conv):');
  console.log(table([
    ['group', 'ops', 'ours ms', 'ort ms', 'ours - ort ms', 'ours / ort', 'ours GFLOP/s', 'ort GFLOP/s', `ours % of ${SIMD_LIMIT}`],
    ...rows.map((g) => [g.key, String(g.count), fmt(g.ours, 2), fmt(g.ort, 2), fmt(g.ours - g.ort, 2),
      g.ort > 0 && g.ours > 0 ? fmt(g.ours / g.ort, 2) : '-',
      isConv(g.key) ? fmt(2 * g.macs / 1e6 / g.ours) : '', isConv(g.key) ? fmt(2 * g.macs / 1e6 / g.ort) : '',
      isConv(g.key) ? `${fmt(100 * 2 * g.macs / 1e6 / g.ours / SIMD_LIMIT, 0)}%` : '']),
  ]));

  convUnits.sort((a, b) => (b.oursMs - b.ortMs) - (a.oursMs - a.ortMs));
  console.log(`\nthe ${Math.min(TOP, convUnits.length)} convs where we lose the most to onnxruntime (of ${convUnits.length}; ` +
    'shape: in->out channels, in->out size, kernel/stride, groups):');
  console.log(table([
    ['op', 'class', 'shape', 'ours ms', 'ort ms', 'ours - ort', 'ours / ort', 'ours GFLOP/s', 'ort GFLOP/s'],
    ...convUnits.slice(0, TOP).map((u) => {
      const macs = opWork(model, u.head).macs;
      return [ops[u.head].name ?? `op ${u.head}`, u.key, convShape(model, u.head), fmt(u.oursMs, 2), fmt(u.ortMs, 2),
        fmt(u.oursMs - u.ortMs, 2), fmt(u.oursMs / u.ortMs, 2), fmt(2 * macs / 1e6 / u.oursMs), fmt(2 * macs / 1e6 / u.ortMs)];
    }),
  ]));
  const wins = convUnits.filter((u) => u.oursMs < u.ortMs);
  console.log(`convs faster than onnxruntime: ${wins.length} of ${convUnits.length} ` +
    `(saving ${fmt(wins.reduce((s, u) => s + u.ortMs - u.oursMs, 0), 1)} ms); slower: ${convUnits.length - wins.length} ` +
    `(losing ${fmt(convUnits.filter((u) => u.oursMs >= u.ortMs).reduce((s, u) => s + u.oursMs - u.ortMs, 0), 1)} ms)`);
}

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;
ort.env.logLevel = 'error';
console.log(`# per-op profile, ours against onnxruntime-web ${ort.env.versions.web} (wasm, SIMD, 1 thread): Node ${process.versions.node}`);
for (const key of NETS) await profileModel(key);
