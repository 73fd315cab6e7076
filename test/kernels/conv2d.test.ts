// conv2d, conv2dTranspose, and conv2dPackWeights + conv2dTransposePacked against the float64
// references on both builds, over a sweep of channel counts (1..17, groups 1/2/3), odd sizes,
// asymmetric pads, stride != kernel, batch 1 and 3, spatial outputs P not a multiple of 8 (and
// beyond 256), and GEMM depths K beyond one 256 block. Then dilations 2 and 3 (and mixed, grouped
// too) for conv2d, both transposes and conv2dFilterGrad, with their adjoint identities.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, convCase, convCases, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbsDiff, maxRelDiff, mulberry32,
  randomF32, sparseF32, type ConvCase, type Harness,
} from '../helpers/wasm.js';
import { conv2dFilterGradRef, conv2dRef, conv2dTransposeRef, packRowsRef } from '../reference/kernels.js';

/** float32 accumulation over K <= ~1500 terms of [-1, 1] products, relative to max |y|. */
const TOL = 1e-5;
const cases = convCases();

function inputs(c: ConvCase, seed: number) {
  const random = mulberry32(seed);
  const Cg = c.C / c.groups;
  return {
    x: randomF32(c.N * c.C * c.H * c.W, random),
    w: randomF32(c.OC * Cg * c.KH * c.KW, random),
    bias: c.bias ? randomF32(c.OC, random) : undefined,
    // Every other seed, dy like the deconvnet's: mostly exact zeros (the transposed conv's
    // GEMM runs with sparseA on it).
    dy: seed % 2 ? sparseF32(c.N * c.OC * c.OH * c.OW, random) : randomF32(c.N * c.OC * c.OH * c.OW, random),
  };
}

function runForward(h: Harness, c: ConvCase, x: Float32Array, w: Float32Array, bias?: Float32Array) {
  const rx = h.f32(x, 'x'), rw = h.f32(w, 'w'), rb = bias ? h.f32(bias, 'bias') : undefined;
  const ry = h.alloc(c.N * c.OC * c.OH * c.OW, 'y');
  const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2d(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
    rx.offset, rw.offset, rb ? rb.offset : 0, ry.offset, rs.offset);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rw), w) === 0 &&
    (!rb || maxAbsDiff(h.read(rb), bias!) === 0);
  return { y: h.read(ry), untouched };
}

function runTranspose(h: Harness, c: ConvCase, dy: Float32Array, w: Float32Array) {
  const rdy = h.f32(dy, 'dy'), rw = h.f32(w, 'w');
  const rdx = h.alloc(c.N * c.C * c.H * c.W, 'dx');
  const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2dTranspose(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
    rdy.offset, rw.offset, rdx.offset, rs.offset);
  const untouched = maxAbsDiff(h.read(rdy), dy) === 0 && maxAbsDiff(h.read(rw), w) === 0;
  return { dx: h.read(rdx), untouched };
}

/** conv2dPackWeights then conv2dTransposePacked, twice on the same packed weights (it is reused). */
function runTransposePacked(h: Harness, c: ConvCase, dy: Float32Array, w: Float32Array) {
  const rdy = h.f32(dy, 'dy'), rw = h.f32(w, 'w');
  const rwp = h.alloc(h.k.conv2dPackedWeightFloats(c.C, c.OC, c.KH, c.KW, c.groups), 'packed w');
  h.k.conv2dPackWeights(c.C, c.OC, c.KH, c.KW, c.groups, rw.offset, rwp.offset);
  const packed = h.read(rwp);
  const rs = h.alloc(h.k.conv2dTransposeScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  const dxs = [0, 1].map(() => {
    const rdx = h.alloc(c.N * c.C * c.H * c.W, 'dx');
    h.k.conv2dTransposePacked(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW,
      c.groups, rdy.offset, rwp.offset, rdx.offset, rs.offset);
    return h.read(rdx);
  });
  const untouched = maxAbsDiff(h.read(rdy), dy) === 0 && maxAbsDiff(h.read(rwp), packed) === 0;
  return { packed, dx: dxs[0], again: dxs[1], untouched };
}

describe.each(BACKENDS)('conv2d [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the exports have the signatures this suite calls', () => {
    // A wasm export's length is its parameter count: a changed contract fails here, loudly,
    // rather than as a missing argument read as 0 (a null pointer) further down.
    expect([h.k.conv2d.length, h.k.conv2dTranspose.length, h.k.conv2dTransposePacked.length]).toEqual([21, 20, 20]);
    expect([h.k.conv2dScratchFloats.length, h.k.conv2dTransposeScratchFloats.length,
      h.k.conv2dPackedWeightFloats.length, h.k.conv2dPackWeights.length]).toEqual([7, 7, 5, 7]);
  });

  test(`forward matches the reference (${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { x, w, bias } = inputs(c, 1000 + i);
      const { y, untouched } = runForward(h, c, x, w, bias);
      const ref = conv2dRef(c, x, w, bias);
      const d = maxRelDiff(y, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified an input`);
    });
    console.log(`conv2d [${backend}] forward, ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`transposed matches the reference (${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { w, dy } = inputs(c, 2000 + i);
      const { dx, untouched } = runTranspose(h, c, dy, w);
      const ref = conv2dTransposeRef(c, dy, w);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified an input`);
    });
    console.log(`conv2dTranspose [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`conv2dPackWeights + conv2dTransposePacked match the reference (${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { w, dy } = inputs(c, 2000 + i);
      const { packed, dx, again, untouched } = runTransposePacked(h, c, dy, w);
      // Layout: per group, W_g [OCg, Kg] in 8-column panels (packRows), groups OCg*ceil(Kg/8)*8 apart.
      const Cg = c.C / c.groups, OCg = c.OC / c.groups, K = Cg * c.KH * c.KW, K8 = Math.ceil(K / 8) * 8;
      const layout = new Float64Array(c.OC * K8);
      for (let g = 0; g < c.groups; g++) {
        layout.set(packRowsRef(OCg, K, w.subarray(g * OCg * K, (g + 1) * OCg * K), K), g * OCg * K8);
      }
      if (maxAbsDiff(packed, layout) !== 0) failures.push(`${c.name}: packed weights ${describeDiff(packed, layout)}`);
      const ref = conv2dTransposeRef(c, dy, w);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      if (maxAbsDiff(again, dx) !== 0) failures.push(`${c.name}: second call on the same packed weights differs`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified dy or the packed weights`);
    });
    console.log(`conv2dTransposePacked [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('pixels no window reaches come back exactly zero from the transposed conv', () => {
    // Stride 3 with a 2x2 kernel skips rows/columns 2, 5, 8 (after a left pad of 1: columns 1, 4, 7).
    h.reset();
    const c = cases.find((k) => k.SH === 3 && k.KH === 2 && k.C === 4 && k.groups === 2)!;
    const { w, dy } = inputs(c, 3);
    const { dx } = runTranspose(h, c, dy, w);
    const ref = conv2dTransposeRef(c, dy, w);
    let zeros = 0;
    for (let i = 0; i < ref.length; i++) if (ref[i] === 0) { zeros++; expect(dx[i]).toBe(0); }
    expect(zeros).toBeGreaterThan(0);
    expect(maxRelDiff(dx, ref)).toBeLessThan(TOL);
  });

  test('the bias lands on every output cell, once (zero weights)', () => {
    h.reset();
    const c = cases.find((k) => k.C === 9 && k.OC === 16 && k.N === 3 && k.OH * k.OW === 30)!;
    const w = new Float32Array(c.OC * (c.C / c.groups) * c.KH * c.KW);
    const bias = Float32Array.from({ length: c.OC }, (_, i) => i - 7.5);
    const { y } = runForward(h, c, randomF32(c.N * c.C * c.H * c.W, mulberry32(5)), w, bias);
    const expected = new Float32Array(y.length);
    for (let n = 0; n < c.N; n++) for (let oc = 0; oc < c.OC; oc++) {
      expected.fill(bias[oc], (n * c.OC + oc) * c.OH * c.OW, (n * c.OC + oc + 1) * c.OH * c.OW);
    }
    expect(Array.from(y)).toEqual(Array.from(expected));
  });
});

// gemm.ts: "Both builds add the k terms in the same order, so they agree bit for bit." Both
// convolutions are im2col/col2im around gemmPacked, so they inherit it.
test('conv2d and conv2dTranspose: the SIMD and scalar builds agree bit for bit', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const { x, w, bias, dy } = inputs(c, 4000 + i);
    const [ys, yc] = hs.map((h) => { h.reset(); return runForward(h, c, x, w, bias).y; });
    const [ds, dc] = hs.map((h) => { h.reset(); return runTranspose(h, c, dy, w).dx; });
    if (maxAbsDiff(ys, yc) !== 0) failures.push(`${c.name} forward: ${describeDiff(ys, yc)}`);
    if (maxAbsDiff(ds, dc) !== 0) failures.push(`${c.name} transposed: ${describeDiff(ds, dc)}`);
  });
  console.log(`conv2d simd vs scalar, ${cases.length} cases: ${failures.length} differ`);
  expect(failures).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// Dilations: tap (ky, kx) reads x[oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]; OH/OW from windowOut
// with the dilated extent (K - 1)*D + 1 (convCase).

/** [H, W, KH, KW, SH, SW, PT, PL, PB, PR], [DH, DW] */
const DILATED: [[number, number, number, number, number, number, number, number, number, number], [number, number]][] = [
  [[9, 11, 3, 3, 1, 1, 2, 2, 2, 2], [2, 2]],     // "same" pad of a dilated 3x3
  [[13, 12, 3, 3, 2, 2, 3, 1, 2, 3], [3, 3]],    // stride 2, asymmetric pads
  [[10, 9, 2, 3, 1, 2, 1, 2, 0, 1], [2, 3]],     // non-square everything
  [[7, 16, 5, 3, 1, 1, 4, 2, 4, 2], [2, 1]],     // dilated rows only
  [[8, 7, 3, 2, 1, 1, 0, 0, 0, 0], [1, 3]],      // dilated columns only, no pads
  [[5, 5, 3, 3, 1, 1, 0, 0, 0, 0], [2, 2]],      // a single window
  [[6, 6, 3, 3, 3, 3, 3, 3, 3, 3], [3, 3]],      // extent 7 > the image, stride 3
  [[2, 3, 3, 3, 3, 3, 1, 1, 2, 2], [2, 2]],      // taps beyond the image's last column at stride 3
  [[1, 1, 3, 3, 2, 2, 1, 1, 1, 1], [1, 1]],      // (dilation 1) a tap exactly at column W at stride 2
  [[20, 20, 3, 3, 1, 1, 2, 2, 2, 2], [2, 2]],    // P = 400: beyond one 256-row block of the transposed GEMM
  [[16, 15, 3, 3, 2, 1, 3, 3, 3, 3], [3, 3]],
];
/** [C, OC, groups, N] */
const DILATED_CHANNELS: [number, number, number, number][] = [[3, 4, 1, 1], [4, 6, 2, 3], [6, 6, 3, 1], [6, 6, 6, 2], [9, 5, 1, 1]];

const dilatedCases: ConvCase[] = [];
DILATED.forEach(([win, dil], i) => DILATED_CHANNELS.forEach(([C, OC, groups, N], j) => {
  const c = convCase(C, OC, groups, N, win, (i + j) % 2 === 0, dil);
  if (c.OH >= 1 && c.OW >= 1) dilatedCases.push(c);
}));

/** conv2dFilterGrad onto dw0 (and db0), on fresh regions. */
function runGrad(h: Harness, c: ConvCase, x: Float32Array, dy: Float32Array, dw0: Float32Array, db0?: Float32Array) {
  const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdw = h.f32(dw0, 'dw'), rdb = db0 ? h.f32(db0, 'db') : undefined;
  const rs = h.alloc(h.k.conv2dFilterGradScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2dFilterGrad(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
    rx.offset, rdy.offset, rdw.offset, rdb ? rdb.offset : 0, rs.offset);
  return { dw: h.read(rdw), db: rdb ? h.read(rdb) : undefined };
}

describe.each(BACKENDS)('conv2d with dilations [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test(`forward, both transposes and the filter gradient match the references (${dilatedCases.length} shapes)`, () => {
    const worst = { forward: 0, transpose: 0, packed: 0, dw: 0, db: 0 };
    const failures: string[] = [];
    dilatedCases.forEach((c, i) => {
      const { x, w, bias, dy } = inputs(c, 8000 + i);
      const check = (what: keyof typeof worst, d: number, detail: () => string) => {
        worst[what] = Math.max(worst[what], d);
        if (!(d <= TOL)) failures.push(`${c.name} ${what}: ${fmt(d)}; ${detail()}`);
      };
      h.reset();
      const fwd = runForward(h, c, x, w, bias);
      const yRef = conv2dRef(c, x, w, bias);
      check('forward', maxRelDiff(fwd.y, yRef), () => describeDiff(fwd.y, yRef));
      h.reset();
      const tr = runTranspose(h, c, dy, w);
      const dxRef = conv2dTransposeRef(c, dy, w);
      check('transpose', maxRelDiff(tr.dx, dxRef), () => describeDiff(tr.dx, dxRef));
      h.reset();
      const pk = runTransposePacked(h, c, dy, w);
      check('packed', maxRelDiff(pk.dx, dxRef), () => describeDiff(pk.dx, dxRef));
      if (maxAbsDiff(pk.again, pk.dx) !== 0) failures.push(`${c.name}: second packed call differs`);
      // The filter gradient accumulates onto non-zero dw/db; error relative to the sum of |terms|.
      h.reset();
      const random = mulberry32(9000 + i);
      const dw0 = randomF32(w.length, random, -2, 2), db0 = randomF32(c.OC, random, -2, 2);
      const g = runGrad(h, c, x, dy, dw0, c.bias ? db0 : undefined);
      const ref = conv2dFilterGradRef(c, x, dy, dw0, db0);
      const scale = conv2dFilterGradRef(c, x.map(Math.abs), dy.map(Math.abs));
      for (const [what, got, want, sc, init] of [['dw', g.dw, ref.dw, scale.dw, dw0], ['db', g.db, ref.db, scale.db, db0]] as const) {
        if (!got) continue;
        let d = 0;
        for (let j = 0; j < got.length; j++) d = Math.max(d, Math.abs(got[j] - want[j]) / Math.max(sc[j] + Math.abs(init[j]), 1e-30));
        if (Number.isNaN(d) || got.some(Number.isNaN)) d = Infinity;
        check(what, d, () => describeDiff(got, want));
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!fwd.untouched || !tr.untouched || !pk.untouched) failures.push(`${c.name}: modified an input`);
    });
    console.log(`conv2d dilated [${backend}] ${dilatedCases.length} cases: max rel diff forward ${fmt(worst.forward)}, ` +
      `transpose ${fmt(worst.transpose)}, packed ${fmt(worst.packed)}; filter grad scaled dw ${fmt(worst.dw)}, db ${fmt(worst.db)}`);
    expect(failures).toEqual([]);
  });

  test(`adjoint identities with dilations: <conv2d(x), dy> = <x, conv2dTranspose(dy)> = <w, filterGrad(x, dy)>`, () => {
    let worst = 0;
    const failures: string[] = [];
    dilatedCases.forEach((c, i) => {
      h.reset();
      const { x, w, dy } = inputs(c, 10000 + i);
      const { y } = runForward(h, c, x, w);
      const { dx } = runTranspose(h, c, dy, w);
      const { dw } = runGrad(h, c, x, dy, new Float32Array(w.length));
      const lhs = dot(y, dy);
      for (const [rhs, scale] of [[dot(x, dx), Math.max(dotAbs(y, dy), dotAbs(x, dx))], [dot(w, dw), Math.max(dotAbs(y, dy), dotAbs(w, dw))]]) {
        const gap = scale === 0 ? Math.abs(lhs - rhs) : Math.abs(lhs - rhs) / scale;
        worst = Math.max(worst, gap);
        if (!(gap <= 1e-5)) failures.push(`${c.name}: <y, dy> = ${lhs}, other side ${rhs}: relative gap ${fmt(gap)}`);
      }
    });
    console.log(`conv2d dilated [${backend}] adjoint identities, ${dilatedCases.length} cases: max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});

test('dilated conv2d, conv2dTranspose and conv2dFilterGrad: the SIMD and scalar builds agree bit for bit', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  dilatedCases.forEach((c, i) => {
    const { x, w, bias, dy } = inputs(c, 11000 + i);
    const dw0 = randomF32(w.length, mulberry32(i));
    const [ys, yc] = hs.map((h) => { h.reset(); return runForward(h, c, x, w, bias).y; });
    const [ds, dc] = hs.map((h) => { h.reset(); return runTranspose(h, c, dy, w).dx; });
    const [gs, gc] = hs.map((h) => { h.reset(); return runGrad(h, c, x, dy, dw0).dw; });
    if (maxAbsDiff(ys, yc) !== 0) failures.push(`${c.name} forward: ${describeDiff(ys, yc)}`);
    if (maxAbsDiff(ds, dc) !== 0) failures.push(`${c.name} transposed: ${describeDiff(ds, dc)}`);
    if (maxAbsDiff(gs, gc) !== 0) failures.push(`${c.name} filter grad: ${describeDiff(gs, gc)}`);
  });
  console.log(`conv2d dilated simd vs scalar, ${dilatedCases.length} cases: ${failures.length} differ`);
  expect(failures).toEqual([]);
});
