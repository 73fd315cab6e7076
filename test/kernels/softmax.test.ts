// softmax over rows against the float64 reference on both builds: small and large class
// counts, and logits large enough that exp would overflow float32 without the max shift.
import { beforeAll, describe, expect, test } from 'vitest';
import { BACKENDS, describeDiff, fmt, kernelsFor, mulberry32, randomF32, type Harness } from '../helpers/wasm.js';
import { softmaxRef } from '../reference/kernels.js';

/** Elementwise relative error: exp of a float32 difference of up to ~60 (float32 rounding of
 * x - max is ~4e-6 absolute there), one float32 sum, one multiply. */
const TOL = 1e-5;

/** max over i of |got - ref| / |ref| (every reference probability here is >= e^-70). */
function maxElementRel(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]) / Math.abs(ref[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

describe.each(BACKENDS)('softmax [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('softmax matches the reference elementwise', () => {
    let worst = 0, count = 0;
    const failures: string[] = [];
    for (const N of [1, 2, 3, 5]) {
      for (const classes of [1, 2, 3, 5, 8, 10, 17, 1000]) {
        for (const [lo, hi] of [[-1, 1], [-30, 30], [90, 120], [-200, -170]]) {
          h.reset();
          const x = randomF32(N * classes, mulberry32(count++), lo, hi);
          const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y');
          h.k.softmax(N, classes, rx.offset, ry.offset);
          const y = h.read(ry), ref = softmaxRef(N, classes, x);
          const d = maxElementRel(y, ref);
          worst = Math.max(worst, d);
          const name = `N${N} classes ${classes} logits in [${lo}, ${hi}]`;
          if (!(d <= TOL)) failures.push(`${name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
          if (h.corruptedGuards().length) failures.push(`${name}: wrote past ${h.corruptedGuards().join(', ')}`);
        }
      }
    }
    console.log(`softmax [${backend}] ${count} cases: max elementwise rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('softmax by hand: equal logits, and one dominant logit', () => {
    h.reset();
    const rx = h.f32([3, 3, 3, 3, 0, 100, 0, 0], 'x'), ry = h.alloc(8, 'y');
    h.k.softmax(2, 4, rx.offset, ry.offset);
    const y = Array.from(h.read(ry));
    expect(y.slice(0, 4)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(y[5]).toBe(1);
    for (const i of [4, 6, 7]) { // e^-100 is below float32's normal range: tiny, never negative or NaN
      expect(y[i]).toBeGreaterThanOrEqual(0);
      expect(y[i]).toBeLessThan(1e-40);
    }
  });
});
