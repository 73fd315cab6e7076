/**
 * Max-pooling that records its switches, and unpooling that reads them.
 *
 * Planes are [H, W] f32; `planes` = N*C. The pad region never wins (it is -Infinity in effect:
 * windows are clipped to the image). A switch is the flat index iy*W + ix of the maximum inside
 * its plane, i32. Ties go to the first maximum in row-major scan order (strict > while
 * scanning), so switches are exactly reproducible. OH/OW come from src/graph/shapes.ts and
 * guarantee every window touches the image.
 */

export function maxpool(planes: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                        PT: i32, PL: i32, OH: i32, OW: i32, x: usize, y: usize, switches: usize): void {
  // Output columns whose windows lie wholly inside the image horizontally: [oxa, oxb).
  const oxa = min(OW, (PL + SW - 1) / SW);
  const oxb = max(oxa, min(OW, (W - KW + PL) / SW + 1));
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>H * <usize>W) << 2);
    let out = <usize>p * <usize>OH * <usize>OW;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * SH - PT, 0), y1 = min(oy * SH - PT + KH, H);
      let ox = 0;
      for (; ox < OW; ox++) {
        if (ASC_FEATURE_SIMD && ox >= oxa && ox + 4 <= oxb) {
          pool4(xp, W, y0, y1, KW, SW, ox * SW - PL, y + (out << 2), switches + (out << 2));
          ox += 3; out += 4;
          continue;
        }
        // Four windows that reach past the left or right edge: the same scan, taps outside masked.
        if (ASC_FEATURE_SIMD && ox + 4 <= OW) {
          pool4Edge(xp, W, y0, y1, KW, SW, ox * SW - PL, y + (out << 2), switches + (out << 2));
          ox += 3; out += 4;
          continue;
        }
        poolOne(xp, W, y0, y1, max(ox * SW - PL, 0), min(ox * SW - PL + KW, W), y + (out << 2), switches + (out << 2));
        out++;
      }
    }
  }
}

// @ts-ignore: decorator
@inline function poolOne(xp: usize, W: i32, y0: i32, y1: i32, x0: i32, x1: i32, y: usize, sw: usize): void {
  let best = y0 * W + x0;
  let m = load<f32>(xp + (<usize>best << 2));
  for (let iy = y0; iy < y1; iy++) {
    for (let ix = x0; ix < x1; ix++) {
      const at = iy * W + ix;
      const v = load<f32>(xp + (<usize>at << 2));
      if (v > m) { m = v; best = at; }
    }
  }
  store<f32>(y, m);
  store<i32>(sw, best);
}

/**
 * Four neighbouring windows at once (columns x0, x0+SW, x0+2SW, x0+3SW, all inside the image):
 * the same row-major scan with strict >, so the tie rule is unchanged, but lane-parallel and
 * branch-free (a scalar max chain stalls on compare-and-branch).
 */
// @ts-ignore: decorator
@inline function pool4(xp: usize, W: i32, y0: i32, y1: i32, KW: i32, SW: i32, x0: i32, y: usize, sw: usize): void {
  const lane = i32x4(0, SW, 2 * SW, 3 * SW);
  const step = <usize>SW << 2;
  let m = gather(xp + (<usize>(y0 * W + x0) << 2), step);
  let best = i32x4.add(i32x4.splat(y0 * W + x0), lane);
  for (let iy = y0; iy < y1; iy++) {
    for (let kx = 0; kx < KW; kx++) {
      const at = iy * W + x0 + kx;
      // Stride 1: the four taps are adjacent, one load; stride 2: two loads and the even lanes
      // (when the second load stays inside the row); else four single loads.
      const p = xp + (<usize>at << 2);
      const v = SW == 1 ? v128.load(p)
        : SW == 2 && x0 + kx + 7 < W ? v128.shuffle<f32>(v128.load(p), v128.load(p + 16), 0, 2, 4, 6)
        : gather(p, step);
      const better = f32x4.gt(v, m);
      m = v128.bitselect(v, m, better);
      best = v128.bitselect(i32x4.add(i32x4.splat(at), lane), best, better);
    }
  }
  v128.store(y, m);
  v128.store(sw, best);
}

/**
 * pool4 for windows that may reach past the image's left or right edge: a tap outside the row
 * counts as -Infinity (it never wins; every window holds at least one tap inside). Loads may
 * touch the floats just outside the row (in memory, masked out).
 */
// @ts-ignore: decorator
@inline function pool4Edge(xp: usize, W: i32, y0: i32, y1: i32, KW: i32, SW: i32, x0: i32, y: usize, sw: usize): void {
  const lane = i32x4(0, SW, 2 * SW, 3 * SW);
  const step = <usize>SW << 2;
  const width = i32x4.splat(W);
  const minusInf = f32x4.splat(-Infinity);
  let m = minusInf;
  let best = i32x4.splat(0);
  for (let iy = y0; iy < y1; iy++) {
    for (let kx = 0; kx < KW; kx++) {
      const pos = i32x4.add(i32x4.splat(x0 + kx), lane);
      const inside = v128.and(i32x4.ge_s(pos, i32x4.splat(0)), i32x4.lt_s(pos, width));
      const at = iy * W + x0 + kx;
      const p = xp + (<usize>at << 2); // wraps for a negative index: the address just before the row
      const v = v128.bitselect(SW == 1 ? v128.load(p) : gather(p, step), minusInf, inside);
      const better = f32x4.gt(v, m);
      m = v128.bitselect(v, m, better);
      best = v128.bitselect(i32x4.add(i32x4.splat(at), lane), best, better);
    }
  }
  v128.store(y, m);
  v128.store(sw, best);
}

/** Four floats at p, p + step, p + 2 step, p + 3 step. */
// @ts-ignore: decorator
@inline function gather(p: usize, step: usize): v128 {
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + step, v, 1);
  v = v128.load32_lane(p + 2 * step, v, 2);
  return v128.load32_lane(p + 3 * step, v, 3);
}

/**
 * The adjoint of the switch selection: dx = 0, then dx[switch] += dy for every output cell.
 * Where overlapping windows share a switch their values sum (Caffe's pooling backward).
 * This is both the deconvnet's unpooling and max-pool's true gradient.
 */
export function unpool(planes: i32, H: i32, W: i32, OH: i32, OW: i32,
                       dy: usize, switches: usize, dx: usize): void {
  const HW = H * W, OHW = OH * OW;
  for (let p = 0; p < planes; p++) {
    const dxp = dx + ((<usize>p * <usize>HW) << 2);
    for (let i = 0; i < HW; i++) store<f32>(dxp + (<usize>i << 2), 0);
    const base = <usize>p * <usize>OHW;
    for (let o = 0; o < OHW; o++) {
      const at = dxp + (<usize>load<i32>(switches + ((base + <usize>o) << 2)) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(dy + ((base + <usize>o) << 2)));
    }
  }
}

/**
 * unpool over a window of the output, for the deconvnet's region-limited walk: only cells in
 * rows [oy0, oy1) x columns [ox0, ox1) scatter, and dx is written only in the window
 * [iy0, iy1) x [ix0, ix1) that holds all their switches (the rest of dx is left as it was).
 */
export function unpoolWindow(planes: i32, H: i32, W: i32, OH: i32, OW: i32, oy0: i32, oy1: i32, ox0: i32, ox1: i32,
                             iy0: i32, iy1: i32, ix0: i32, ix1: i32, dy: usize, switches: usize, dx: usize): void {
  for (let p = 0; p < planes; p++) {
    const dxp = dx + ((<usize>p * <usize>H * <usize>W) << 2);
    for (let y = iy0; y < iy1; y++) {
      for (let x = ix0; x < ix1; x++) store<f32>(dxp + (<usize>(y * W + x) << 2), 0);
    }
    const base = <usize>p * <usize>OH * <usize>OW;
    for (let oy = oy0; oy < oy1; oy++) {
      for (let ox = ox0; ox < ox1; ox++) {
        const o = (base + <usize>(oy * OW + ox)) << 2;
        const at = dxp + (<usize>load<i32>(switches + o) << 2);
        store<f32>(at, load<f32>(at) + load<f32>(dy + o));
      }
    }
  }
}
