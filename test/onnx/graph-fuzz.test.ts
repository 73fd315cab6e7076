// Seeded fuzz of the graph ops' attributes and shapes against onnxruntime-web: small graphs
// built with test/onnx/builder.ts around one node under test (Pad, Slice, Split, Concat,
// Transpose, Reshape, Gather, ReduceMean, Clip, LeakyRelu / Elu / HardSigmoid / HardSwish,
// BatchNormalization, Add / Sub / Mul / Div / PRelu with broadcasting and constants, Softmax,
// Conv), with attribute values drawn from valid and invalid ranges (negative and out-of-range
// starts and ends, steps of either sign, pads that crop, sizes that do not add up, axes out of
// range, shapes that do not broadcast, groups that do not divide...). Each case is one of:
// - loaded by both: every graph output matches onnxruntime's (shape, and max rel diff <= 1e-4);
//   then the gradient walk in all three modes, from a random cotangent on the output, matches the
//   float64 reference (test/reference/graph.ts) from the engine's own activations, and for
//   [C, H, W] outputs a span-limited projection (keep max) does too;
// - refused by us with a ModelFormatError or ArgumentError whose message names the node
//   (by its name) — whether onnxruntime runs it or not;
// never a crash, a trap, another exception or wrong numbers. When onnxruntime refuses a graph we
// load, the case is listed, and each such case must fall under an explanation below.
// Then the bad-input cases: a cycle, a dangling or duplicate tensor name, a second data input
// with no constant bound, a Split whose sizes do not add up, shapes that do not broadcast, and a
// projection through an op with no backward (no op kind lacks one: checked).
import * as ort from 'onnxruntime-web';
import { describe, expect, test } from 'vitest';
import { ArgumentError, loadModel, ModelFormatError, type Model, type Run } from '../../src/index.js';
import { OPS } from '../../src/engine/ops/index.js';
import { gradientAt } from '../../src/deconv/walk.js';
import { relDiff } from '../helpers/compare.js';
import { buildOnnx, Rng, type AttrValue, type BGraph, type BNode, type BTensor } from './builder.js';
import {
  graphBackward, graphForward, graphProject, mapsOf, modelParams,
} from '../reference/graph.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'fatal';

const TOLERANCE = 1e-4;
const CASES_PER_OP = 140;
const MODES = ['deconvnet', 'guided', 'gradient'] as const;

// ---------------------------------------------------------------------------------------------
// Random graph pieces

class R {
  private rng: Rng;
  constructor(seed: number) { this.rng = new Rng(seed); }
  next(): number { return this.rng.next(); }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(a: readonly T[]): T { return a[Math.floor(this.next() * a.length)]; }
  floats(n: number, lo = -1, hi = 1): Float32Array { return Float32Array.from({ length: n }, () => lo + (hi - lo) * this.next()); }
  shuffle<T>(a: T[]): T[] {
    const b = [...a];
    for (let i = b.length - 1; i > 0; i--) { const j = Math.floor(this.next() * (i + 1)); [b[i], b[j]] = [b[j], b[i]]; }
    return b;
  }
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const BIG = [2 ** 31 - 1, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1)];

interface Case {
  op: string;
  graph: BGraph;
  /** The node under test. */
  node: string;
  /** What was drawn, for messages. */
  note: string;
  /**
   * The same computation written so that onnxruntime runs it, for a case it refuses although the
   * ONNX spec defines it (`because`: its message): compared instead.
   */
  equivalent?: { graph: BGraph; because: RegExp; why: string };
}

/** An input [1, ...] of rank 2 to 4 (or exactly 4 for image ops), small dims. */
function input(r: R, rank = r.pick([2, 3, 4, 4, 4])): number[] {
  const dims = [1];
  for (let a = 1; a < rank; a++) dims.push(r.int(1, a === 1 ? 4 : 5));
  return dims;
}

const ints = (name: string, data: number[], dims = [data.length]): BTensor => ({ name, dims, type: 'int64', data });
const floats = (name: string, data: Float32Array | number[], dims: number[]): BTensor => ({ name, dims, data: data instanceof Float32Array ? data : Float32Array.from(data) });

/** A one-node (plus helpers) graph reading input 'x' of `dims`, its outputs `outs`. */
function graph(opset: number, dims: number[], nodes: BNode[], initializers: BTensor[], outs: string[]): BGraph {
  return { opset, inputs: [{ name: 'x', dims }], outputs: outs.map((name) => ({ name })), nodes, initializers, producer: 'graph-fuzz' };
}

/** A random axis of a rank-`rank` tensor, written negative half the time, sometimes out of range. */
function axis(r: R, rank: number, bad = 0.04): number {
  if (r.chance(bad)) return r.pick([rank, -rank - 1, rank + 2]);
  const a = r.int(0, rank - 1);
  return r.chance(0.5) ? a - rank : a;
}

// ---------------------------------------------------------------------------------------------
// Generators, one per op family

type Gen = (r: R, i: number) => Case;

const GENERATORS: Record<string, Gen> = {
  Pad(r, i) {
    const x = input(r);
    const rank = x.length;
    const opset = r.pick([2, 11, 13, 18, 18]);
    const mode = r.chance(0.03) ? 'wrap' : r.pick(['constant', 'reflect', 'edge']);
    const useAxes = opset >= 18 && r.chance(0.4);
    const axes = useAxes ? r.shuffle([...Array(rank).keys()]).slice(0, r.int(1, rank)).map((a) => (r.chance(0.5) ? a - rank : a)) : [...Array(rank).keys()];
    const one = (a: number) => ((a < 0 ? a + rank : a) === 0 ? (r.chance(0.08) ? r.int(-1, 1) : 0) : r.chance(0.7) ? r.int(-2, 3) : 0);
    const before = axes.map(one), after = axes.map(one);
    const pads = [...before, ...after];
    const value = r.pick([0, 0.5, -2]);
    const name = `fuzz_pad_${i}`;
    const init: BTensor[] = [];
    const node: BNode = { op: 'Pad', name, inputs: ['x'], outputs: ['y'], attrs: { mode } };
    if (opset < 11) {
      node.attrs!.pads = pads;
      if (mode === 'constant') node.attrs!.value = { float: value };
    } else {
      init.push(ints('pads', pads));
      node.inputs.push('pads');
      if (mode === 'constant' && r.chance(0.7)) { init.push(floats('value', [value], [])); node.inputs.push('value'); }
      if (useAxes) { if (node.inputs.length === 2) node.inputs.push(''); init.push(ints('axes', axes)); node.inputs.push('axes'); }
    }
    return { op: 'Pad', graph: graph(opset, x, [node], init, ['y']), node: name, note: `opset ${opset} ${mode} x [${x}] pads [${pads}]${useAxes ? ` axes [${axes}]` : ''}` };
  },

  Slice(r, i) {
    const x = input(r);
    const rank = x.length;
    const opset = r.pick([1, 10, 13, 13]);
    const n = r.int(1, rank);
    let axes = r.shuffle([...Array(rank).keys()]).slice(0, n);
    if (r.chance(0.05) && n > 1) axes[1] = axes[0]; // a repeated axis
    axes = axes.map((a) => (r.chance(0.04) ? rank + 1 : r.chance(0.4) ? a - rank : a));
    const dimOf = (a: number) => x[a < 0 ? a + rank : a] ?? 3;
    const steps = axes.map(() => (opset >= 10 ? r.pick([1, 1, 1, 2, 3, -1, -1, -2, r.chance(0.1) ? 0 : 1]) : 1));
    const starts: number[] = [], ends: number[] = [];
    axes.forEach((a, k) => {
      const d = dimOf(a);
      const neg = (v: number) => (r.chance(0.3) ? v - d : v); // the same position, counted from the end
      if (r.chance(0.2)) {
        // Anything: out of range, huge, empty.
        starts.push(r.chance(0.2) ? r.pick(BIG) : r.int(-d - 2, d + 2));
        ends.push(r.chance(0.2) ? r.pick(BIG) : r.int(-d - 2, d + 2));
      } else if (steps[k] > 0) {
        const s0 = r.int(0, d - 1);
        starts.push(r.chance(0.1) ? -(2 ** 31) : neg(s0));
        ends.push(r.chance(0.25) ? r.pick([2 ** 31 - 1, 2 ** 53 - 1, d + 3]) : neg(r.int(s0 + 1, d)));
      } else {
        const s0 = r.int(0, d - 1);
        starts.push(r.chance(0.15) ? r.pick([2 ** 31 - 1, d + 2]) : neg(s0));
        ends.push(r.chance(0.3) ? r.pick([-(2 ** 31), -(2 ** 53 - 1), -d - 3]) : s0 > 0 ? r.int(0, s0 - 1) : -d - 1);
      }
    });
    const withAxes = r.chance(0.8);
    const name = `fuzz_slice_${i}`;
    const init: BTensor[] = [];
    const node: BNode = { op: 'Slice', name, inputs: ['x'], outputs: ['y'] };
    const usedAxes = withAxes ? axes : [...Array(n).keys()];
    if (opset < 10) {
      node.attrs = { starts, ends, ...(withAxes ? { axes } : {}) };
    } else {
      init.push(ints('starts', starts), ints('ends', ends));
      node.inputs.push('starts', 'ends');
      const withSteps = steps.some((s) => s !== 1) || r.chance(0.3);
      if (withAxes || withSteps) {
        if (withAxes) { init.push(ints('axes', axes)); node.inputs.push('axes'); } else node.inputs.push('');
        if (withSteps) { init.push(ints('steps', steps)); node.inputs.push('steps'); }
      }
    }
    return { op: 'Slice', graph: graph(opset, x, [node], init, ['y']), node: name, note: `opset ${opset} x [${x}] starts [${starts}] ends [${ends}] axes [${usedAxes}] steps [${steps}]` };
  },

  Split(r, i) {
    const x = input(r);
    const rank = x.length;
    const opset = r.pick([11, 13, 18]);
    const a = axis(r, rank);
    const len = x[a < 0 ? a + rank : a] ?? 2;
    const parts = r.int(1, 3);
    let sizes: number[] | undefined;
    if (r.chance(0.7)) {
      sizes = [];
      let left = len;
      for (let k = 0; k < parts - 1; k++) { const s = r.int(left > parts - k - 1 ? 1 : 0, Math.max(0, left - (parts - k - 1))); sizes.push(s); left -= s; }
      sizes.push(left);
      if (r.chance(0.15)) sizes[r.int(0, parts - 1)] += r.pick([1, -1]);
    }
    const name = `fuzz_split_${i}`;
    const outs = Array.from({ length: parts }, (_, k) => `y${k}`);
    const init: BTensor[] = [];
    const node: BNode = { op: 'Split', name, inputs: ['x'], outputs: outs, attrs: { axis: a } };
    if (sizes && opset >= 13) { init.push(ints('split', sizes)); node.inputs.push('split'); }
    else if (sizes) node.attrs!.split = sizes;
    else if (opset >= 18) node.attrs!.num_outputs = parts;
    return { op: 'Split', graph: graph(opset, x, [node], init, outs), node: name, note: `opset ${opset} x [${x}] axis ${a} ${sizes ? `split [${sizes}]` : `${parts} equal parts`}` };
  },

  Concat(r, i) {
    const x = input(r);
    const rank = x.length;
    const a = axis(r, rank);
    const at = a < 0 ? a + rank : a;
    const nodes: BNode[] = [];
    const init: BTensor[] = [];
    const parts: string[] = [];
    const k = r.int(2, 3);
    const what: string[] = [];
    for (let j = 0; j < k; j++) {
      const kind = j === 0 && r.chance(0.5) ? 'x' : r.pick(['x', 'relu', 'slice', 'slice', 'const', 'bad']);
      if (kind === 'x') { parts.push('x'); what.push('x'); continue; }
      if (kind === 'relu') { nodes.push({ op: 'Relu', name: `helper_relu_${j}`, inputs: ['x'], outputs: [`r${j}`] }); parts.push(`r${j}`); what.push('relu'); continue; }
      if (kind === 'const') {
        const dims = [...x];
        if (at < rank) dims[at] = r.int(1, 3);
        init.push(floats(`c${j}`, r.floats(prod(dims)), dims));
        parts.push(`c${j}`);
        what.push(`const [${dims}]`);
        continue;
      }
      // A slice of x along the concat axis (or, 'bad', along another: the shapes then differ).
      const sa = kind === 'bad' ? (at + 1) % rank : at;
      const len = x[sa] ?? 1;
      const end = r.int(1, len);
      init.push(ints(`s${j}`, [0]), ints(`e${j}`, [end]), ints(`a${j}`, [sa]));
      nodes.push({ op: 'Slice', name: `helper_slice_${j}`, inputs: ['x', `s${j}`, `e${j}`, `a${j}`], outputs: [`p${j}`] });
      parts.push(`p${j}`);
      what.push(`slice axis ${sa} to ${end}`);
    }
    if (parts.every((p) => p.startsWith('c'))) { parts[0] = 'x'; what[0] = 'x'; init.shift(); }
    const name = `fuzz_concat_${i}`;
    nodes.push({ op: 'Concat', name, inputs: parts, outputs: ['y'], attrs: { axis: a } });
    return { op: 'Concat', graph: graph(13, x, nodes, init, ['y']), node: name, note: `x [${x}] axis ${a} parts ${what.join(', ')}` };
  },

  Transpose(r, i) {
    const x = input(r);
    const rank = x.length;
    let perm: number[] | undefined = r.shuffle([...Array(rank).keys()]);
    if (r.chance(0.15)) perm = [0, ...r.shuffle([...Array(rank - 1).keys()].map((v) => v + 1))];
    if (r.chance(0.1)) perm = undefined;
    else if (r.chance(0.06)) perm = r.chance(0.5) ? [...perm!.slice(0, -1), perm![0]] : perm!.slice(1);
    const name = `fuzz_transpose_${i}`;
    const node: BNode = { op: 'Transpose', name, inputs: ['x'], outputs: ['y'], attrs: perm ? { perm } : {} };
    return { op: 'Transpose', graph: graph(13, x, [node], [], ['y']), node: name, note: `x [${x}] perm ${perm ? `[${perm}]` : 'default'}` };
  },

  Reshape(r, i) {
    const x = input(r);
    const total = prod(x);
    const rank = r.int(1, 5);
    // A random factorisation of the total over `rank` axes.
    const target = new Array<number>(rank).fill(1);
    let left = total;
    for (let p = 2; left > 1;) {
      if (left % p === 0) { target[r.int(0, rank - 1)] *= p; left /= p; } else p++;
    }
    if (r.chance(0.5)) target[0] = r.pick([1, -1, 0]);
    for (let a = 1; a < rank; a++) {
      if (r.chance(0.15)) target[a] = 0; // copy x's axis a
      else if (r.chance(0.1) && !target.includes(-1)) target[a] = -1;
    }
    if (r.chance(0.08)) target[r.int(0, rank - 1)] += 1;
    if (r.chance(0.03)) target[r.int(0, rank - 1)] = -1;
    const opset = r.pick([13, 14]);
    const allowzero = opset >= 14 && r.chance(0.2) ? 1 : 0;
    const name = `fuzz_reshape_${i}`;
    const node: BNode = { op: 'Reshape', name, inputs: ['x', 'shape'], outputs: ['y'], attrs: allowzero ? { allowzero } : {} };
    return { op: 'Reshape', graph: graph(opset, x, [node], [ints('shape', target)], ['y']), node: name, note: `x [${x}] shape [${target}]${allowzero ? ' allowzero' : ''}` };
  },

  Gather(r, i) {
    const x = input(r);
    const rank = x.length;
    const a = axis(r, rank);
    const len = x[a < 0 ? a + rank : a] ?? 2;
    const index = () => (r.chance(0.05) ? r.pick([len, -len - 1]) : r.int(-len, len - 1));
    const shape = r.pick(['scalar', 'list', 'list', 'matrix']);
    const idx = shape === 'scalar' ? [index()] : Array.from({ length: shape === 'matrix' ? 2 * r.int(1, 2) : r.int(1, 4) }, index);
    const dims = shape === 'scalar' ? [] : shape === 'matrix' ? [2, idx.length / 2] : [idx.length];
    const name = `fuzz_gather_${i}`;
    const node: BNode = { op: 'Gather', name, inputs: ['x', 'i'], outputs: ['y'], attrs: { axis: a } };
    return { op: 'Gather', graph: graph(13, x, [node], [ints('i', idx, dims)], ['y']), node: name, note: `x [${x}] axis ${a} indices [${idx}] dims [${dims}]` };
  },

  ReduceMean(r, i) {
    const x = input(r);
    const rank = x.length;
    const opset = r.pick([13, 18]);
    const n = r.int(0, rank);
    let axes = r.shuffle([...Array(rank).keys()]).slice(0, n).map((a) => (r.chance(0.4) ? a - rank : a));
    if (r.chance(0.04)) axes = [...axes, rank];
    if (r.chance(0.04) && axes.length) axes = [...axes, axes[0]];
    const keepdims = r.chance(0.5) ? 1 : 0;
    const noop = opset >= 18 && r.chance(0.2) ? 1 : 0;
    const name = `fuzz_reducemean_${i}`;
    const init: BTensor[] = [];
    const node: BNode = { op: 'ReduceMean', name, inputs: ['x'], outputs: ['y'], attrs: { keepdims, ...(noop ? { noop_with_empty_axes: 1 } : {}) } };
    if (opset >= 18) { if (axes.length || r.chance(0.5)) { init.push(ints('axes', axes)); node.inputs.push('axes'); } }
    else if (axes.length) node.attrs!.axes = axes;
    return { op: 'ReduceMean', graph: graph(opset, x, [node], init, ['y']), node: name, note: `opset ${opset} x [${x}] axes [${axes}] keepdims ${keepdims}${noop ? ' noop' : ''}` };
  },

  Clip(r, i) {
    const x = input(r);
    const opset = r.pick([10, 11, 13]);
    const min = r.pick([undefined, 0, 0, -0.5, r.next() * 2 - 1]);
    const max = r.pick([undefined, 6, 0.5, r.next() * 2 - 1]);
    const nodes: BNode[] = [{ op: 'Mul', name: 'helper_scale', inputs: ['x', 'k'], outputs: ['s'] }];
    const init: BTensor[] = [floats('k', [4], [])];
    const name = `fuzz_clip_${i}`;
    const node: BNode = { op: 'Clip', name, inputs: ['s'], outputs: ['y'] };
    if (opset < 11) node.attrs = { ...(min !== undefined ? { min: { float: min } } : {}), ...(max !== undefined ? { max: { float: max } } : {}) };
    else {
      if (min !== undefined || max !== undefined) { if (min !== undefined) { init.push(floats('lo', [min], [])); node.inputs.push('lo'); } else node.inputs.push(''); }
      if (max !== undefined) { init.push(floats('hi', [max], [])); node.inputs.push('hi'); }
    }
    nodes.push(node);
    return { op: 'Clip', graph: graph(opset, x, nodes, init, ['y']), node: name, note: `opset ${opset} x [${x}] min ${min} max ${max}` };
  },

  Activations(r, i) {
    const x = input(r);
    const op = r.pick(['LeakyRelu', 'Elu', 'HardSigmoid', 'HardSwish', 'Sigmoid', 'Tanh', 'Relu']);
    const attrs: Record<string, AttrValue> = {};
    const value = () => r.pick([0, 1, -0.5, 0.01, r.next() * 4 - 2, 3]);
    if (op === 'LeakyRelu' || op === 'Elu' || op === 'HardSigmoid') if (r.chance(0.8)) attrs.alpha = { float: value() };
    if (op === 'HardSigmoid' && r.chance(0.8)) attrs.beta = { float: value() };
    if (r.chance(0.02)) attrs.gamma = { float: 1 }; // not an attribute of these ops
    const name = `fuzz_${op.toLowerCase()}_${i}`;
    const nodes: BNode[] = [
      { op: 'Mul', name: 'helper_scale', inputs: ['x', 'k'], outputs: ['s'] },
      { op, name, inputs: ['s'], outputs: ['y'], attrs },
    ];
    return { op, graph: graph(op === 'HardSwish' ? 14 : 13, x, nodes, [floats('k', [5], [])], ['y']), node: name, note: `x [${x}] ${JSON.stringify(attrs)}` };
  },

  BatchNormalization(r, i) {
    const x = input(r, r.pick([2, 3, 4, 4]));
    const c = x[1];
    const opset = r.pick([9, 14, 15]);
    const n = r.chance(0.06) ? c + 1 : c;
    const variance = r.floats(n, 0, 2);
    if (r.chance(0.2)) variance[0] = 0;
    const init: BTensor[] = [
      floats('gamma', r.floats(n, -1.5, 1.5), [n]), floats('beta', r.floats(n), [n]),
      floats('mean', r.floats(n), [n]), floats('var', variance, [n]),
    ];
    const eps = r.pick([undefined, 1e-5, 1e-3, 0.1]);
    const nodes: BNode[] = [];
    let from = 'x';
    const conv = x.length === 4 && r.chance(0.35);
    if (conv) {
      // A conv first: the batch norm folds into it (unless something else reads the conv's output).
      init.push(floats('w', r.floats(c * c * 9, -0.3, 0.3), [c, c, 3, 3]));
      nodes.push({ op: 'Conv', name: 'helper_conv', inputs: ['x', 'w'], outputs: ['cv'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
      from = 'cv';
    }
    const name = `fuzz_batchnorm_${i}`;
    const attrs: Record<string, AttrValue> = eps !== undefined ? { epsilon: { float: eps } } : {};
    if (r.chance(0.04)) attrs.training_mode = 1;
    nodes.push({ op: 'BatchNormalization', name, inputs: [from, 'gamma', 'beta', 'mean', 'var'], outputs: ['y'], attrs });
    const outs = ['y'];
    if (conv && r.chance(0.3)) outs.push('cv'); // the conv's output read elsewhere: no folding
    return { op: 'BatchNormalization', graph: graph(opset, x, nodes, init, outs), node: name, note: `opset ${opset} x [${x}] params [${n}] eps ${eps}${conv ? ` after a conv${outs.length > 1 ? ' (also an output)' : ''}` : ''}${attrs.training_mode ? ' training' : ''}` };
  },

  Binary(r, i) {
    const x = input(r);
    const rank = x.length;
    const op = r.pick(['Add', 'Sub', 'Mul', 'Div', 'PRelu']);
    const nodes: BNode[] = [];
    const init: BTensor[] = [];
    // A shape broadcastable to x's (per axis: 1 or x's), of rank up to x's; sometimes one that is not.
    const partner = () => {
      const r2 = r.int(0, rank);
      const dims = x.slice(rank - r2).map((d) => (r.chance(0.5) ? 1 : d));
      if (r.chance(0.08) && r2 > 0) dims[r.int(0, r2 - 1)] += 1;
      return dims;
    };
    let b: string;
    let what: string;
    if (r.chance(0.5)) {
      const dims = partner();
      const v = r.floats(prod(dims), 0.5, 1.5).map((u) => (r.chance(0.5) || op === 'Div' ? u : -u));
      init.push(floats('c', v, dims));
      b = 'c';
      what = `const [${dims}]`;
    } else {
      // A data operand: x, or a mean of (a sigmoid of) x over some axes (kept as 1s), or a size-1 slice.
      const base = op === 'Div' ? 'sg' : 'x';
      if (op === 'Div') nodes.push({ op: 'Sigmoid', name: 'helper_sigmoid', inputs: ['x'], outputs: ['sg'] });
      const kind = r.pick(['same', 'mean', 'mean', 'slice']);
      if (kind === 'same') { b = base; what = 'data, same shape'; }
      else if (kind === 'mean') {
        const axes = r.shuffle([...Array(rank).keys()]).slice(0, r.int(1, rank));
        nodes.push({ op: 'ReduceMean', name: 'helper_mean', inputs: [base], outputs: ['m'], attrs: { axes, keepdims: 1 } });
        b = 'm';
        what = `data, mean over [${axes}]`;
      } else {
        const a = r.int(1, rank - 1);
        const end = r.chance(0.8) ? 1 : Math.max(1, x[a] - 1);
        init.push(ints('s0', [0]), ints('e0', [end]), ints('a0', [a]));
        nodes.push({ op: 'Slice', name: 'helper_slice', inputs: [base, 's0', 'e0', 'a0'], outputs: ['p'] });
        b = 'p';
        what = `data, slice of axis ${a} to ${end}`;
      }
    }
    const swap = op !== 'PRelu' ? r.chance(0.4) : r.chance(0.1);
    const name = `fuzz_${op.toLowerCase()}_${i}`;
    let inputs = swap ? [b, 'x'] : ['x', b];
    if (op === 'Div' && swap) {
      // Dividing by x: shift it to [1, 3) first, away from 0.
      nodes.push({ op: 'Add', name: 'helper_shift', inputs: ['x', 'two'], outputs: ['x2'] });
      init.push(floats('two', [2], []));
      inputs = [b, 'x2'];
    }
    nodes.push({ op, name, inputs, outputs: ['y'] });
    return { op, graph: graph(13, x, nodes, init, ['y']), node: name, note: `x [${x}] ${op}(${swap ? `${what}, x` : `x, ${what}`})` };
  },

  Softmax(r, i) {
    const x = input(r);
    const rank = x.length;
    const opset = r.pick([11, 13]);
    const a = r.chance(0.15) ? undefined : axis(r, rank, 0.06);
    const name = `fuzz_softmax_${i}`;
    const node: BNode = { op: 'Softmax', name, inputs: ['x'], outputs: ['y'], attrs: a === undefined ? {} : { axis: a } };
    return { op: 'Softmax', graph: graph(opset, x, [node], [], ['y']), node: name, note: `opset ${opset} x [${x}] axis ${a ?? 'default'}` };
  },

  Conv(r, i) {
    const c = r.int(1, 6);
    const x = [1, c, r.int(1, 7), r.int(1, 7)];
    const divisors = [...Array(c).keys()].map((v) => v + 1).filter((g) => c % g === 0);
    const groups = r.chance(0.06) ? c + 1 : r.pick(divisors);
    const filters = r.chance(0.04) ? groups * 2 + 1 : groups * r.int(1, 3);
    const k: [number, number] = [r.int(1, 3), r.int(1, 3)];
    const dil = [r.pick([1, 1, 2, 3]), r.pick([1, 1, 2])];
    const strides = [r.pick([1, 1, 2, 3]), r.pick([1, 2])];
    const autoPad = r.pick(['NOTSET', 'NOTSET', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER']);
    const attrs: Record<string, AttrValue> = { dilations: dil, strides, group: groups };
    if (autoPad !== 'NOTSET') attrs.auto_pad = autoPad;
    else if (r.chance(0.8)) attrs.pads = [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
    if (r.chance(0.5)) attrs.kernel_shape = r.chance(0.04) ? [k[1] + 1, k[0]] : [...k];
    const perGroup = Math.max(1, Math.floor(c / groups));
    const init: BTensor[] = [floats('w', r.floats(filters * perGroup * k[0] * k[1], -0.5, 0.5), [filters, perGroup, ...k])];
    const inputs = ['x', 'w'];
    if (r.chance(0.7)) { init.push(floats('b', r.floats(filters, -0.2, 0.2), [filters])); inputs.push('b'); }
    const name = `fuzz_conv_${i}`;
    const node: BNode = { op: 'Conv', name, inputs, outputs: ['y'], attrs };
    const out: Case = { op: 'Conv', graph: graph(13, x, [node], init, ['y']), node: name, note: `x [${x}] w [${filters}, ${perGroup}, ${k}] ${JSON.stringify(attrs)}` };
    if (autoPad.startsWith('SAME') && (dil[0] > 1 || dil[1] > 1)) {
      // onnxruntime's Conv does not take dilations with auto_pad SAME_*; the spec's pads, written out:
      // out = ceil(in / stride), total = (out - 1) stride + (k - 1) dilation + 1 - in, the odd one
      // at the end (SAME_UPPER) or the beginning (SAME_LOWER).
      const pads = [0, 0, 0, 0];
      for (const a of [0, 1]) {
        const len = x[a + 2], out = Math.ceil(len / strides[a]);
        const total = Math.max(0, (out - 1) * strides[a] + (k[a] - 1) * dil[a] + 1 - len);
        const small = Math.floor(total / 2);
        [pads[a], pads[a + 2]] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      }
      const { auto_pad: _, ...rest } = attrs;
      out.equivalent = {
        graph: graph(13, x, [{ ...node, attrs: { ...rest, pads } }], init, ['y']),
        because: /Dilation not supported for AutoPadType/,
        why: `onnxruntime does not implement dilations with auto_pad ${autoPad}; compared with the spec's pads [${pads}] written out`,
      };
    }
    return out;
  },
};

/** MatMul by a constant over the last axis (a dense layer per vector), with or without an Add of a bias after it. */
GENERATORS.MatMul = (r, i) => {
  const x = input(r);
  const last = x[x.length - 1];
  const units = r.int(1, 4);
  const rows = r.chance(0.05) ? last + 1 : last;
  const init: BTensor[] = [floats('w', r.floats(rows * units), [rows, units])];
  const name = `fuzz_matmul_${i}`;
  const nodes: BNode[] = [{ op: 'MatMul', name, inputs: ['x', 'w'], outputs: ['y'] }];
  const bias = r.pick(['none', 'units', 'one', 'wrong']);
  if (bias !== 'none') {
    const n = bias === 'units' ? units : bias === 'one' ? 1 : units + 1;
    init.push(floats('b', r.floats(n), [n]));
    nodes[0].outputs = ['mm'];
    nodes.push({ op: 'Add', name: `fuzz_bias_${i}`, inputs: r.chance(0.5) ? ['mm', 'b'] : ['b', 'mm'], outputs: ['y'] });
  }
  return { op: 'MatMul', graph: graph(13, x, nodes, init, ['y']), node: name, note: `x [${x}] w [${rows}, ${units}] bias ${bias}` };
};

/**
 * Random small DAGs of the ops above (shapes tracked here so that most graphs are valid): every
 * node reads one or two earlier tensors, so branches fork and join (Add, Mul, Concat), and the
 * gradient walk has to sum what several readers send back. The node under test is the last.
 */
GENERATORS.Mixed = (r, i) => {
  const x = input(r, r.pick([3, 4, 4, 4]));
  const tensors: { name: string; dims: number[] }[] = [{ name: 'x', dims: x }];
  const nodes: BNode[] = [];
  const init: BTensor[] = [];
  const steps = r.int(3, 7);
  const what: string[] = [];
  for (let k = 0; k < steps; k++) {
    const last = k === steps - 1;
    const name = last ? `fuzz_mixed_${i}` : `node_${k}`;
    const out = `t${k}`;
    const a = r.chance(0.6) ? tensors[tensors.length - 1] : r.pick(tensors);
    const rank = a.dims.length;
    const push = (op: string, inputs: string[], dims: number[], attrs: Record<string, AttrValue> = {}) => {
      nodes.push({ op, name, inputs, outputs: [out], attrs });
      tensors.push({ name: out, dims });
      what.push(`${op}(${inputs.filter((n) => tensors.some((t) => t.name === n)).join(', ')})`);
    };
    const kind = r.pick(['unary', 'unary', 'join', 'join', 'concat', 'transpose', 'slice', 'pad', 'conv', 'pool', 'mean', 'softmax', 'scale']);
    if (kind === 'unary') {
      const op = r.pick(['Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'HardSwish', 'Elu']);
      push(op, [a.name], a.dims, op === 'LeakyRelu' ? { alpha: { float: 0.2 } } : {});
    } else if (kind === 'join') {
      // Another tensor of the same shape, or a mean of this one over some axes (it broadcasts back).
      const same = tensors.filter((t) => t !== a && t.dims.join() === a.dims.join());
      let b: string;
      if (same.length && r.chance(0.6)) b = r.pick(same).name;
      else {
        const axes = r.shuffle([...Array(rank).keys()]).slice(0, r.int(1, rank));
        nodes.push({ op: 'ReduceMean', name: `mean_${k}`, inputs: [a.name], outputs: [`m${k}`], attrs: { axes, keepdims: 1 } });
        b = `m${k}`;
      }
      const op = r.pick(['Add', 'Add', 'Mul', 'Sub']);
      push(op, r.chance(0.5) ? [a.name, b] : [b, a.name], a.dims);
    } else if (kind === 'concat') {
      const axis = r.int(1, rank - 1);
      const fits = tensors.filter((t) => t.dims.length === rank && t.dims.every((d, j) => j === axis || d === a.dims[j]));
      const b = r.pick(fits);
      const dims = [...a.dims];
      dims[axis] += b.dims[axis];
      push('Concat', [a.name, b.name], dims, { axis: r.chance(0.5) ? axis - rank : axis });
    } else if (kind === 'transpose') {
      const perm = r.chance(0.8) ? [0, ...r.shuffle([...Array(rank - 1).keys()].map((v) => v + 1))] : r.shuffle([...Array(rank).keys()]);
      push('Transpose', [a.name], perm.map((p) => a.dims[p]), { perm });
    } else if (kind === 'slice') {
      const axis = r.int(1, rank - 1);
      const d = a.dims[axis];
      const step = r.pick([1, 1, 2, -1]);
      const [start, end] = step > 0 ? [r.int(0, d - 1), 2 ** 31 - 1] : [d - 1, -(2 ** 31)];
      const count = Math.ceil(((step > 0 ? d : -1) - start) / step);
      init.push(ints(`s${k}`, [start]), ints(`e${k}`, [end]), ints(`a${k}`, [axis]), ints(`p${k}`, [step]));
      const dims = [...a.dims];
      dims[axis] = count;
      push('Slice', [a.name, `s${k}`, `e${k}`, `a${k}`, `p${k}`], dims);
    } else if (kind === 'pad') {
      const mode = r.pick(['constant', 'edge', 'reflect']);
      const pads = new Array<number>(2 * rank).fill(0);
      for (let j = 1; j < rank; j++) {
        const lim = mode === 'reflect' ? a.dims[j] - 1 : 2;
        pads[j] = r.int(0, Math.min(2, lim));
        pads[j + rank] = r.int(0, Math.min(2, lim));
      }
      init.push(ints(`q${k}`, pads));
      push('Pad', [a.name, `q${k}`], a.dims.map((v, j) => v + pads[j] + pads[j + rank]), { mode });
    } else if (kind === 'conv' && rank === 4) {
      const [, c, h, w] = a.dims;
      const kk = r.int(1, Math.min(3, h, w));
      const groups = r.pick([1, c]);
      const filters = groups === c ? c : r.int(1, 5);
      init.push(floats(`w${k}`, r.floats(filters * (c / groups) * kk * kk, -0.5, 0.5), [filters, c / groups, kk, kk]));
      const p = Math.floor(kk / 2);
      push('Conv', [a.name, `w${k}`], [1, filters, h + 2 * p - kk + 1, w + 2 * p - kk + 1], { kernel_shape: [kk, kk], pads: [p, p, p, p], group: groups });
    } else if (kind === 'pool' && rank === 4 && a.dims[2] >= 2 && a.dims[3] >= 2) {
      const op = r.pick(['MaxPool', 'AveragePool']);
      push(op, [a.name], [1, a.dims[1], Math.floor((a.dims[2] - 2) / 1) + 1, Math.floor((a.dims[3] - 2) / 1) + 1], { kernel_shape: [2, 2] });
    } else if (kind === 'mean') {
      const axes = r.shuffle([...Array(rank - 1).keys()].map((v) => v + 1)).slice(0, r.int(1, rank - 1));
      push('ReduceMean', [a.name], a.dims.map((d, j) => (axes.includes(j) ? 1 : d)), { axes, keepdims: 1 });
    } else if (kind === 'softmax') {
      push('Softmax', [a.name], a.dims, { axis: r.int(1, rank - 1) });
    } else {
      init.push(floats(`c${k}`, r.floats(a.dims[1], 0.5, 1.5), [a.dims[1], ...new Array(rank - 2).fill(1)]));
      push('Mul', [a.name, `c${k}`], a.dims);
    }
  }
  const outs = [tensors[tensors.length - 1].name];
  if (tensors.length > 2 && r.chance(0.3)) outs.push(r.pick(tensors.slice(1, -1)).name);
  const node = nodes[nodes.length - 1].name!;
  const c: Case = { op: 'Mixed', graph: graph(13, x, nodes, init, outs), node, note: `x [${x}] ${what.join(' -> ')}` };
  if (nodes.some((n) => n.op === 'HardSwish')) {
    // HardSwish exists from opset 14 on; our importer takes it at 13 too (lenient: the op has one
    // meaning wherever it exists). onnxruntime refuses; compared with the same graph at opset 14
    // (where every other op used here means what it means at 13).
    c.equivalent = { graph: { ...c.graph, opset: 14 }, because: /No Op registered for HardSwish with domain_version of 13/,
      why: 'HardSwish before opset 14 (we accept it; onnxruntime does not): compared at opset 14' };
  }
  return c;
};

// ---------------------------------------------------------------------------------------------
// Running one case in both engines

type Outcome =
  | { kind: 'match'; rel: number; backRel: number; explained?: string }
  | { kind: 'refused'; ortRuns: boolean; message: string }
  | { kind: 'ort-refuses'; message: string; rel?: number }
  | { kind: 'bad'; why: string };

async function ortRun(bytes: Uint8Array, x: { shape: number[]; data: Float32Array }, outs: string[]) {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    const result = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) }, { logSeverityLevel: 4 });
    return { ok: true as const, out: outs.map((o) => ({ dims: [...result[o].dims], data: result[o].data as Float32Array })) };
  } catch (e) {
    return { ok: false as const, message: String((e as Error).message ?? e).split('\n')[0] };
  } finally {
    await session?.release();
  }
}

/**
 * max |ours - ref| over max |ref|, that scale floored at 1e-3 of the seed's largest value: where
 * a gradient cancels exactly (a mean over a softmax's own axis is constant, its gradient 0), both
 * sides hold rounding noise around 0 and their ratio means nothing.
 */
function floored(ours: ArrayLike<number>, ref: ArrayLike<number>, seed: number): number {
  let diff = 0, scale = 1e-3 * seed;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** The gradient walk (all modes, random cotangent in [-1, 1]) and a span-limited projection against the reference. */
function backwardCheck(model: Model, run: Run, image: Float32Array, r: R): number {
  const net = model.network;
  const last = net.ops.length - 1;
  const params = modelParams(model);
  const given = new Map(net.ops.map((_, i) => [i, run.opOutput(i).data] as [number, Float32Array]));
  const state = graphForward(net, params, image, given);
  const n = prod(model.shapes[last]);
  const values = Array.from(r.floats(n));
  let worst = 0;
  for (const mode of MODES) {
    const got = gradientAt(model, 0, last, { at: [...Array(n).keys()], values, span: null }, mode, -1);
    const want = graphBackward(net, params, state, last, values, mode)[0];
    if (!got || !want) {
      if (!!got !== !!want) throw new Error(`${mode}: the engine ${got ? 'sends' : 'does not send'} a gradient to the input, the reference ${want ? 'does' : 'does not'}`);
      continue;
    }
    worst = Math.max(worst, floored(got, want, 1));
    if (process.env.ZF_FUZZ_DEBUG && floored(got, want, 1) > TOLERANCE) {
      console.log(mode, JSON.stringify(net.ops), '\n', Array.from(got).map((v) => v.toFixed(4)).join(' '), '\n', Array.from(want).map((v) => v.toFixed(4)).join(' '));
    }
  }
  if (model.shapes[last].length === 3 && net.tensors) {
    const name = [...net.tensors].find(([, t]) => t === last)?.[0];
    const [, h, w] = mapsOf(model.shapes[last]);
    const act = state.outputs[last];
    let map = 0;
    for (let k = 0, best = -Infinity; k < act.length; k++) if (act[k] > best) { best = act[k]; map = Math.floor(k / (h * w)); }
    for (const mode of MODES) {
      const got = run.projectSync({ layer: name!, map, keep: 'max', mode });
      const want = graphProject(net, params, state, last, { map, keep: 'max', mode });
      const seed = mode === 'deconvnet' ? Math.abs(got.units[0].value) : 1;
      worst = Math.max(worst, floored(got.data, want.data[0], seed));
      if (process.env.ZF_FUZZ_DEBUG && floored(got.data, want.data[0], seed) > TOLERANCE) {
        console.log('project', mode, map, JSON.stringify(net.ops), '\n', Array.from(got.data).map((v) => v.toFixed(4)).join(' '), '\n', Array.from(want.data[0]).map((v) => v.toFixed(4)).join(' '));
      }
    }
  }
  return worst;
}

async function runCase(c: Case, seed: number): Promise<Outcome> {
  const bytes = buildOnnx(c.graph);
  const dims = c.graph.inputs[0].dims as number[];
  const x = { shape: dims, data: new Rng(seed).uniform(prod(dims), 1) };
  const outs = c.graph.outputs.map((o) => o.name);
  let ref = await ortRun(bytes, x, outs);
  let explained: string | undefined;
  if (!ref.ok && c.equivalent && c.equivalent.because.test(ref.message)) {
    explained = c.equivalent.why;
    ref = await ortRun(buildOnnx(c.equivalent.graph), x, outs);
  }
  let model: Model;
  try {
    model = await loadModel(bytes, { name: 'fuzz' });
  } catch (e) {
    if (!(e instanceof ModelFormatError || e instanceof ArgumentError)) {
      return { kind: 'bad', why: `crashed: ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}` };
    }
    const names = c.graph.nodes.map((n) => n.name!).filter((n) => e.message.includes(`'${n}'`));
    if (names.length === 0) return { kind: 'bad', why: `refused without naming a node: ${e.name}: ${e.message}` };
    return { kind: 'refused', ortRuns: ref.ok, message: `${e.name}: ${e.message}` };
  }
  try {
    const net = model.network;
    const run = model.forwardSync({ shape: net.wholeTensor ? [1, ...net.input] : x.shape, data: x.data });
    if (!ref.ok) {
      return { kind: 'ort-refuses', message: ref.message };
    }
    let rel = 0;
    for (const [j, name] of outs.entries()) {
      const t = run.activation(name);
      const ours = net.wholeTensor ? t.shape.slice(1) : t.shape;
      if (ours.join() !== ref.out[j].dims.join()) return { kind: 'bad', why: `output '${name}' is [${ours}], onnxruntime's [${ref.out[j].dims}]` };
      rel = Math.max(rel, relDiff(t.data, ref.out[j].data));
    }
    if (!(rel <= TOLERANCE)) return { kind: 'bad', why: `wrong numbers: max rel diff ${rel}` };
    const backRel = backwardCheck(model, run, x.data, new R(seed + 1));
    if (!(backRel <= TOLERANCE)) return { kind: 'bad', why: `backward differs from the reference: max rel diff ${backRel}` };
    return { kind: 'match', rel, backRel, explained };
  } catch (e) {
    return { kind: 'bad', why: `after loading: ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}` };
  }
}

/**
 * onnxruntime refuses these and we run them, knowingly. Each entry: the case, the reason.
 * (Filled from what the fuzz finds; an unexplained one fails the test.)
 */
function explainOrtRefusal(c: Case, message: string): string | undefined {
  void c; void message;
  return undefined;
}

describe('seeded fuzz of the graph ops against onnxruntime', () => {
  const summary: string[] = [];
  for (const [op, gen] of Object.entries(GENERATORS)) {
    test(`${op}: ${CASES_PER_OP} cases load and match onnxruntime and the reference, or are refused naming the node`, async () => {
      const r = new R(7919 * (Object.keys(GENERATORS).indexOf(op) + 1));
      const counts = { match: 0, refused: 0, refusedOrtRuns: 0, ortRefuses: 0, equivalent: 0 };
      const bad: string[] = [];
      const unexplained: string[] = [];
      const refusals = new Map<string, number>();
      const ortOnly: string[] = [];
      let worst = 0, worstBack = 0;
      for (let i = 0; i < CASES_PER_OP; i++) {
        const c = gen(r, i);
        const o = await runCase(c, 100 + i);
        if (o.kind === 'match') {
          counts.match++;
          worst = Math.max(worst, o.rel);
          worstBack = Math.max(worstBack, o.backRel);
          if (o.explained) { counts.equivalent++; if (counts.equivalent === 1) ortOnly.push(`  ${c.note}: ${o.explained} (max rel diff ${o.rel.toExponential(2)})`); }
        }
        else if (o.kind === 'refused') {
          counts.refused++;
          if (o.ortRuns) {
            counts.refusedOrtRuns++;
            const key = o.message.replace(/'[^']*'/g, "'…'").replace(/\[[^\]]*\]/g, '[…]').replace(/-?\d+(\.\d+)?(e-?\d+)?/g, 'N').slice(0, 150);
            refusals.set(key, (refusals.get(key) ?? 0) + 1);
            if (refusals.get(key) === 1) ortOnly.push(`  ${c.note}: ${o.message}`);
          }
        } else if (o.kind === 'ort-refuses') {
          counts.ortRefuses++;
          const why = explainOrtRefusal(c, o.message);
          (why ? ortOnly : unexplained).push(`  ${c.note}: onnxruntime: ${o.message}${why ? ` — ${why}` : ''}`);
        } else bad.push(`  ${c.note}: ${o.why}`);
      }
      const line = `${op}: ${CASES_PER_OP} cases: ${counts.match} match (max rel diff ${worst.toExponential(2)}, backward ${worstBack.toExponential(2)}` +
        `${counts.equivalent ? `; ${counts.equivalent} against an equivalent graph` : ''}), ` +
        `${counts.refused} refused (${counts.refusedOrtRuns} of them run by onnxruntime), ${counts.ortRefuses} refused by onnxruntime alone`;
      summary.push(line);
      console.log([line, ...(ortOnly.length ? ['we refuse, onnxruntime runs (one per kind of message) / explained:', ...ortOnly] : []),
        ...(unexplained.length ? ['onnxruntime refuses, we run:', ...unexplained] : []), ...(bad.length ? ['BAD:', ...bad] : [])].join('\n'));
      expect(bad, `${op}: crashes, unnamed refusals, wrong numbers`).toEqual([]);
      expect(unexplained, `${op}: graphs onnxruntime refuses and we run`).toEqual([]);
      expect(counts.match, `${op}: some cases must load`).toBeGreaterThan(CASES_PER_OP / 5);
    }, 60_000);
  }
  test('summary', () => { console.log(summary.join('\n')); });
});

// ---------------------------------------------------------------------------------------------
// The bad-input cases of the issue

async function refusal(g: BGraph, options: Parameters<typeof loadModel>[1] = {}): Promise<Error> {
  try {
    await loadModel(buildOnnx(g), options);
  } catch (e) {
    return e as Error;
  }
  throw new Error('the graph loaded');
}

const X: BGraph['inputs'] = [{ name: 'x', dims: [1, 3, 4, 4] }];
const base = (nodes: BNode[], initializers: BTensor[] = [], outputs = ['y'], inputs = X): BGraph =>
  ({ opset: 13, inputs, outputs: outputs.map((name) => ({ name })), nodes, initializers, producer: 'graph-fuzz' });

describe('bad inputs: each a typed error naming the node', () => {
  test('a cycle', async () => {
    const e = await refusal(base([
      { op: 'Add', name: 'join', inputs: ['x', 'b'], outputs: ['a'] },
      { op: 'Relu', name: 'loop', inputs: ['a'], outputs: ['b'] },
      { op: 'Relu', name: 'out', inputs: ['b'], outputs: ['y'] },
    ]));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(/cycle/);
    expect(e.message).toContain("'join'");
    expect(e.message).toContain("'loop'");
  });

  test('a dangling tensor name (read, never written)', async () => {
    const e = await refusal(base([
      { op: 'Relu', name: 'r', inputs: ['x'], outputs: ['a'] },
      { op: 'Add', name: 'reads_nothing', inputs: ['a', 'nowhere'], outputs: ['y'] },
    ]));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toContain("'nowhere'");
    expect(e.message).toContain("'reads_nothing'");
  });

  test('a duplicate tensor name: two nodes write it; a node writes an initializer\'s name', async () => {
    const e = await refusal(base([
      { op: 'Relu', name: 'first', inputs: ['x'], outputs: ['a'] },
      { op: 'Sigmoid', name: 'second', inputs: ['x'], outputs: ['a'] },
      { op: 'Relu', name: 'out', inputs: ['a'], outputs: ['y'] },
    ]));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toContain("'a'");
    expect(e.message).toContain("'first'");
    expect(e.message).toContain("'second'");
    const f = await refusal(base([
      { op: 'Relu', name: 'overwrites', inputs: ['x'], outputs: ['w'] },
      { op: 'Add', name: 'out', inputs: ['w', 'x'], outputs: ['y'] },
    ], [{ name: 'w', dims: [1], data: [1] }]));
    expect(f).toBeInstanceOf(ModelFormatError);
    expect(f.message).toContain("'overwrites'");
  });

  const twoInputs = () => base([{ op: 'Add', name: 'sum', inputs: ['x', 'z'], outputs: ['y'] }], [], ['y'], [...X, { name: 'z', dims: [1, 3, 1, 1] }]);

  test('a second data input with no constant bound (and the same graph with it bound)', async () => {
    const e = await refusal(twoInputs());
    console.log(`second data input: ${e.name}: ${e.message}`);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toContain("'z'");
    expect(e.message).toMatch(/constants/); // says how to bind it
    // Bound, it is a constant operand.
    const model = await loadModel(buildOnnx(twoInputs()), { constants: { z: { shape: [1, 3, 1, 1], data: new Float32Array([1, 2, 3]) } } });
    const run = model.forwardSync({ shape: [1, 3, 4, 4], data: new Float32Array(48) });
    expect(Array.from(run.output().data.filter((_, i) => i % 16 === 0))).toEqual([1, 2, 3]);
  });

  // KNOWN GAP (reported): the message names the inputs but not the node that reads the unbound
  // one ('sum'); remove `.fails` once it does.
  test('a second data input: the message also names the node that reads it', async () => {
    const e = await refusal(twoInputs());
    expect(e.message).toContain("'sum'");
  });

  test('a Split whose sizes do not add up', async () => {
    for (const split of [[1, 1], [2, 2], [0, 3], [4, -1]]) {
      const e = await refusal(base([{ op: 'Split', name: 'parts', inputs: ['x', 's'], outputs: ['y', 'z'], attrs: { axis: 1 } }],
        [{ name: 's', dims: [2], type: 'int64', data: split }], ['y', 'z']));
      expect(e, `split [${split}]`).toBeInstanceOf(ModelFormatError);
      expect(e.message).toContain("'parts'");
      // [0, 3] and [4, -1] add up (to the axis' 3) but have a part of no values.
      expect(e.message).toMatch(split.some((s) => s < 1) ? /must each be at least 1/ : /do not add up/);
    }
  });

  test('shapes that do not broadcast: two data inputs, and a constant', async () => {
    const e = await refusal(base([
      { op: 'Slice', name: 'half', inputs: ['x', 's', 'e', 'a'], outputs: ['h'] },
      { op: 'Add', name: 'clash', inputs: ['x', 'h'], outputs: ['y'] },
    ], [{ name: 's', dims: [1], type: 'int64', data: [0] }, { name: 'e', dims: [1], type: 'int64', data: [2] }, { name: 'a', dims: [1], type: 'int64', data: [3] }]));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toContain("'clash'");
    expect(e.message).toMatch(/broadcast/);
    for (const dims of [[5], [1, 2, 1, 1], [4, 1, 3]]) {
      const f = await refusal(base([{ op: 'Mul', name: 'scale', inputs: ['x', 'c'], outputs: ['y'] }], [{ name: 'c', dims, data: new Float32Array(prod(dims)).fill(1) }]));
      expect(f, `constant [${dims}]`).toBeInstanceOf(ModelFormatError);
      expect(f.message).toContain("'scale'");
    }
  });

  test('a projection through an op with no backward: no op kind lacks one', () => {
    // The walk refuses such an op with an ArgumentError naming it (src/deconv/walk.ts); every kind
    // of the table has a backward pass, so that refusal cannot happen today.
    const without = Object.entries(OPS).filter(([, def]) => typeof (def as { backward?: unknown }).backward !== 'function').map(([k]) => k);
    expect(without).toEqual([]);
  });
});
