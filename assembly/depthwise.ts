/**
 * Depthwise 2-D convolution (ONNX Conv with group == C == M: weights [C, 1, KH, KW], one filter
 * per channel), its adjoint with respect to x, and its filter/bias gradients. NCHW, f32.
 *
 *   y[n, c, oy, ox] = bias[c] + sum over ky, kx of
 *                     w[c, ky, kx] * x[n, c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]   (0 outside)
 *
 * Geometry is given, never inferred: OH/OW come from the caller (src/graph/shapes.ts with the
 * dilated kernel extent (K - 1)*D + 1); pads are top/left (any sign: a negative pad crops), the
 * bottom/right ones are implied by OH/OW. Strides and dilations are >= 1. No scratch, nothing
 * allocated; x, w, bias and dy are only read, and y/dx/dw/db must not alias them.
 *
 * Why not conv2d with groups = C: that is a GEMM with one output row and K = KH*KW per group, all
 * overhead (im2col, packing) and no register reuse. Here each plane is convolved directly, SIMD
 * across output columns, 4 outputs per v128: blocks of a few rows x 4-8 columns, each block
 * function looping over a whole run of them, the window's taps (ky, kx) inside with the weight
 * broadcast once per tap (see plane()). At stride 1 a tap's 4 inputs are one unaligned load; at
 * stride 2 two overlapping loads and a shuffle, never reading past the last input the window
 * needs. Border columns (some tap in the padding) are edge vectors whose outside lanes load as
 * zeros; border rows just clip the ky taps. Other strides are scalar.
 *
 * Every output adds its taps in the same order, (ky, kx) ascending, starting from the bias, one
 * f32 multiply and one f32 add per tap, in every path: the two builds agree bit for bit, forward
 * and transposed, up to the sign of an exact zero (an edge vector adds w * 0 for a padded lane
 * where the scalar build skips the tap). The filter gradient's lanes are emulated exactly by the
 * scalar build.
 */

// @ts-ignore: decorator
@inline function floorDiv(a: i32, b: i32): i32 {
  const q = a / b;
  return a % b != 0 && a < 0 ? q - 1 : q;
}

// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 {
  const q = a / b;
  return a % b != 0 && a > 0 ? q + 1 : q;
}

/**
 * The first t in [0, K] from which base + t*D (D != 0, any sign) stays >= 0 and < size ...
 * (D = +-1 without a division: these run per border row and column.)
 */
// @ts-ignore: decorator
@inline function tapFirst(base: i32, D: i32, size: i32, K: i32): i32 {
  const t = D == 1 ? -base : D == -1 ? base - size + 1 : D > 0 ? ceilDiv(-base, D) : ceilDiv(base - size + 1, -D);
  return min(K, max(0, t));
}

/** ... and the end of that run: taps t in [tapFirst, tapEnd) are exactly those inside [0, size). */
// @ts-ignore: decorator
@inline function tapEnd(base: i32, D: i32, size: i32, K: i32): i32 {
  const t = D == 1 ? size - base : D == -1 ? base + 1 : (D > 0 ? floorDiv(size - 1 - base, D) : floorDiv(base, -D)) + 1;
  return min(K, max(0, t));
}

/** The first output o in [0, O] whose window, (K - 1)*D beyond o*S - P, lies inside [0, size) ... */
// @ts-ignore: decorator
@inline function innerFirst(P: i32, K: i32, D: i32, S: i32, O: i32): i32 {
  return min(O, max(0, ceilDiv(P - min(0, (K - 1) * D), S)));
}

/** ... and the end of those outputs (>= innerFirst). */
// @ts-ignore: decorator
@inline function innerEnd(size: i32, P: i32, K: i32, D: i32, S: i32, O: i32): i32 {
  return max(innerFirst(P, K, D, S, O), min(O, floorDiv(size - 1 + P - max(0, (K - 1) * D), S) + 1));
}

function gcd(a: i32, b: i32): i32 {
  while (b) { const t = a % b; a = b; b = t; }
  return a;
}

/**
 * One plane, the engine of both the forward and the transposed kernel:
 *   y[oy*ysy + ox*ysx] = b + sum over taps (ky, kx) inside the image of
 *                        w[ky*wsy + kx*wsx] * x[(oy*SH - PT + ky*DH)*W + ox*SW - PL + kx*DW]
 * for oy < OH, ox < OW. Pads may have any sign and the dilations DH, DW either sign (the
 * transposed kernel runs its phases as stride-1 convolutions of dy with negative dilations).
 * Strides of w and y are in elements; ysx != 1 stores lane by lane. Rows [oya, oyb) and columns
 * [oxa, oxb) are the interior, where every tap is inside the image (innerFirst/innerEnd: the
 * same for every plane of a call, so computed once).
 *
 * In the SIMD build interior rows go G at a time (3 at stride 1, in blocks of 3 rows x 8 columns;
 * 4 at stride 2, blocks of 4 rows x 4 columns: 6 and 4 accumulators, what V8's 15 usable xmm
 * registers hold next to the loads without spilling), border rows (their ky taps clipped) one
 * at a time. At strides 1 and 2 a row group is made entirely of vectors: edge vectors for the
 * border columns, whose taps' inputs outside the row come in as zeros, and interior blocks
 * (inputs narrower than 4 columns at stride 1, 8 at stride 2, take scalar border columns). The
 * scalar build, and other strides, go output by output.
 */
function plane(x: usize, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
               DH: i32, DW: i32, OH: i32, OW: i32, w: usize, wsy: i32, wsx: i32, b: f32,
               y: usize, ysy: i32, ysx: i32, oya: i32, oyb: i32, oxa: i32, oxb: i32): void {
  const rowB = <usize>(DH * W) << 2, dwB = <usize>DW << 2;
  const wsyB = <usize>wsy << 2, wsxB = <usize>wsx << 2, ysxB = <usize>ysx << 2, yB = <usize>ysy << 2;
  const sB = <usize>(SH * W) << 2;
  const full = ASC_FEATURE_SIMD && (SW == 1 ? W >= 4 : SW == 2 && W >= 8) && OW >= 4;
  const inner = ASC_FEATURE_SIMD && !full && SW <= 2 && oxb - oxa >= 4;
  const G = SW == 1 ? 3 : 4;
  let oy = 0;
  while (oy < OH) {
    let ky0 = 0, ky1 = KH, rows = 1;
    if (ASC_FEATURE_SIMD && oy >= oya && oy < oyb && oyb - oya >= G) {
      // The last group of interior rows moves back to end at oyb, overlapping the one before
      // (same values): G rows cost about what 1 does, their tap chains run side by side.
      rows = G;
      if (oy + G > oyb) oy = oyb - G;
    }
    const iy = oy * SH - PT;
    if (oy < oya || oy >= oyb) {
      ky0 = tapFirst(iy, DH, H, KH);
      ky1 = max(ky0, tapEnd(iy, DH, H, KH));
    }
    const nky = ky1 - ky0;
    const wr = w + (<usize>(ky0 * wsy) << 2);
    const top = iy + ky0 * DH; // the input row of tap ky0 (valid when nky > 0)
    const yr = y + (<usize>(oy * ysy) << 2);
    if (ASC_FEATURE_SIMD) {
      if (full || inner) {
        const xr = x + (<usize>(top * W) << 2); // row `top`, column 0
        if (full) {
          const edge = SW == 1 ? (rows == 1 ? e1 : e3) : (rows == 1 ? e1s2 : e4s2);
          let ox = 0;
          while (ox < oxa) {
            const p = min(ox, OW - 4);
            edge(xr, sB, W, nky, KW, rowB, DW, p * SW - PL, wr, wsyB, wsxB, b, yr + <usize>p * ysxB, yB, ysxB);
            ox = p + 4;
          }
          // (No overlapping last interior vector here: the edge vectors after it cover the rest.)
          if (ox < oxb) ox = vectors(rows, SW, xr - (<usize>PL << 2), sB, wr, nky, KW, rowB, dwB, wsyB, wsxB, b,
                                     yr, yB, ysxB, ox, OW, oxb);
          while (ox < OW) {
            const p = min(ox, OW - 4);
            edge(xr, sB, W, nky, KW, rowB, DW, p * SW - PL, wr, wsyB, wsxB, b, yr + <usize>p * ysxB, yB, ysxB);
            ox = p + 4;
          }
        } else {
          for (let r = 0; r < rows; r++) {
            borders(x, W, top + r * SH, nky, rowB, SW, PL, DW, KW, wr, wsyB, wsxB, b, yr + <usize>r * yB, ysxB, oxa, oxb, OW);
          }
          vectors(rows, SW, xr - (<usize>PL << 2), sB, wr, nky, KW, rowB, dwB, wsyB, wsxB, b, yr, yB, ysxB, oxa, oxa, oxb);
        }
        oy += rows;
        continue;
      }
    }
    for (let r = 0; r < rows; r++) {
      const t = top + r * SH, yrr = yr + <usize>r * yB;
      borders(x, W, t, nky, rowB, SW, PL, DW, KW, wr, wsyB, wsxB, b, yrr, ysxB, oxa, oxb, OW);
      for (let ox = oxa; ox < oxb; ox++) {
        store<f32>(yrr + <usize>ox * ysxB, interior(x, W, t, nky, rowB, ox * SW - PL, dwB, KW, wr, wsyB, wsxB, b));
      }
    }
    oy += rows;
  }
}

/**
 * Interior columns [from, oxb) of a row group by SIMD blocks (x: row `top`, column -PL, so
 * column ox's tap 0 is ox*SW floats on). A last partial vector is moved back to end at oxb,
 * overlapping the one before (same values), when that stays inside the interior [oxa, oxb);
 * returns how far the columns are done.
 */
function vectors(rows: i32, SW: i32, x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                 wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize,
                 from: i32, oxa: i32, oxb: i32): i32 {
  const wide = rows == 1 ? (SW == 1 ? s1r1v4 : s2r1v4) : (SW == 1 ? s1r3v2 : s2r4v1);
  const one = rows == 1 ? (SW == 1 ? s1r1v1 : s2r1v1) : (SW == 1 ? s1r3v1 : s2r4v1);
  const cols = rows == 1 ? 16 : SW == 1 ? 8 : 4;
  const step = <usize>SW << 2;
  let ox = from;
  const nw = (oxb - ox) / cols;
  if (nw > 0) {
    wide(x + <usize>ox * step, sB, w, nky, KW, rowB, dwB, wsyB, wsxB, b, y + <usize>ox * ysxB, yB, ysxB, nw);
    ox += nw * cols;
  }
  const n1 = (oxb - ox) >> 2;
  if (n1 > 0) {
    one(x + <usize>ox * step, sB, w, nky, KW, rowB, dwB, wsyB, wsxB, b, y + <usize>ox * ysxB, yB, ysxB, n1);
    ox += n1 << 2;
  }
  if (ox < oxb && oxb - 4 >= oxa) {
    ox = oxb - 4;
    one(x + <usize>ox * step, sB, w, nky, KW, rowB, dwB, wsyB, wsxB, b, y + <usize>ox * ysxB, yB, ysxB, 1);
    ox = oxb;
  }
  return ox;
}

/** The border columns [0, oxa) and [oxb, OW) of one row, scalar, each window clipped. */
function borders(x: usize, W: i32, top: i32, nky: i32, rowB: usize, SW: i32, PL: i32, DW: i32, KW: i32,
                 wr: usize, wsyB: usize, wsxB: usize, b: f32, y: usize, ysxB: usize, oxa: i32, oxb: i32, OW: i32): void {
  for (let ox = 0; ox < oxa; ox++) {
    store<f32>(y + <usize>ox * ysxB, clipped(x, W, top, nky, rowB, ox * SW - PL, DW, KW, wr, wsyB, wsxB, b));
  }
  for (let ox = oxb; ox < OW; ox++) {
    store<f32>(y + <usize>ox * ysxB, clipped(x, W, top, nky, rowB, ox * SW - PL, DW, KW, wr, wsyB, wsxB, b));
  }
}

/** One output with every kx tap inside the row: taps ky0.. (nky of them) from input row `top`, column ix of tap 0. */
// @ts-ignore: decorator
@inline function interior(x: usize, W: i32, top: i32, nky: i32, rowB: usize, ix: i32, dwB: usize, KW: i32,
                          wr: usize, wsyB: usize, wsxB: usize, b: f32): f32 {
  let s = b;
  let xr = x + (<usize>(top * W + ix) << 2), wq = wr;
  for (let ky = 0; ky < nky; ky++) {
    let xp = xr, wp = wq;
    for (let kx = 0; kx < KW; kx++) {
      s += load<f32>(wp) * load<f32>(xp);
      xp += dwB; wp += wsxB;
    }
    xr += rowB; wq += wsyB;
  }
  return s;
}

/** One border output: the kx taps clipped to the row [0, W). */
function clipped(x: usize, W: i32, top: i32, nky: i32, rowB: usize, ix: i32, DW: i32, KW: i32,
                 wr: usize, wsyB: usize, wsxB: usize, b: f32): f32 {
  const kx0 = tapFirst(ix, DW, W, KW), kx1 = tapEnd(ix, DW, W, KW);
  let s = b;
  if (kx0 >= kx1) return s;
  const dwB = <usize>DW << 2;
  let xr = x + (<usize>(top * W + ix + kx0 * DW) << 2), wq = wr + <usize>kx0 * wsxB;
  for (let ky = 0; ky < nky; ky++) {
    let xp = xr, wp = wq;
    for (let kx = kx0; kx < kx1; kx++) {
      s += load<f32>(wp) * load<f32>(xp);
      xp += dwB; wp += wsxB;
    }
    xr += rowB; wq += wsyB;
  }
  return s;
}

/** Store 4 outputs, contiguous (sB == 4) or sB bytes apart. */
// @ts-ignore: decorator
@inline function put(p: usize, v: v128, sB: usize): void {
  if (sB == 4) {
    v128.store(p, v);
  } else {
    store<f32>(p, f32x4.extract_lane(v, 0));
    store<f32>(p + sB, f32x4.extract_lane(v, 1));
    store<f32>(p + 2 * sB, f32x4.extract_lane(v, 2));
    store<f32>(p + 3 * sB, f32x4.extract_lane(v, 3));
  }
}

/** x[c], x[c+2], x[c+4], x[c+6] from two overlapping loads (reads x[c..c+6] only). */
// @ts-ignore: decorator
@inline function even(a: v128, b: v128): v128 {
  return f32x4.shuffle(a, b, 0, 2, 5, 7);
}

/** even() of the 7 floats at p. */
// @ts-ignore: decorator
@inline function evenAt(p: usize): v128 {
  return f32x4.shuffle(v128.load(p), v128.load(p, 12), 0, 2, 5, 7);
}

/** Lane l <- lane l - s (s = 1..3), zeros shifted in. */
// @ts-ignore: decorator
@inline function shiftUp(v: v128, s: i32): v128 {
  const z = f32x4.splat(0);
  if (s == 1) return f32x4.shuffle(z, v, 0, 4, 5, 6);
  if (s == 2) return f32x4.shuffle(z, v, 0, 1, 4, 5);
  return f32x4.shuffle(z, v, 0, 1, 2, 4);
}

/** Lane l <- lane l + s (s = 1..3), zeros shifted in. */
// @ts-ignore: decorator
@inline function shiftDown(v: v128, s: i32): v128 {
  const z = f32x4.splat(0);
  if (s == 1) return f32x4.shuffle(v, z, 1, 2, 3, 4);
  if (s == 2) return f32x4.shuffle(v, z, 2, 3, 4, 5);
  return f32x4.shuffle(v, z, 3, 4, 5, 6);
}

// SIMD blocks, named s<stride>r<rows>v<vectors>: n blocks side by side of 4*v output columns by
// r rows, every tap inside the image. x points at tap (ky0, kx 0) of the first column of the
// first row; the next rows are sB bytes further, their outputs yB bytes further. Tap loop: nky
// rows of KW taps. One signature for all (r1 ignores sB, yB), so vectors() picks them as values.
// All alike but for their shape.

function s1r3v2(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv, a01 = bv, a10 = bv, a11 = bv, a20 = bv, a21 = bv;
    let xr = x + <usize>j * 32, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, p1 = xr + sB, p2 = xr + 2 * sB, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, v128.load(p0)));
        a01 = f32x4.add(a01, f32x4.mul(k, v128.load(p0, 16)));
        a10 = f32x4.add(a10, f32x4.mul(k, v128.load(p1)));
        a11 = f32x4.add(a11, f32x4.mul(k, v128.load(p1, 16)));
        a20 = f32x4.add(a20, f32x4.mul(k, v128.load(p2)));
        a21 = f32x4.add(a21, f32x4.mul(k, v128.load(p2, 16)));
        p0 += dwB; p1 += dwB; p2 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 8 * ysxB;
    { const z = yj; put(z, a00, ysxB); put(z + s4, a01, ysxB); }
    { const z = yj + yB; put(z, a10, ysxB); put(z + s4, a11, ysxB); }
    { const z = yj + 2 * yB; put(z, a20, ysxB); put(z + s4, a21, ysxB); }
  }
}

function s1r3v1(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv, a10 = bv, a20 = bv;
    let xr = x + <usize>j * 16, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, p1 = xr + sB, p2 = xr + 2 * sB, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, v128.load(p0)));
        a10 = f32x4.add(a10, f32x4.mul(k, v128.load(p1)));
        a20 = f32x4.add(a20, f32x4.mul(k, v128.load(p2)));
        p0 += dwB; p1 += dwB; p2 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 4 * ysxB;
    { const z = yj; put(z, a00, ysxB); }
    { const z = yj + yB; put(z, a10, ysxB); }
    { const z = yj + 2 * yB; put(z, a20, ysxB); }
  }
}

function s1r1v4(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv, a01 = bv, a02 = bv, a03 = bv;
    let xr = x + <usize>j * 64, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, v128.load(p0)));
        a01 = f32x4.add(a01, f32x4.mul(k, v128.load(p0, 16)));
        a02 = f32x4.add(a02, f32x4.mul(k, v128.load(p0, 32)));
        a03 = f32x4.add(a03, f32x4.mul(k, v128.load(p0, 48)));
        p0 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 16 * ysxB;
    { const z = yj; put(z, a00, ysxB); put(z + s4, a01, ysxB); put(z + 2 * s4, a02, ysxB); put(z + 3 * s4, a03, ysxB); }
  }
}

function s1r1v1(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv;
    let xr = x + <usize>j * 16, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, v128.load(p0)));
        p0 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 4 * ysxB;
    { const z = yj; put(z, a00, ysxB); }
  }
}

function s2r4v1(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv, a10 = bv, a20 = bv, a30 = bv;
    let xr = x + <usize>j * 32, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, p1 = xr + sB, p2 = xr + 2 * sB, p3 = xr + 3 * sB, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, even(v128.load(p0), v128.load(p0, 12))));
        a10 = f32x4.add(a10, f32x4.mul(k, even(v128.load(p1), v128.load(p1, 12))));
        a20 = f32x4.add(a20, f32x4.mul(k, even(v128.load(p2), v128.load(p2, 12))));
        a30 = f32x4.add(a30, f32x4.mul(k, even(v128.load(p3), v128.load(p3, 12))));
        p0 += dwB; p1 += dwB; p2 += dwB; p3 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 4 * ysxB;
    { const z = yj; put(z, a00, ysxB); }
    { const z = yj + yB; put(z, a10, ysxB); }
    { const z = yj + 2 * yB; put(z, a20, ysxB); }
    { const z = yj + 3 * yB; put(z, a30, ysxB); }
  }
}

function s2r1v4(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv, a01 = bv, a02 = bv, a03 = bv;
    let xr = x + <usize>j * 128, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, even(v128.load(p0), v128.load(p0, 12))));
        a01 = f32x4.add(a01, f32x4.mul(k, even(v128.load(p0, 32), v128.load(p0, 44))));
        a02 = f32x4.add(a02, f32x4.mul(k, even(v128.load(p0, 64), v128.load(p0, 76))));
        a03 = f32x4.add(a03, f32x4.mul(k, even(v128.load(p0, 96), v128.load(p0, 108))));
        p0 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 16 * ysxB;
    { const z = yj; put(z, a00, ysxB); put(z + s4, a01, ysxB); put(z + 2 * s4, a02, ysxB); put(z + 3 * s4, a03, ysxB); }
  }
}

function s2r1v1(x: usize, sB: usize, w: usize, nky: i32, KW: i32, rowB: usize, dwB: usize,
                wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize, n: i32): void {
  const bv = f32x4.splat(b);
  for (let j = 0; j < n; j++) {
    let a00 = bv;
    let xr = x + <usize>j * 32, wr = w;
    for (let ky = 0; ky < nky; ky++) {
      let p0 = xr, wp = wr;
      for (let kx = 0; kx < KW; kx++) {
        const k = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(k, even(v128.load(p0), v128.load(p0, 12))));
        p0 += dwB; wp += wsxB;
      }
      xr += rowB; wr += wsyB;
    }
    const s4 = ysxB << 2;
    const yj = y + <usize>j * 4 * ysxB;
    { const z = yj; put(z, a00, ysxB); }
  }
}

// Edge vectors, e<rows>: 4 output columns of r rows at stride 1 anywhere in the row (W >= 4).
// x points at column 0 of row `top`; c0 is the first column's tap-0 input column. A tap's 4
// inputs c0 + kx*DW .. +3 that stick out of [0, W) are loaded from the row's first or last 4
// and shifted, the lanes outside coming in as 0.

/** Swizzle masks, 16 bytes per shift 0..3: lane i <- lane i - sh (0 when < 0). */
const SHIFT_IN_LEFT = memory.data<u8>([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  128, 128, 128, 128, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3, 4, 5, 6, 7,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3,
], 16);
/** lane i <- lane i + sh (0 when > 3). */
const SHIFT_IN_RIGHT = memory.data<u8>([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
], 16);

function e3(x: usize, sB: usize, W: i32, nky: i32, KW: i32, rowB: usize, DW: i32, c0: i32, w: usize,
            wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize): void {
  let a0 = f32x4.splat(b), a1 = a0, a2 = a0;
  let xr = x, wr = w;
  for (let ky = 0; ky < nky; ky++) {
    let wp = wr;
    for (let kx = 0; kx < KW; kx++) {
      const c = c0 + kx * DW;
      const k = v128.load32_splat(wp);
      wp += wsxB;
      if (c >= 0 && c <= W - 4) {
        const p = xr + (<usize>c << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, v128.load(p)));
        a1 = f32x4.add(a1, f32x4.mul(k, v128.load(p + sB)));
        a2 = f32x4.add(a2, f32x4.mul(k, v128.load(p + 2 * sB)));
      } else {
        // Lanes outside the row come in as 0 (swizzle index >= 16); a tap with none inside is skipped.
        const sh = c < 0 ? -c : c - (W - 4);
        if (sh >= 4) continue;
        const m = v128.load(c < 0 ? SHIFT_IN_LEFT + (<usize>sh << 4) : SHIFT_IN_RIGHT + (<usize>sh << 4));
        const p = c < 0 ? xr : xr + (<usize>(W - 4) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, i8x16.swizzle(v128.load(p), m)));
        a1 = f32x4.add(a1, f32x4.mul(k, i8x16.swizzle(v128.load(p + sB), m)));
        a2 = f32x4.add(a2, f32x4.mul(k, i8x16.swizzle(v128.load(p + 2 * sB), m)));
      }
    }
    xr += rowB; wr += wsyB;
  }
  put(y, a0, ysxB);
  put(y + yB, a1, ysxB);
  put(y + 2 * yB, a2, ysxB);
}

function e1(x: usize, sB: usize, W: i32, nky: i32, KW: i32, rowB: usize, DW: i32, c0: i32, w: usize,
            wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize): void {
  let a0 = f32x4.splat(b);
  let xr = x, wr = w;
  for (let ky = 0; ky < nky; ky++) {
    let wp = wr;
    for (let kx = 0; kx < KW; kx++) {
      const c = c0 + kx * DW;
      const k = v128.load32_splat(wp);
      wp += wsxB;
      if (c >= 0 && c <= W - 4) {
        const p = xr + (<usize>c << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, v128.load(p)));
      } else {
        // Lanes outside the row come in as 0 (swizzle index >= 16); a tap with none inside is skipped.
        const sh = c < 0 ? -c : c - (W - 4);
        if (sh >= 4) continue;
        const m = v128.load(c < 0 ? SHIFT_IN_LEFT + (<usize>sh << 4) : SHIFT_IN_RIGHT + (<usize>sh << 4));
        const p = c < 0 ? xr : xr + (<usize>(W - 4) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, i8x16.swizzle(v128.load(p), m)));
      }
    }
    xr += rowB; wr += wsyB;
  }
  put(y, a0, ysxB);
}

// The same at stride 2 (W >= 8): a tap's lanes c0 + kx*DW + 2l that stick out of the row are
// loaded from the nearest 7 floats inside it with the same parity and shifted in as zeros.

function e4s2(x: usize, sB: usize, W: i32, nky: i32, KW: i32, rowB: usize, DW: i32, c0: i32, w: usize,
              wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize): void {
  let a0 = f32x4.splat(b), a1 = a0, a2 = a0, a3 = a0;
  let xr = x, wr = w;
  for (let ky = 0; ky < nky; ky++) {
    let wp = wr;
    for (let kx = 0; kx < KW; kx++) {
      const c = c0 + kx * DW;
      const k = v128.load32_splat(wp);
      wp += wsxB;
      if (c >= 0 && c <= W - 7) {
        const p = xr + (<usize>c << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, evenAt(p)));
        a1 = f32x4.add(a1, f32x4.mul(k, evenAt(p + sB)));
        a2 = f32x4.add(a2, f32x4.mul(k, evenAt(p + 2 * sB)));
        a3 = f32x4.add(a3, f32x4.mul(k, evenAt(p + 3 * sB)));
      } else if (c < 0) {
        const s = (1 - c) >> 1; // lanes before the row
        if (s >= 4) continue;
        const p = xr + (<usize>(c + 2 * s) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, shiftUp(evenAt(p), s)));
        a1 = f32x4.add(a1, f32x4.mul(k, shiftUp(evenAt(p + sB), s)));
        a2 = f32x4.add(a2, f32x4.mul(k, shiftUp(evenAt(p + 2 * sB), s)));
        a3 = f32x4.add(a3, f32x4.mul(k, shiftUp(evenAt(p + 3 * sB), s)));
      } else {
        const s = (c - W + 8) >> 1; // lanes past the row
        if (s >= 4) continue;
        const p = xr + (<usize>(c - 2 * s) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, shiftDown(evenAt(p), s)));
        a1 = f32x4.add(a1, f32x4.mul(k, shiftDown(evenAt(p + sB), s)));
        a2 = f32x4.add(a2, f32x4.mul(k, shiftDown(evenAt(p + 2 * sB), s)));
        a3 = f32x4.add(a3, f32x4.mul(k, shiftDown(evenAt(p + 3 * sB), s)));
      }
    }
    xr += rowB; wr += wsyB;
  }
  put(y, a0, ysxB);
  put(y + yB, a1, ysxB);
  put(y + 2 * yB, a2, ysxB);
  put(y + 3 * yB, a3, ysxB);
}

function e1s2(x: usize, sB: usize, W: i32, nky: i32, KW: i32, rowB: usize, DW: i32, c0: i32, w: usize,
              wsyB: usize, wsxB: usize, b: f32, y: usize, yB: usize, ysxB: usize): void {
  let a0 = f32x4.splat(b);
  let xr = x, wr = w;
  for (let ky = 0; ky < nky; ky++) {
    let wp = wr;
    for (let kx = 0; kx < KW; kx++) {
      const c = c0 + kx * DW;
      const k = v128.load32_splat(wp);
      wp += wsxB;
      if (c >= 0 && c <= W - 7) {
        const p = xr + (<usize>c << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, evenAt(p)));
      } else if (c < 0) {
        const s = (1 - c) >> 1; // lanes before the row
        if (s >= 4) continue;
        const p = xr + (<usize>(c + 2 * s) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, shiftUp(evenAt(p), s)));
      } else {
        const s = (c - W + 8) >> 1; // lanes past the row
        if (s >= 4) continue;
        const p = xr + (<usize>(c - 2 * s) << 2);
        a0 = f32x4.add(a0, f32x4.mul(k, shiftDown(evenAt(p), s)));
      }
    }
    xr += rowB; wr += wsyB;
  }
  put(y, a0, ysxB);
}

/** y = depthwise conv(x) + bias (bias = 0: none). y [N, C, OH, OW] is written in full. */
export function depthwiseConv2d(N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                                PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32,
                                x: usize, w: usize, bias: usize, y: usize): void {
  const oya = innerFirst(PT, KH, DH, SH, OH), oyb = innerEnd(H, PT, KH, DH, SH, OH);
  const oxa = innerFirst(PL, KW, DW, SW, OW), oxb = innerEnd(W, PL, KW, DW, SW, OW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      const b: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
      plane(x + ((<usize>i * <usize>H * <usize>W) << 2), H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW,
            w + ((<usize>c * <usize>KH * <usize>KW) << 2), KW, 1, b,
            y + ((<usize>i * <usize>OH * <usize>OW) << 2), OW, 1, oya, oyb, oxa, oxb);
    }
  }
}

/**
 * The adjoint of depthwiseConv2d without bias, with the forward call's geometry:
 *   dx[n, c, iy, ix] = sum of w[c, ky, kx] * dy[n, c, oy, ox] over oy < OH, ox < OW, ky, kx with
 *                      oy*SH - PT + ky*DH = iy and ox*SW - PL + kx*DW = ix.
 * dx [N, C, H, W] is overwritten in full (cells no window reaches get 0).
 *
 * Gathered, not scattered: dx splits into SH*SW phases (iy mod SH, ix mod SW); on one phase only
 * the taps ky = ky0 + t*SH/gcd(SH, DH) reach it (likewise kx), and it is a stride-1 convolution
 * of dy with that sub-kernel at dilation -DH/gcd(SH, DH) (and -DW/gcd(SW, DW)) -- the forward
 * engine with negative dilations, written to dx with strides SH rows, SW columns.
 */
export function depthwiseConv2dTranspose(N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                                         PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32,
                                         dy: usize, w: usize, dx: usize): void {
  const gy = gcd(SH, DH), gx = gcd(SW, DW);
  const sy = SH / gy, sx = SW / gx;
  for (let ry = 0; ry < min(SH, H); ry++) {
    // The first ky reaching row phase ry (KH if none), its sub-kernel length and dy row offset.
    let ky0 = 0;
    while (ky0 < min(KH, sy) && (ry + PT - ky0 * DH) % SH != 0) ky0++;
    if (ky0 >= min(KH, sy)) ky0 = KH;
    const khp = ky0 < KH ? (KH - ky0 + sy - 1) / sy : 0;
    const qy = ky0 < KH ? (ry + PT - ky0 * DH) / SH : 0;
    const rowsP = (H - ry + SH - 1) / SH;
    for (let rx = 0; rx < min(SW, W); rx++) {
      let kx0 = 0;
      while (kx0 < min(KW, sx) && (rx + PL - kx0 * DW) % SW != 0) kx0++;
      if (kx0 >= min(KW, sx)) kx0 = KW;
      const kwp = kx0 < KW ? (KW - kx0 + sx - 1) / sx : 0;
      const qx = kx0 < KW ? (rx + PL - kx0 * DW) / SW : 0;
      const colsP = (W - rx + SW - 1) / SW;
      const wOff = <usize>(min(ky0, KH - 1) * KW + min(kx0, KW - 1)) << 2;
      const dh = -DH / gy, dw = -DW / gx;
      const oya = innerFirst(-qy, khp, dh, 1, rowsP), oyb = innerEnd(OH, -qy, khp, dh, 1, rowsP);
      const oxa = innerFirst(-qx, kwp, dw, 1, colsP), oxb = innerEnd(OW, -qx, kwp, dw, 1, colsP);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const i = n * C + c;
          plane(dy + ((<usize>i * <usize>OH * <usize>OW) << 2), OH, OW, khp, kwp, 1, 1, -qy, -qx,
                dh, dw, rowsP, colsP,
                w + ((<usize>c * <usize>KH * <usize>KW) << 2) + wOff, sy * KW, sx, 0,
                dx + ((<usize>i * <usize>H * <usize>W + <usize>(ry * W + rx)) << 2), SH * W, SW,
                oya, oyb, oxa, oxb);
        }
      }
    }
  }
}

/**
 * dw[c, ky, kx] += sum over n, oy, ox of dy[n, c, oy, ox] * x[n, c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]
 * (in-image taps only), db[c] += sum over n, oy, ox of dy[n, c, oy, ox] (db = 0: none).
 * ACCUMULATES onto dw [C, 1, KH, KW] and db [C]: callers zero them once per batch.
 *
 * Per channel and tap, the outputs whose tap lands in the image are one rectangle; each of its
 * rows is a dot product of dy with a (strided) run of x, in 8 f32 lanes (SIMD at strides 1 and 2,
 * the same lanes emulated elsewhere), the rows and images summed in f64, added once to dw.
 */
export function depthwiseConv2dFilterGrad(N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                                          PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32,
                                          x: usize, dy: usize, dw: usize, db: usize): void {
  const P = OH * OW;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < KH; ky++) {
      const by = ky * DH - PT;
      const oy0 = tapFirst(by, SH, H, OH), oy1 = max(oy0, tapEnd(by, SH, H, OH));
      for (let kx = 0; kx < KW; kx++) {
        const bx = kx * DW - PL;
        const ox0 = tapFirst(bx, SW, W, OW), ox1 = max(ox0, tapEnd(bx, SW, W, OW));
        let s: f64 = 0;
        if (ox0 < ox1) {
          for (let n = 0; n < N; n++) {
            const i = n * C + c;
            const xp = x + ((<usize>i * <usize>H * <usize>W) << 2);
            const dp = dy + ((<usize>i * <usize>P) << 2);
            for (let oy = oy0; oy < oy1; oy++) {
              s += rowDot(dp + (<usize>(oy * OW + ox0) << 2),
                          xp + (<usize>((oy * SH + by) * W + ox0 * SW + bx) << 2), SW, ox1 - ox0);
            }
          }
        }
        const at = dw + (<usize>((c * KH + ky) * KW + kx) << 2);
        store<f32>(at, <f32>(<f64>load<f32>(at) + s));
      }
    }
    if (db) {
      let s: f64 = 0;
      for (let n = 0; n < N; n++) {
        const dp = dy + ((<usize>(n * C + c) * <usize>P) << 2);
        for (let p = 0; p < P; p++) s += <f64>load<f32>(dp + (<usize>p << 2));
      }
      const at = db + (<usize>c << 2);
      store<f32>(at, <f32>(<f64>load<f32>(at) + s));
    }
  }
}

/**
 * sum over j < n of d[j] * x[j*S]: 8 f32 lanes (lane l takes j = l mod 8 in the blocks of 8, then
 * lanes 0..3 one block of 4), lanes folded ((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7)), plus the
 * scalar tail, in f64. The scalar build runs the same lanes, so the builds agree bit for bit.
 */
function rowDot(d: usize, x: usize, S: i32, n: i32): f64 {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (S <= 2) {
      let a0 = f32x4.splat(0), a1 = a0;
      if (S == 1) {
        for (; j + 8 <= n; j += 8) {
          const o = <usize>j << 2;
          a0 = f32x4.add(a0, f32x4.mul(v128.load(d + o), v128.load(x + o)));
          a1 = f32x4.add(a1, f32x4.mul(v128.load(d + o, 16), v128.load(x + o, 16)));
        }
        if (j + 4 <= n) {
          const o = <usize>j << 2;
          a0 = f32x4.add(a0, f32x4.mul(v128.load(d + o), v128.load(x + o)));
          j += 4;
        }
      } else {
        for (; j + 8 <= n; j += 8) {
          const o = <usize>j << 2, p = x + (o << 1);
          a0 = f32x4.add(a0, f32x4.mul(v128.load(d + o), even(v128.load(p), v128.load(p, 12))));
          a1 = f32x4.add(a1, f32x4.mul(v128.load(d + o, 16), even(v128.load(p, 32), v128.load(p, 44))));
        }
        if (j + 4 <= n) {
          const o = <usize>j << 2, p = x + (o << 1);
          a0 = f32x4.add(a0, f32x4.mul(v128.load(d + o), even(v128.load(p), v128.load(p, 12))));
          j += 4;
        }
      }
      const v = f32x4.add(a0, a1);
      const r = (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
                (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
      let t: f32 = 0;
      for (; j < n; j++) t += load<f32>(d + (<usize>j << 2)) * load<f32>(x + <usize>(j * S) * 4);
      return <f64>r + <f64>t;
    }
  }
  const sB = <usize>S << 2;
  let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0, l4: f32 = 0, l5: f32 = 0, l6: f32 = 0, l7: f32 = 0;
  let dp = d, xp = x;
  for (; j + 8 <= n; j += 8) {
    l0 += load<f32>(dp) * load<f32>(xp);
    l1 += load<f32>(dp, 4) * load<f32>(xp + sB);
    l2 += load<f32>(dp, 8) * load<f32>(xp + 2 * sB);
    l3 += load<f32>(dp, 12) * load<f32>(xp + 3 * sB);
    l4 += load<f32>(dp, 16) * load<f32>(xp + 4 * sB);
    l5 += load<f32>(dp, 20) * load<f32>(xp + 5 * sB);
    l6 += load<f32>(dp, 24) * load<f32>(xp + 6 * sB);
    l7 += load<f32>(dp, 28) * load<f32>(xp + 7 * sB);
    dp += 32; xp += 8 * sB;
  }
  if (j + 4 <= n) {
    l0 += load<f32>(dp) * load<f32>(xp);
    l1 += load<f32>(dp, 4) * load<f32>(xp + sB);
    l2 += load<f32>(dp, 8) * load<f32>(xp + 2 * sB);
    l3 += load<f32>(dp, 12) * load<f32>(xp + 3 * sB);
    dp += 16; xp += 4 * sB;
    j += 4;
  }
  const r = ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7));
  let t: f32 = 0;
  for (; j < n; j++) {
    t += load<f32>(dp) * load<f32>(xp);
    dp += 4; xp += sB;
  }
  return <f64>r + <f64>t;
}
