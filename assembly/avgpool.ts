/**
 * Average pooling over [H, W] planes and its adjoint. The sum runs over the window's in-image
 * cells; the divisor is either those cells only (countIncludePad = 0, ONNX's default) or the
 * window clipped to the padded input (countIncludePad = 1): rows oy*SH - PT up to
 * min(oy*SH - PT + KH, H + PB), columns likewise with PL, KW, W + PR. The clip matters only in
 * ceil mode, where the last window may run past the end pad; onnxruntime and PyTorch do not
 * count the cells beyond it. OH/OW come from src/graph/shapes.ts.
 */

// @ts-ignore: decorator
@inline function divisor(oy: i32, ox: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                         PT: i32, PL: i32, PB: i32, PR: i32, includePad: i32): f32 {
  const y0 = oy * SH - PT, x0 = ox * SW - PL;
  if (includePad) return <f32>((min(y0 + KH, H + PB) - y0) * (min(x0 + KW, W + PR) - x0));
  return <f32>((min(y0 + KH, H) - max(y0, 0)) * (min(x0 + KW, W) - max(x0, 0)));
}

export function avgpool(planes: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32,
                        PL: i32, PB: i32, PR: i32, OH: i32, OW: i32, includePad: i32,
                        x: usize, y: usize): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>H * <usize>W) << 2);
    const yp = y + ((<usize>p * <usize>OH * <usize>OW) << 2);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * SH - PT, 0), y1 = min(oy * SH - PT + KH, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * SW - PL, 0), x1 = min(ox * SW - PL + KW, W);
        let s: f32 = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) s += load<f32>(xp + (<usize>(iy * W + ix) << 2));
        }
        store<f32>(yp + (<usize>(oy * OW + ox) << 2),
                   s / divisor(oy, ox, H, W, KH, KW, SH, SW, PT, PL, PB, PR, includePad));
      }
    }
  }
}

/** dx = 0, then every output cell spreads dy / divisor (the forward's) over its window. */
export function avgpoolBackward(planes: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                                PT: i32, PL: i32, PB: i32, PR: i32, OH: i32, OW: i32, includePad: i32,
                                dy: usize, dx: usize): void {
  for (let p = 0; p < planes; p++) {
    const dxp = dx + ((<usize>p * <usize>H * <usize>W) << 2);
    const dyp = dy + ((<usize>p * <usize>OH * <usize>OW) << 2);
    for (let i = 0; i < H * W; i++) store<f32>(dxp + (<usize>i << 2), 0);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * SH - PT, 0), y1 = min(oy * SH - PT + KH, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * SW - PL, 0), x1 = min(ox * SW - PL + KW, W);
        const g = load<f32>(dyp + (<usize>(oy * OW + ox) << 2))
                  / divisor(oy, ox, H, W, KH, KW, SH, SW, PT, PL, PB, PR, includePad);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const at = dxp + (<usize>(iy * W + ix) << 2);
            store<f32>(at, load<f32>(at) + g);
          }
        }
      }
    }
  }
}
