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

/**
 * The bounding box of the non-zero values of x [C, H, W] within rows [y0, y1) and columns
 * [x0, x1), written as four i32 at `out`: y0, y1, x0, x1 (y1 = y0 when all are zero). The
 * deconvnet shrinks its work region with it: after unpooling and rectification the non-zero
 * part is often smaller than the windows' reach.
 */
export function nonzeroBox(C: i32, H: i32, W: i32, y0: i32, y1: i32, x0: i32, x1: i32, x: usize, out: usize): void {
  let ya = y1, yb = y0, xa = x1, xb = x0;
  for (let c = 0; c < C; c++) {
    for (let y = y0; y < y1; y++) {
      const row = x + ((<usize>(c * H + y) * <usize>W) << 2);
      for (let i = x0; i < x1; i++) {
        if (load<f32>(row + (<usize>i << 2)) != 0) {
          ya = min(ya, y); yb = max(yb, y + 1);
          xa = min(xa, i); xb = max(xb, i + 1);
        }
      }
    }
  }
  if (yb <= ya) { ya = y0; yb = y0; xa = x0; xb = x0; }
  store<i32>(out, ya); store<i32>(out, yb, 4); store<i32>(out, xa, 8); store<i32>(out, xb, 12);
}
