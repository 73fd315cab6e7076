/**
 * Per-channel affine map over [N, C, HW]: y[n, c, i] = x[n, c, i] * scale[c] + shift[c].
 * Batch normalisation at inference is this map once the engine has folded its four parameter
 * vectors into scale = gamma / sqrt(var + eps) and shift = beta - mean * scale (the kernel
 * knows nothing of them); so is any per-channel Mul/Add. scale and shift hold C floats;
 * shift = 0 (a null pointer) means no shift: y = x * scale[c] exactly.
 *
 * channelAffineBackward is the gradient with respect to x, dx = dy * scale[c], which is also
 * the adjoint of the map without its shift (the deconvnet and gradient modes pass through it).
 * Neither computes gradients of scale or shift.
 *
 * In-place calls (y == x, dx == dy) are allowed. f32x4 over HW in the SIMD build; both builds
 * compute x * scale then + shift, in f32, with bitwise the same result.
 */

export function channelAffine(N: i32, C: i32, HW: i32, scale: usize, shift: usize, x: usize, y: usize): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const at = ((<usize>n * <usize>C + <usize>c) * <usize>HW) << 2;
      const s = load<f32>(scale + (<usize>c << 2));
      if (shift) shiftPlane(HW, s, load<f32>(shift + (<usize>c << 2)), x + at, y + at);
      else scalePlane(HW, s, x + at, y + at);
    }
  }
}

/** dx[n, c, i] = dy[n, c, i] * scale[c]. */
export function channelAffineBackward(N: i32, C: i32, HW: i32, scale: usize, dy: usize, dx: usize): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const at = ((<usize>n * <usize>C + <usize>c) * <usize>HW) << 2;
      scalePlane(HW, load<f32>(scale + (<usize>c << 2)), dy + at, dx + at);
    }
  }
}

/** y = x * s over one plane of HW floats. */
function scalePlane(HW: i32, s: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; i + 4 <= HW; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.mul(v128.load(x + o), vs));
    }
  }
  for (; i < HW; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * s);
  }
}

/** y = x * s + b over one plane of HW floats. */
function shiftPlane(HW: i32, s: f32, b: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s), vb = f32x4.splat(b);
    for (; i + 4 <= HW; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), vs), vb));
    }
  }
  for (; i < HW; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * s + b);
  }
}
