/**
 * The training update (paper, section 3 "Training details"): SGD with momentum and weight
 * decay, and the filter RMS renormalisation that keeps one layer-1 filter from dominating.
 */

/** v = momentum*v - lr*(g + decay*w); w += v, over n floats. */
export function sgdMomentum(n: i32, w: usize, g: usize, v: usize, lr: f32, momentum: f32, decay: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr), vm = f32x4.splat(momentum), vd = f32x4.splat(decay);
    for (; i + 4 <= n; i += 4) {
      const at = <usize>i << 2;
      const wv = v128.load(w + at);
      const step = f32x4.mul(vlr, f32x4.add(v128.load(g + at), f32x4.mul(vd, wv)));
      const nv = f32x4.sub(f32x4.mul(vm, v128.load(v + at)), step);
      v128.store(v + at, nv);
      v128.store(w + at, f32x4.add(wv, nv));
    }
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const wv = load<f32>(w + at);
    const nv = momentum * load<f32>(v + at) - lr * (load<f32>(g + at) + decay * wv);
    store<f32>(v + at, nv);
    store<f32>(w + at, wv + nv);
  }
}

/** Rescale every filter (row of `size` floats, `filters` rows) whose RMS exceeds `radius` to it. */
export function renormFilters(filters: i32, size: i32, w: usize, radius: f32): void {
  for (let f = 0; f < filters; f++) {
    const row = w + ((<usize>f * <usize>size) << 2);
    let s: f64 = 0;
    for (let i = 0; i < size; i++) {
      const v = <f64>load<f32>(row + (<usize>i << 2));
      s += v * v;
    }
    const rms = Math.sqrt(s / <f64>size);
    if (rms <= <f64>radius) continue;
    const scale = <f32>(<f64>radius / rms);
    for (let i = 0; i < size; i++) store<f32>(row + (<usize>i << 2), load<f32>(row + (<usize>i << 2)) * scale);
  }
}

/** Dropout with a given mask (0 or 1/(1-rate) per element), forward and backward alike: y = x * mask. */
export function applyMask(n: i32, x: usize, mask: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const at = <usize>i << 2;
      v128.store(y + at, f32x4.mul(v128.load(x + at), v128.load(mask + at)));
    }
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(y + at, load<f32>(x + at) * load<f32>(mask + at));
  }
}
