// depthwiseConv2d, depthwiseConv2dTranspose and depthwiseConv2dFilterGrad (assembly/depthwise.ts)
// against the float64 references on both builds: kernels 1x1, 3x3, 5x5, 7x7 and 3x2, strides 1
// and 2 (and 1x2, 2x1, 3 for the scalar paths), dilations 1 and 2 (and 1x2, 3), pads 0..3 set
// apart top/left (PT/PL) and bottom/right (through OH/OW from windowOut), widths 1..17 around
// the SIMD blocks (4 columns per vector, 16 per block, 2 rows paired), the MobileNet/EfficientNet
// sizes. Outputs start as NaN garbage with guard bands after every region. Then: the adjoint
// identity of the transposed kernel, finite differences of the filter gradient, agreement of
// the builds bit for bit, and agreement with conv2d at groups = C.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbs, maxAbsDiff, maxRelDiff, mulberry32, randomF32,
  sparseF32, type Harness,
} from '../helpers/wasm.js';
import {
  conv2dRef, depthwiseConv2dFilterGradRef, depthwiseConv2dRef, depthwiseConv2dTransposeRef, type DepthwiseGeom,
} from '../reference/kernels.js';
import { windowOut } from '../../src/graph/shapes.js';

/** float32 sums of at most 49 products of [-1, 1] values, relative to max |reference|. */
const TOL = 1e-5;

interface DwCase extends DepthwiseGeom { name: string; bias: boolean }

function dwCase(N: number, C: number, H: number, W: number, [KH, KW]: number[], [SH, SW]: number[],
                [PT, PL, PB, PR]: number[], [DH, DW]: number[], bias: boolean): DwCase {
  const OH = windowOut(H, (KH - 1) * DH + 1, SH, PT, PB, false), OW = windowOut(W, (KW - 1) * DW + 1, SW, PL, PR, false);
  return {
    name: `N${N} C${C} ${H}x${W} k${KH}x${KW} s${SH}x${SW} d${DH}x${DW} pads t${PT} l${PL} b${PB} r${PR} ` +
      `-> ${OH}x${OW}${bias ? ' +bias' : ''}`,
    N, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, bias,
  };
}

/** [PT, PL, PB, PR] */
const PADS = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 1, 0, 3], [3, 0, 1, 2], [0, 3, 2, 0], [1, 2, 3, 1], [3, 3, 3, 3]];
const HEIGHTS = [1, 2, 3, 4, 5, 7, 9, 12, 17];

function cases(): DwCase[] {
  const out: DwCase[] = [];
  let i = 0;
  for (const k of [[1, 1], [3, 3], [5, 5], [7, 7], [3, 2]]) {
    for (const s of [[1, 1], [2, 2]]) {
      for (const d of [[1, 1], [2, 2]]) {
        for (let W = 1; W <= 17; W++, i++) {
          out.push(dwCase(1 + (i % 2), 1 + (i % 3), HEIGHTS[i % HEIGHTS.length], W, k, s, PADS[i % PADS.length], d,
            i % 2 === 0));
        }
      }
    }
  }
  // Other strides and dilations (scalar columns in the SIMD build), non-square everything.
  for (const [s, d] of [[[1, 2], [1, 1]], [[2, 1], [1, 2]], [[3, 3], [1, 1]], [[3, 2], [2, 3]], [[1, 1], [1, 2]],
    [[2, 2], [3, 3]], [[1, 1], [3, 1]], [[4, 4], [1, 1]]]) {
    for (const [H, W] of [[9, 17], [16, 13], [6, 40]]) {
      out.push(dwCase(2, 2, H, W, [3, 3], s, PADS[i++ % PADS.length], d, i % 2 === 0));
      out.push(dwCase(1, 3, H, W, [5, 2], s, PADS[i++ % PADS.length], d, i % 2 === 0));
    }
  }
  // The sizes the kernel is built for, channels trimmed: MobileNet 3x3 s1/s2, EfficientNet 5x5,
  // TensorFlow "SAME" with the extra pad at the end, a 7x7, rows past several 16-column blocks.
  out.push(dwCase(1, 3, 112, 112, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], true));
  out.push(dwCase(1, 4, 56, 56, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], true));
  out.push(dwCase(1, 3, 57, 57, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], false));
  out.push(dwCase(2, 3, 28, 28, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], true));
  out.push(dwCase(1, 3, 29, 30, [5, 5], [2, 2], [1, 1, 2, 2], [1, 1], false));
  out.push(dwCase(1, 2, 20, 53, [7, 7], [1, 1], [3, 3, 3, 3], [2, 2], true));
  out.push(dwCase(1, 2, 33, 67, [3, 3], [2, 2], [2, 2, 2, 2], [2, 2], false));
  out.push(dwCase(3, 2, 14, 14, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], true));
  // "Same" pads of dilated kernels, up to 6: edge vectors with up to 3 lanes outside the row.
  out.push(dwCase(1, 2, 19, 23, [7, 7], [2, 2], [6, 6, 6, 6], [2, 2], true));
  out.push(dwCase(2, 1, 16, 21, [5, 5], [1, 1], [6, 5, 6, 4], [3, 3], false));
  out.push(dwCase(1, 2, 12, 26, [3, 3], [2, 2], [3, 5, 3, 6], [3, 3], true));
  out.push(dwCase(1, 1, 9, 11, [11, 11], [1, 2], [5, 5, 5, 5], [1, 1], false));
  // Negative pads (a crop: the engine's region-limited passes shift the pads), any sign works.
  out.push(dwCase(1, 2, 13, 21, [3, 3], [1, 1], [-1, -2, 1, 0], [1, 1], true));
  out.push(dwCase(2, 1, 14, 19, [3, 3], [2, 2], [-2, -1, 0, 1], [2, 1], false));
  return out.filter((c) => c.OH >= 1 && c.OW >= 1);
}

const CASES = cases();

function inputs(c: DwCase, seed: number) {
  const random = mulberry32(seed);
  return {
    x: randomF32(c.N * c.C * c.H * c.W, random),
    w: randomF32(c.C * c.KH * c.KW, random),
    bias: randomF32(c.C, random),
    // Every other seed dy like the backward pass after a ReLU: mostly exact zeros.
    dy: seed % 2 ? sparseF32(c.N * c.C * c.OH * c.OW, random, 0.6) : randomF32(c.N * c.C * c.OH * c.OW, random),
    dw0: randomF32(c.C * c.KH * c.KW, random, -2, 2),
    db0: randomF32(c.C, random, -2, 2),
  };
}

const geom = (c: DwCase) => [c.N, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW] as const;

function runForward(h: Harness, c: DwCase, x: Float32Array, w: Float32Array, bias?: Float32Array) {
  const rx = h.f32(x, 'x'), rw = h.f32(w, 'w'), rb = bias ? h.f32(bias, 'bias') : undefined;
  const ry = h.alloc(c.N * c.C * c.OH * c.OW, 'y');
  h.k.depthwiseConv2d(...geom(c), rx.offset, rw.offset, rb ? rb.offset : 0, ry.offset);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rw), w) === 0 &&
    (!rb || maxAbsDiff(h.read(rb), bias!) === 0);
  return { y: h.read(ry), untouched };
}

function runTranspose(h: Harness, c: DwCase, dy: Float32Array, w: Float32Array) {
  const rdy = h.f32(dy, 'dy'), rw = h.f32(w, 'w');
  const rdx = h.alloc(c.N * c.C * c.H * c.W, 'dx');
  h.k.depthwiseConv2dTranspose(...geom(c), rdy.offset, rw.offset, rdx.offset);
  const untouched = maxAbsDiff(h.read(rdy), dy) === 0 && maxAbsDiff(h.read(rw), w) === 0;
  return { dx: h.read(rdx), untouched };
}

function runGrad(h: Harness, c: DwCase, x: Float32Array, dy: Float32Array, dw0: Float32Array, db0?: Float32Array) {
  const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdw = h.f32(dw0, 'dw'), rdb = db0 ? h.f32(db0, 'db') : undefined;
  h.k.depthwiseConv2dFilterGrad(...geom(c), rx.offset, rdy.offset, rdw.offset, rdb ? rdb.offset : 0);
  const untouched = maxAbsDiff(h.read(rx), x) === 0 && maxAbsDiff(h.read(rdy), dy) === 0;
  return { dw: h.read(rdw), db: rdb ? h.read(rdb) : undefined, untouched };
}

/** max over entries of |got - ref| / (scale + |init|): the natural scale of a float32 sum's rounding. */
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

describe.each(BACKENDS)('depthwise [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the exports have the signatures this suite calls', () => {
    expect([h.k.depthwiseConv2d.length, h.k.depthwiseConv2dTranspose.length, h.k.depthwiseConv2dFilterGrad.length])
      .toEqual([18, 17, 18]);
  });

  test(`forward matches the reference (${CASES.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    CASES.forEach((c, i) => {
      h.reset();
      const { x, w, bias } = inputs(c, 1000 + i);
      const b = c.bias ? bias : undefined;
      const { y, untouched } = runForward(h, c, x, w, b);
      const ref = depthwiseConv2dRef(c, x, w, b);
      const d = maxRelDiff(y, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified an input`);
    });
    console.log(`depthwiseConv2d [${backend}] ${CASES.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('windows entirely in the padding give exactly the bias (or 0)', () => {
    // 1x1 kernel with pads 3: the first/last 3 rows and columns of y see no image cell.
    const failures: string[] = [];
    for (const bias of [true, false]) {
      h.reset();
      const c = dwCase(2, 3, 5, 6, [1, 1], [1, 1], [3, 3, 3, 3], [1, 1], bias);
      const { x, w, bias: b } = inputs(c, 7);
      const { y } = runForward(h, c, x, w, bias ? b : undefined);
      for (let n = 0; n < c.N; n++) for (let ch = 0; ch < c.C; ch++) for (let oy = 0; oy < c.OH; oy++) {
        for (let ox = 0; ox < c.OW; ox++) {
          const inside = oy >= 3 && oy < 3 + c.H && ox >= 3 && ox < 3 + c.W;
          const v = y[((n * c.C + ch) * c.OH + oy) * c.OW + ox];
          const want = bias ? b[ch] : 0;
          if (!inside && !Object.is(v, want)) failures.push(`${c.name} [${n},${ch},${oy},${ox}]: ${v}, want ${want}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test(`transposed matches the reference (${CASES.length} shapes); cells no window reaches are exactly 0`, () => {
    let worst = 0;
    const failures: string[] = [];
    let unreached = 0;
    CASES.forEach((c, i) => {
      h.reset();
      const { w, dy } = inputs(c, 2000 + i);
      const { dx, untouched } = runTranspose(h, c, dy, w);
      const ref = depthwiseConv2dTransposeRef(c, dy, w);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      // How many terms reach each cell of dx (all-ones data).
      const reach = depthwiseConv2dTransposeRef(c, new Float32Array(dy.length).fill(1), new Float32Array(w.length).fill(1));
      for (let j = 0; j < reach.length; j++) {
        if (reach[j] === 0) {
          unreached++;
          if (!Object.is(dx[j], 0)) { failures.push(`${c.name}: unreached dx[${j}] = ${dx[j]}`); break; }
        }
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified an input`);
    });
    console.log(`depthwiseConv2dTranspose [${backend}] ${CASES.length} cases: max rel diff ${fmt(worst)} ` +
      `(${unreached} unreached cells, all 0)`);
    expect(unreached).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  test(`adjoint identity <depthwiseConv2d(x), dy> = <x, depthwiseConv2dTranspose(dy)> (${CASES.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    CASES.forEach((c, i) => {
      h.reset();
      const { x, w, dy } = inputs(c, 3000 + i);
      const { y } = runForward(h, c, x, w);
      const { dx } = runTranspose(h, c, dy, w);
      const lhs = dot(y, dy), rhs = dot(x, dx);
      const scale = Math.max(dotAbs(y, dy), dotAbs(x, dx));
      const gap = scale === 0 ? Math.abs(lhs - rhs) : Math.abs(lhs - rhs) / scale;
      worst = Math.max(worst, gap);
      if (!(gap <= 1e-5)) failures.push(`${c.name}: <y, dy> = ${lhs}, <x, dx> = ${rhs}: relative gap ${fmt(gap)}`);
    });
    console.log(`adjoint depthwiseConv2d/depthwiseConv2dTranspose [${backend}] ${CASES.length} cases: ` +
      `max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`filter gradient accumulates the reference's dw and db onto non-zero dw/db (${CASES.length} shapes)`, () => {
    // dw: f32 sums of up to OW products per row, rows and images summed in f64.
    const GRAD_TOL = 2e-6;
    let worstW = 0, worstB = 0;
    const failures: string[] = [];
    CASES.forEach((c, i) => {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 4000 + i);
      const { dw, db, untouched } = runGrad(h, c, x, dy, dw0, c.bias ? db0 : undefined);
      const ref = depthwiseConv2dFilterGradRef(c, x, dy, dw0, db0);
      const scale = depthwiseConv2dFilterGradRef(c, abs(x), abs(dy));
      const ew = scaledDiff(dw, ref.dw, scale.dw, dw0);
      worstW = Math.max(worstW, ew.d);
      if (!(ew.d <= GRAD_TOL)) {
        failures.push(`${c.name}: dw scaled diff ${fmt(ew.d)} at [${ew.at}]: expected ${ref.dw[ew.at]}, got ${dw[ew.at]}`);
      }
      if (db) {
        const eb = scaledDiff(db, ref.db, scale.db, db0);
        worstB = Math.max(worstB, eb.d);
        if (!(eb.d <= GRAD_TOL)) {
          failures.push(`${c.name}: db scaled diff ${fmt(eb.d)} at [${eb.at}]: expected ${ref.db[eb.at]}, got ${db[eb.at]}`);
        }
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
      if (!untouched) failures.push(`${c.name}: modified x or dy`);
    });
    console.log(`depthwiseConv2dFilterGrad [${backend}] ${CASES.length} cases: max scaled diff dw ${fmt(worstW)}, ` +
      `db ${fmt(worstB)}`);
    expect(failures).toEqual([]);
  });

  test('filter gradient: db = 0 means no bias (dw unchanged, nothing written at address 0)', () => {
    const failures: string[] = [];
    for (const c of CASES.filter((_, i) => i % 9 === 0)) {
      h.reset();
      const { x, dy, dw0, db0 } = inputs(c, 11);
      const without = runGrad(h, c, x, dy, dw0);
      const withBias = runGrad(h, c, x, dy, dw0, db0);
      if (maxAbsDiff(without.dw, withBias.dw) !== 0) failures.push(`${c.name}: dw depends on db`);
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${c.name}: wrote past the end of ${bad.join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  test('filter gradient equals finite differences of sum(dy * depthwiseConv2d(x; w, b))', () => {
    // The loss is linear in w and b: a central difference with a large step (0.25) has no
    // truncation error, and the float32 rounding of y stays far below the gradient.
    const picks = [
      dwCase(2, 3, 11, 13, [3, 3], [2, 2], [1, 0, 2, 1], [1, 1], true),
      dwCase(1, 2, 12, 17, [5, 5], [1, 1], [2, 3, 1, 2], [2, 2], true),
      dwCase(3, 2, 9, 10, [3, 2], [1, 2], [0, 1, 1, 0], [1, 2], true),
    ];
    const failures: string[] = [];
    let worst = 0;
    picks.forEach((c, ci) => {
      const { x, dy, w, bias } = inputs(c, 300 + ci);
      const loss = (ww: Float32Array, bb: Float32Array) => { h.reset(); return dot(runForward(h, c, x, ww, bb).y, dy); };
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
      if (!(d <= 1e-5)) failures.push(`${c.name}: rel diff to finite differences ${fmt(d)}; dw ${describeDiff(dw, fdW)}`);
    });
    console.log(`depthwiseConv2dFilterGrad [${backend}] vs finite differences, ${picks.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('equals conv2d with groups = C (dilations too)', () => {
    let worst = 0;
    const failures: string[] = [];
    CASES.filter((_, i) => i % 5 === 0).forEach((c, i) => {
      h.reset();
      const { x, w, bias } = inputs(c, 5000 + i);
      const { y } = runForward(h, c, x, w, bias);
      const g = { ...c, OC: c.C, groups: c.C };
      const rx = h.f32(x), rw = h.f32(w), rb = h.f32(bias), ry = h.alloc(y.length, 'conv y');
      const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.C, c.KH, c.KW, c.OH, c.OW, c.C), 'scratch');
      h.k.conv2d(c.N, c.C, c.H, c.W, c.C, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.C,
        rx.offset, rw.offset, rb.offset, ry.offset, rs.offset);
      const conv = h.read(ry);
      const d = maxRelDiff(y, conv);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${c.name}: depthwise vs conv2d ${fmt(d)}; ${describeDiff(y, conv)}`);
      if (!(maxRelDiff(conv, conv2dRef(g, x, w, bias)) <= TOL)) failures.push(`${c.name}: conv2d vs its reference`);
    });
    console.log(`depthwiseConv2d vs conv2d groups=C [${backend}]: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});

// Every path adds each output's taps in the same order with the same f32 operations, and the
// scalar build emulates the filter gradient's lanes: the builds agree bit for bit.
test('depthwise: the SIMD and scalar builds agree bit for bit', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  CASES.forEach((c, i) => {
    const { x, w, bias, dy, dw0, db0 } = inputs(c, 6000 + i);
    const [ys, yc] = hs.map((h) => { h.reset(); return runForward(h, c, x, w, bias).y; });
    const [ds, dc] = hs.map((h) => { h.reset(); return runTranspose(h, c, dy, w).dx; });
    const [gs, gc] = hs.map((h) => { h.reset(); return runGrad(h, c, x, dy, dw0, db0); });
    if (maxAbsDiff(ys, yc) !== 0) failures.push(`${c.name} forward: ${describeDiff(ys, yc)}`);
    if (maxAbsDiff(ds, dc) !== 0) failures.push(`${c.name} transposed: ${describeDiff(ds, dc)}`);
    if (maxAbsDiff(gs.dw, gc.dw) !== 0 || maxAbsDiff(gs.db!, gc.db!) !== 0) failures.push(`${c.name} filter grad`);
  });
  console.log(`depthwise simd vs scalar, ${CASES.length} cases x 3 kernels: ${failures.length} differ`);
  expect(failures).toEqual([]);
});
