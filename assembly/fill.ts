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

/** Copy the window rows [y0, y0+h) x columns [x0, x0+w) of each of C planes [H, W] into dst [C, h, w]. */
export function cropWindow(C: i32, H: i32, W: i32, y0: i32, x0: i32, h: i32, w: i32, src: usize, dst: usize): void {
  let out = dst;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < h; y++) {
      memory.copy(out, src + ((<usize>(c * H + y0 + y) * <usize>W + <usize>x0) << 2), <usize>w << 2);
      out += <usize>w << 2;
    }
  }
}

/** The reverse of cropWindow: src [C, h, w] into the window of dst's C planes [H, W]. */
export function placeWindow(C: i32, H: i32, W: i32, y0: i32, x0: i32, h: i32, w: i32, src: usize, dst: usize): void {
  let from = src;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < h; y++) {
      memory.copy(dst + ((<usize>(c * H + y0 + y) * <usize>W + <usize>x0) << 2), from, <usize>w << 2);
      from += <usize>w << 2;
    }
  }
}

/** Copy n floats from src to dst (the regions may overlap). */
export function copy(n: i32, src: usize, dst: usize): void {
  memory.copy(dst, src, <usize>n << 2);
}

/** dst[i] += src[i] for n floats: the projection walk sums what each reader of a tensor sends back. */
export function accumulate(n: i32, src: usize, dst: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}
