// maxpool (values and switches) and unpool against the references on both builds, plus the
// deconvnet conventions written out by hand: the tie rule, the clipped pad that never wins,
// and unpooling summing values whose windows share a switch (docs/design.md).
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxAbsDiff, maxRelDiff, mulberry32, poolCase, poolCases,
  randomF32, type Harness, type PoolCase,
} from '../helpers/wasm.js';
import { maxpoolRef, unpoolRef } from '../reference/kernels.js';

const cases = poolCases();

/** Three kinds of data in turn: continuous, heavily tied (values in {-2..2}), all negative. */
function poolInput(c: PoolCase, seed: number): Float32Array {
  const random = mulberry32(seed);
  const n = c.planes * c.H * c.W;
  switch (seed % 3) {
    case 0: return randomF32(n, random);
    case 1: return Float32Array.from({ length: n }, () => Math.floor(random() * 5) - 2);
    default: return randomF32(n, random, -3, -1);
  }
}

function runMaxpool(h: Harness, c: PoolCase, x: ArrayLike<number>) {
  const rx = h.f32(x, 'x');
  const ry = h.alloc(c.planes * c.OH * c.OW, 'y');
  const rsw = h.alloc(c.planes * c.OH * c.OW, 'switches');
  h.k.maxpool(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, rx.offset, ry.offset, rsw.offset);
  return { y: h.read(ry), switches: h.readI32(rsw) };
}

function runUnpool(h: Harness, c: { planes: number; H: number; W: number; OH: number; OW: number },
                   dy: ArrayLike<number>, switches: ArrayLike<number>) {
  const rdy = h.f32(dy, 'dy'), rsw = h.i32(switches, 'switches');
  const rdx = h.alloc(c.planes * c.H * c.W, 'dx');
  h.k.unpool(c.planes, c.H, c.W, c.OH, c.OW, rdy.offset, rsw.offset, rdx.offset);
  return h.read(rdx);
}

describe.each(BACKENDS)('maxpool [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test(`maxpool values and switches match the reference exactly (${cases.length} shapes)`, () => {
    let worst = 0, ties = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const x = poolInput(c, i);
      const { y, switches } = runMaxpool(h, c, x);
      const ref = maxpoolRef(c, x);
      const d = maxAbsDiff(y, ref.y);
      worst = Math.max(worst, d);
      if (d !== 0) failures.push(`${c.name}: values differ, ${describeDiff(y, ref.y)}`);
      const at = switches.findIndex((s, j) => s !== ref.switches[j]);
      if (at >= 0) failures.push(`${c.name}: switch [${at}] expected ${ref.switches[at]}, got ${switches[at]}`);
      if (h.corruptedGuards().length) failures.push(`${c.name}: wrote past ${h.corruptedGuards().join(', ')}`);
      if (i % 3 === 1) ties++;
    });
    console.log(`maxpool [${backend}] ${cases.length} cases (${ties} heavily tied): max abs diff ${fmt(worst)}, ` +
      `switches ${failures.length ? 'DIFFER' : 'identical'}`);
    expect(failures).toEqual([]);
  });

  test(`unpool of the forward switches matches the reference (${cases.length} shapes)`, () => {
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const x = poolInput(c, 500 + i);
      const { switches } = maxpoolRef(c, x);
      const dy = randomF32(c.planes * c.OH * c.OW, mulberry32(900 + i));
      const dx = runUnpool(h, c, dy, switches);
      const ref = unpoolRef(c.planes, c.H, c.W, c.OH, c.OW, dy, switches);
      const d = maxRelDiff(dx, ref);
      worst = Math.max(worst, d);
      if (!(d <= 1e-6)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
      if (h.corruptedGuards().length) failures.push(`${c.name}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`unpool [${backend}] ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('(a) ties go to the first maximum in row-major order', () => {
    h.reset();
    // 4x4, 2x2 windows, stride 2. Window (0,0) has 5 at (0,1) and (1,0); (0,1) has 3 at (1,2)
    // and (1,3); (1,0) is all zero; (1,1) has 7 at (2,2) and (3,3).
    const x = [
      1, 5, 0, 0,
      5, 2, 3, 3,
      0, 0, 7, 1,
      0, 0, 1, 7,
    ];
    const c = poolCase(1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, false);
    expect([c.OH, c.OW]).toEqual([2, 2]);
    const { y, switches } = runMaxpool(h, c, x);
    expect(Array.from(y)).toEqual([5, 3, 0, 7]);
    expect(Array.from(switches)).toEqual([1, 6, 8, 10]);
  });

  test('(a1) ties in a row of six windows (wide enough for a 4-window SIMD pass)', () => {
    h.reset();
    // 2x12, 2x2 windows, stride 2 -> 1x6. Per window (columns 2j, 2j+1) the first maximum in
    // row-major order: 5 at (0,1); 5 at (0,2); 3 at (0,4); 4 at (1,6); 2 at (0,8); 7 at (0,10).
    const x = [
      1, 5, 5, 1, 3, 3, 0, 0, 2, 2, 7, 7,
      5, 1, 5, 5, 3, 3, 4, 4, 2, 1, 7, 7,
    ];
    const c = poolCase(1, 2, 12, 2, 2, 2, 2, 0, 0, 0, 0, false);
    expect([c.OH, c.OW]).toEqual([1, 6]);
    const { y, switches } = runMaxpool(h, c, x);
    expect(Array.from(y)).toEqual([5, 5, 3, 4, 2, 7]);
    expect(Array.from(switches)).toEqual([1, 2, 4, 18, 8, 10]);
  });

  test('(a2) the pad never wins: all-negative plane, windows clipped to the image', () => {
    h.reset();
    // 3x3, 2x2 windows, stride 2, pads 1 all round -> 2x2 output. The windows clip to
    // {(0,0)}, {(0,1),(0,2)}, {(1,0),(2,0)}, {(1,1),(1,2),(2,1),(2,2)}; ties -> first.
    const x = [
      -2, -2, -2,
      -2, -2, -2,
      -2, -2, -1,
    ];
    const c = poolCase(1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, false);
    expect([c.OH, c.OW]).toEqual([2, 2]);
    const { y, switches } = runMaxpool(h, c, x);
    expect(Array.from(y)).toEqual([-2, -2, -2, -1]);
    expect(Array.from(switches)).toEqual([0, 1, 3, 8]);
  });

  test('(b) overlapping 3x3/2 windows sharing a switch: unpool sums their values there', () => {
    h.reset();
    // 5x5, 3x3 windows, stride 2 -> 2x2 output. The 9 at (2,2) (index 12) is in all four
    // windows and wins the first three; the 10 at (4,4) (index 24) wins the last one.
    const x = [
      1, 2, 3, 2, 1,
      2, 4, 5, 4, 2,
      3, 5, 9, 5, 3,
      2, 4, 5, 4, 2,
      1, 2, 3, 2, 10,
    ];
    const c = poolCase(1, 5, 5, 3, 3, 2, 2, 0, 0, 0, 0, false);
    expect([c.OH, c.OW]).toEqual([2, 2]);
    const { y, switches } = runMaxpool(h, c, x);
    expect(Array.from(y)).toEqual([9, 9, 9, 10]);
    expect(Array.from(switches)).toEqual([12, 12, 12, 24]);
    const dx = runUnpool(h, c, [1, 2, 3, 4], switches);
    expect(Array.from(dx)).toEqual([
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 6, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 4,
    ]);
  });

  test('(b2) two planes: switches index within their own plane, two windows share one', () => {
    h.reset();
    // 3x5 planes, 3x3 windows, stride 2 -> 1x2 output. Plane 0: the 8 at (1,2) (index 7) is in
    // both windows. Plane 1: separate maxima at (0,0) and (2,4), and a tie 6/6 at (1,1)/(1,3)
    // that must not matter.
    const x = [
      0, 1, 2, 1, 0,
      1, 3, 8, 3, 1,
      0, 1, 2, 1, 0,

      9, 1, 1, 1, 1,
      1, 6, 1, 6, 1,
      1, 1, 1, 1, 9,
    ];
    const c = poolCase(2, 3, 5, 3, 3, 2, 2, 0, 0, 0, 0, false);
    expect([c.OH, c.OW]).toEqual([1, 2]);
    const { y, switches } = runMaxpool(h, c, x);
    expect(Array.from(y)).toEqual([8, 8, 9, 9]);
    expect(Array.from(switches)).toEqual([7, 7, 0, 14]);
    const dx = runUnpool(h, c, [0.5, 2, -1, 3], switches);
    expect(Array.from(dx)).toEqual([
      0, 0, 0, 0, 0,
      0, 0, 2.5, 0, 0,
      0, 0, 0, 0, 0,

      -1, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 3,
    ]);
  });
});
