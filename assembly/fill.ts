/** Memory helpers shared by the kernels. */

/** Set n floats at p to v. */
export function fill(p: usize, v: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(v);
    for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), s);
  }
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), v);
}
