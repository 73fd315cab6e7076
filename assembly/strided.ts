/**
 * Generic strided data movement over up to 5 axes: the engine's Transpose, Slice (any step,
 * negative too), Concat, Split, constant Pad (fill, then copy into the interior), Gather of a
 * constant index, broadcasting reads and ReduceSum/ReduceMean/ReduceMax are all one call (or
 * a few) of `strided`, so none of them needs its own kernel.
 *
 * strided(mode, d0..d4, s0..s4, t0..t4, src, dst): for every index (i0..i4), 0 <= ik < dk,
 *   a = src + 4*(i0*s0 + ... + i4*s4), b = dst + 4*(i0*t0 + ... + i4*t4) and
 *   mode 0: dst[b] = src[a];  mode 1: dst[b] += src[a];  mode 2: dst[b] = max(dst[b], src[a]).
 * Strides are in elements, i32, and may be negative (a reversed slice: src points at the
 * element that index 0 reads) or 0 (a broadcast read; with modes 1 and 2 a 0 dst stride
 * reduces several source elements into one; in mode 0 a repeated dst element gets the last
 * write in row-major index order). max is wasm's f32.max: NaN propagates, +0 > -0. Any dk <= 0:
 * nothing is read or written. Unused leading axes are passed as d = 1 (any stride). Only the
 * elements the index set addresses are read or written; src and dst must not overlap. Mode 1
 * adds in f32, in an order the kernel picks (SIMD partial sums on a contiguous reduce).
 *
 * Addresses are computed in i64 and truncated: with wasm32's modulo-2^32 address arithmetic
 * this is exact for negative strides, since the final address is never negative.
 *
 * Before looping, size-1 axes are dropped and neighbours that are contiguous in both src and
 * dst are merged (`normalise`, shared with assembly/binary.ts), so a Concat of [N, C, H, W]
 * parts along C is N row copies, not N*C*H. The innermost (merged) axis has the fast paths:
 * memory.copy for a contiguous copy, a SIMD splat for a broadcast scalar (s4 = 0, t4 = 1),
 * SIMD add/max into a contiguous dst from a contiguous or broadcast src, and a SIMD
 * reduction of a contiguous src into one element (t4 = 0). Everything else is a scalar loop.
 */
import { fill } from './fill';

// @ts-ignore: decorator
@inline const COPY = 0;
// @ts-ignore: decorator
@inline const ADD = 1;

// The normalised shape, written by normalise(): wasm globals, not memory (kernels own none).
export let ND0: i32 = 1, ND1: i32 = 1, ND2: i32 = 1, ND3: i32 = 1, ND4: i32 = 1;
export let NP0: i32 = 0, NP1: i32 = 0, NP2: i32 = 0, NP3: i32 = 0, NP4: i32 = 0;
export let NQ0: i32 = 0, NQ1: i32 = 0, NQ2: i32 = 0, NQ3: i32 = 0, NQ4: i32 = 0;
export let NR0: i32 = 0, NR1: i32 = 0, NR2: i32 = 0, NR3: i32 = 0, NR4: i32 = 0;

/**
 * Can an axis of stride `outer` merge into the next, of n elements of stride `inner`? Compared
 * modulo 2^32, which is enough: addresses are taken modulo 2^32 too, so the merged axis reaches
 * the same bytes.
 */
// @ts-ignore: decorator
@inline function fits(n: i32, outer: i32, inner: i32): bool {
  return outer == n * inner;
}

/**
 * An equivalent iteration of a 5-axis index set with three stride sets p, q, r: size-1 axes
 * moved to the front, and axis k merged into k+1 when every stride set has s_k = d_{k+1} *
 * s_{k+1}. Row-major index order (so which write is last) is kept. Writes ND*, NP*, NQ*, NR*;
 * returns false when some dk <= 0 (nothing to do).
 */
export function normalise(d0: i32, d1: i32, d2: i32, d3: i32, d4: i32,
                          p0: i32, p1: i32, p2: i32, p3: i32, p4: i32,
                          q0: i32, q1: i32, q2: i32, q3: i32, q4: i32,
                          r0: i32, r1: i32, r2: i32, r3: i32, r4: i32): bool {
  if (d0 <= 0 || d1 <= 0 || d2 <= 0 || d3 <= 0 || d4 <= 0) return false;
  for (let pass = 0; pass < 4; pass++) {
    if (d4 == 1) { d4 = d3; p4 = p3; q4 = q3; r4 = r3; d3 = 1; }
    else if (d3 != 1 && fits(d4, p3, p4) && fits(d4, q3, q4) && fits(d4, r3, r4)) { d4 *= d3; d3 = 1; }
    if (d3 == 1) { d3 = d2; p3 = p2; q3 = q2; r3 = r2; d2 = 1; }
    else if (d2 != 1 && fits(d3, p2, p3) && fits(d3, q2, q3) && fits(d3, r2, r3)) { d3 *= d2; d2 = 1; }
    if (d2 == 1) { d2 = d1; p2 = p1; q2 = q1; r2 = r1; d1 = 1; }
    else if (d1 != 1 && fits(d2, p1, p2) && fits(d2, q1, q2) && fits(d2, r1, r2)) { d2 *= d1; d1 = 1; }
    if (d1 == 1) { d1 = d0; p1 = p0; q1 = q0; r1 = r0; d0 = 1; }
    else if (d0 != 1 && fits(d1, p0, p1) && fits(d1, q0, q1) && fits(d1, r0, r1)) { d1 *= d0; d0 = 1; }
  }
  ND0 = d0; ND1 = d1; ND2 = d2; ND3 = d3; ND4 = d4;
  NP0 = p0; NP1 = p1; NP2 = p2; NP3 = p3; NP4 = p4;
  NQ0 = q0; NQ1 = q1; NQ2 = q2; NQ3 = q3; NQ4 = q4;
  NR0 = r0; NR1 = r1; NR2 = r2; NR3 = r3; NR4 = r4;
  return true;
}

/** base + 4*offset, offset in elements (may be negative), exact modulo 2^32. */
// @ts-ignore: decorator
@inline export function at(base: usize, offset: i64): usize {
  return <usize>(<i64>base + (offset << 2));
}

/** Horizontal sum of four lanes, (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
         (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** One innermost row: n elements, src step sa, dst step sb (elements). */
function row(mode: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32): void {
  let i = 0;
  if (mode == COPY && sb == 1) {
    if (sa == 1) { memory.copy(b, a, <usize>n << 2); return; }
    if (sa == 0) { fill(b, load<f32>(a), n); return; }
  }
  if (ASC_FEATURE_SIMD) {
    if (mode != COPY && sb == 1 && <u32>sa <= 1) {
      const a0 = v128.load32_splat(a);
      const ia = <usize>sa << 4;
      if (mode == ADD) {
        for (; i + 4 <= n; i += 4) {
          v128.store(b, f32x4.add(v128.load(b), sa ? v128.load(a) : a0));
          a += ia; b += 16;
        }
      } else {
        for (; i + 4 <= n; i += 4) {
          v128.store(b, f32x4.max(v128.load(b), sa ? v128.load(a) : a0));
          a += ia; b += 16;
        }
      }
    } else if (mode != COPY && sb == 0 && sa == 1 && n >= 4) {
      if (mode == ADD) {
        let acc = f32x4.splat(0);
        for (; i + 4 <= n; i += 4) { acc = f32x4.add(acc, v128.load(a)); a += 16; }
        store<f32>(b, load<f32>(b) + hsum(acc));
      } else {
        let acc = v128.load32_splat(b);
        for (; i + 4 <= n; i += 4) { acc = f32x4.max(acc, v128.load(a)); a += 16; }
        store<f32>(b, max(max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)),
                          max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3))));
      }
    }
  }
  const da = <usize>(<i64>sa << 2), db = <usize>(<i64>sb << 2); // wrap: negative steps
  if (mode == COPY) {
    for (; i < n; i++) { store<f32>(b, load<f32>(a)); a += da; b += db; }
  } else if (mode == ADD) {
    for (; i < n; i++) { store<f32>(b, load<f32>(b) + load<f32>(a)); a += da; b += db; }
  } else {
    for (; i < n; i++) { store<f32>(b, max(load<f32>(b), load<f32>(a))); a += da; b += db; }
  }
}

export function strided(mode: i32, d0: i32, d1: i32, d2: i32, d3: i32, d4: i32,
                        s0: i32, s1: i32, s2: i32, s3: i32, s4: i32,
                        t0: i32, t1: i32, t2: i32, t3: i32, t4: i32,
                        src: usize, dst: usize): void {
  if (!normalise(d0, d1, d2, d3, d4, s0, s1, s2, s3, s4, t0, t1, t2, t3, t4, 0, 0, 0, 0, 0)) return;
  const D0 = ND0, D1 = ND1, D2 = ND2, D3 = ND3, D4 = ND4;
  const S0 = NP0, S1 = NP1, S2 = NP2, S3 = NP3, S4 = NP4;
  const T0 = NQ0, T1 = NQ1, T2 = NQ2, T3 = NQ3, T4 = NQ4;
  for (let i0 = 0; i0 < D0; i0++) {
    for (let i1 = 0; i1 < D1; i1++) {
      for (let i2 = 0; i2 < D2; i2++) {
        for (let i3 = 0; i3 < D3; i3++) {
          const oa = <i64>i0 * S0 + <i64>i1 * S1 + <i64>i2 * S2 + <i64>i3 * S3;
          const ob = <i64>i0 * T0 + <i64>i1 * T1 + <i64>i2 * T2 + <i64>i3 * T3;
          row(mode, D4, at(src, oa), S4, at(dst, ob), T4);
        }
      }
    }
  }
}
