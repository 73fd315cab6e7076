// The full-size torchvision classifiers the benchmarks run (ONNX files, not committed): where
// they are, how to make them, and how their convolutions are classified in the breakdowns.
//
//   BENCH_MODELS=DIR   the folder with resnet50.onnx, mobilenet_v2.onnx, ... (default bench/models/)
//
// The files are what scripts/export-torchvision.py --full writes: the torchvision classes with
// weights=None, seeded, BN statistics measured then perturbed, eval mode, opset 13, input
// 'input' [1, 3, 224, 224], output 'logits' [1, 1000].
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const MODEL_DIR = process.env.BENCH_MODELS || fileURLToPath(new URL('./models/', import.meta.url));

/** The command that writes the 17 full-size exports into MODEL_DIR (a few minutes, 1.6 GB). */
export function exportCommand() {
  const rel = relative(ROOT, MODEL_DIR) || '.';
  const dir = rel.startsWith('..') ? MODEL_DIR : rel;
  return `/usr/bin/python3 scripts/export-torchvision.py --full ${dir}` + (process.env.BENCH_MODELS ? '' : '   (from the repository root)');
}

/** The model's file, or undefined after printing why it is skipped and how to create it. */
export function findModel(name) {
  const path = join(MODEL_DIR, `${name}.onnx`);
  if (existsSync(path)) return path;
  console.log(`\n## ${name}: skipped, ${path} not found. Create the full-size exports with\n` +
    `  ${exportCommand()}\n` +
    '(Debian\'s Python with torch 1.13 / torchvision 0.14; or point BENCH_MODELS=DIR at a folder that has them)');
  return undefined;
}

/** One filter per input channel, one output per filter (src/engine/ops/conv.ts's isDepthwise). */
export const isDepthwise = (op, channels) => op.groups === channels && op.filters === channels && channels > 1;

/**
 * A conv's class for the breakdowns: depthwise / grouped / dense convs, by kernel and stride:
 * 'conv 1x1', 'conv 3x3/2', 'depthwise 3x3', 'grouped 3x3' ...
 */
export function convClass(op, channels) {
  const kind = isDepthwise(op, channels) ? 'depthwise' : op.groups > 1 ? 'grouped' : 'conv';
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const stride = sh === 1 && sw === 1 ? '' : sh === sw ? `/${sh}` : `/${sh}x${sw}`;
  const dil = op.dilations && (op.dilations[0] !== 1 || op.dilations[1] !== 1) ? ` dil ${op.dilations.join('x')}` : '';
  return `${kind} ${kh}x${kw}${stride}${dil}`;
}

/** Multiply-adds and weight floats of op i (conv and dense; 0 for the others). */
export function opWork(model, i) {
  const op = model.network.ops[i];
  const x = model.inputShape(i);
  const out = model.shapes[i];
  if (op.kind === 'conv') {
    const perOutput = (x[0] / op.groups) * op.kernel[0] * op.kernel[1];
    return { macs: out[0] * out[1] * out[2] * perOutput, weights: op.filters * perOutput };
  }
  if (op.kind === 'dense') {
    const inputs = x.reduce((a, b) => a * b, 1);
    return { macs: op.units * inputs, weights: op.units * inputs };
  }
  return { macs: 0, weights: 0 };
}

/** An op's group in the by-kind breakdown: its conv class, or its kind (binary/pointwise with their function, pools with their window). */
export function opGroup(model, i) {
  const op = model.network.ops[i];
  if (op.kind === 'conv') return convClass(op, model.inputShape(i)[0]);
  if (op.kind === 'binary' || op.kind === 'pointwise') return `${op.kind} ${op.fn}`;
  if (op.kind === 'maxpool' || op.kind === 'avgpool') {
    const global = op.kernel && model.inputShape(i)[1] === op.kernel[0] && model.inputShape(i)[2] === op.kernel[1];
    if (!op.kernel || global) return `${op.kind} global`;
    return `${op.kind} ${op.kernel.join('x')}/${op.stride[0]}${op.ceil ? ' ceil' : ''}`;
  }
  return op.kind;
}

/**
 * Our time by op group, from per-op medians (`opMs[i]`): rows sorted by time, with the count of
 * ops, ms, share of `forwardMs`, and for convs and dense layers their GFLOP and GFLOP/s.
 */
export function groupTimes(model, opMs, forwardMs) {
  const groups = new Map();
  model.network.ops.forEach((op, i) => {
    const key = opGroup(model, i);
    const g = groups.get(key) ?? { key, count: 0, ms: 0, macs: 0 };
    g.count += 1;
    g.ms += opMs[i];
    g.macs += opWork(model, i).macs;
    groups.set(key, g);
  });
  return [...groups.values()].sort((a, b) => b.ms - a.ms).map((g) => ({
    ...g, share: g.ms / forwardMs, gflop: 2 * g.macs / 1e9, rate: g.macs ? 2 * g.macs / 1e9 / (g.ms / 1e3) : NaN,
  }));
}
