/**
 * Local response normalisation across channels, ONNX/Caffe semantics:
 *   y[c] = x[c] / (bias + alpha/size * sum_{j in win(c)} x[j]^2)^beta
 * with win(c) = [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the channels.
 * Layout [N, C, HW]. beta = 0.75 (every AlexNet-family model) is computed with square roots,
 * which SIMD has; other betas use pow. The deconvnet treats LRN as identity; lrnBackward is the
 * true gradient (guided/gradient modes and training).
 */

// @ts-ignore: decorator
@inline function powNeg(t: f32, beta: f32): f32 {
  if (beta == 0.75) { const r = Mathf.sqrt(t); return 1 / (r * Mathf.sqrt(r)); }
  return Mathf.pow(t, -beta);
}

export function lrn(N: i32, C: i32, HW: i32, size: i32, alpha: f32, beta: f32, bias: f32,
                    x: usize, y: usize): void {
  const before = (size - 1) >> 1, after = size - 1 - before;
  const a = alpha / <f32>size;
  for (let n = 0; n < N; n++) {
    const xn = x + ((<usize>n * <usize>C * <usize>HW) << 2);
    const yn = y + ((<usize>n * <usize>C * <usize>HW) << 2);
    for (let c = 0; c < C; c++) {
      const lo = max(0, c - before), hi = min(C - 1, c + after);
      let i = 0;
      if (ASC_FEATURE_SIMD && beta == 0.75) {
        const va = f32x4.splat(a), vb = f32x4.splat(bias), one = f32x4.splat(1);
        for (; i + 4 <= HW; i += 4) {
          let s = f32x4.splat(0);
          for (let j = lo; j <= hi; j++) {
            const v = v128.load(xn + ((<usize>j * <usize>HW + <usize>i) << 2));
            s = f32x4.add(s, f32x4.mul(v, v));
          }
          const t = f32x4.add(vb, f32x4.mul(va, s));
          const r = f32x4.sqrt(t);
          const scale = f32x4.div(one, f32x4.mul(r, f32x4.sqrt(r)));
          const at = (<usize>c * <usize>HW + <usize>i) << 2;
          v128.store(yn + at, f32x4.mul(v128.load(xn + at), scale));
        }
      }
      for (; i < HW; i++) {
        let s: f32 = 0;
        for (let j = lo; j <= hi; j++) {
          const v = load<f32>(xn + ((<usize>j * <usize>HW + <usize>i) << 2));
          s += v * v;
        }
        const at = (<usize>c * <usize>HW + <usize>i) << 2;
        store<f32>(yn + at, load<f32>(xn + at) * powNeg(bias + a * s, beta));
      }
    }
  }
}

/**
 * dx[c] = dy[c] t[c]^-beta - 2 alpha beta / size * x[c] * sum_{j : c in win(j)} dy[j] x[j] t[j]^(-beta-1)
 * `scratch` holds 2*C*HW floats. dx must not alias x or dy.
 */
export function lrnBackward(N: i32, C: i32, HW: i32, size: i32, alpha: f32, beta: f32, bias: f32,
                            x: usize, dy: usize, dx: usize, scratch: usize): void {
  const before = (size - 1) >> 1, after = size - 1 - before;
  const a = alpha / <f32>size;
  const plane = <usize>C * <usize>HW;
  const t = scratch, u = scratch + (plane << 2);
  for (let n = 0; n < N; n++) {
    const xn = x + ((<usize>n * plane) << 2);
    const dyn = dy + ((<usize>n * plane) << 2);
    const dxn = dx + ((<usize>n * plane) << 2);
    for (let c = 0; c < C; c++) {
      const lo = max(0, c - before), hi = min(C - 1, c + after);
      for (let i = 0; i < HW; i++) {
        let s: f32 = 0;
        for (let j = lo; j <= hi; j++) {
          const v = load<f32>(xn + ((<usize>j * <usize>HW + <usize>i) << 2));
          s += v * v;
        }
        const at = (<usize>c * <usize>HW + <usize>i) << 2;
        const tt = bias + a * s;
        store<f32>(t + at, tt);
        store<f32>(u + at, load<f32>(dyn + at) * load<f32>(xn + at) * powNeg(tt, beta) / tt);
      }
    }
    const k: f32 = <f32>2 * a * beta;
    for (let c = 0; c < C; c++) {
      // c is in win(j) exactly when j is in [c - after, c + before].
      const lo = max(0, c - after), hi = min(C - 1, c + before);
      for (let i = 0; i < HW; i++) {
        let s: f32 = 0;
        for (let j = lo; j <= hi; j++) s += load<f32>(u + ((<usize>j * <usize>HW + <usize>i) << 2));
        const at = (<usize>c * <usize>HW + <usize>i) << 2;
        store<f32>(dxn + at, load<f32>(dyn + at) * powNeg(load<f32>(t + at), beta)
                              - k * load<f32>(xn + at) * s);
      }
    }
  }
}
