/**
 * Fully connected layers: y[n, o] = bias[o] + sum_i W[o, i] x[n, i], W stored [O, I]
 * (ONNX Gemm with transB = 1, PyTorch's Linear), and the adjoint dx = dy W.
 *
 * At batch 1 this is bound by reading W (ZFNet streams 234 MB per image), so the SIMD build
 * reads each block of 4 weight rows once and applies it to images two at a time while it is
 * in cache: a batch costs about one pass over W. bias = 0: none. y must not alias x.
 */

export function dense(N: i32, I: i32, O: i32, x: usize, w: usize, bias: usize, y: usize): void {
  let o = 0;
  if (ASC_FEATURE_SIMD) {
    for (; o + 4 <= O; o += 4) {
      const w0 = w + ((<usize>o * <usize>I) << 2);
      const rowBytes = <usize>I << 2;
      let n = 0;
      for (; n + 2 <= N; n += 2) {
        const xa = x + ((<usize>n * <usize>I) << 2), xb = xa + rowBytes;
        dot4x2(I, w0, rowBytes, xa, xb, bias, o, y + ((<usize>n * <usize>O + <usize>o) << 2), <usize>O << 2);
      }
      for (; n < N; n++) {
        dot4x1(I, w0, rowBytes, x + ((<usize>n * <usize>I) << 2), bias, o,
               y + ((<usize>n * <usize>O + <usize>o) << 2));
      }
    }
  }
  for (; o < O; o++) {
    const wo = w + ((<usize>o * <usize>I) << 2);
    const b: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let n = 0; n < N; n++) {
      const xn = x + ((<usize>n * <usize>I) << 2);
      let s: f32 = 0;
      for (let i = 0; i < I; i++) s += load<f32>(wo + (<usize>i << 2)) * load<f32>(xn + (<usize>i << 2));
      store<f32>(y + ((<usize>n * <usize>O + <usize>o) << 2), b + s);
    }
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)
       + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline function biasAt(bias: usize, o: i32): f32 {
  return bias ? load<f32>(bias + (<usize>o << 2)) : 0;
}

/** Rows o..o+3 of W against two images; y points at y[n, o], yStride is one output row. */
// @ts-ignore: decorator
@inline function dot4x2(I: i32, w0: usize, rowBytes: usize, xa: usize, xb: usize, bias: usize,
                        o: i32, y: usize, yStride: usize): void {
  const w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let i = 0;
  for (; i + 4 <= I; i += 4) {
    const at = <usize>i << 2;
    const va = v128.load(xa + at), vb = v128.load(xb + at);
    let r = v128.load(w0 + at); a0 = f32x4.add(a0, f32x4.mul(r, va)); b0 = f32x4.add(b0, f32x4.mul(r, vb));
    r = v128.load(w1 + at); a1 = f32x4.add(a1, f32x4.mul(r, va)); b1 = f32x4.add(b1, f32x4.mul(r, vb));
    r = v128.load(w2 + at); a2 = f32x4.add(a2, f32x4.mul(r, va)); b2 = f32x4.add(b2, f32x4.mul(r, vb));
    r = v128.load(w3 + at); a3 = f32x4.add(a3, f32x4.mul(r, va)); b3 = f32x4.add(b3, f32x4.mul(r, vb));
  }
  let sa0 = hsum(a0), sa1 = hsum(a1), sa2 = hsum(a2), sa3 = hsum(a3);
  let sb0 = hsum(b0), sb1 = hsum(b1), sb2 = hsum(b2), sb3 = hsum(b3);
  for (; i < I; i++) {
    const at = <usize>i << 2;
    const va = load<f32>(xa + at), vb = load<f32>(xb + at);
    sa0 += load<f32>(w0 + at) * va; sb0 += load<f32>(w0 + at) * vb;
    sa1 += load<f32>(w1 + at) * va; sb1 += load<f32>(w1 + at) * vb;
    sa2 += load<f32>(w2 + at) * va; sb2 += load<f32>(w2 + at) * vb;
    sa3 += load<f32>(w3 + at) * va; sb3 += load<f32>(w3 + at) * vb;
  }
  store<f32>(y, biasAt(bias, o) + sa0); store<f32>(y, biasAt(bias, o + 1) + sa1, 4);
  store<f32>(y, biasAt(bias, o + 2) + sa2, 8); store<f32>(y, biasAt(bias, o + 3) + sa3, 12);
  const y1 = y + yStride;
  store<f32>(y1, biasAt(bias, o) + sb0); store<f32>(y1, biasAt(bias, o + 1) + sb1, 4);
  store<f32>(y1, biasAt(bias, o + 2) + sb2, 8); store<f32>(y1, biasAt(bias, o + 3) + sb3, 12);
}

/** Rows o..o+3 against one image, two accumulators per row to keep loads in flight. */
// @ts-ignore: decorator
@inline function dot4x1(I: i32, w0: usize, rowBytes: usize, x: usize, bias: usize, o: i32, y: usize): void {
  const w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
  let i = 0;
  for (; i + 8 <= I; i += 8) {
    const at = <usize>i << 2;
    const v = v128.load(x + at), u = v128.load(x + at, 16);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + at), v)); c0 = f32x4.add(c0, f32x4.mul(v128.load(w0 + at, 16), u));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + at), v)); c1 = f32x4.add(c1, f32x4.mul(v128.load(w1 + at, 16), u));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + at), v)); c2 = f32x4.add(c2, f32x4.mul(v128.load(w2 + at, 16), u));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + at), v)); c3 = f32x4.add(c3, f32x4.mul(v128.load(w3 + at, 16), u));
  }
  let s0 = hsum(f32x4.add(a0, c0)), s1 = hsum(f32x4.add(a1, c1));
  let s2 = hsum(f32x4.add(a2, c2)), s3 = hsum(f32x4.add(a3, c3));
  for (; i < I; i++) {
    const at = <usize>i << 2;
    const v = load<f32>(x + at);
    s0 += load<f32>(w0 + at) * v; s1 += load<f32>(w1 + at) * v;
    s2 += load<f32>(w2 + at) * v; s3 += load<f32>(w3 + at) * v;
  }
  store<f32>(y, biasAt(bias, o) + s0); store<f32>(y, biasAt(bias, o + 1) + s1, 4);
  store<f32>(y, biasAt(bias, o + 2) + s2, 8); store<f32>(y, biasAt(bias, o + 3) + s3, 12);
}

/** The adjoint without bias: dx[n, i] = sum_o dy[n, o] W[o, i]. dx is overwritten. */
export function denseTranspose(N: i32, I: i32, O: i32, dy: usize, w: usize, dx: usize): void {
  for (let n = 0; n < N; n++) {
    const dxn = dx + ((<usize>n * <usize>I) << 2);
    for (let i = 0; i < I; i++) store<f32>(dxn + (<usize>i << 2), 0);
  }
  for (let o = 0; o < O; o++) {
    const wo = w + ((<usize>o * <usize>I) << 2);
    for (let n = 0; n < N; n++) {
      const g = load<f32>(dy + ((<usize>n * <usize>O + <usize>o) << 2));
      if (g == 0) continue; // the deconvnet sends one unit down: skip the zero rows
      const dxn = dx + ((<usize>n * <usize>I) << 2);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vg = f32x4.splat(g);
        for (; i + 4 <= I; i += 4) {
          const at = <usize>i << 2;
          v128.store(dxn + at, f32x4.add(v128.load(dxn + at), f32x4.mul(vg, v128.load(wo + at))));
        }
      }
      for (; i < I; i++) {
        const at = <usize>i << 2;
        store<f32>(dxn + at, load<f32>(dxn + at) + g * load<f32>(wo + at));
      }
    }
  }
}

/**
 * The weight and bias gradients of dense: dw[o, i] += sum_n dy[n, o] x[n, i], db[o] +=
 * sum_n dy[n, o] (db = 0: no bias). Accumulates: callers zero dw/db once per batch.
 */
export function denseWeightGrad(N: i32, I: i32, O: i32, x: usize, dy: usize, dw: usize, db: usize): void {
  for (let o = 0; o < O; o++) {
    const wo = dw + ((<usize>o * <usize>I) << 2);
    let bsum: f32 = 0;
    for (let n = 0; n < N; n++) {
      const g = load<f32>(dy + ((<usize>n * <usize>O + <usize>o) << 2));
      bsum += g;
      if (g == 0) continue; // ReLU and dropout zero many: skip their rows
      const xn = x + ((<usize>n * <usize>I) << 2);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vg = f32x4.splat(g);
        for (; i + 4 <= I; i += 4) {
          const at = <usize>i << 2;
          v128.store(wo + at, f32x4.add(v128.load(wo + at), f32x4.mul(vg, v128.load(xn + at))));
        }
      }
      for (; i < I; i++) {
        const at = <usize>i << 2;
        store<f32>(wo + at, load<f32>(wo + at) + g * load<f32>(xn + at));
      }
    }
    if (db) store<f32>(db + (<usize>o << 2), load<f32>(db + (<usize>o << 2)) + bsum);
  }
}
