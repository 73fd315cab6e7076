/**
 * An independent float64 reference for DAG networks (the engine's `Network`: ops in topological
 * order, `inputs` naming the tensors each reads, tensor -1 the network input), written from the
 * op descriptions in src/graph/layers.ts, the ONNX operator semantics and docs/design.md
 * ("Graph networks and Grad-CAM"), not from src/engine/ops. Only the `Network` types come from
 * src/; the weights are read from a model's arena (`modelParams`) or given by the caller.
 *
 * Every tensor is one image's, a flat Float64Array in row-major order of its shape. The forward
 * pass records max-pool switches (the first maximum of each window in row-major order, strict >).
 * The backward walk visits ops from the start tensor down, in reverse topological order, and a
 * tensor read by several ops sums what each sends back. Per op:
 * - Relu: deconvnet relu(R), guided relu(R) * (y > 0), gradient R * (y > 0);
 * - Clip with min 0 (ReLU6), the other rectifier: the same rules, the mask 0 < x < max taken
 *   from the forward input;
 * - LRN: identity in the deconvnet, its exact vector-Jacobian product otherwise;
 * - max-pool: each value to its switch, summed where windows share one (every mode);
 * - everything else (conv, avg-pool, dense, softmax, binary ops, activations, batch norm,
 *   concat, slice, transpose, pad, reduce-mean, the views) its exact gradient.
 * Mode `exact` ignores the rectifier rules and takes every op's derivative (PyTorch's value at
 * the kinks): the plain gradient, which `gradient` must equal.
 */
import type { Network, Op } from '../../src/graph/layers.js';
import type { Model } from '../../src/engine/model.js';

export type GraphMode = 'deconvnet' | 'guided' | 'gradient' | 'exact';
/** The constants of op `op` by name (conv/dense `weight`, `bias`; binary `b`; batch norm `scale`, `shift`; constant `value`). */
export type ParamReader = (op: number, name: string) => ArrayLike<number>;

export interface GraphForward {
  input: Float64Array;
  /** Per op, its output (one image) and shape. */
  outputs: Float64Array[];
  shapes: number[][];
  /** Max-pool ops: per output cell the flat index (in its channel's plane) of the window's first maximum. */
  switches: (Int32Array | undefined)[];
  /** Max-pool ops: per output cell, how far the runner-up is below the winner (Infinity: one cell). */
  gaps: (Float64Array | undefined)[];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = step; step *= shape[i]; }
  return s;
}

/** Calls f(flat, index) for every index of `shape` in row-major order (index reused: copy to keep). */
function eachIndex(shape: readonly number[], f: (flat: number, idx: number[]) => void): void {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(flat, idx);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
}

export function inputsOf(net: Network, i: number): number[] {
  return net.ops[i].inputs ?? [i - 1];
}

/** Output length of a window op along one axis; ceil mode drops a last window that starts in the end pad. */
function windowLength(n: number, k: number, s: number, before: number, after: number, ceil: boolean, d = 1): number {
  const reach = (k - 1) * d + 1;
  const span = n + before + after - reach;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + before) out -= 1;
  return out;
}

/** numpy broadcasting, right-aligned. */
function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let j = 0; j < rank; j++) {
    const x = a[j - (rank - a.length)] ?? 1, y = b[j - (rank - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`reference: [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** For each flat output index of shape `out`, the flat index into `shape` broadcast to it. */
function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const own = stridesOf(shape);
  const map = new Int32Array(prod(out));
  const lead = out.length - shape.length;
  eachIndex(out, (flat, idx) => {
    let at = 0;
    for (let a = 0; a < shape.length; a++) if (shape[a] !== 1) at += idx[a + lead] * own[a];
    map[flat] = at;
  });
  return map;
}

// ---------------------------------------------------------------------------------------------
// Pointwise functions and their derivatives (x is the forward input)

type Fn = 'sigmoid' | 'tanh' | 'elu' | 'leakyrelu' | 'hardsigmoid' | 'hardswish' | 'clip' | 'affine';

export function pointwiseValue(fn: Fn, alpha: number, beta: number, x: number): number {
  switch (fn) {
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh(x);
    case 'elu': return x > 0 ? x : alpha * (Math.exp(x) - 1);
    case 'leakyrelu': return x >= 0 ? x : alpha * x;
    case 'hardsigmoid': return Math.max(0, Math.min(1, alpha * x + beta));
    case 'hardswish': return x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'clip': return Math.min(Math.max(x, alpha), beta);
    case 'affine': return alpha * x + beta;
  }
}

/** PyTorch's derivative, its choice at the kinks (elu/leakyrelu: x > 0; hardswish: [-3, 3]; clip: strictly inside). */
export function pointwiseDerivative(fn: Fn, alpha: number, beta: number, x: number): number {
  switch (fn) {
    case 'sigmoid': { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }
    case 'tanh': { const t = Math.tanh(x); return 1 - t * t; }
    case 'elu': return x > 0 ? 1 : alpha * Math.exp(x);
    case 'leakyrelu': return x > 0 ? 1 : alpha;
    case 'hardsigmoid': { const v = alpha * x + beta; return v > 0 && v < 1 ? alpha : 0; }
    case 'hardswish': return x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5;
    case 'clip': return x > alpha && x < beta ? 1 : 0;
    case 'affine': return alpha;
  }
}

/** Relu, and Clip with min 0: the ops the projection modes' rectifier rule applies to. */
export function isRectifier(op: Op): boolean {
  return op.kind === 'relu' || (op.kind === 'pointwise' && op.fn === 'clip' && op.alpha === 0);
}

// ---------------------------------------------------------------------------------------------
// Index maps: ops that only move values (slice, transpose, pad, concat) as "output element o
// comes from element src[o] of input part[o]" (src -1: a constant fill).

interface Gather { part: Int32Array; src: Int32Array }

function sliceGather(op: Extract<Op, { kind: 'slice' }>, xs: number[]): Gather {
  const own = stridesOf(xs);
  const out = op.counts;
  const src = new Int32Array(prod(out));
  eachIndex(out, (flat, idx) => {
    let at = 0;
    idx.forEach((v, a) => { at += (op.starts[a] + v * op.steps[a]) * own[a]; });
    src[flat] = at;
  });
  return { part: new Int32Array(src.length), src };
}

function transposeGather(perm: number[], xs: number[]): Gather {
  const own = stridesOf(xs);
  const out = perm.map((p) => xs[p]);
  const src = new Int32Array(prod(out));
  eachIndex(out, (flat, idx) => {
    let at = 0;
    idx.forEach((v, a) => { at += v * own[perm[a]]; });
    src[flat] = at;
  });
  return { part: new Int32Array(src.length), src };
}

/**
 * Pad: negative pads crop first; then per axis an output position t maps to a position of the
 * cropped input (constant: none outside it; edge: the nearest; reflect: mirrored without
 * repeating the edge, as numpy). Mapping each axis independently is what filling the border axis
 * by axis does, corners included.
 */
function padGather(op: Extract<Op, { kind: 'pad' }>, xs: number[]): Gather {
  const own = stridesOf(xs);
  const out = xs.map((d, a) => d + op.before[a] + op.after[a]);
  const axisMap = xs.map((d, a) => {
    const from = Math.max(0, -op.before[a]);
    const length = d - from - Math.max(0, -op.after[a]);
    const to = Math.max(0, op.before[a]);
    return Array.from({ length: out[a] }, (_, t) => {
      let rel = t - to;
      if (rel < 0 || rel >= length) {
        if (op.mode === 'constant') return -1;
        if (op.mode === 'edge') rel = Math.min(Math.max(rel, 0), length - 1);
        else {
          const period = 2 * (length - 1);
          rel = period === 0 ? 0 : ((rel % period) + period) % period;
          if (rel >= length) rel = period - rel;
        }
      }
      return from + rel;
    });
  });
  const src = new Int32Array(prod(out));
  eachIndex(out, (flat, idx) => {
    let at = 0;
    for (let a = 0; a < idx.length; a++) {
      const s = axisMap[a][idx[a]];
      if (s < 0) { at = -1; break; }
      at += s * own[a];
    }
    src[flat] = at;
  });
  return { part: new Int32Array(src.length), src };
}

function concatGather(axis: number, xs: number[][]): Gather {
  const out = [...xs[0]];
  out[axis] = xs.reduce((s, x) => s + x[axis], 0);
  const starts: number[] = [];
  let at = 0;
  for (const x of xs) { starts.push(at); at += x[axis]; }
  const owns = xs.map(stridesOf);
  const part = new Int32Array(prod(out)), src = new Int32Array(prod(out));
  eachIndex(out, (flat, idx) => {
    let j = xs.length - 1;
    while (starts[j] > idx[axis]) j--;
    let s = 0;
    idx.forEach((v, a) => { s += (a === axis ? v - starts[j] : v) * owns[j][a]; });
    part[flat] = j;
    src[flat] = s;
  });
  return { part, src };
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** Output shape of op i from its inputs' shapes (throws on what does not fit). */
export function refShape(op: Op, xs: number[][]): number[] {
  const x = xs[0];
  switch (op.kind) {
    case 'conv': {
      const [dh, dw] = op.dilations ?? [1, 1];
      return [op.filters, windowLength(x[1], op.kernel[0], op.stride[0], op.pads[0], op.pads[2], false, dh),
        windowLength(x[2], op.kernel[1], op.stride[1], op.pads[1], op.pads[3], false, dw)];
    }
    case 'maxpool': case 'avgpool':
      return [x[0], windowLength(x[1], op.kernel[0], op.stride[0], op.pads[0], op.pads[2], op.ceil),
        windowLength(x[2], op.kernel[1], op.stride[1], op.pads[1], op.pads[3], op.ceil)];
    case 'dense': return op.lastAxis ? [...x.slice(0, -1), op.units] : [op.units];
    case 'flatten': return [prod(x)];
    case 'reshape': return [...op.shape];
    case 'binary': {
      const shapes = op.constant ? (op.constant.side === 0 ? [op.constant.shape, x] : [x, op.constant.shape]) : xs;
      return broadcast(shapes[0], shapes[1]);
    }
    case 'concat': {
      const out = [...x];
      out[op.axis] = xs.reduce((s, v) => s + v[op.axis], 0);
      return out;
    }
    case 'slice': return [...op.counts];
    case 'transpose': return op.perm.map((p) => x[p]);
    case 'pad': return x.map((d, a) => d + op.before[a] + op.after[a]);
    case 'reducemean':
      return op.keep ? x.map((d, a) => (op.axes.includes(a) ? 1 : d)) : x.filter((d, a) => !op.axes.includes(a));
    case 'constant': return [...op.shape];
    default: return [...x]; // relu, lrn, dropout, softmax, pointwise, batchnorm
  }
}

export function refShapes(net: Network): number[][] {
  const shapes: number[][] = [];
  net.ops.forEach((op, i) => {
    shapes.push(refShape(op, inputsOf(net, i).map((t) => (t < 0 ? [...net.input] : shapes[t]))));
  });
  return shapes;
}

// ---------------------------------------------------------------------------------------------
// Forward

/** [outer, len, inner] around a softmax's axis (no axis: every value; flat: the axes from `axis` on). */
function softmaxLines(op: Extract<Op, { kind: 'softmax' }>, shape: number[]): [number, number, number] {
  if (op.axis === undefined) return [1, prod(shape), 1];
  if (op.flat) return [prod(shape.slice(0, op.axis)), prod(shape.slice(op.axis)), 1];
  return [prod(shape.slice(0, op.axis)), shape[op.axis], prod(shape.slice(op.axis + 1))];
}

function lrnWindow(c: number, C: number, size: number): [number, number] {
  return [Math.max(0, c - Math.floor((size - 1) / 2)), Math.min(C - 1, c + Math.ceil((size - 1) / 2))];
}

/** The operands of a binary op: values and shapes of a and b (a constant at its side). */
function binaryOperands(op: Extract<Op, { kind: 'binary' }>, i: number, params: ParamReader, xv: Float64Array[], xs: number[][]) {
  if (!op.constant) return { a: xv[0], as: xs[0], b: xv[1], bs: xs[1] };
  const c = Float64Array.from(params(i, 'b'));
  return op.constant.side === 0 ? { a: c, as: op.constant.shape, b: xv[0], bs: xs[0] } : { a: xv[0], as: xs[0], b: c, bs: op.constant.shape };
}

function binaryValue(fn: string, a: number, b: number): number {
  switch (fn) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    default: return a >= 0 ? a : a * b; // prelu: a = x, b = slope
  }
}

/** d op / d a and d op / d b. */
function binaryGrad(fn: string, a: number, b: number): [number, number] {
  switch (fn) {
    case 'add': return [1, 1];
    case 'sub': return [1, -1];
    case 'mul': return [b, a];
    case 'div': return [1 / b, -a / (b * b)];
    default: return [a > 0 ? 1 : b, a < 0 ? a : 0];
  }
}

function poolWindow(op: { kernel: [number, number]; stride: [number, number]; pads: readonly number[] }, oy: number, ox: number) {
  return { y0: oy * op.stride[0] - op.pads[0], x0: ox * op.stride[1] - op.pads[1] };
}

/** One op's output from its inputs (and switches/gaps for max-pool). */
function forwardOp(op: Op, i: number, params: ParamReader, xv: Float64Array[], xs: number[][], out: number[]):
    { y: Float64Array; sw?: Int32Array; gap?: Float64Array } {
  const x = xv[0], xshape = xs[0];
  const y = new Float64Array(prod(out));
  switch (op.kind) {
    case 'conv': {
      const [C, H, W] = xshape, [OC, OH, OW] = out;
      const G = op.groups, Cg = C / G, OCg = OC / G;
      const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilations ?? [1, 1];
      const w = params(i, 'weight');
      const bias = op.bias ? params(i, 'bias') : undefined;
      for (let oc = 0; oc < OC; oc++) {
        const c0 = Math.floor(oc / OCg) * Cg;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            let s = bias ? bias[oc] : 0;
            for (let c = 0; c < Cg; c++) {
              for (let ky = 0; ky < KH; ky++) {
                const iy = oy * SH - op.pads[0] + ky * DH;
                if (iy < 0 || iy >= H) continue;
                for (let kx = 0; kx < KW; kx++) {
                  const ix = ox * SW - op.pads[1] + kx * DW;
                  if (ix < 0 || ix >= W) continue;
                  s += w[((oc * Cg + c) * KH + ky) * KW + kx] * x[((c0 + c) * H + iy) * W + ix];
                }
              }
            }
            y[(oc * OH + oy) * OW + ox] = s;
          }
        }
      }
      return { y };
    }
    case 'relu':
      x.forEach((v, k) => { y[k] = v > 0 ? v : 0; });
      return { y };
    case 'maxpool': {
      const [C, H, W] = xshape, [, OH, OW] = out;
      const sw = new Int32Array(y.length), gap = new Float64Array(y.length);
      for (let c = 0; c < C; c++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const { y0, x0 } = poolWindow(op, oy, ox);
            let best = -1, m = -Infinity, second = -Infinity;
            for (let iy = Math.max(0, y0); iy < Math.min(H, y0 + op.kernel[0]); iy++) {
              for (let ix = Math.max(0, x0); ix < Math.min(W, x0 + op.kernel[1]); ix++) {
                const v = x[(c * H + iy) * W + ix];
                if (best < 0 || v > m) { second = m; m = v; best = iy * W + ix; } else if (v > second) second = v;
              }
            }
            if (best < 0) throw new Error(`reference: op ${i}: a pooling window misses the input`);
            const o = (c * OH + oy) * OW + ox;
            y[o] = m; sw[o] = best; gap[o] = m - second;
          }
        }
      }
      return { y, sw, gap };
    }
    case 'avgpool': {
      const [C, H, W] = xshape, [, OH, OW] = out;
      for (let c = 0; c < C; c++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const { y0, x0 } = poolWindow(op, oy, ox);
            let s = 0, cells = 0;
            for (let iy = Math.max(0, y0); iy < Math.min(H, y0 + op.kernel[0]); iy++) {
              for (let ix = Math.max(0, x0); ix < Math.min(W, x0 + op.kernel[1]); ix++) { s += x[(c * H + iy) * W + ix]; cells++; }
            }
            y[(c * OH + oy) * OW + ox] = s / avgDivisor(op, oy, ox, H, W, cells);
          }
        }
      }
      return { y };
    }
    case 'lrn': {
      const C = xshape[0], HW = prod(xshape.slice(1));
      for (let c = 0; c < C; c++) {
        const [lo, hi] = lrnWindow(c, C, op.size);
        for (let p = 0; p < HW; p++) {
          let s = 0;
          for (let j = lo; j <= hi; j++) s += x[j * HW + p] ** 2;
          y[c * HW + p] = x[c * HW + p] * Math.pow(op.bias + (op.alpha / op.size) * s, -op.beta);
        }
      }
      return { y };
    }
    case 'dense': {
      // On the flattened input, or (lastAxis) on every vector along the last axis.
      const I = op.lastAxis ? xshape[xshape.length - 1] : x.length, rows = x.length / I;
      const w = params(i, 'weight');
      const bias = op.bias ? params(i, 'bias') : undefined;
      for (let r = 0; r < rows; r++) {
        for (let u = 0; u < op.units; u++) {
          let s = bias ? bias[u] : 0;
          for (let k = 0; k < I; k++) s += w[u * I + k] * x[r * I + k];
          y[r * op.units + u] = s;
        }
      }
      return { y };
    }
    case 'dropout': case 'flatten': case 'reshape':
      y.set(x);
      return { y };
    case 'softmax': {
      const [outer, len, inner] = softmaxLines(op, xshape);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const at = (l: number) => (o * len + l) * inner + j;
          let m = -Infinity;
          for (let l = 0; l < len; l++) m = Math.max(m, x[at(l)]);
          let s = 0;
          for (let l = 0; l < len; l++) s += Math.exp(x[at(l)] - m);
          for (let l = 0; l < len; l++) y[at(l)] = Math.exp(x[at(l)] - m) / s;
        }
      }
      return { y };
    }
    case 'binary': {
      const { a, as, b, bs } = binaryOperands(op, i, params, xv, xs);
      const ia = broadcastIndex(as, out), ib = broadcastIndex(bs, out);
      for (let k = 0; k < y.length; k++) y[k] = binaryValue(op.fn, a[ia[k]], b[ib[k]]);
      return { y };
    }
    case 'pointwise':
      x.forEach((v, k) => { y[k] = pointwiseValue(op.fn, op.alpha, op.beta, v); });
      return { y };
    case 'batchnorm': {
      const C = xshape[0], HW = prod(xshape.slice(1));
      const scale = params(i, 'scale'), shift = params(i, 'shift');
      for (let c = 0; c < C; c++) for (let p = 0; p < HW; p++) y[c * HW + p] = x[c * HW + p] * scale[c] + shift[c];
      return { y };
    }
    case 'concat': case 'slice': case 'transpose': case 'pad': {
      const g = gatherOf(op, xs);
      const fill = op.kind === 'pad' ? op.value : 0;
      for (let k = 0; k < y.length; k++) y[k] = g.src[k] < 0 ? fill : xv[g.part[k]][g.src[k]];
      return { y };
    }
    case 'reducemean': {
      const map = reduceIndex(op.axes, xshape);
      const count = x.length / y.length;
      for (let k = 0; k < x.length; k++) y[map[k]] += x[k];
      for (let k = 0; k < y.length; k++) y[k] /= count;
      return { y };
    }
    case 'constant':
      y.set(Array.from(params(i, 'value')));
      return { y };
  }
}

function avgDivisor(op: Extract<Op, { kind: 'avgpool' }>, oy: number, ox: number, H: number, W: number, cells: number): number {
  if (!op.countIncludePad) return cells;
  // The window clipped to the padded input (ceil mode's overhang past the end pad does not count).
  const { y0, x0 } = poolWindow(op, oy, ox);
  return (Math.min(y0 + op.kernel[0], H + op.pads[2]) - y0) * (Math.min(x0 + op.kernel[1], W + op.pads[3]) - x0);
}

function gatherOf(op: Op, xs: number[][]): Gather {
  switch (op.kind) {
    case 'concat': return concatGather(op.axis, xs);
    case 'slice': return sliceGather(op, xs[0]);
    case 'transpose': return transposeGather(op.perm, xs[0]);
    case 'pad': return padGather(op, xs[0]);
    default: throw new Error(`reference: ${op.kind} is not an index map`);
  }
}

/** For each flat input index, the flat index of the mean it goes into. */
function reduceIndex(axes: number[], xs: number[]): Int32Array {
  const kept = xs.map((d, a) => (axes.includes(a) ? 1 : d));
  const st = stridesOf(kept);
  const map = new Int32Array(prod(xs));
  eachIndex(xs, (flat, idx) => {
    let at = 0;
    idx.forEach((v, a) => { if (!axes.includes(a)) at += v * st[a]; });
    map[flat] = at;
  });
  return map;
}

/**
 * The forward pass of one image. `given`: use these values for some tensors instead of computing
 * them (the engine's activations, so that the backward walk sees the very masks and switches the
 * engine saw; or a perturbed tensor for a finite difference). Switches are computed from the
 * max-pool's input as it is here.
 */
export function graphForward(net: Network, params: ParamReader, image: ArrayLike<number>,
                             given: Map<number, ArrayLike<number>> = new Map()): GraphForward {
  const input = Float64Array.from(given.get(-1) ?? image);
  if (input.length !== prod(net.input)) throw new Error('reference: the image does not fit the network input');
  const outputs: Float64Array[] = [];
  const shapes: number[][] = [];
  const switches: (Int32Array | undefined)[] = [];
  const gaps: (Float64Array | undefined)[] = [];
  net.ops.forEach((op, i) => {
    const ins = inputsOf(net, i);
    const xv = ins.map((t) => (t < 0 ? input : outputs[t]));
    const xs = ins.map((t) => (t < 0 ? [...net.input] : shapes[t]));
    const out = refShape(op, xs);
    const r = forwardOp(op, i, params, xv, xs, out);
    const g = given.get(i);
    if (g) {
      if (g.length !== r.y.length) throw new Error(`reference: a given tensor ${i} has ${g.length} values, not ${r.y.length}`);
      r.y = Float64Array.from(g);
    }
    outputs.push(r.y);
    shapes.push(out);
    switches.push(r.sw);
    gaps.push(r.gap);
  });
  return { input, outputs, shapes, switches, gaps };
}

// ---------------------------------------------------------------------------------------------
// Backward

/** Op i's contribution to each of its inputs' gradients, given dy at its output. */
function backwardOp(net: Network, op: Op, i: number, params: ParamReader, fwd: GraphForward, dy: Float64Array,
                    mode: GraphMode): Float64Array[] {
  const ins = inputsOf(net, i);
  const xv = ins.map((t) => (t < 0 ? fwd.input : fwd.outputs[t]));
  const xs = ins.map((t) => (t < 0 ? [...net.input] : fwd.shapes[t]));
  const x = xv[0], xshape = xs[0];
  const yv = fwd.outputs[i], out = fwd.shapes[i];
  const dx = xs.map((s) => new Float64Array(prod(s)));
  const d0 = dx[0];
  const rectified = mode !== 'exact' && isRectifier(op);
  switch (op.kind) {
    case 'conv': {
      const [C, H, W] = xshape, [OC, OH, OW] = out;
      const G = op.groups, Cg = C / G, OCg = OC / G;
      const [KH, KW] = op.kernel, [SH, SW] = op.stride, [DH, DW] = op.dilations ?? [1, 1];
      const w = params(i, 'weight');
      for (let oc = 0; oc < OC; oc++) {
        const c0 = Math.floor(oc / OCg) * Cg;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const d = dy[(oc * OH + oy) * OW + ox];
            if (d === 0) continue;
            for (let c = 0; c < Cg; c++) {
              for (let ky = 0; ky < KH; ky++) {
                const iy = oy * SH - op.pads[0] + ky * DH;
                if (iy < 0 || iy >= H) continue;
                for (let kx = 0; kx < KW; kx++) {
                  const ix = ox * SW - op.pads[1] + kx * DW;
                  if (ix < 0 || ix >= W) continue;
                  d0[((c0 + c) * H + iy) * W + ix] += w[((oc * Cg + c) * KH + ky) * KW + kx] * d;
                }
              }
            }
          }
        }
      }
      break;
    }
    case 'relu':
      dy.forEach((d, k) => {
        const pass = mode === 'deconvnet' ? d > 0 : mode === 'guided' ? d > 0 && yv[k] > 0 : yv[k] > 0;
        d0[k] = pass ? d : 0;
      });
      break;
    case 'maxpool': {
      const [C, H, W] = xshape, plane = prod(out.slice(1));
      const sw = fwd.switches[i]!;
      for (let c = 0; c < C; c++) for (let k = 0; k < plane; k++) d0[c * H * W + sw[c * plane + k]] += dy[c * plane + k];
      break;
    }
    case 'avgpool': {
      const [C, H, W] = xshape, [, OH, OW] = out;
      for (let c = 0; c < C; c++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const { y0, x0 } = poolWindow(op, oy, ox);
            const ys0 = Math.max(0, y0), ys1 = Math.min(H, y0 + op.kernel[0]);
            const xs0 = Math.max(0, x0), xs1 = Math.min(W, x0 + op.kernel[1]);
            const share = dy[(c * OH + oy) * OW + ox] / avgDivisor(op, oy, ox, H, W, (ys1 - ys0) * (xs1 - xs0));
            for (let iy = ys0; iy < ys1; iy++) for (let ix = xs0; ix < xs1; ix++) d0[(c * H + iy) * W + ix] += share;
          }
        }
      }
      break;
    }
    case 'lrn': {
      if (mode === 'deconvnet') { d0.set(dy); break; }
      // y[c] = x[c] t[c]^-beta, t[c] = bias + alpha/size sum_{j in win(c)} x[j]^2.
      const C = xshape[0], HW = prod(xshape.slice(1));
      for (let p = 0; p < HW; p++) {
        for (let c = 0; c < C; c++) {
          const [lo, hi] = lrnWindow(c, C, op.size);
          let s = 0;
          for (let j = lo; j <= hi; j++) s += x[j * HW + p] ** 2;
          const t = op.bias + (op.alpha / op.size) * s;
          const g = dy[c * HW + p];
          d0[c * HW + p] += g * Math.pow(t, -op.beta);
          const common = g * x[c * HW + p] * -op.beta * Math.pow(t, -op.beta - 1) * (op.alpha / op.size) * 2;
          for (let j = lo; j <= hi; j++) d0[j * HW + p] += common * x[j * HW + p];
        }
      }
      break;
    }
    case 'dense': {
      const I = op.lastAxis ? xshape[xshape.length - 1] : x.length, rows = x.length / I;
      const w = params(i, 'weight');
      for (let r = 0; r < rows; r++) {
        for (let u = 0; u < op.units; u++) {
          const d = dy[r * op.units + u];
          if (d === 0) continue;
          for (let k = 0; k < I; k++) d0[r * I + k] += w[u * I + k] * d;
        }
      }
      break;
    }
    case 'dropout': case 'flatten': case 'reshape':
      d0.set(dy);
      break;
    case 'softmax': {
      const [outer, len, inner] = softmaxLines(op, out);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const at = (l: number) => (o * len + l) * inner + j;
          let s = 0;
          for (let l = 0; l < len; l++) s += dy[at(l)] * yv[at(l)];
          for (let l = 0; l < len; l++) d0[at(l)] = yv[at(l)] * (dy[at(l)] - s);
        }
      }
      break;
    }
    case 'binary': {
      const { a, as, b, bs } = binaryOperands(op, i, params, xv, xs);
      const ia = broadcastIndex(as, out), ib = broadcastIndex(bs, out);
      // Which operand (0 = a, 1 = b) each data input is.
      const sides = op.constant ? [1 - op.constant.side] : [0, 1];
      sides.forEach((side, j) => {
        const idx = side === 0 ? ia : ib;
        for (let k = 0; k < dy.length; k++) dx[j][idx[k]] += dy[k] * binaryGrad(op.fn, a[ia[k]], b[ib[k]])[side];
      });
      break;
    }
    case 'pointwise':
      dy.forEach((d, k) => {
        if (rectified) {
          const mask = x[k] > op.alpha && x[k] < op.beta;
          const pass = mode === 'deconvnet' ? d > 0 : mode === 'guided' ? d > 0 && mask : mask;
          d0[k] = pass ? d : 0;
        } else {
          d0[k] = d * pointwiseDerivative(op.fn, op.alpha, op.beta, x[k]);
        }
      });
      break;
    case 'batchnorm': {
      const C = xshape[0], HW = prod(xshape.slice(1)), scale = params(i, 'scale');
      for (let c = 0; c < C; c++) for (let p = 0; p < HW; p++) d0[c * HW + p] = dy[c * HW + p] * scale[c];
      break;
    }
    case 'concat': case 'slice': case 'transpose': case 'pad': {
      const g = gatherOf(op, xs);
      for (let k = 0; k < dy.length; k++) if (g.src[k] >= 0) dx[g.part[k]][g.src[k]] += dy[k];
      break;
    }
    case 'reducemean': {
      const map = reduceIndex(op.axes, xshape);
      const count = x.length / dy.length;
      for (let k = 0; k < x.length; k++) d0[k] = dy[map[k]] / count;
      break;
    }
    case 'constant':
      break;
  }
  return dx;
}

/**
 * Walk `seed` (the size of tensor `start`) down by `mode`, to tensor `stop` (default: the input).
 * Returns every tensor's gradient (index t + 1; the input at 0), undefined where nothing came back.
 */
export function graphBackward(net: Network, params: ParamReader, fwd: GraphForward, start: number, seed: ArrayLike<number>,
                              mode: GraphMode, stop = -1): (Float64Array | undefined)[] {
  const grads: (Float64Array | undefined)[] = new Array(net.ops.length + 1).fill(undefined);
  if (seed.length !== fwd.outputs[start].length) throw new Error('reference: the seed does not fit the start tensor');
  grads[start + 1] = Float64Array.from(seed);
  for (let i = start; i > stop; i--) {
    const dy = grads[i + 1];
    if (!dy) continue;
    const sent = backwardOp(net, net.ops[i], i, params, fwd, dy, mode);
    inputsOf(net, i).forEach((t, j) => {
      const g = grads[t + 1];
      if (!g) grads[t + 1] = sent[j];
      else for (let k = 0; k < g.length; k++) g[k] += sent[j][k];
    });
  }
  return grads;
}

// ---------------------------------------------------------------------------------------------
// Projections and Grad-CAM

export type GraphKeep = 'max' | 'all' | { y: number; x: number } | { top: number };

export interface GraphProjection {
  /** Kept positions (flat in the map's [h, w] plane), in the engine's order. */
  positions: number[];
  /** Per projection (one per top-k unit, else one), the input-shaped result. */
  data: Float64Array[];
}

/** The [maps, h, w] a projection sees of a tensor (rank 1: [units, 1, 1]). */
export function mapsOf(shape: number[]): [number, number, number] {
  return shape.length === 3 ? [shape[0], shape[1], shape[2]] : [shape[0], 1, 1];
}

/** Kept positions of one map: max / top-k strongest first (ties: lower index first); all: the non-zero ones. */
export function keepPositions(map: ArrayLike<number>, w: number, keep: GraphKeep): number[] {
  const idx = Array.from({ length: map.length }, (_, k) => k);
  if (keep === 'all') return idx.filter((k) => map[k] !== 0);
  if (keep === 'max') return [idx.reduce((best, k) => (map[k] > map[best] ? k : best), 0)];
  if ('top' in keep) return idx.sort((p, q) => (map[q] !== map[p] ? map[q] - map[p] : p - q)).slice(0, keep.top);
  return [keep.y * w + keep.x];
}

/**
 * Project map `map` of tensor `op`: deconvnet seeds are the kept activations (or `seedValues`,
 * one per kept position, e.g. the float32 values another implementation fed), guided and
 * gradient seeds 1.
 */
export function graphProject(net: Network, params: ParamReader, fwd: GraphForward, op: number,
                             choice: { map: number; keep: GraphKeep; mode: GraphMode; seedValues?: number[] }): GraphProjection {
  const [, h, w] = mapsOf(fwd.shapes[op]);
  const act = fwd.outputs[op];
  const plane = act.subarray(choice.map * h * w, (choice.map + 1) * h * w);
  const positions = keepPositions(plane, w, choice.keep);
  const groups = typeof choice.keep === 'object' && 'top' in choice.keep ? positions.map((p) => [p]) : [positions];
  const value = new Map(positions.map((p, k) => [p, choice.seedValues?.[k] ?? plane[p]]));
  const data = groups.map((group) => {
    const seed = new Float64Array(act.length);
    for (const p of group) seed[choice.map * h * w + p] = choice.mode === 'deconvnet' ? value.get(p)! : 1;
    return graphBackward(net, params, fwd, op, seed, choice.mode)[0] ?? new Float64Array(prod(net.input));
  });
  return { positions, data };
}

/** The tensor whose values are the class scores: the softmax's input when the network ends in one. */
export function logitsOf(net: Network): number {
  const last = net.ops.length - 1;
  return net.ops[last].kind === 'softmax' ? inputsOf(net, last)[0] : last;
}

export interface GraphGradcam {
  /** alpha_k = mean over h, w of d logit_c / d A_k. */
  weights: Float64Array;
  /** relu(sum_k alpha_k A_k), [h, w]. */
  cam: Float64Array;
  /** d logit_c / d A, A's shape. */
  grad: Float64Array;
  /** Guided backprop of logit c to the input. */
  guided: Float64Array;
}

export function graphGradcam(net: Network, params: ParamReader, fwd: GraphForward, at: number, cls: number): GraphGradcam {
  const logits = logitsOf(net);
  const [K, h, w] = mapsOf(fwd.shapes[at]);
  const seed = new Float64Array(fwd.outputs[logits].length);
  seed[cls] = 1;
  const grad = graphBackward(net, params, fwd, logits, seed, 'gradient', at)[at + 1] ?? new Float64Array(fwd.outputs[at].length);
  const A = fwd.outputs[at];
  const plane = h * w;
  const weights = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let p = 0; p < plane; p++) s += grad[k * plane + p];
    weights[k] = s / plane;
  }
  const cam = new Float64Array(plane);
  for (let p = 0; p < plane; p++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += weights[k] * A[k * plane + p];
    cam[p] = Math.max(0, s);
  }
  const guided = graphBackward(net, params, fwd, logits, seed, 'guided')[0] ?? new Float64Array(prod(net.input));
  return { weights, cam, grad, guided };
}

/**
 * Bilinear resize of an [h, w] map to [H, W] with pixel centres aligned (PyTorch's
 * interpolate(align_corners=False)): output pixel y samples source row (y + 0.5) h / H - 0.5,
 * clamped to [0, h - 1], between its two neighbouring rows; likewise for columns.
 */
export function bilinear(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  const sample = (pos: number, n: number): [number, number, number] => {
    const f = Math.min(Math.max(pos, 0), n - 1);
    const lo = Math.floor(f);
    return [lo, Math.min(lo + 1, n - 1), f - lo];
  };
  for (let y = 0; y < H; y++) {
    const [r0, r1, ty] = sample(((y + 0.5) * h) / H - 0.5, h);
    for (let x = 0; x < W; x++) {
      const [c0, c1, tx] = sample(((x + 0.5) * w) / W - 0.5, w);
      out[y * W + x] = (1 - ty) * ((1 - tx) * map[r0 * w + c0] + tx * map[r0 * w + c1])
        + ty * ((1 - tx) * map[r1 * w + c0] + tx * map[r1 * w + c1]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Weights from a model

/** A model's constants as float64, read from its arena (model.paramsAt(op).all[name]). */
export function modelParams(model: Model): ParamReader {
  const cache = new Map<string, Float64Array>();
  return (op, name) => {
    const key = `${op}/${name}`;
    let v = cache.get(key);
    if (!v) {
      const p = model.paramsAt(op)?.all[name];
      if (!p) throw new Error(`reference: op ${op} (${model.network.ops[op].kind}) has no constant '${name}'`);
      v = Float64Array.from(model.arena.read(p.region));
      cache.set(key, v);
    }
    return v;
  };
}
