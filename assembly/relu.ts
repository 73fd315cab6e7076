/**
 * ReLU and the three ways back through it (src/deconv chooses):
 * - deconvnet: rectify the reconstruction itself (relu of dy), ignoring the forward pass;
 * - gradient: pass dy where the forward input was positive;
 * - guided: both conditions.
 * Arrays hold n floats; in-place calls (y == x, dx == dy) are allowed.
 */

export function relu(n: i32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.max(v128.load(x + o), zero));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** dx = dy where the forward activation `fwd` (input or output of the ReLU) is > 0, else 0. */
export function reluBackward(n: i32, fwd: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(fwd + o), zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(fwd + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** Guided backpropagation: dx = dy where both fwd > 0 and dy > 0, else 0. */
export function reluGuided(n: i32, fwd: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dy + o);
      const keep = v128.and(f32x4.gt(v128.load(fwd + o), zero), f32x4.gt(g, zero));
      v128.store(dx + o, v128.and(g, keep));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(fwd + o) > 0 && g > 0 ? g : 0);
  }
}
