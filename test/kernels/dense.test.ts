// dense (W stored [O, I]) and denseTranspose against the references on both builds. The SIMD
// build blocks O by 4 rows and the batch by 2 images, with scalar tails in I (4 and 8 wide), so
// the sweep takes I not a multiple of 4 or 8, O not a multiple of 4 and odd batches.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxRelDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { denseRef, denseTransposeRef } from '../reference/kernels.js';

/** float32 dot products of up to ~1000 terms of [-1, 1] products, relative to max |y|. */
const TOL = 1e-5;

interface DenseCase { N: number; I: number; O: number; bias: boolean }

const cases: DenseCase[] = [];
{
  let i = 0;
  for (const I of [1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 31, 33, 100, 257, 1003]) {
    for (const O of [1, 2, 3, 4, 5, 7, 8, 9, 13]) {
      for (const N of [1, 2, 3, 5]) cases.push({ N, I, O, bias: i++ % 2 === 0 });
    }
  }
}
const label = (c: DenseCase) => `N${c.N} I${c.I} O${c.O}${c.bias ? ' +bias' : ''}`;

/** dy with whole zero entries, as the deconvnet sends (denseTranspose skips zero dy). */
function sparseDy(n: number, random: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (random() < 0.3 ? 0 : 2 * random() - 1));
}

describe.each(BACKENDS)('dense [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test(`dense matches the reference (${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const random = mulberry32(i);
      const x = randomF32(c.N * c.I, random), w = randomF32(c.O * c.I, random);
      const bias = c.bias ? randomF32(c.O, random) : undefined;
      const rx = h.f32(x, 'x'), rw = h.f32(w, 'w'), rb = bias ? h.f32(bias, 'bias') : undefined;
      const ry = h.alloc(c.N * c.O, 'y');
      h.k.dense(c.N, c.I, c.O, rx.offset, rw.offset, rb ? rb.offset : 0, ry.offset);
      const y = h.read(ry), ref = denseRef(c.N, c.I, c.O, x, w, bias);
      const d = maxRelDiff(y, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${label(c)}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`dense [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`denseTranspose matches the reference (${cases.length} shapes, dy 30% zeros)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const random = mulberry32(1000 + i);
      const dy = sparseDy(c.N * c.O, random), w = randomF32(c.O * c.I, random);
      const rdy = h.f32(dy, 'dy'), rw = h.f32(w, 'w'), rdx = h.alloc(c.N * c.I, 'dx');
      h.k.denseTranspose(c.N, c.I, c.O, rdy.offset, rw.offset, rdx.offset);
      const dx = h.read(rdx), ref = denseTransposeRef(c.N, c.I, c.O, dy, w);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${label(c)}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`denseTranspose [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('denseTranspose of an all-zero dy is exactly zero (garbage dx overwritten)', () => {
    h.reset();
    const N = 3, I = 13, O = 5;
    const rdy = h.f32(new Float32Array(N * O), 'dy'), rw = h.f32(randomF32(O * I, mulberry32(3)), 'w');
    const rdx = h.alloc(N * I, 'dx');
    h.k.denseTranspose(N, I, O, rdy.offset, rw.offset, rdx.offset);
    expect(Array.from(h.read(rdx))).toEqual(Array(N * I).fill(0));
  });

  test('dense by hand: one-hot inputs pick out the columns of W, plus the bias', () => {
    h.reset();
    // N = 3 images x = e0, e2, e4 (I = 5), O = 6 rows W[o, i] = 10*o + i, bias[o] = 0.5*o.
    const N = 3, I = 5, O = 6;
    const x = new Float32Array(N * I);
    x[0] = 1; x[I + 2] = 1; x[2 * I + 4] = 1;
    const w = Float32Array.from({ length: O * I }, (_, k) => 10 * Math.floor(k / I) + (k % I));
    const bias = Float32Array.from({ length: O }, (_, o) => 0.5 * o);
    const rx = h.f32(x), rw = h.f32(w), rb = h.f32(bias), ry = h.alloc(N * O, 'y');
    h.k.dense(N, I, O, rx.offset, rw.offset, rb.offset, ry.offset);
    expect(Array.from(h.read(ry))).toEqual([
      0, 10.5, 21, 31.5, 42, 52.5,
      2, 12.5, 23, 33.5, 44, 54.5,
      4, 14.5, 25, 35.5, 46, 56.5,
    ]);
  });
});
