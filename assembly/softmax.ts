/** Softmax over each of N rows of `classes` floats, shifted by the row maximum for range. */

export function softmax(N: i32, classes: i32, x: usize, y: usize): void {
  for (let n = 0; n < N; n++) {
    const xr = x + ((<usize>n * <usize>classes) << 2);
    const yr = y + ((<usize>n * <usize>classes) << 2);
    let m = load<f32>(xr);
    for (let i = 1; i < classes; i++) m = max(m, load<f32>(xr + (<usize>i << 2)));
    let s: f32 = 0;
    for (let i = 0; i < classes; i++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>i << 2)) - m);
      store<f32>(yr + (<usize>i << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let i = 0; i < classes; i++) store<f32>(yr + (<usize>i << 2), load<f32>(yr + (<usize>i << 2)) * inv);
  }
}

/**
 * Softmax along the middle axis of an [outer, len, inner] tensor (ONNX Softmax-13 on any axis:
 * outer = product of the dims before it, inner = of those after), shifted by each line's
 * maximum. Each of the outer * inner lines is computed exactly as `softmax` computes a row (max,
 * then exp and an f32 sum in order of the axis, then one multiply by 1 / sum); inner == 1 is
 * `softmax` itself. For inner > 1 the SIMD build takes 4 neighbouring lines at once (vector max
 * and scaling, scalar Mathf.exp per lane), with bitwise the same results as the scalar build.
 * In place (y == x) is allowed. A line of -Infinity only, or holding +Infinity or NaN, gives NaN.
 */
export function softmaxAxis(outer: i32, len: i32, inner: i32, x: usize, y: usize): void {
  if (len <= 0) return;
  if (inner == 1) {
    softmax(outer, len, x, y);
    return;
  }
  const stride = <usize>inner << 2; // bytes from one element of a line to the next
  for (let o = 0; o < outer; o++) {
    const at = (<usize>o * <usize>len * <usize>inner) << 2;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= inner; j += 4) {
        const xj = x + at + (<usize>j << 2), yj = y + at + (<usize>j << 2);
        let m = v128.load(xj);
        for (let l = 1; l < len; l++) m = f32x4.max(m, v128.load(xj + <usize>l * stride));
        const m0 = f32x4.extract_lane(m, 0), m1 = f32x4.extract_lane(m, 1);
        const m2 = f32x4.extract_lane(m, 2), m3 = f32x4.extract_lane(m, 3);
        let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
        for (let l = 0; l < len; l++) {
          const p = xj + <usize>l * stride, q = yj + <usize>l * stride;
          const e0 = Mathf.exp(load<f32>(p) - m0), e1 = Mathf.exp(load<f32>(p, 4) - m1);
          const e2 = Mathf.exp(load<f32>(p, 8) - m2), e3 = Mathf.exp(load<f32>(p, 12) - m3);
          store<f32>(q, e0); store<f32>(q, e1, 4); store<f32>(q, e2, 8); store<f32>(q, e3, 12);
          s0 += e0; s1 += e1; s2 += e2; s3 += e3;
        }
        let s = f32x4.splat(s0);
        s = f32x4.replace_lane(s, 1, s1);
        s = f32x4.replace_lane(s, 2, s2);
        s = f32x4.replace_lane(s, 3, s3);
        const inv = f32x4.div(f32x4.splat(1), s);
        for (let l = 0; l < len; l++) {
          const q = yj + <usize>l * stride;
          v128.store(q, f32x4.mul(v128.load(q), inv));
        }
      }
    }
    for (; j < inner; j++) {
      const xj = x + at + (<usize>j << 2), yj = y + at + (<usize>j << 2);
      let m = load<f32>(xj);
      for (let l = 1; l < len; l++) m = max(m, load<f32>(xj + <usize>l * stride));
      let s: f32 = 0;
      for (let l = 0; l < len; l++) {
        const e = Mathf.exp(load<f32>(xj + <usize>l * stride) - m);
        store<f32>(yj + <usize>l * stride, e);
        s += e;
      }
      const inv: f32 = 1 / s;
      for (let l = 0; l < len; l++) {
        const q = yj + <usize>l * stride;
        store<f32>(q, load<f32>(q) * inv);
      }
    }
  }
}

/**
 * The gradient of softmaxAxis: dx = y * (dy - sum over the axis of dy * y), y the forward
 * OUTPUT, same [outer, len, inner] layout. The sums are in f32 (4 partial sums in the SIMD
 * build when inner == 1, so the two builds may differ by rounding there). In place
 * (dx == dy or dx == y) is allowed: each line's sum is complete before its first write.
 */
export function softmaxAxisBackward(outer: i32, len: i32, inner: i32, y: usize, dy: usize, dx: usize): void {
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const at = (<usize>o * <usize>len * <usize>inner) << 2;
    const yo = y + at, go = dy + at, xo = dx + at;
    if (inner == 1) {
      let i = 0, s: f32 = 0;
      if (ASC_FEATURE_SIMD) {
        let acc = f32x4.splat(0);
        for (; i + 4 <= len; i += 4) {
          const q = <usize>i << 2;
          acc = f32x4.add(acc, f32x4.mul(v128.load(go + q), v128.load(yo + q)));
        }
        s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
          + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      }
      for (; i < len; i++) s += load<f32>(go + (<usize>i << 2)) * load<f32>(yo + (<usize>i << 2));
      i = 0;
      if (ASC_FEATURE_SIMD) {
        const vs = f32x4.splat(s);
        for (; i + 4 <= len; i += 4) {
          const q = <usize>i << 2;
          v128.store(xo + q, f32x4.mul(v128.load(yo + q), f32x4.sub(v128.load(go + q), vs)));
        }
      }
      for (; i < len; i++) {
        const q = <usize>i << 2;
        store<f32>(xo + q, load<f32>(yo + q) * (load<f32>(go + q) - s));
      }
      continue;
    }
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= inner; j += 4) {
        const q0 = <usize>j << 2;
        let acc = f32x4.splat(0);
        for (let l = 0; l < len; l++) {
          const q = q0 + <usize>l * stride;
          acc = f32x4.add(acc, f32x4.mul(v128.load(go + q), v128.load(yo + q)));
        }
        for (let l = 0; l < len; l++) {
          const q = q0 + <usize>l * stride;
          v128.store(xo + q, f32x4.mul(v128.load(yo + q), f32x4.sub(v128.load(go + q), acc)));
        }
      }
    }
    for (; j < inner; j++) {
      const q0 = <usize>j << 2;
      let s: f32 = 0;
      for (let l = 0; l < len; l++) {
        const q = q0 + <usize>l * stride;
        s += load<f32>(go + q) * load<f32>(yo + q);
      }
      for (let l = 0; l < len; l++) {
        const q = q0 + <usize>l * stride;
        store<f32>(xo + q, load<f32>(yo + q) * (load<f32>(go + q) - s));
      }
    }
  }
}
