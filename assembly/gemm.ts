/**
 * The matrix product both convolutions are built on:  C[M, N] += A[M, K] * B[K, N].
 *
 * Contract (all pointers are byte offsets into linear memory, f32 elements):
 * - A is read element-wise at a + 4*(m*sAm + k*sAk), so callers pass W or W^T without copying.
 * - B is packed in panels of 8 columns (see packRows / conv2d's im2col): panel j holds
 *   columns 8j..8j+7, row k of it at b + 4*(8*(j*K + k)); the last panel is padded with zeros.
 *   Panels must be 16-byte aligned.
 * - C has row stride ldc elements; columns of a row are contiguous. C is accumulated into:
 *   callers zero it or fill it with the bias first.
 * - `scratch` holds gemmScratchFloats(M, K) floats (16-byte aligned): the SIMD build copies
 *   each K block of A into groups of 4 interleaved rows, so the inner loop reads A and B
 *   through two pointers with constant offsets; the last 32 floats hold a partial tile of C.
 * - C must not alias A, B or scratch.
 * The SIMD build runs a 4x8 register tile (8 f32x4 accumulators: more spill on V8's x64
 * backend); K and M are split in blocks of 256 so one B panel block stays in L1 and the packed
 * A block in L2 while all panels stream past it (transposed convs have M = C*KH*KW, up to 3456).
 * Both builds add the k terms in the same order, so they agree bit for bit.
 */

/** K block of gemmPacked: one block of a B panel (8 KB) stays in L1. */
export const KC: i32 = 256;
/** M block: one packed block of A (MC x KC floats, 256 KB) stays in L2 while every panel passes. */
export const MC: i32 = 256;

/**
 * Floats of scratch gemmPacked needs: one packed block of A (with the sparse form's indices
 * and counts), and a partial tile of C (f64: see conv2dScratchFloats).
 */
export function gemmScratchFloats(M: f64, K: f64): f64 {
  const mc = min(Math.ceil(M / 4) * 4, <f64>MC), kc = min(K, <f64>KC);
  return Math.ceil((mc * kc * 1.25 + mc / 4) / 4) * 4 + 32;
}

/**
 * `sparseA` (SIMD build): A is mostly zeros (the deconvnet's unpooled, rectified signals are
 * about 90% zero), so each 4-row group keeps only the k where one of its 4 values is non-zero
 * and the tile runs over those alone. Skipped terms are exact zeros, so results are unchanged.
 */
export function gemmPacked(M: i32, N: i32, K: i32, a: usize, sAm: i32, sAk: i32,
                           b: usize, c: usize, ldc: i32, scratch: usize, sparseA: bool): void {
  const panels = (N + 7) >> 3;
  // Rows handled by 4x8 tiles (SIMD build); the rest, and everything in the scalar build, by row1.
  const M4 = ASC_FEATURE_SIMD ? M & ~3 : 0;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const pa = a + ((<usize>k0 * <usize>sAk) << 2);
    if (ASC_FEATURE_SIMD) for (let m0 = 0; m0 < M4; m0 += MC) {
      const mc = min(MC, M4 - m0);
      const tmp = scratch + ((<usize>((mc * kc + (mc * kc >> 2) + (mc >> 2) + 3) & ~3)) << 2);
      if (sparseA) packASparse(mc, kc, pa + ((<usize>m0 * <usize>sAm) << 2), sAm, sAk, scratch);
      else packA(mc, kc, pa + ((<usize>m0 * <usize>sAm) << 2), sAm, sAk, scratch);
      for (let j = 0; j < panels; j++) {
        const n0 = j << 3;
        tiles(mc, kc, scratch, b + ((<usize>j * <usize>K + <usize>k0) << 5),
              c + ((<usize>m0 * <usize>ldc + <usize>n0) << 2), ldc, min(8, N - n0), tmp, sparseA);
      }
    }
    for (let j = 0; j < panels; j++) {
      const n0 = j << 3;
      const pb = b + ((<usize>j * <usize>K + <usize>k0) << 5);
      for (let m = M4; m < M; m++) {
        const pam = pa + ((<usize>m * <usize>sAm) << 2), pcm = c + ((<usize>m * <usize>ldc + <usize>n0) << 2);
        if (ASC_FEATURE_SIMD) rowSimd(kc, pam, <usize>sAk << 2, pb, pcm, min(8, N - n0), scratch, sparseA);
        else row1(kc, pam, <usize>sAk << 2, pb, pcm, min(8, N - n0));
      }
    }
  }
}

/**
 * mc rows (a multiple of 4, packed at `packed`) of C against one panel. A partial last panel
 * (B is zero-padded) runs the tile on a 4x8 copy of C's columns in `tmp`: small N is common,
 * the deconvnet's region-limited transposed convs have N = 1..30.
 */
// @ts-ignore: decorator
@inline function tiles(mc: i32, kc: i32, packed: usize, pb: usize, pc: usize, ldc: i32, nValid: i32, tmp: usize,
                       sparseA: bool): void {
  const ldcBytes = <usize>ldc << 2;
  // The sparse form's indices and counts follow its values (packASparse).
  const indices = packed + ((<usize>mc * <usize>kc) << 2);
  const counts = indices + <usize>mc * <usize>kc;
  for (let m = 0; m < mc; m += 4) {
    const pa = packed + ((<usize>m * <usize>kc) << 2);
    const pcm = pc + <usize>m * ldcBytes;
    const count = sparseA ? load<i32>(counts + (<usize>m)) : kc;
    const pi = indices + <usize>m * <usize>kc;
    if (nValid == 8) {
      if (sparseA) tile4x8Sparse(count, pa, pi, pb, pcm, ldcBytes);
      else tile4x8(kc, pa, pb, pcm, ldcBytes);
      continue;
    }
    for (let r = 0; r < 4; r++) {
      for (let n = 0; n < 8; n++) {
        store<f32>(tmp + (<usize>(r * 8 + n) << 2), n < nValid ? load<f32>(pcm + <usize>r * ldcBytes + (<usize>n << 2)) : 0);
      }
    }
    if (sparseA) tile4x8Sparse(count, pa, pi, pb, tmp, 32);
    else tile4x8(kc, pa, pb, tmp, 32);
    for (let r = 0; r < 4; r++) {
      for (let n = 0; n < nValid; n++) {
        store<f32>(pcm + <usize>r * ldcBytes + (<usize>n << 2), load<f32>(tmp + (<usize>(r * 8 + n) << 2)));
      }
    }
  }
}

/**
 * packA that keeps, per 4-row group g, only the columns k where one of the 4 values is
 * non-zero: values at dst + 16*(g*kc + i), their k at dst + 4*mc*kc + 4*(g*kc + i) (i32), and
 * the count at dst + 5*mc*kc + 4*g (i32).
 */
function packASparse(mc: i32, kc: i32, a: usize, sAm: i32, sAk: i32, dst: usize): void {
  const sm = <usize>sAm << 2, sk = <usize>sAk << 2;
  const indices = dst + ((<usize>mc * <usize>kc) << 2);
  const counts = indices + <usize>mc * <usize>kc;
  for (let m = 0; m < mc; m += 4) {
    let out = dst + ((<usize>m * <usize>kc) << 2);
    let idx = indices + <usize>m * <usize>kc;
    let p0 = a + ((<usize>m * <usize>sAm) << 2);
    let count = 0;
    for (let k = 0; k < kc; k++) {
      const v0 = load<f32>(p0), v1 = load<f32>(p0 + sm), v2 = load<f32>(p0 + 2 * sm), v3 = load<f32>(p0 + 3 * sm);
      p0 += sk;
      if (v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0) continue;
      store<f32>(out, v0); store<f32>(out, v1, 4); store<f32>(out, v2, 8); store<f32>(out, v3, 12);
      store<i32>(idx, k);
      out += 16; idx += 4; count++;
    }
    store<i32>(counts + <usize>m, count);
  }
}

/** The 4x8 tile over a sparse group: `count` columns k listed at `pi`, their 4 values at `a`. */
// @ts-ignore: decorator
@inline function tile4x8Sparse(count: i32, a: usize, pi: usize, b: usize, c: usize, ldc: usize): void {
  const c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  let x00 = v128.load(c), x01 = v128.load(c, 16);
  let x10 = v128.load(c1), x11 = v128.load(c1, 16);
  let x20 = v128.load(c2), x21 = v128.load(c2, 16);
  let x30 = v128.load(c3), x31 = v128.load(c3, 16);
  let pa = a, ii = pi;
  const end = pi + (<usize>count << 2);
  while (ii < end) {
    const pb = b + (<usize>load<i32>(ii) << 5);
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    x00 = f32x4.add(x00, f32x4.mul(s, b0)); x01 = f32x4.add(x01, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 4);
    x10 = f32x4.add(x10, f32x4.mul(s, b0)); x11 = f32x4.add(x11, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 8);
    x20 = f32x4.add(x20, f32x4.mul(s, b0)); x21 = f32x4.add(x21, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 12);
    x30 = f32x4.add(x30, f32x4.mul(s, b0)); x31 = f32x4.add(x31, f32x4.mul(s, b1));
    pa += 16;
    ii += 4;
  }
  v128.store(c, x00); v128.store(c, x01, 16);
  v128.store(c1, x10); v128.store(c1, x11, 16);
  v128.store(c2, x20); v128.store(c2, x21, 16);
  v128.store(c3, x30); v128.store(c3, x31, 16);
}

/** A[0:M4, 0:kc] -> groups of 4 rows, interleaved: group g, column k at 4*(g*4*kc + 4k). */
function packA(M4: i32, kc: i32, a: usize, sAm: i32, sAk: i32, dst: usize): void {
  const sm = <usize>sAm << 2, sk = <usize>sAk << 2;
  let out = dst;
  for (let m = 0; m < M4; m += 4) {
    let p0 = a + ((<usize>m * <usize>sAm) << 2);
    for (let k = 0; k < kc; k++) {
      store<f32>(out, load<f32>(p0));
      store<f32>(out, load<f32>(p0 + sm), 4);
      store<f32>(out, load<f32>(p0 + 2 * sm), 8);
      store<f32>(out, load<f32>(p0 + 3 * sm), 12);
      out += 16;
      p0 += sk;
    }
  }
}

// @ts-ignore: decorator
@inline function tile4x8(K: i32, a: usize, b: usize, c: usize, ldc: usize): void {
  const c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  let x00 = v128.load(c), x01 = v128.load(c, 16);
  let x10 = v128.load(c1), x11 = v128.load(c1, 16);
  let x20 = v128.load(c2), x21 = v128.load(c2, 16);
  let x30 = v128.load(c3), x31 = v128.load(c3, 16);
  let pa = a, pb = b;
  const end = a + (<usize>K << 4);
  while (pa < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    x00 = f32x4.add(x00, f32x4.mul(s, b0)); x01 = f32x4.add(x01, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 4);
    x10 = f32x4.add(x10, f32x4.mul(s, b0)); x11 = f32x4.add(x11, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 8);
    x20 = f32x4.add(x20, f32x4.mul(s, b0)); x21 = f32x4.add(x21, f32x4.mul(s, b1));
    s = v128.load32_splat(pa, 12);
    x30 = f32x4.add(x30, f32x4.mul(s, b0)); x31 = f32x4.add(x31, f32x4.mul(s, b1));
    pa += 16;
    pb += 32;
  }
  v128.store(c, x00); v128.store(c, x01, 16);
  v128.store(c1, x10); v128.store(c1, x11, 16);
  v128.store(c2, x20); v128.store(c2, x21, 16);
  v128.store(c3, x30); v128.store(c3, x31, 16);
}

/**
 * One leftover row of C against one panel, 8 columns in two vectors (the SIMD build's rows
 * past the last multiple of 4: when M is tiny, as in the deconvnet's one-unit crops, these are
 * most of the work). A partial panel goes through 8 floats at `tmp`.
 */
// @ts-ignore: decorator
@inline function rowSimd(K: i32, a: usize, sAk: usize, b: usize, c: usize, nValid: i32, tmp: usize,
                         sparseA: bool): void {
  let out = c;
  if (nValid < 8) {
    for (let n = 0; n < 8; n++) store<f32>(tmp + (<usize>n << 2), n < nValid ? load<f32>(c + (<usize>n << 2)) : 0);
    out = tmp;
  }
  let x0 = v128.load(out), x1 = v128.load(out, 16);
  let pa = a, pb = b;
  for (let k = 0; k < K; k++) {
    if (!sparseA || load<f32>(pa) != 0) {
      const s = v128.load32_splat(pa);
      x0 = f32x4.add(x0, f32x4.mul(s, v128.load(pb)));
      x1 = f32x4.add(x1, f32x4.mul(s, v128.load(pb, 16)));
    }
    pa += sAk; pb += 32;
  }
  v128.store(out, x0); v128.store(out, x1, 16);
  if (nValid < 8) {
    for (let n = 0; n < nValid; n++) store<f32>(c + (<usize>n << 2), load<f32>(tmp + (<usize>n << 2)));
  }
}

/** One row of C against one panel, any number of valid columns (edges, and the scalar build). */
// @ts-ignore: decorator
@inline function row1(K: i32, a: usize, sAk: usize, b: usize, c: usize, nValid: i32): void {
  for (let n = 0; n < nValid; n++) {
    let acc = load<f32>(c + (<usize>n << 2));
    let pa = a, pb = b + (<usize>n << 2);
    for (let k = 0; k < K; k++) {
      acc += load<f32>(pa) * load<f32>(pb);
      pa += sAk; pb += 32;
    }
    store<f32>(c + (<usize>n << 2), acc);
  }
}

/**
 * Pack a row-major matrix X[K, N] (row stride ldx) into 8-column panels for gemmPacked,
 * zero-padding the last panel. dst needs 4 * 8 * K * ceil(N/8) bytes, 16-byte aligned.
 */
export function packRows(K: i32, N: i32, x: usize, ldx: i32, dst: usize): void {
  const panels = (N + 7) >> 3;
  for (let j = 0; j < panels; j++) {
    const n0 = j << 3;
    const nValid = min(8, N - n0);
    let out = dst + ((<usize>j * <usize>K) << 5);
    let src = x + (<usize>n0 << 2);
    for (let k = 0; k < K; k++) {
      if (ASC_FEATURE_SIMD && nValid == 8) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
      } else {
        for (let n = 0; n < 8; n++) {
          store<f32>(out + (<usize>n << 2), n < nValid ? load<f32>(src + (<usize>n << 2)) : 0);
        }
      }
      out += 32;
      src += <usize>ldx << 2;
    }
  }
}
