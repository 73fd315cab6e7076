// lrn and lrnBackward (ONNX/Caffe semantics: alpha / size, window floor((size-1)/2) channels
// before and ceil((size-1)/2) after) against the references on both builds, over channel
// counts 1..17, odd and even sizes (also larger than C), beta = 0.75 (the square-root path,
// SIMD in the SIMD build) and other betas (pow), HW around the SIMD width. lrnBackward is also
// checked against finite differences.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, fmt, kernelsFor, maxAbs, maxRelDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { lrnBackwardRef, lrnRef } from '../reference/kernels.js';

const TOL = 1e-5;

interface LrnCase { N: number; C: number; HW: number; size: number; alpha: number; beta: number; bias: number }

function lrnCases(): LrnCase[] {
  const cases: LrnCase[] = [];
  const HWS = [1, 3, 4, 5, 7, 8, 13, 17];
  const PARAMS: [number, number, number][] = [ // alpha, beta, bias
    [1e-4, 0.75, 1], [2, 0.75, 1], [0.5, 0.75, 2], [1, 0.5, 1], [3, 1, 2], [1.5, 0.6, 1.5],
  ];
  let i = 0;
  for (const C of [1, 3, 4, 5, 7, 8, 9, 16, 17]) {
    for (const size of [1, 2, 3, 4, 5, 7, 19]) {
      const [alpha, beta, bias] = PARAMS[i % PARAMS.length];
      cases.push({ N: [1, 3][i % 2], C, HW: HWS[i % HWS.length], size, alpha, beta, bias });
      i++;
    }
  }
  return cases;
}

const cases = lrnCases();
const label = (c: LrnCase) =>
  `N${c.N} C${c.C} HW${c.HW} size ${c.size} alpha ${c.alpha} beta ${c.beta} bias ${c.bias}`;

function runLrn(h: Harness, c: LrnCase, x: Float32Array) {
  const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y');
  h.k.lrn(c.N, c.C, c.HW, c.size, c.alpha, c.beta, c.bias, rx.offset, ry.offset);
  return h.read(ry);
}

function runBackward(h: Harness, c: LrnCase, x: Float32Array, dy: Float32Array) {
  const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(x.length, 'dx');
  const rs = h.alloc(2 * c.C * c.HW, 'scratch');
  h.k.lrnBackward(c.N, c.C, c.HW, c.size, c.alpha, c.beta, c.bias, rx.offset, rdy.offset, rdx.offset, rs.offset);
  return h.read(rdx);
}

describe.each(BACKENDS)('lrn [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test(`forward matches the reference (${cases.length} cases)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const x = randomF32(c.N * c.C * c.HW, mulberry32(i), -3, 3);
      const y = runLrn(h, c, x);
      const ref = lrnRef(c.N, c.C, c.HW, c.size, c.alpha, Math.fround(c.beta), c.bias, x);
      const d = maxRelDiff(y, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${label(c)}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`lrn [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`backward matches the reference (${cases.length} cases)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const random = mulberry32(500 + i);
      const x = randomF32(c.N * c.C * c.HW, random, -3, 3);
      const dy = randomF32(x.length, random);
      const dx = runBackward(h, c, x, dy);
      const ref = lrnBackwardRef(c.N, c.C, c.HW, c.size, c.alpha, Math.fround(c.beta), c.bias, x, dy);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${label(c)}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`lrnBackward [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('the window by hand: size 4 takes 1 channel before and 2 after', () => {
    h.reset();
    // C = 5, HW = 1, x = [1, 2, 3, 4, 5], alpha = 4 (alpha/size = 1), beta = 1, bias = 0:
    // y[c] = x[c] / sum_{win(c)} x^2 with win = [c-1, c+2] clipped.
    const c: LrnCase = { N: 1, C: 5, HW: 1, size: 4, alpha: 4, beta: 1, bias: 0 };
    const y = runLrn(h, c, Float32Array.from([1, 2, 3, 4, 5]));
    const expected = [1 / (1 + 4 + 9), 2 / (1 + 4 + 9 + 16), 3 / (4 + 9 + 16 + 25), 4 / (9 + 16 + 25), 5 / (16 + 25)];
    expect(maxRelDiff(y, expected)).toBeLessThan(1e-6);
  });

  for (const beta of [0.75, 0.6]) {
    test(`lrnBackward equals finite differences of <dy, lrn(x)>, beta ${beta}`, () => {
      // Two finite-difference checks, both central differences accumulated in float64:
      // (1) through the wasm forward (float32): step 1e-2, so truncation (~h^2) and float32
      //     rounding of the loss (~1e-7 / h) both stay near 1e-4 of the gradient's scale;
      // (2) through the float64 reference forward: step 1e-5, which validates the reference
      //     backward itself to ~1e-8.
      h.reset();
      const c: LrnCase = { N: 2, C: 7, HW: 3, size: 5, alpha: 2, beta, bias: 1 };
      const random = mulberry32(31);
      const x = randomF32(c.N * c.C * c.HW, random, -1.5, 1.5);
      const dy = randomF32(x.length, random);
      const b = Math.fround(beta);
      const rx = h.alloc(x.length, 'x'), ry = h.alloc(x.length, 'y');
      const wasmLoss = (v: Float32Array) => {
        h.write(rx, v);
        h.k.lrn(c.N, c.C, c.HW, c.size, c.alpha, c.beta, c.bias, rx.offset, ry.offset);
        return dot(h.read(ry), dy);
      };
      const refLoss = (v: Float64Array) => dot(lrnRef(c.N, c.C, c.HW, c.size, c.alpha, b, c.bias, v), dy);
      const fdWasm = new Float64Array(x.length), fdRef = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const xp = Float32Array.from(x), xm = Float32Array.from(x);
        xp[i] += 1e-2;
        xm[i] -= 1e-2;
        fdWasm[i] = (wasmLoss(xp) - wasmLoss(xm)) / (xp[i] - xm[i]);
        const vp = Float64Array.from(x), vm = Float64Array.from(x);
        vp[i] += 1e-5;
        vm[i] -= 1e-5;
        fdRef[i] = (refLoss(vp) - refLoss(vm)) / 2e-5;
      }
      const dx = runBackward(h, c, x, dy);
      const ref = lrnBackwardRef(c.N, c.C, c.HW, c.size, c.alpha, b, c.bias, x, dy);
      const dWasm = maxRelDiff(dx, fdWasm), dRef = maxRelDiff(ref, fdRef);
      console.log(`lrnBackward [${backend}] beta ${beta} vs FD: wasm forward (h=1e-2) max rel diff ${fmt(dWasm)}; ` +
        `reference backward vs FD of the f64 reference (h=1e-5) ${fmt(dRef)}`);
      expect(maxAbs(fdRef)).toBeGreaterThan(0.1);
      expect(dWasm).toBeLessThan(5e-4);
      expect(dRef).toBeLessThan(1e-7);
    });
  }
});
