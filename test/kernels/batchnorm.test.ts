// channelAffine (inference batch norm as a per-channel scale and shift) and its gradient
// channelAffineBackward on both builds against the float64 references: plane sizes around the
// SIMD width (0, 1, 3, 4, 5, 7, 8, 9, 17, 1001) with 1-element batch and channel dims, with and
// without shift (shift = 0), out of place and in place; and the adjoint test
// <A x, y> = <x, A^T y> for the map without its shift.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbsDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { channelAffineBackwardRef, channelAffineRef } from '../reference/kernels.js';

const HWS = [0, 1, 3, 4, 5, 7, 8, 9, 17, 1001];
/** [N, C] */
const NC: [number, number][] = [[1, 1], [1, 3], [2, 1], [3, 5], [1, 16], [2, 7]];

/** Elementwise, relative to |x scale| + |shift|: one rounding of the product, one of the sum. */
const TOL = 1.5e-7;

/** Largest |got - ref| / (|x scale| + |shift|) over the tensor; Infinity on a NaN. */
function worstRel(N: number, C: number, HW: number, got: ArrayLike<number>, ref: ArrayLike<number>,
                  x: ArrayLike<number>, scale: ArrayLike<number>, shift?: ArrayLike<number>): number {
  let m = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HW; i++) {
        const at = (n * C + c) * HW + i;
        const d = Math.abs(got[at] - ref[at]);
        if (Number.isNaN(d)) return Infinity;
        if (d === 0) continue;
        m = Math.max(m, d / (Math.abs(x[at] * scale[c]) + (shift ? Math.abs(shift[c]) : 0)));
      }
    }
  }
  return m;
}

/** Per-channel parameters as batch norm folds them, with a zero and a negative scale among them. */
function params(C: number, random: () => number): { scale: Float32Array; shift: Float32Array } {
  const scale = randomF32(C, random, 0.1, 3), shift = randomF32(C, random, -2, 2);
  if (C > 1) scale[1] = -scale[1];
  if (C > 2) scale[2] = 0;
  return { scale, shift };
}

describe.each(BACKENDS)('channelAffine [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test(`forward: ${NC.length} x ${HWS.length} shapes, with and without shift, out of place and in place`, () => {
    const failures: string[] = [];
    let worst = 0, count = 0;
    for (const [N, C] of NC) {
      for (const HW of HWS) {
        for (const withShift of [true, false]) {
          h.reset();
          const random = mulberry32(count++);
          const { scale, shift } = params(C, random);
          const x = randomF32(N * C * HW, random, -10, 10);
          const rx = h.f32(x, 'x'), rs = h.f32(scale, 'scale'), rb = h.f32(shift, 'shift');
          const ry = h.alloc(x.length, 'y');
          h.k.channelAffine(N, C, HW, rs.offset, withShift ? rb.offset : 0, rx.offset, ry.offset);
          const y = h.read(ry);
          const ref = channelAffineRef(N, C, HW, scale, withShift ? shift : undefined, x);
          const d = worstRel(N, C, HW, y, ref, x, scale, withShift ? shift : undefined);
          worst = Math.max(worst, d);
          const name = `N${N} C${C} HW${HW}${withShift ? ' +shift' : ''}`;
          if (!(d <= TOL)) failures.push(`${name}: rel diff ${fmt(d)}; ${describeDiff(y, ref)}`);
          if (maxAbsDiff(h.read(rx), x) !== 0) failures.push(`${name}: modified x`);
          h.k.channelAffine(N, C, HW, rs.offset, withShift ? rb.offset : 0, rx.offset, rx.offset);
          if (maxAbsDiff(h.read(rx), y) !== 0) failures.push(`${name}: in place differs`);
          if (maxAbsDiff(h.read(rs), scale) !== 0 || maxAbsDiff(h.read(rb), shift) !== 0) {
            failures.push(`${name}: modified scale or shift`);
          }
          if (h.corruptedGuards().length) failures.push(`${name}: wrote past ${h.corruptedGuards().join(', ')}`);
        }
      }
    }
    console.log(`channelAffine [${backend}] ${count} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test(`backward: dx = dy * scale[c], ${NC.length} x ${HWS.length} shapes, dx separate and dx == dy`, () => {
    const failures: string[] = [];
    let worst = 0, count = 0;
    for (const [N, C] of NC) {
      for (const HW of HWS) {
        h.reset();
        const random = mulberry32(500 + count++);
        const { scale } = params(C, random);
        const dy = randomF32(N * C * HW, random, -10, 10);
        const rdy = h.f32(dy, 'dy'), rs = h.f32(scale, 'scale'), rdx = h.alloc(dy.length, 'dx');
        h.k.channelAffineBackward(N, C, HW, rs.offset, rdy.offset, rdx.offset);
        const dx = h.read(rdx), ref = channelAffineBackwardRef(N, C, HW, scale, dy);
        const d = worstRel(N, C, HW, dx, ref, dy, scale);
        worst = Math.max(worst, d);
        const name = `N${N} C${C} HW${HW}`;
        if (!(d <= TOL)) failures.push(`${name}: rel diff ${fmt(d)}; ${describeDiff(dx, ref)}`);
        h.k.channelAffineBackward(N, C, HW, rs.offset, rdy.offset, rdy.offset);
        if (maxAbsDiff(h.read(rdy), dx) !== 0) failures.push(`${name}: dx == dy differs`);
        if (h.corruptedGuards().length) failures.push(`${name}: wrote past ${h.corruptedGuards().join(', ')}`);
      }
    }
    console.log(`channelAffineBackward [${backend}] ${count} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('<channelAffine(x) without shift, y> = <x, channelAffineBackward(y)>', () => {
    let worst = 0, count = 0;
    const failures: string[] = [];
    for (const [N, C] of NC) {
      for (const HW of HWS) {
        if (HW === 0) continue;
        h.reset();
        const random = mulberry32(900 + count++);
        const { scale } = params(C, random);
        const x = randomF32(N * C * HW, random), y = randomF32(N * C * HW, random);
        const rx = h.f32(x, 'x'), ry = h.f32(y, 'y'), rs = h.f32(scale, 'scale');
        const rax = h.alloc(x.length, 'Ax'), raty = h.alloc(x.length, 'A^T y');
        h.k.channelAffine(N, C, HW, rs.offset, 0, rx.offset, rax.offset);
        h.k.channelAffineBackward(N, C, HW, rs.offset, ry.offset, raty.offset);
        const ax = h.read(rax), aty = h.read(raty);
        const scaleOf = Math.max(dotAbs(ax, y), dotAbs(x, aty));
        const gap = Math.abs(dot(ax, y) - dot(x, aty)) / scaleOf;
        worst = Math.max(worst, gap);
        if (!(gap <= 1e-6)) failures.push(`N${N} C${C} HW${HW}: relative gap ${fmt(gap)}`);
      }
    }
    console.log(`adjoint channelAffine/channelAffineBackward [${backend}] ${count} cases: max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('by hand: two channels, shift 0 means none, -0 kept without shift', () => {
    h.reset();
    const rx = h.f32([1, 2, -0, 4, 1, -1], 'x'), rs = h.f32([2, -0.5], 'scale'), rb = h.f32([10, 1], 'shift');
    const ry = h.alloc(6, 'y');
    // [N=1, C=2, HW=3]: channel 0 is [1, 2, -0], channel 1 is [4, 1, -1].
    h.k.channelAffine(1, 2, 3, rs.offset, rb.offset, rx.offset, ry.offset);
    expect(Array.from(h.read(ry))).toEqual([12, 14, 10, -1, 0.5, 1.5]);
    h.k.channelAffine(1, 2, 3, rs.offset, 0, rx.offset, ry.offset);
    expect(Array.from(h.read(ry))).toEqual([2, 4, -0, -2, -0.5, 0.5]);
    h.k.channelAffineBackward(1, 2, 3, rs.offset, rx.offset, ry.offset);
    expect(Array.from(h.read(ry))).toEqual([2, 4, -0, -2, -0.5, 0.5]);
    expect(h.corruptedGuards()).toEqual([]);
  });
});
