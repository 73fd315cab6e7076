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
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>H * <usize>W) << 2);
    let out = <usize>p * <usize>OH * <usize>OW;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(oy * SH - PT, 0), y1 = min(oy * SH - PT + KH, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(ox * SW - PL, 0), x1 = min(ox * SW - PL + KW, W);
        let best = y0 * W + x0;
        let m = load<f32>(xp + (<usize>best << 2));
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            // Branch-free: which element wins is data-dependent and unpredictable.
            const at = iy * W + ix;
            const v = load<f32>(xp + (<usize>at << 2));
            const better = v > m;
            best = select<i32>(at, best, better);
            m = select<f32>(v, m, better);
          }
        }
        store<f32>(y + (out << 2), m);
        store<i32>(switches + (out << 2), best);
        out++;
      }
    }
  }
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
