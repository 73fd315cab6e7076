/**
 * 2-D convolution (NCHW, weights [OC, C/groups, KH, KW]) and its adjoint, the transposed
 * convolution that the deconvnet filters with and backprop uses for input gradients.
 *
 * Geometry is given, never inferred: the caller computes OH/OW (src/graph/shapes.ts). Pads are
 * top/left; bottom/right pads are implied by OH/OW. Every kernel works image by image and group
 * by group through gemmPacked; `scratch` must hold conv2dScratchFloats(...) floats, 16-byte
 * aligned, and must not alias anything else. Kernels never allocate.
 */
import { gemmPacked, packRows } from './gemm';
import { fill } from './fill';

/** Floats of scratch a forward or transposed call needs. */
export function conv2dScratchFloats(C: i32, OC: i32, KH: i32, KW: i32, OH: i32, OW: i32, groups: i32): i32 {
  const K = (C / groups) * KH * KW;
  const P = OH * OW;
  const padded = ((P + 7) >> 3) << 3;
  const forward = K * padded;
  const transposed = (OC / groups) * padded + K * P;
  return max(forward, transposed);
}

/**
 * im2col straight into gemm panels: row k = (c, ky, kx) of the group's channels, column
 * p = oy*OW + ox, value x[c, oy*SH - PT + ky, ox*SW - PL + kx] or 0 outside the image.
 */
function im2colPacked(x: usize, H: i32, W: i32, Cg: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                      PT: i32, PL: i32, OH: i32, OW: i32, dst: usize): void {
  const K = Cg * KH * KW;
  const P = OH * OW;
  const panels = (P + 7) >> 3;
  let k = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = x + ((<usize>c * <usize>H * <usize>W) << 2);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        let oy = 0, ox = 0;
        for (let j = 0; j < panels; j++) {
          let out = dst + ((<usize>j * <usize>K + <usize>k) << 5);
          for (let n = 0; n < 8; n++) {
            let v: f32 = 0;
            if (oy < OH) {
              const iy = oy * SH - PT + ky, ix = ox * SW - PL + kx;
              if (<u32>iy < <u32>H && <u32>ix < <u32>W) {
                v = load<f32>(plane + ((<usize>iy * <usize>W + <usize>ix) << 2));
              }
              if (++ox == OW) { ox = 0; oy++; }
            }
            store<f32>(out + (<usize>n << 2), v);
          }
        }
        k++;
      }
    }
  }
}

/** y[n, oc] = bias[oc] + sum over the group's channels of w[oc] (*) x[n]. bias = 0: none. */
export function conv2d(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                       PT: i32, PL: i32, OH: i32, OW: i32, groups: i32,
                       x: usize, w: usize, bias: usize, y: usize, scratch: usize): void {
  const Cg = C / groups, OCg = OC / groups;
  const K = Cg * KH * KW, P = OH * OW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const xg = x + ((<usize>(n * C + g * Cg) * <usize>H * <usize>W) << 2);
      const yg = y + ((<usize>(n * OC + g * OCg) * <usize>P) << 2);
      for (let oc = 0; oc < OCg; oc++) {
        const b: f32 = bias ? load<f32>(bias + (<usize>(g * OCg + oc) << 2)) : 0;
        fill(yg + ((<usize>oc * <usize>P) << 2), b, P);
      }
      im2colPacked(xg, H, W, Cg, KH, KW, SH, SW, PT, PL, OH, OW, scratch);
      gemmPacked(OCg, P, K, w + ((<usize>(g * OCg) * <usize>K) << 2), K, 1, scratch, yg, P);
    }
  }
}

/**
 * The adjoint of conv2d without bias: dx[n] = sum_oc w[oc]^T (*) dy[n, oc], with the forward
 * call's geometry (x is [N, C, H, W], dy is [N, OC, OH, OW]). dx is overwritten, and has
 * exactly the forward input's size: rows/columns no window reached stay zero (this is the
 * "output padding" of a transposed convolution).
 */
export function conv2dTranspose(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32,
                                SW: i32, PT: i32, PL: i32, OH: i32, OW: i32, groups: i32,
                                dy: usize, w: usize, dx: usize, scratch: usize): void {
  const Cg = C / groups, OCg = OC / groups;
  const K = Cg * KH * KW, P = OH * OW;
  const packed = scratch;
  const cols = scratch + ((<usize>OCg * <usize>(((P + 7) >> 3) << 3)) << 2);
  fill(dx, 0, N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const dyg = dy + ((<usize>(n * OC + g * OCg) * <usize>P) << 2);
      const dxg = dx + ((<usize>(n * C + g * Cg) * <usize>H * <usize>W) << 2);
      // cols[K, P] = W_g^T dy_g: A(m = k, k = oc) = w[oc*K + k], so sAm = 1, sAk = K.
      packRows(OCg, P, dyg, P, packed);
      fill(cols, 0, K * P);
      gemmPacked(K, P, OCg, w + ((<usize>(g * OCg) * <usize>K) << 2), 1, K, packed, cols, P);
      col2im(cols, H, W, Cg, KH, KW, SH, SW, PT, PL, OH, OW, dxg);
    }
  }
}

/** Scatter-add cols[K, P] back onto the image: the adjoint of im2col. */
function col2im(cols: usize, H: i32, W: i32, Cg: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                PT: i32, PL: i32, OH: i32, OW: i32, dx: usize): void {
  let row = cols;
  for (let c = 0; c < Cg; c++) {
    const plane = dx + ((<usize>c * <usize>H * <usize>W) << 2);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * SH - PT + ky;
          if (<u32>iy >= <u32>H) { row += <usize>OW << 2; continue; }
          const line = plane + ((<usize>iy * <usize>W) << 2);
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * SW - PL + kx;
            if (<u32>ix < <u32>W) {
              const p = line + (<usize>ix << 2);
              store<f32>(p, load<f32>(p) + load<f32>(row + (<usize>ox << 2)));
            }
          }
          row += <usize>OW << 2;
        }
      }
    }
  }
}
