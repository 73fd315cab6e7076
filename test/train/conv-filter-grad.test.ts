// conv2dFilterGrad (assembly/conv2d.ts) on both builds: against the float64 reference over the
// shared shape sweep (channels 1..34, groups 1/2/3, strides 1..4, asymmetric pads through OH/OW
// from windowOut, batch 1 and 3, P = OH*OW and K = Cg*KH*KW not multiples of 8, P and K beyond
// one 256 block) plus zfnet-mini's own conv1/conv2 geometry; always accumulating onto non-zero
// dw/db, with and without a bias (db = 0). Then: finite differences of
// L(w, b) = sum(dy * conv2d(x; w, b)), the adjoint identity <conv2d(x; w), dy> = <w, dW(x, dy)>,
// accumulation over split batches, and agreement of the two builds.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, convCase, convCases, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbs, maxAbsDiff, mulberry32,
  randomF32, sparseF32, type ConvCase, type Harness,
} from '../helpers/wasm.js';
import { conv2dFilterGradRef } from '../reference/kernels.js';

/**
 * Each dw entry is a float32 sum of up to N*P ~ 2400 products of [-1, 1] values (blocked by 256
 * in the GEMM) added onto dw0; db a float32 sum of up to P per image. The error is measured
 * against the natural scale of that rounding, sum |terms| + |dw0| per entry (worst case
 * ~ n * 2^-24 * scale, typically ~ sqrt(n) * 2^-24 ~ 3e-6).
 */
const TOL = 2e-5;

const cases: ConvCase[] = [
  ...convCases(),
  // zfnet-mini conv1 (C 1 -> 32, 28x28, 5x5 pad 2: P = 784 spans four 256-blocks of the GEMM's depth)
  convCase(1, 32, 1, 2, [28, 28, 5, 5, 1, 1, 2, 2, 2, 2], true),
  // zfnet-mini conv2 (32 -> 64 at 14x14, K = 288 > 256, P = 196)
  convCase(32, 64, 1, 2, [14, 14, 3, 3, 1, 1, 1, 1, 1, 1], true),
  // zfnet-mini conv5 at 7x7 (P = 49), groups 2 and an odd OC per group
  convCase(16, 10, 2, 3, [7, 7, 3, 3, 1, 1, 1, 1, 1, 1], false),
];

function inputs(c: ConvCase, seed: number) {
  const random = mulberry32(seed);
  const Cg = c.C / c.groups;
  return {
    x: randomF32(c.N * c.C * c.H * c.W, random),
    // dy like the backward pass sends after a ReLU: every other seed mostly exact zeros.
    dy: seed % 2 ? sparseF32(c.N * c.OC * c.OH * c.OW, random, 0.6) : randomF32(c.N * c.OC * c.OH * c.OW, random),
    w: randomF32(c.OC * Cg * c.KH * c.KW, random),
    bias: randomF32(c.OC, random),
    dw0: randomF32(c.OC * Cg * c.KH * c.KW, random, -2, 2),
    db0: randomF32(c.OC, random, -2, 2),
  };
}

/** conv2dFilterGrad onto dw0 (and db0 when `bias`), on fresh regions. */
function runGrad(h: Harness, c: ConvCase, x: Float32Array, dy: Float32Array, dw0: Float32Array,
                 db0: Float32Array | undefined) {
  const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdw = h.f32(dw0, 'dw'), rdb = db0 ? h.f32(db0, 'db') : undefined;
  const rs = h.alloc(h.k.conv2dFilterGradScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2dFilterGrad(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
    rx.offset, rdy.offset, rdw.offset, rdb ? rdb.offset : 0, rs.offset);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rdy), dy) === 0;
  return { dw: h.read(rdw), db: rdb ? h.read(rdb) : undefined, untouched };
}

function runConv(h: Harness, c: ConvCase, x: Float32Array, w: Float32Array, bias?: Float32Array): Float32Array {
  const rx = h.f32(x, 'x'), rw = h.f32(w, 'w'), rb = bias ? h.f32(bias, 'bias') : undefined;
  const ry = h.alloc(c.N * c.OC * c.OH * c.OW, 'y');
  const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2d(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
    rx.offset, rw.offset, rb ? rb.offset : 0, ry.offset, rs.offset);
  return h.read(ry);
}

/** max over entries of |got - ref| / (scale + |init|): see TOL. */
function scaledDiff(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>,
                    init: ArrayLike<number>): { d: number; at: number } {
  let d = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - ref[i]) / Math.max(scale[i] + Math.abs(init[i]), 1e-30);
    if (!(e <= d)) { d = e; at = i; }
  }
  return { d, at };
}

const abs = (a: Float32Array) => a.map(Math.abs);

describe.each(BACKENDS)('conv2dFilterGrad [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the exports have the signatures this suite calls', () => {
    expect([h.k.conv2dFilterGrad.length, h.k.conv2dFilterGradScratchFloats.length]).toEqual([21, 7]);
  });

  test(`accumulates the reference's dw and db onto non-zero dw/db (${cases.length} shapes)`, () => {
    let worstW = 0, worstB = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 7000 + i);
      const { dw, db, untouched } = runGrad(h, c, x, dy, dw0, c.bias ? db0 : undefined);
      const ref = conv2dFilterGradRef(c, x, dy, dw0, db0);
      const scale = conv2dFilterGradRef(c, abs(x), abs(dy));
      const ew = scaledDiff(dw, ref.dw, scale.dw, dw0);
      worstW = Math.max(worstW, ew.d);
      if (!(ew.d <= TOL)) {
        failures.push(`${c.name}: dw scaled diff ${fmt(ew.d)} at [${ew.at}]: expected ${ref.dw[ew.at]}, got ${dw[ew.at]}`);
      }
      if (db) {
        const eb = scaledDiff(db, ref.db, scale.db, db0);
        worstB = Math.max(worstB, eb.d);
        if (!(eb.d <= TOL)) {
          failures.push(`${c.name}: db scaled diff ${fmt(eb.d)} at [${eb.at}]: expected ${ref.db[eb.at]}, got ${db[eb.at]}`);
        }
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified x or dy`);
    });
    console.log(`conv2dFilterGrad [${backend}] ${cases.length} cases: max scaled diff dw ${fmt(worstW)}, db ${fmt(worstB)}`);
    expect(failures).toEqual([]);
  });

  test('db = 0 means no bias: dw is the same as with a bias, and nothing is written at address 0', () => {
    const failures: string[] = [];
    for (const c of cases.filter((k, i) => i % 7 === 0)) {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 11);
      const without = runGrad(h, c, x, dy, dw0, undefined);
      const withBias = runGrad(h, c, x, dy, dw0, db0);
      if (maxAbsDiff(without.dw, withBias.dw) !== 0) failures.push(`${c.name}: dw depends on db: ${describeDiff(without.dw, withBias.dw)}`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  test('accumulating images one call at a time equals one call on the batch', () => {
    const failures: string[] = [];
    let worst = 0;
    for (const c of cases.filter((k) => k.N === 3 && k.bias).slice(0, 12)) {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 23);
      const whole = runGrad(h, c, x, dy, dw0, db0);
      let dw = dw0, db = db0;
      const one = { ...c, N: 1 };
      const xs = c.C * c.H * c.W, ys = c.OC * c.OH * c.OW;
      for (let n = 0; n < 3; n++) {
        const r = runGrad(h, one, x.subarray(n * xs, (n + 1) * xs), dy.subarray(n * ys, (n + 1) * ys), dw, db);
        dw = r.dw; db = r.db!;
      }
      // Same terms, summed image by image either way; only the order of the final adds differs.
      const d = Math.max(maxAbsDiff(dw, whole.dw) / maxAbs(whole.dw), maxAbsDiff(db, whole.db!) / maxAbs(whole.db!));
      worst = Math.max(worst, d);
      if (!(d <= 1e-6)) failures.push(`${c.name}: split batch differs by ${fmt(d)} (relative)`);
    }
    console.log(`conv2dFilterGrad [${backend}] split batch vs whole: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('finite differences of sum(dy * conv2d(x; w, b)) with respect to every w and b', () => {
    // L is linear in w and b, so a central difference has no truncation error at any step: a
    // large step (0.25) keeps the float32 rounding of conv2d's outputs (~1e-7 relative, summed
    // in float64 against dy) far below the gradient. The denominator is the step actually taken
    // after rounding w +- 0.25 to float32.
    const picks = [
      convCase(3, 4, 1, 3, [11, 13, 5, 5, 2, 2, 2, 1, 0, 2], true),   // asymmetric pads, stride 2, P = 42
      convCase(4, 6, 2, 1, [9, 7, 3, 2, 2, 3, 0, 1, 1, 0], true),     // groups 2, non-square kernel/stride
      convCase(5, 9, 1, 3, [7, 9, 3, 3, 1, 1, 1, 1, 1, 1], true),     // K = 45, OC = 9, P = 63
    ];
    const failures: string[] = [];
    let worst = 0;
    picks.forEach((c, ci) => {
      h.reset();
      const { x, dy, w, bias } = inputs(c, 300 + ci);
      const loss = (ww: Float32Array, bb: Float32Array) => { h.reset(); return dot(runConv(h, c, x, ww, bb), dy); };
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
      h.reset();
      const { dw, db } = runGrad(h, c, x, dy, new Float32Array(w.length), new Float32Array(bias.length));
      const d = Math.max(maxAbsDiff(dw, fdW) / maxAbs(fdW), maxAbsDiff(db!, fdB) / maxAbs(fdB));
      worst = Math.max(worst, d);
      if (!(d <= 1e-5)) failures.push(`${c.name}: rel diff to finite differences ${fmt(d)}; dw ${describeDiff(dw, fdW)}; db ${describeDiff(db!, fdB)}`);
    });
    console.log(`conv2dFilterGrad [${backend}] vs finite differences, ${picks.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`adjoint identity <conv2d(x; w), dy> = <w, filterGrad(x, dy)> (no bias, ${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { x, dy, w } = inputs(c, 9000 + i);
      const y = runConv(h, c, x, w);
      const { dw } = runGrad(h, c, x, dy, new Float32Array(w.length), undefined);
      const lhs = dot(y, dy), rhs = dot(w, dw);
      const scale = Math.max(dotAbs(y, dy), dotAbs(w, dw));
      const gap = scale === 0 ? Math.abs(lhs - rhs) : Math.abs(lhs - rhs) / scale;
      worst = Math.max(worst, gap);
      if (!(gap <= 1e-5)) failures.push(`${c.name}: <y, dy> = ${lhs}, <w, dw> = ${rhs}: relative gap ${fmt(gap)}`);
    });
    console.log(`conv2dFilterGrad [${backend}] adjoint identity, ${cases.length} cases: max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});

// gemm.ts promises both builds add the k terms in the same order; conv2dFilterGrad is im2colT
// around gemmPacked plus a scalar bias loop, so it should agree bit for bit too.
test('conv2dFilterGrad: the SIMD and scalar builds agree bit for bit', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const { x, dy, dw0, db0 } = inputs(c, 5000 + i);
    const [s, sc] = hs.map((h) => { h.reset(); return runGrad(h, c, x, dy, dw0, db0); });
    if (maxAbsDiff(s.dw, sc.dw) !== 0) failures.push(`${c.name} dw: ${describeDiff(s.dw, sc.dw)}`);
    if (maxAbsDiff(s.db!, sc.db!) !== 0) failures.push(`${c.name} db: ${describeDiff(s.db!, sc.db!)}`);
  });
  console.log(`conv2dFilterGrad simd vs scalar, ${cases.length} cases: ${failures.length} differ`);
  expect(failures).toEqual([]);
});
