// strided (assembly/strided.ts) against stridedRef on both builds: Transpose under every
// permutation of [2,3,4,5], slices with steps 2, -1 and -2 (src pointer at the element index 0
// reads), Gather of one index, Concat/Split along each axis, constant Pad (copy into the
// interior of a NaN-filled dst), broadcast reads (stride 0), ReduceSum/ReduceMax over every
// axis subset (0 dst strides), 1- and 0-sized axes and innermost lengths around the SIMD
// width with every innermost stride pattern the fast paths tell apart. Outputs start as NaN
// (mode 0) or random (modes 1, 2: they read dst), so a skipped element, a write outside the
// index set or past a region is caught. Then the adjoint: strided add with src and dst strides
// swapped is the transpose of strided copy.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbsDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { stridedRef } from '../reference/kernels.js';

/** Mode 1 sums in f32: error relative to the sum of |terms| into each element. */
const TOL = 1e-6;
const ADJOINT_TOL = 1e-6;

interface Case {
  name: string;
  mode: number;
  d: number[];
  s: number[];
  t: number[];
  /** Region sizes and where the index-0 element sits; default: the span the strides reach. */
  srcLen?: number; srcAt?: number;
  dstLen?: number; dstAt?: number;
}

const SHAPE = [2, 3, 4, 5];

function contiguous(shape: number[]): number[] {
  const s = shape.map(() => 0);
  let p = 1;
  for (let k = shape.length - 1; k >= 0; k--) { s[k] = p; p *= shape[k]; }
  return s;
}

/** Element range [lo, hi] the index set reaches with strides s (lo <= 0 <= hi). */
function span(d: number[], s: number[]): [number, number] {
  if (d.some((n) => n <= 0)) return [0, 0];
  let lo = 0, hi = 0;
  d.forEach((n, k) => { if (s[k] < 0) lo += (n - 1) * s[k]; else hi += (n - 1) * s[k]; });
  return [lo, hi];
}

/** Regions of a case: [len, at] for src and dst, with a little slack on both sides. */
function layout(c: Case): { srcLen: number; srcAt: number; dstLen: number; dstAt: number } {
  const [slo, shi] = span(c.d, c.s), [tlo, thi] = span(c.d, c.t);
  return {
    srcLen: c.srcLen ?? shi - slo + 3, srcAt: c.srcAt ?? 1 - slo,
    dstLen: c.dstLen ?? thi - tlo + 3, dstAt: c.dstAt ?? 1 - tlo,
  };
}

function pad5(v: number[], fill: number): number[] {
  if (v.length > 5) throw new RangeError('more than 5 axes');
  return [...Array(5 - v.length).fill(fill), ...v];
}

function callStrided(h: Harness, mode: number, d: number[], s: number[], t: number[], src: number, dst: number): void {
  const [d0, d1, d2, d3, d4] = pad5(d, 1), [s0, s1, s2, s3, s4] = pad5(s, 0), [t0, t1, t2, t3, t4] = pad5(t, 0);
  h.k.strided(mode, d0, d1, d2, d3, d4, s0, s1, s2, s3, s4, t0, t1, t2, t3, t4, src, dst);
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  }
  return out;
}

function transposeCases(): Case[] {
  const cases: Case[] = [];
  const src = contiguous(SHAPE);
  for (const perm of permutations(4)) {
    const out = perm.map((p) => SHAPE[p]);
    const dstStrides = contiguous(out);
    // Gather form: iterate the output, read the input through permuted strides.
    cases.push({ name: `transpose [${perm}] gather`, mode: 0, d: out, s: perm.map((p) => src[p]), t: dstStrides });
    // Scatter form: iterate the input, write through the inverse permutation.
    const inv = perm.map(() => 0);
    perm.forEach((p, k) => { inv[p] = k; });
    cases.push({ name: `transpose [${perm}] scatter`, mode: 0, d: SHAPE, s: src, t: inv.map((k) => dstStrides[k]) });
  }
  return cases;
}

function sliceCases(): Case[] {
  const [S0, S1, S2] = contiguous(SHAPE);
  const n = 120, full = { srcLen: n };
  const t = (d: number[]) => contiguous(d);
  const cases: Case[] = [
    { name: 'slice W step -1', mode: 0, d: SHAPE, s: [S0, S1, S2, -1], t: t(SHAPE), ...full, srcAt: 4 },
    { name: 'slice every axis step -1', mode: 0, d: SHAPE, s: [-S0, -S1, -S2, -1], t: t(SHAPE), ...full, srcAt: 119 },
    { name: 'slice H, W step 2', mode: 0, d: [2, 3, 2, 3], s: [S0, S1, 2 * S2, 2], t: t([2, 3, 2, 3]), ...full, srcAt: 0 },
    { name: 'slice C 2::-2', mode: 0, d: [2, 2, 4, 5], s: [S0, -2 * S1, S2, 1], t: t([2, 2, 4, 5]), ...full, srcAt: 2 * S1 },
    { name: 'slice H 1:3', mode: 0, d: [2, 3, 2, 5], s: [S0, S1, S2, 1], t: t([2, 3, 2, 5]), ...full, srcAt: S2 },
    { name: 'slice W 1::3', mode: 0, d: [2, 3, 4, 2], s: [S0, S1, S2, 3], t: t([2, 3, 4, 2]), ...full, srcAt: 1 },
    { name: 'slice W 3::-2, N ::-1', mode: 0, d: [2, 3, 4, 2], s: [-S0, S1, S2, -2], t: t([2, 3, 4, 2]), ...full, srcAt: S0 + 3 },
    { name: 'gather C index 2 (keepdim)', mode: 0, d: [2, 1, 4, 5], s: [S0, S1, S2, 1], t: t([2, 1, 4, 5]), ...full, srcAt: 2 * S1 },
    { name: 'gather W index 4 (squeezed)', mode: 0, d: [2, 3, 4], s: [S0, S1, S2], t: t([2, 3, 4]), ...full, srcAt: 4 },
    { name: 'gather H index -1 then W step -1', mode: 0, d: [2, 3, 5], s: [S0, S1, -1], t: t([2, 3, 5]), ...full, srcAt: 3 * S2 + 4 },
  ];
  return cases;
}

/** Concat of [2,3,4,5] and the same shape with axis k of size 2, as two calls; and Split back. */
function concatSplit(): { name: string; axis: number; parts: number[][] }[] {
  return [0, 1, 2, 3].map((axis) => {
    const second = SHAPE.slice();
    second[axis] = 2;
    return { name: `axis ${axis}`, axis, parts: [SHAPE, second] };
  });
}

function padCases(): Case[] {
  const padded = [2, 3, 7, 8];
  const pt = contiguous(padded);
  const padC = [2, 6, 4, 5];
  return [
    // Pads top 1, left 2, bottom 2, right 1: the interior of a NaN dst (the engine fills first).
    { name: 'pad H 1+2, W 2+1', mode: 0, d: SHAPE, s: contiguous(SHAPE), t: pt, dstLen: 2 * 3 * 7 * 8, dstAt: 1 * pt[2] + 2 },
    { name: 'pad C 1+2', mode: 0, d: SHAPE, s: contiguous(SHAPE), t: contiguous(padC), dstLen: 240, dstAt: contiguous(padC)[1] },
    { name: 'pad W 0+3 (rows of 5 in rows of 8)', mode: 0, d: SHAPE, s: contiguous(SHAPE), t: contiguous([2, 3, 4, 8]), dstLen: 192 },
  ];
}

function broadcastCases(): Case[] {
  const t = contiguous(SHAPE);
  const cases: Case[] = [];
  for (const mode of [0, 1, 2]) {
    cases.push(
      { name: `[3] -> [2,3,4,5] mode ${mode}`, mode, d: SHAPE, s: [0, 1, 0, 0], t },
      { name: `[5] -> [2,3,4,5] mode ${mode}`, mode, d: SHAPE, s: [0, 0, 0, 1], t },
      { name: `scalar -> [2,3,4,5] mode ${mode}`, mode, d: SHAPE, s: [0, 0, 0, 0], t },
      { name: `[2,1,4,1] -> [2,3,4,5] mode ${mode}`, mode, d: SHAPE, s: [4, 0, 1, 0], t },
      { name: `[3,4,1] -> [2,3,4,5] reversed H mode ${mode}`, mode, d: SHAPE, s: [0, 4, -1, 0], t, srcLen: 12, srcAt: 3 },
    );
  }
  return cases;
}

function reduceCases(): Case[] {
  const cases: Case[] = [];
  const src = contiguous(SHAPE);
  for (let mask = 1; mask < 16; mask++) {
    const kept = SHAPE.map((n, k) => (mask & (1 << k) ? 1 : n));
    const ks = contiguous(kept).map((v, k) => (mask & (1 << k) ? 0 : v));
    const axes = [0, 1, 2, 3].filter((k) => mask & (1 << k));
    for (const mode of [1, 2]) {
      cases.push({ name: `reduce axes [${axes}] mode ${mode}`, mode, d: SHAPE, s: src, t: ks });
    }
  }
  // Reduce over W of a reversed view, and over C of a transposed one (dst [N, W, H]).
  cases.push({ name: 'reduce W of W-reversed mode 1', mode: 1, d: SHAPE, s: [src[0], src[1], src[2], -1], t: [12, 4, 1, 0], srcLen: 120, srcAt: 4 });
  cases.push({ name: 'reduce C into [N, W, H] mode 2', mode: 2, d: [2, 5, 4, 3], s: [src[0], 1, 5, 20], t: [20, 4, 1, 0] });
  return cases;
}

function smallAxisCases(): Case[] {
  const cases: Case[] = [];
  const shapes = [[1, 1, 1, 1, 1], [1, 5, 1, 1, 3], [3, 1, 1, 1, 1], [1, 1, 1, 1, 7], [2, 1, 3, 1, 2],
    [0, 3, 4], [2, 0], [2, 3, 0], [0], [1, 0, 1, 1, 1]];
  for (const d of shapes) {
    for (const mode of [0, 1, 2]) {
      const s = contiguous(d).map((v, k) => (k % 2 ? -v : v));
      const [lo] = span(d, s);
      cases.push({ name: `shape [${d}] mode ${mode}`, mode, d, s, t: contiguous(d).reverse(), srcAt: 1 - lo });
    }
  }
  return cases;
}

/** Innermost lengths around the SIMD width, every innermost stride pair the fast paths see. */
function innerCases(): Case[] {
  const cases: Case[] = [];
  const pairs: [number, number][] = [[1, 1], [0, 1], [-1, 1], [2, 1], [1, 0], [0, 0], [1, 3], [-1, -2], [1, -1]];
  for (const L of [1, 3, 4, 5, 7, 9, 17]) {
    for (const [s4, t4] of pairs) {
      for (const mode of [0, 1, 2]) {
        if (mode === 0 && t4 === 0 && L > 1) continue; // repeated writes: not a copy
        // Outer rows pitched so they do not merge (row pitch > L*|stride|), then a merging case.
        const sp = Math.max(1, L * Math.abs(s4)) + 2, tp = Math.max(1, L * Math.abs(t4)) + 1;
        cases.push({ name: `L=${L} s4=${s4} t4=${t4} mode ${mode}`, mode, d: [2, 3, L], s: [-3 * sp, sp, s4], t: [3 * tp, tp, t4] });
        if (s4 === 1 && t4 === 1) {
          cases.push({ name: `L=${L} contiguous merged mode ${mode}`, mode, d: [2, 3, L], s: [3 * L, L, 1], t: [3 * L, L, 1] });
        }
      }
    }
  }
  return cases;
}

function srcData(n: number, seed: number): Float32Array {
  const x = randomF32(n, mulberry32(seed));
  // Ties for max (equal values, both zeros) now and then.
  for (let i = 3; i < n; i += 17) x[i] = x[i - 3];
  for (let i = 5; i < n; i += 23) x[i] = i % 2 ? 0 : -0;
  return x;
}

describe.each(BACKENDS)('strided [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  /** Runs one case on fresh regions; returns the error (0 exact, relative for mode 1) and failures. */
  function runCase(c: Case, seed: number, failures: string[]): number {
    h.reset();
    const { srcLen, srcAt, dstLen, dstAt } = layout(c);
    const src = srcData(srcLen, seed);
    const random = mulberry32(seed + 1000);
    const dst0 = c.mode === 0 ? new Float32Array(dstLen).fill(NaN) : randomF32(dstLen, random, -2, 2);
    const rs = h.f32(src, 'src'), rd = h.f32(dst0, 'dst');
    callStrided(h, c.mode, c.d, c.s, c.t, rs.offset + 4 * srcAt, rd.offset + 4 * dstAt);
    const got = h.read(rd);
    const ref = stridedRef(c.mode, c.d, c.s, c.t, src, srcAt, dst0, dstAt);
    let err: number;
    if (c.mode === 1) {
      const scale = stridedRef(1, c.d, c.s, c.t, src.map(Math.abs), srcAt, dst0.map(Math.abs), dstAt);
      err = 0;
      for (let i = 0; i < got.length; i++) {
        const e = Math.abs(got[i] - ref[i]);
        if (!(e <= 0)) err = Math.max(err, scale[i] > 0 ? e / scale[i] : Infinity);
      }
      if (!(err <= TOL)) failures.push(`${c.name}: error ${fmt(err)} of sum |terms|; ${describeDiff(got, ref)}`);
    } else {
      err = maxAbsDiff(got, ref);
      if (err !== 0) failures.push(`${c.name}: max abs diff ${fmt(err)}; ${describeDiff(got, ref)}`);
    }
    if (maxAbsDiff(h.read(rs), src) !== 0) failures.push(`${c.name}: modified src`);
    const bad = h.corruptedGuards();
    if (bad.length) failures.push(`${c.name}: wrote past ${bad.join(', ')}`);
    return err;
  }

  function sweep(what: string, cases: Case[], seed0: number): void {
    const failures: string[] = [];
    let worst0 = 0, worst1 = 0;
    cases.forEach((c, i) => {
      const e = runCase(c, seed0 + i, failures);
      if (c.mode === 1) worst1 = Math.max(worst1, e);
      else worst0 = Math.max(worst0, e);
    });
    const modes = new Set(cases.map((c) => c.mode));
    const parts = [];
    if (modes.has(0) || modes.has(2)) parts.push(`copy/max max abs diff ${fmt(worst0)}`);
    if (modes.has(1)) parts.push(`add max error ${fmt(worst1)} of sum |terms|`);
    console.log(`strided ${what} [${backend}] ${cases.length} cases: ${parts.join(', ')}`);
    expect(failures).toEqual([]);
  }

  test('transpose of [2,3,4,5], every permutation, gather and scatter forms', () => {
    sweep('transpose', transposeCases(), 0);
  });

  test('slices with steps 2, 3, -1, -2 and gathers of one index', () => {
    sweep('slice/gather', sliceCases(), 100);
  });

  test('constant pad: copy into the interior of a NaN-filled dst', () => {
    sweep('pad', padCases(), 200);
  });

  test('broadcast reads (stride 0) in every mode', () => {
    sweep('broadcast', broadcastCases(), 300);
  });

  test('ReduceSum / ReduceMax over every subset of axes (0 dst strides)', () => {
    sweep('reduce', reduceCases(), 400);
  });

  test('1-sized and 0-sized axes', () => {
    sweep('small axes', smallAxisCases(), 500);
  });

  test('innermost lengths 1..17 with every innermost stride pattern', () => {
    sweep('innermost', innerCases(), 600);
  });

  test('concat into a larger dst along each axis, and split it back', () => {
    const failures: string[] = [];
    for (const [i, c] of concatSplit().entries()) {
      h.reset();
      const [p0, p1] = c.parts;
      const out = SHAPE.slice();
      out[c.axis] += p1[c.axis];
      const total = out.reduce((p, q) => p * q, 1);
      const ts = contiguous(out);
      const x0 = srcData(p0.reduce((p, q) => p * q, 1), 700 + i), x1 = srcData(p1.reduce((p, q) => p * q, 1), 800 + i);
      const r0 = h.f32(x0, 'part 0'), r1 = h.f32(x1, 'part 1'), rd = h.alloc(total, 'concat');
      const at1 = SHAPE[c.axis] * ts[c.axis];
      callStrided(h, 0, p0, contiguous(p0), ts, r0.offset, rd.offset);
      callStrided(h, 0, p1, contiguous(p1), ts, r1.offset, rd.offset + 4 * at1);
      let ref = stridedRef(0, p0, contiguous(p0), ts, x0, 0, new Float64Array(total).fill(NaN), 0);
      ref = stridedRef(0, p1, contiguous(p1), ts, x1, 0, ref, at1);
      if (ref.some(Number.isNaN)) throw new Error('reference concat leaves holes');
      const got = h.read(rd);
      if (maxAbsDiff(got, ref) !== 0) failures.push(`concat ${c.name}: ${describeDiff(got, ref)}`);
      // Split: the two parts back out of the concatenation.
      const s0 = h.alloc(x0.length, 'split 0'), s1 = h.alloc(x1.length, 'split 1');
      callStrided(h, 0, p0, ts, contiguous(p0), rd.offset, s0.offset);
      callStrided(h, 0, p1, ts, contiguous(p1), rd.offset + 4 * at1, s1.offset);
      if (maxAbsDiff(h.read(s0), x0) !== 0 || maxAbsDiff(h.read(s1), x1) !== 0) failures.push(`split ${c.name}`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past ${bad.join(', ')}`);
    }
    console.log(`strided concat/split [${backend}] 4 axes: ${failures.length ? 'DIFFER' : 'max abs diff 0'}`);
    expect(failures).toEqual([]);
  });

  test('adjoint: <copy(x), y> = <x, add with src and dst strides swapped (y)>', () => {
    // strided mode 0 (d, s, t) is a linear map from the src region to the dst region (zeros
    // where it does not write, dst strides injective); its transpose reads the dst region
    // through t and adds into a zeroed src region through s: mode 1 (d, t, s). Broadcast
    // reads (s = 0) become sums.
    const cases = [...transposeCases().filter((_, i) => i % 3 === 0), ...sliceCases(), ...padCases(),
      ...broadcastCases().filter((c) => c.mode === 0), ...innerCases().filter((c) => c.mode === 0)];
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { srcLen, srcAt, dstLen, dstAt } = layout(c);
      const random = mulberry32(900 + i);
      const x = randomF32(srcLen, random), y = randomF32(dstLen, random);
      const rx = h.f32(x, 'x'), ry = h.f32(y, 'y');
      const rax = h.f32(new Float32Array(dstLen), 'A x'), raty = h.f32(new Float32Array(srcLen), 'A^T y');
      callStrided(h, 0, c.d, c.s, c.t, rx.offset + 4 * srcAt, rax.offset + 4 * dstAt);
      callStrided(h, 1, c.d, c.t, c.s, ry.offset + 4 * dstAt, raty.offset + 4 * srcAt);
      const ax = h.read(rax), aty = h.read(raty);
      const lhs = dot(ax, y), rhs = dot(x, aty);
      const scale = Math.max(dotAbs(ax, y), dotAbs(x, aty));
      const g = scale === 0 ? Math.abs(lhs - rhs) : Math.abs(lhs - rhs) / scale;
      worst = Math.max(worst, g);
      if (!(g <= ADJOINT_TOL)) failures.push(`${c.name}: relative gap ${fmt(g)}`);
      if (scale === 0 && c.d.every((n) => n > 0)) failures.push(`${c.name}: nothing moved`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past ${bad.join(', ')}`);
    });
    console.log(`adjoint strided copy/add [${backend}] ${cases.length} cases: max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});
