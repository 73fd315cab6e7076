// denseWeightGrad (assembly/dense.ts) on both builds: dw[o, i] += sum_n dy[n, o] x[n, i] and
// db[o] += sum_n dy[n, o] against the float64 reference, accumulating onto non-zero dw/db, with
// I and O around the SIMD width (4) and not multiples of it, batch 1..5, and dy with exact zeros
// (the kernel skips those rows: ReLU and dropout zero many). Then finite differences of
// L(W, b) = sum(dy * dense(x; W, b)), db = 0 (no bias), and agreement of the two builds.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, fmt, kernelsFor, maxAbs, maxAbsDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { denseWeightGradRef } from '../reference/kernels.js';

/**
 * A dw entry is a float32 sum of at most 5 products of [-1, 1] values onto dw0 in [-2, 2]:
 * a few roundings of ~6e-8 relative to |dw0| + sum |terms|, which is the scale used here.
 */
const TOL = 1e-6;

interface Case { N: number; I: number; O: number; bias: boolean; zeros: number }
const cases: Case[] = [];
{
  let k = 0;
  for (const I of [1, 3, 4, 5, 7, 9, 13, 31, 100, 257]) {
    for (const O of [1, 2, 3, 5, 7, 10]) {
      for (const N of [1, 2, 3, 4, 5]) cases.push({ N, I, O, bias: k % 2 === 0, zeros: [0, 0.3, 0.8, 1][k++ % 4] });
    }
  }
}
const label = (c: Case) => `N${c.N} I${c.I} O${c.O}${c.bias ? ' +bias' : ''} dy ${c.zeros * 100}% zeros`;

function inputs(c: Case, seed: number) {
  const random = mulberry32(seed);
  return {
    x: randomF32(c.N * c.I, random),
    dy: Float32Array.from({ length: c.N * c.O }, () => (random() < c.zeros ? 0 : 2 * random() - 1)),
    w: randomF32(c.O * c.I, random),
    bias: randomF32(c.O, random),
    dw0: randomF32(c.O * c.I, random, -2, 2),
    db0: randomF32(c.O, random, -2, 2),
  };
}

function runGrad(h: Harness, c: Case, x: Float32Array, dy: Float32Array, dw0: Float32Array, db0?: Float32Array) {
  const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdw = h.f32(dw0, 'dw'), rdb = db0 ? h.f32(db0, 'db') : undefined;
  h.k.denseWeightGrad(c.N, c.I, c.O, rx.offset, rdy.offset, rdw.offset, rdb ? rdb.offset : 0);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rdy), dy) === 0;
  return { dw: h.read(rdw), db: rdb ? h.read(rdb) : undefined, untouched };
}

function scaledDiff(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>, init: ArrayLike<number>) {
  let d = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - ref[i]) / Math.max(scale[i] + Math.abs(init[i]), 1e-30);
    if (!(e <= d)) { d = e; at = i; }
  }
  return { d, at };
}

describe.each(BACKENDS)('denseWeightGrad [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the export has the signature this suite calls', () => {
    expect(h.k.denseWeightGrad.length).toBe(7);
  });

  test(`accumulates the reference's dw and db onto non-zero dw/db (${cases.length} shapes)`, () => {
    let worstW = 0, worstB = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 100 + i);
      const { dw, db, untouched } = runGrad(h, c, x, dy, dw0, c.bias ? db0 : undefined);
      const ref = denseWeightGradRef(c.N, c.I, c.O, x, dy, dw0, db0);
      const scale = denseWeightGradRef(c.N, c.I, c.O, x.map(Math.abs), dy.map(Math.abs));
      const ew = scaledDiff(dw, ref.dw, scale.dw, dw0);
      worstW = Math.max(worstW, ew.d);
      if (!(ew.d <= TOL)) failures.push(`${label(c)}: dw scaled diff ${fmt(ew.d)} at [${ew.at}]: expected ${ref.dw[ew.at]}, got ${dw[ew.at]}`);
      if (db) {
        const eb = scaledDiff(db, ref.db, scale.db, db0);
        worstB = Math.max(worstB, eb.d);
        if (!(eb.d <= TOL)) failures.push(`${label(c)}: db scaled diff ${fmt(eb.d)} at [${eb.at}]: expected ${ref.db[eb.at]}, got ${db[eb.at]}`);
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${label(c)}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${label(c)}: modified x or dy`);
    });
    console.log(`denseWeightGrad [${backend}] ${cases.length} cases: max scaled diff dw ${fmt(worstW)}, db ${fmt(worstB)}`);
    expect(failures).toEqual([]);
  });

  test('rows of dy that are all zero leave dw exactly as it was; db = 0 writes no bias', () => {
    h.reset();
    const c: Case = { N: 3, I: 13, O: 7, bias: false, zeros: 0 };
    const { x, dy, dw0, db0 } = inputs(c, 5);
    for (let n = 0; n < c.N; n++) { dy[n * c.O + 2] = 0; dy[n * c.O + 6] = 0; } // outputs 2 and 6: no gradient
    const none = runGrad(h, c, x, dy, dw0);
    const withBias = runGrad(h, c, x, dy, dw0, db0);
    for (const o of [2, 6]) {
      expect(Array.from(none.dw.subarray(o * c.I, (o + 1) * c.I))).toEqual(Array.from(dw0.subarray(o * c.I, (o + 1) * c.I)));
      expect(withBias.db![o]).toBe(db0[o]);
    }
    expect(maxAbsDiff(none.dw, withBias.dw)).toBe(0);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('finite differences of sum(dy * dense(x; W, b)) with respect to every W and b', () => {
    // L is linear in W and b: central differences with a large step (0.25) carry no truncation
    // error, only the float32 rounding of dense's outputs; the denominator is the step taken.
    const picks: Case[] = [
      { N: 1, I: 7, O: 5, bias: true, zeros: 0 }, { N: 3, I: 13, O: 6, bias: true, zeros: 0.3 },
      { N: 5, I: 9, O: 3, bias: true, zeros: 0.5 }, { N: 2, I: 37, O: 11, bias: true, zeros: 0 },
    ];
    let worst = 0;
    const failures: string[] = [];
    picks.forEach((c, ci) => {
      h.reset();
      const { x, dy, w, bias } = inputs(c, 40 + ci);
      const rx = h.f32(x, 'x'), rw = h.alloc(w.length, 'w'), rb = h.alloc(bias.length, 'bias');
      const ry = h.alloc(c.N * c.O, 'y');
      const loss = (ww: Float32Array, bb: Float32Array) => {
        h.write(rw, ww); h.write(rb, bb);
        h.k.dense(c.N, c.I, c.O, rx.offset, rw.offset, rb.offset, ry.offset);
        return dot(h.read(ry), dy);
      };
      const fdW = new Float64Array(w.length), fdB = new Float64Array(bias.length);
      for (let i = 0; i < w.length; i++) {
        const wp = Float32Array.from(w), wm = Float32Array.from(w);
        wp[i] += 0.25; wm[i] -= 0.25;
        fdW[i] = (loss(wp, bias) - loss(wm, bias)) / (wp[i] - wm[i]);
      }
      for (let i = 0; i < bias.length; i++) {
        const bp = Float32Array.from(bias), bm = Float32Array.from(bias);
        bp[i] += 0.25; bm[i] -= 0.25;
        fdB[i] = (loss(w, bp) - loss(w, bm)) / (bp[i] - bm[i]);
      }
      const { dw, db } = runGrad(h, c, x, dy, new Float32Array(w.length), new Float32Array(bias.length));
      const d = Math.max(maxAbsDiff(dw, fdW) / maxAbs(fdW), maxAbsDiff(db!, fdB) / maxAbs(fdB));
      worst = Math.max(worst, d);
      if (!(d <= 1e-5)) failures.push(`${label(c)}: rel diff to finite differences ${fmt(d)}; dw ${describeDiff(dw, fdW)}; db ${describeDiff(db!, fdB)}`);
    });
    console.log(`denseWeightGrad [${backend}] vs finite differences, ${picks.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});

// Per entry both builds add the same products in the same order (n ascending), the SIMD build
// four entries at a time: they should agree bit for bit.
test('denseWeightGrad: the SIMD and scalar builds agree bit for bit', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const { x, dy, dw0, db0 } = inputs(c, 900 + i);
    const [s, sc] = hs.map((h) => { h.reset(); return runGrad(h, c, x, dy, dw0, db0); });
    if (maxAbsDiff(s.dw, sc.dw) !== 0) failures.push(`${label(c)} dw: ${describeDiff(s.dw, sc.dw)}`);
    if (maxAbsDiff(s.db!, sc.db!) !== 0) failures.push(`${label(c)} db: ${describeDiff(s.db!, sc.db!)}`);
  });
  console.log(`denseWeightGrad simd vs scalar, ${cases.length} cases: ${failures.length} differ`);
  expect(failures).toEqual([]);
});
