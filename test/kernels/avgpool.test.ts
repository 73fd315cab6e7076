// avgpool and avgpoolBackward against the references on both builds, with the divisor both
// ways: countIncludePad = 1 divides by the full window KH*KW, 0 by the in-image part only.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxRelDiff, mulberry32, poolCase, poolCases, randomF32,
  type Harness, type PoolCase,
} from '../helpers/wasm.js';
import { avgpoolBackwardRef, avgpoolRef } from '../reference/kernels.js';

/** float32 sums of at most 25 terms and one division. */
const TOL = 1e-6;
const cases = poolCases();

function runAvgpool(h: Harness, c: PoolCase, includePad: boolean, x: ArrayLike<number>) {
  const rx = h.f32(x, 'x'), ry = h.alloc(c.planes * c.OH * c.OW, 'y');
  h.k.avgpool(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, includePad ? 1 : 0,
    rx.offset, ry.offset);
  return h.read(ry);
}

function runBackward(h: Harness, c: PoolCase, includePad: boolean, dy: ArrayLike<number>) {
  const rdy = h.f32(dy, 'dy'), rdx = h.alloc(c.planes * c.H * c.W, 'dx');
  h.k.avgpoolBackward(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, includePad ? 1 : 0,
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
