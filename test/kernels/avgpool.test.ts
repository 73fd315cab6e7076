// avgpool and avgpoolBackward against the references on both builds, with the divisor both
// ways: countIncludePad = 0 divides by the in-image part of the window only, 1 by the window
// clipped to the padded input (KH*KW unless ceil mode runs the last window past the end pad;
// onnxruntime and PyTorch clip it there, see test/onnx/avgpool-ort.test.ts).
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxRelDiff, mulberry32, poolCase, poolCases, randomF32,
  type Harness, type PoolCase,
} from '../helpers/wasm.js';
import { avgpoolBackwardRef, avgpoolRef } from '../reference/kernels.js';

/** float32 sums of at most 25 terms and one division. */
const TOL = 1e-6;
const cases = poolCases();

/** Does some window of `c` run past the padded input (ceil mode), so the clip changes the divisor? */
function clipsPastPad(c: PoolCase): boolean {
  return (c.OH - 1) * c.SH - c.PT + c.KH > c.H + c.PB || (c.OW - 1) * c.SW - c.PL + c.KW > c.W + c.PR;
}

function runAvgpool(h: Harness, c: PoolCase, includePad: boolean, x: ArrayLike<number>) {
  const rx = h.f32(x, 'x'), ry = h.alloc(c.planes * c.OH * c.OW, 'y');
  h.k.avgpool(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.PB, c.PR, c.OH, c.OW, includePad ? 1 : 0,
    rx.offset, ry.offset);
  return h.read(ry);
}

function runBackward(h: Harness, c: PoolCase, includePad: boolean, dy: ArrayLike<number>) {
  const rdy = h.f32(dy, 'dy'), rdx = h.alloc(c.planes * c.H * c.W, 'dx');
  h.k.avgpoolBackward(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.PB, c.PR, c.OH, c.OW, includePad ? 1 : 0,
    rdy.offset, rdx.offset);
  return h.read(rdx);
}

describe.each(BACKENDS)('avgpool [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  for (const includePad of [false, true]) {
    test(`forward, countIncludePad=${+includePad} (${cases.length} shapes)`, () => {
      let worst = 0;
      const failures: string[] = [];
      cases.forEach((c, i) => {
        h.reset();
        const x = randomF32(c.planes * c.H * c.W, mulberry32(i));
        const y = runAvgpool(h, c, includePad, x);
        const ref = avgpoolRef(c, includePad, x);
        const d = maxRelDiff(y, ref);
        worst = Math.max(worst, d);
        if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
        if (h.corruptedGuards().length) failures.push(`${c.name}: wrote past ${h.corruptedGuards().join(', ')}`);
      });
      console.log(`avgpool [${backend}] includePad=${+includePad}, ${cases.length} cases: max rel diff ${fmt(worst)}`);
      expect(failures).toEqual([]);
    });

    test(`backward, countIncludePad=${+includePad} (${cases.length} shapes)`, () => {
      let worst = 0;
      const failures: string[] = [];
      cases.forEach((c, i) => {
        h.reset();
        const dy = randomF32(c.planes * c.OH * c.OW, mulberry32(300 + i));
        const dx = runBackward(h, c, includePad, dy);
        const ref = avgpoolBackwardRef(c, includePad, dy);
        const d = maxRelDiff(dx, ref);
        worst = Math.max(worst, d);
        if (!(d <= TOL)) failures.push(`${c.name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
        if (h.corruptedGuards().length) failures.push(`${c.name}: wrote past ${h.corruptedGuards().join(', ')}`);
      });
      console.log(`avgpoolBackward [${backend}] includePad=${+includePad}, ${cases.length} cases: ` +
        `max rel diff ${fmt(worst)}`);
      expect(failures).toEqual([]);
    });
  }

  test('the sweep includes ceil-mode windows that run past the end pad', () => {
    const clipped = cases.filter(clipsPastPad);
    expect(clipped.length).toBeGreaterThan(20);
    expect(clipped.every((c) => c.ceil)).toBe(true);
  });

  test('the divisor by hand: ceil mode, the last window past the end pad', () => {
    h.reset();
    // 1x6 row [1 2 3 4 5 6], window 1x3, stride 2, pads left 1, right 1, ceil -> 4 outputs with
    // windows starting at -1, 1, 3, 5. The last covers 5 (the value 6), 6 (the end pad) and 7
    // (past it): countIncludePad = 1 divides it by 2, not 3; the others by 3.
    const c = poolCase(1, 1, 6, 1, 3, 1, 2, 0, 1, 0, 1, true);
    expect([c.OH, c.OW]).toEqual([1, 4]);
    expect(clipsPastPad(c)).toBe(true);
    const x = [1, 2, 3, 4, 5, 6];
    const f = Math.fround;
    expect(Array.from(runAvgpool(h, c, true, x))).toEqual([f(3 / 3), f(9 / 3), f(15 / 3), f(6 / 2)]);
    expect(Array.from(runAvgpool(h, c, false, x))).toEqual([f(3 / 2), f(9 / 3), f(15 / 3), f(6 / 1)]);
    // The adjoint spreads dy / divisor over the in-image cells: dy = [3, 3, 3, 2] gives 1 per window.
    expect(Array.from(runBackward(h, c, true, [3, 3, 3, 2]))).toEqual([1, 2, 1, 2, 1, 2]);
    expect(Array.from(runBackward(h, c, false, [2, 3, 3, 1]))).toEqual([1, 2, 1, 2, 1, 2]);
  });

  test('the divisor by hand: a 3x3 window over a padded corner', () => {
    h.reset();
    // 2x2 image [1 2; 3 4], 3x3 windows, stride 1, pads 1 all round -> 2x2 output; every
    // window holds the whole image (4 cells in the image, 5 in the pad): sum 10.
    const c = poolCase(1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, false);
    expect([c.OH, c.OW]).toEqual([2, 2]);
    expect(Array.from(runAvgpool(h, c, false, [1, 2, 3, 4]))).toEqual([2.5, 2.5, 2.5, 2.5]);
    const nine = Array.from(runAvgpool(h, c, true, [1, 2, 3, 4]));
    expect(nine.map((v) => Math.fround(v))).toEqual(Array(4).fill(Math.fround(10 / 9)));
    expect(Array.from(runBackward(h, c, false, [4, 8, 12, 16]))).toEqual([10, 10, 10, 10]);
    const back9 = Array.from(runBackward(h, c, true, [9, 9, 9, 9]));
    expect(back9).toEqual([4, 4, 4, 4]);
  });
});
