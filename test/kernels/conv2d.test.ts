// conv2d, conv2dTranspose, and conv2dPackWeights + conv2dTransposePacked against the float64
// references on both builds, over a sweep of channel counts (1..17, groups 1/2/3), odd sizes,
// asymmetric pads, stride != kernel, batch 1 and 3, spatial outputs P not a multiple of 8 (and
// beyond 256), and GEMM depths K beyond one 256 block.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, convCases, describeDiff, fmt, kernelsFor, maxAbsDiff, maxRelDiff, mulberry32, randomF32,
  sparseF32, type ConvCase, type Harness,
} from '../helpers/wasm.js';
import { conv2dRef, conv2dTransposeRef, packRowsRef } from '../reference/kernels.js';

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
  h.k.conv2d(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, c.groups,
    rx.offset, rw.offset, rb ? rb.offset : 0, ry.offset, rs.offset);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rw), w) === 0 &&
    (!rb || maxAbsDiff(h.read(rb), bias!) === 0);
  return { y: h.read(ry), untouched };
}

function runTranspose(h: Harness, c: ConvCase, dy: Float32Array, w: Float32Array) {
  const rdy = h.f32(dy, 'dy'), rw = h.f32(w, 'w');
  const rdx = h.alloc(c.N * c.C * c.H * c.W, 'dx');
  const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
  h.k.conv2dTranspose(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, c.groups,
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
    h.k.conv2dTransposePacked(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW,
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
    expect([h.k.conv2d.length, h.k.conv2dTranspose.length, h.k.conv2dTransposePacked.length]).toEqual([19, 18, 18]);
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
