// softmaxAxis and softmaxAxisBackward ([outer, len, inner], softmax along the middle axis) on
// both builds against the float64 references: inner == 1 (rows, the same as `softmax`) and
// inner > 1 around the SIMD width, axis lengths from 1 to 1000, logits far from 0 (the max
// shift), in place; the backward against central finite differences of the float64 forward.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxAbs, maxAbsDiff, maxRelDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { softmaxAxisBackwardRef, softmaxAxisRef } from '../reference/kernels.js';

/** As test/kernels/softmax.test.ts: exp of a float32 difference up to ~60, one f32 sum, one multiply. */
const TOL = 1e-5;

const INNERS = [1, 2, 3, 4, 5, 7, 8, 9, 17];
const LENS = [1, 2, 3, 5, 8, 17, 1000];
const RANGES: [number, number][] = [[-1, 1], [-30, 30], [90, 120], [-200, -170]];

/** max over i of |got - ref| / |ref| (every reference probability here is >= e^-70). */
function maxElementRel(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]) / Math.abs(ref[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/**
 * max over i of |got - ref| / (y_i (|dy_i| + sum over i's line of |dy y|)): the scale of the
 * rounding in y (dy - s), with s the line's f32 sum.
 */
function backwardErr(outer: number, len: number, inner: number, got: ArrayLike<number>, ref: ArrayLike<number>,
                     y: ArrayLike<number>, dy: ArrayLike<number>): number {
  let m = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (l: number) => (o * len + l) * inner + j;
      let s = 0;
      for (let l = 0; l < len; l++) s += Math.abs(dy[at(l)] * y[at(l)]);
      for (let l = 0; l < len; l++) {
        const d = Math.abs(got[at(l)] - ref[at(l)]);
        if (Number.isNaN(d)) return Infinity;
        if (d > 0) m = Math.max(m, d / (y[at(l)] * (Math.abs(dy[at(l)]) + s)));
      }
    }
  }
  return m;
}

describe.each(BACKENDS)('softmaxAxis [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('forward matches the reference elementwise, out of place and in place', () => {
    let worst = 0, count = 0;
    const failures: string[] = [];
    for (const outer of [1, 2, 3]) {
      for (const len of LENS) {
        for (const inner of INNERS) {
          if (len * inner > 6000) continue;
          const [lo, hi] = RANGES[count % RANGES.length];
          h.reset();
          const x = randomF32(outer * len * inner, mulberry32(count++), lo, hi);
          // Every other case, lines 60 apart in level: a shift by another line's max overflows.
          if (count % 2) for (let i = 0; i < x.length; i++) x[i] += 60 * ((Math.floor(i / (len * inner)) * inner + i % inner) % 5) - 120;
          const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y');
          h.k.softmaxAxis(outer, len, inner, rx.offset, ry.offset);
          const y = h.read(ry), ref = softmaxAxisRef(outer, len, inner, x);
          const d = maxElementRel(y, ref);
          worst = Math.max(worst, d);
          const name = `[${outer}, ${len}, ${inner}] logits in [${lo}, ${hi}]${count % 2 ? ' + line levels' : ''}`;
          if (!(d <= TOL)) failures.push(`${name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
          if (maxAbsDiff(h.read(rx), x) !== 0) failures.push(`${name}: modified x`);
          h.k.softmaxAxis(outer, len, inner, rx.offset, rx.offset);
          if (maxAbsDiff(h.read(rx), y) !== 0) failures.push(`${name}: in place differs`);
          if (h.corruptedGuards().length) failures.push(`${name}: wrote past ${h.corruptedGuards().join(', ')}`);
        }
      }
    }
    console.log(`softmaxAxis [${backend}] ${count} cases: max elementwise rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('inner == 1 is softmax exactly; inner > 1 is softmax of the transposed lines exactly', () => {
    h.reset();
    const [outer, len, inner] = [3, 37, 6];
    const x = randomF32(outer * len * inner, mulberry32(42), -20, 20);
    const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y'), rz = h.alloc(x.length, 'softmax');
    h.k.softmaxAxis(outer * len, inner, 1, rx.offset, ry.offset);
    h.k.softmax(outer * len, inner, rx.offset, rz.offset);
    expect(maxAbsDiff(h.read(ry), h.read(rz))).toBe(0);
    // The same lines laid out as rows: [outer, inner, len] row softmax, transposed back.
    const rows = new Float32Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) for (let j = 0; j < inner; j++) rows[(o * inner + j) * len + l] = x[(o * len + l) * inner + j];
    }
    const rr = h.f32(rows, 'rows'), rrs = h.alloc(rows.length, 'row softmax');
    h.k.softmax(outer * inner, len, rr.offset, rrs.offset);
    h.k.softmaxAxis(outer, len, inner, rx.offset, ry.offset);
    const byRow = h.read(rrs), y = h.read(ry);
    let same = true;
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        for (let j = 0; j < inner; j++) same &&= y[(o * len + l) * inner + j] === byRow[(o * inner + j) * len + l];
      }
    }
    expect(same).toBe(true);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('by hand: [1, 2, 3], and a dominant logit that would overflow exp without the shift', () => {
    h.reset();
    // Lines along the middle axis: (0, 0), (1, 1), (100, 0) -> 1/2 1/2, 1/2 1/2, ~1 ~0.
    const rx = h.f32([0, 1, 100, 0, 1, 0], 'x'), ry = h.alloc(6, 'y');
    h.k.softmaxAxis(1, 2, 3, rx.offset, ry.offset);
    const y = Array.from(h.read(ry));
    expect(y.slice(0, 2)).toEqual([0.5, 0.5]);
    expect(y[3]).toBe(0.5);
    expect(y[4]).toBe(0.5);
    expect(y[2]).toBe(1);
    expect(y[5]).toBeGreaterThanOrEqual(0);
    expect(y[5]).toBeLessThan(1e-40);
    // len = 1: every probability 1; len = 0 / outer = 0 / inner = 0: nothing written.
    h.k.softmaxAxis(2, 1, 3, rx.offset, ry.offset);
    expect(Array.from(h.read(ry))).toEqual([1, 1, 1, 1, 1, 1]);
    const rz = h.alloc(4, 'untouched');
    h.k.softmaxAxis(1, 0, 4, rx.offset, rz.offset);
    h.k.softmaxAxis(0, 4, 1, rx.offset, rz.offset);
    h.k.softmaxAxis(1, 4, 0, rx.offset, rz.offset);
    h.k.softmaxAxisBackward(1, 0, 4, rx.offset, rx.offset, rz.offset);
    h.k.softmaxAxisBackward(0, 4, 1, rx.offset, rx.offset, rz.offset);
    h.k.softmaxAxisBackward(1, 4, 0, rx.offset, rx.offset, rz.offset);
    expect(Array.from(h.read(rz)).every(Number.isNaN)).toBe(true);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('backward matches the reference (y from the wasm forward), dx separate and dx == dy', () => {
    let worst = 0, count = 0;
    const failures: string[] = [];
    for (const outer of [1, 2, 3]) {
      for (const len of LENS) {
        for (const inner of INNERS) {
          if (len * inner > 6000) continue;
          const [lo, hi] = RANGES[count % RANGES.length];
          h.reset();
          const random = mulberry32(1000 + count++);
          const x = randomF32(outer * len * inner, random, lo, hi), dy = randomF32(x.length, random, -2, 2);
          const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(x.length, 'dx');
          h.k.softmaxAxis(outer, len, inner, rx.offset, ry.offset);
          const y = h.read(ry);
          h.k.softmaxAxisBackward(outer, len, inner, ry.offset, rdy.offset, rdx.offset);
          const dx = h.read(rdx), ref = softmaxAxisBackwardRef(outer, len, inner, y, dy);
          const d = backwardErr(outer, len, inner, dx, ref, y, dy);
          worst = Math.max(worst, d);
          const name = `[${outer}, ${len}, ${inner}] logits in [${lo}, ${hi}]`;
          if (!(d <= TOL)) failures.push(`${name}: err ${fmt(d)}; ${describeDiff(dx, ref)}`);
          if (maxAbsDiff(h.read(ry), y) !== 0 || maxAbsDiff(h.read(rdy), dy) !== 0) failures.push(`${name}: modified y or dy`);
          h.k.softmaxAxisBackward(outer, len, inner, ry.offset, rdy.offset, rdy.offset);
          if (maxAbsDiff(h.read(rdy), dx) !== 0) failures.push(`${name}: dx == dy differs`);
          if (h.corruptedGuards().length) failures.push(`${name}: wrote past ${h.corruptedGuards().join(', ')}`);
        }
      }
    }
    console.log(`softmaxAxisBackward [${backend}] ${count} cases: max err ${fmt(worst)} (relative to y (|dy| + sum |dy y|))`);
    expect(failures).toEqual([]);
  });

  test('backward equals central finite differences of <dy, softmaxAxis(x)> (float64 forward, h = 1e-5)', () => {
    let worst = 0;
    const failures: string[] = [];
    const shapes: [number, number, number][] = [[1, 1, 1], [2, 5, 1], [1, 9, 1], [2, 3, 3], [1, 4, 4], [3, 7, 5], [1, 2, 9], [2, 17, 2]];
    shapes.forEach(([outer, len, inner], si) => {
      h.reset();
      const random = mulberry32(2000 + si);
      const x = randomF32(outer * len * inner, random, -3, 3), dy = randomF32(x.length, random, -2, 2);
      const loss = (v: Float64Array) => {
        const y = softmaxAxisRef(outer, len, inner, v);
        let s = 0;
        for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
        return s;
      };
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const xp = Float64Array.from(x), xm = Float64Array.from(x);
        xp[i] += 1e-5;
        xm[i] -= 1e-5;
        fd[i] = (loss(xp) - loss(xm)) / 2e-5;
      }
      const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(x.length, 'dx');
      h.k.softmaxAxis(outer, len, inner, rx.offset, ry.offset);
      h.k.softmaxAxisBackward(outer, len, inner, ry.offset, rdy.offset, rdx.offset);
      const dx = h.read(rdx);
      const d = maxRelDiff(dx, fd);
      worst = Math.max(worst, d);
      const name = `[${outer}, ${len}, ${inner}]`;
      if (len > 1 && !(maxAbs(fd) > 1e-2)) failures.push(`${name}: degenerate`);
      if (len === 1 && maxAbs(dx) !== 0) failures.push(`${name}: a 1-long axis has gradient 0`);
      if (!(d <= 2e-6)) failures.push(`${name}: rel diff ${fmt(d)}; ${describeDiff(dx, fd)}`);
    });
    console.log(`softmaxAxisBackward [${backend}] vs finite differences, ${shapes.length} shapes: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});

describe('softmaxAxis: the two builds', () => {
  let simd: Harness, scalar: Harness;
  beforeAll(async () => { [simd, scalar] = await Promise.all(BACKENDS.map((b) => kernelsFor(b))); });

  test('give bitwise the same forward for every inner', () => {
    const failures: string[] = [];
    for (const inner of INNERS) {
      const [outer, len] = [2, 33];
      const x = randomF32(outer * len * inner, mulberry32(3000 + inner), -40, 40);
      const [a, b] = [simd, scalar].map((h) => {
        h.reset();
        const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y');
        h.k.softmaxAxis(outer, len, inner, rx.offset, ry.offset);
        return h.read(ry);
      });
      if (maxAbsDiff(a, b) !== 0) failures.push(`inner ${inner}`);
    }
    console.log(`softmaxAxis simd vs scalar, ${INNERS.length} inners: ${failures.length ? 'DIFFER' : 'bitwise equal'}`);
    expect(failures).toEqual([]);
  });
});
