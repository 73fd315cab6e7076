/**
 * 2-D convolution (NCHW, weights [OC, C/groups, KH, KW]) and its adjoint, the transposed
 * convolution that the deconvnet filters with and backprop uses for input gradients.
 *
 * Geometry is given, never inferred: the caller computes OH/OW (src/graph/shapes.ts). Pads are
 * top/left; bottom/right pads are implied by OH/OW. DH/DW are the dilations (ONNX `dilations`,
 * >= 1): tap (ky, kx) of output (oy, ox) reads x[oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]. Scratch
 * sizes do not depend on them (im2col's rows are still Cg*KH*KW). Every kernel works image by image and group
 * by group through gemmPacked; `scratch` must hold conv2dScratchFloats(...) floats, 16-byte
 * aligned, and must not alias anything else. Kernels never allocate.
 */
import { gemmPacked, gemmScratchFloats, packRows } from './gemm';
import { fill } from './fill';

/**
 * Floats of scratch a conv2d or conv2dTranspose call needs. Computed in f64 so that absurd
 * geometries report their true size to the planner instead of wrapping around in i32.
 */
export function conv2dScratchFloats(C: i32, OC: i32, KH: i32, KW: i32, OH: i32, OW: i32, groups: i32): f64 {
  const K = <f64>(C / groups) * <f64>KH * <f64>KW;
  const P = <f64>OH * <f64>OW;
  const forward = K * Math.ceil(P / 8) * 8 + gemmScratchFloats(<f64>(OC / groups), K);
  const transposed = conv2dPackedWeightFloats(C, OC, KH, KW, groups)
    + conv2dTransposeScratchFloats(C, OC, KH, KW, OH, OW, groups);
  return max(forward, transposed);
}

/**
 * im2col straight into gemm panels: row k = (c, ky, kx) of the group's channels, column
 * p = oy*OW + ox, value x[c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW] or 0 outside the image.
 * For each (k, oy) the valid columns are one run [oxa, oxb), so the inner loops carry no
 * bounds tests.
 */
function im2colPacked(x: usize, H: i32, W: i32, Cg: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                      PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, dst: usize): void {
  const K = Cg * KH * KW;
  const P = OH * OW;
  const padded = ((P + 7) >> 3) << 3;
  const K32 = <usize>K << 5;
  let k = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = x + ((<usize>c * <usize>H * <usize>W) << 2);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const base = dst + (<usize>k << 5);
        // ox*SW - PL + kx*DW in [0, W)  <=>  ox in [oxa, oxb). (A negative numerator truncates
        // towards 0, which the clamps make right for oxa; for oxb it is tested first.)
        const off = kx * DW;
        const oxa = min(OW, max(0, (PL - off + SW - 1) / SW));
        const hi = W - 1 + PL - off;
        const oxb = hi < 0 ? oxa : max(oxa, min(OW, hi / SW + 1));
        let p = 0;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * SH - PT + ky * DH;
          if (<u32>iy >= <u32>H) {
            for (let ox = 0; ox < OW; ox++, p++) store<f32>(base + (<usize>(p >> 3) * K32) + (<usize>(p & 7) << 2), 0);
            continue;
          }
          for (let ox = 0; ox < oxa; ox++, p++) store<f32>(base + (<usize>(p >> 3) * K32) + (<usize>(p & 7) << 2), 0);
          let src = plane + ((<usize>iy * <usize>W + <usize>(oxa * SW - PL + off)) << 2);
          for (let ox = oxa; ox < oxb; ox++, p++) {
            store<f32>(base + (<usize>(p >> 3) * K32) + (<usize>(p & 7) << 2), load<f32>(src));
            src += <usize>SW << 2;
          }
          for (let ox = oxb; ox < OW; ox++, p++) store<f32>(base + (<usize>(p >> 3) * K32) + (<usize>(p & 7) << 2), 0);
        }
        for (; p < padded; p++) store<f32>(base + (<usize>(p >> 3) * K32) + (<usize>(p & 7) << 2), 0);
        k++;
      }
    }
  }
}

/** y[n, oc] = bias[oc] + sum over the group's channels of w[oc] (*) x[n]. bias = 0: none. */
export function conv2d(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                       PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, groups: i32,
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
      im2colPacked(xg, H, W, Cg, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, scratch);
      gemmPacked(OCg, P, K, w + ((<usize>(g * OCg) * <usize>K) << 2), K, 1, scratch, yg, P,
                 scratch + ((<usize>K * <usize>(((P + 7) >> 3) << 3)) << 2), false);
    }
  }
}

/** Floats of a conv's weights packed for conv2dTransposePacked (f64: see conv2dScratchFloats). */
export function conv2dPackedWeightFloats(C: i32, OC: i32, KH: i32, KW: i32, groups: i32): f64 {
  const K = <f64>(C / groups) * <f64>KH * <f64>KW;
  return <f64>OC * Math.ceil(K / 8) * 8;
}

/**
 * Pack weights [OC, C/groups, KH, KW] for conv2dTransposePacked: per group, W_g [OCg, Kg] in
 * 8-column panels. The deconvnet packs each layer once and reuses it for every projection.
 */
export function conv2dPackWeights(C: i32, OC: i32, KH: i32, KW: i32, groups: i32, w: usize, dst: usize): void {
  const OCg = OC / groups, K = (C / groups) * KH * KW;
  const K8 = ((K + 7) >> 3) << 3;
  for (let g = 0; g < groups; g++) {
    packRows(OCg, K, w + ((<usize>(g * OCg) * <usize>K) << 2), K, dst + ((<usize>(g * OCg) * <usize>K8) << 2));
  }
}

/**
 * The adjoint of conv2d without bias: dx[n] = sum_oc w[oc]^T (*) dy[n, oc], with the forward
 * call's geometry (x is [N, C, H, W], dy is [N, OC, OH, OW]). dx is overwritten, and has
 * exactly the forward input's size: rows/columns no window reached stay zero (this is the
 * "output padding" of a transposed convolution). Packs the weights into scratch first.
 */
export function conv2dTranspose(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32,
                                SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, groups: i32,
                                dy: usize, w: usize, dx: usize, scratch: usize): void {
  conv2dPackWeights(C, OC, KH, KW, groups, w, scratch);
  const packed = <usize>conv2dPackedWeightFloats(C, OC, KH, KW, groups);
  conv2dTransposePacked(N, C, H, W, OC, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, groups, dy, scratch, dx,
                        scratch + (packed << 2));
}

/**
 * conv2dTranspose with weights packed by conv2dPackWeights. Per image and group it computes
 * cols^T[P, Kg] = dy_g^T [P, OCg] x W_g [OCg, Kg] (so the large weight operand is the packed,
 * reusable one and only dy is repacked) and scatters it back with col2im.
 * scratch: conv2dTransposeScratchFloats(...) floats.
 */
export function conv2dTransposePacked(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32,
                                      SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, groups: i32,
                                      dy: usize, wPacked: usize, dx: usize, scratch: usize): void {
  const Cg = C / groups, OCg = OC / groups;
  const K = Cg * KH * KW, P = OH * OW;
  const K8 = ((K + 7) >> 3) << 3;
  const cols = scratch;
  const gemmScratch = scratch + ((<usize>(((P * K + 3) >> 2) << 2)) << 2);
  fill(dx, 0, N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const dyg = dy + ((<usize>(n * OC + g * OCg) * <usize>P) << 2);
      const dxg = dx + ((<usize>(n * C + g * Cg) * <usize>H * <usize>W) << 2);
      fill(cols, 0, P * K);
      // A(m = p, k = oc) = dy_g[oc*P + p]: sAm = 1, sAk = P.
      gemmPacked(P, K, OCg, dyg, 1, P, wPacked + ((<usize>(g * OCg) * <usize>K8) << 2), cols, K, gemmScratch, true);
      col2imT(cols, H, W, Cg, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, dxg);
    }
  }
}

/** Scratch floats of conv2dTransposePacked (f64: see conv2dScratchFloats). */
export function conv2dTransposeScratchFloats(C: i32, OC: i32, KH: i32, KW: i32, OH: i32, OW: i32, groups: i32): f64 {
  const K = <f64>(C / groups) * <f64>KH * <f64>KW;
  const P = <f64>OH * <f64>OW;
  return Math.ceil(P * K / 4) * 4 + gemmScratchFloats(P, <f64>(OC / groups));
}

/** Scatter-add cols^T[P, K] back onto the image: the adjoint of im2col, one output position at a time. */
function col2imT(cols: usize, H: i32, W: i32, Cg: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                 PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, dx: usize): void {
  const dwBytes = <usize>DW << 2;
  let row = cols;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      // x0 + kx*DW in [0, W)  <=>  kx in [kxa, kxb)
      const x0 = ox * SW - PL;
      let kxa = max(0, -x0), kxb = min(KW, W - x0);
      if (DW != 1) {
        kxa = x0 >= 0 ? 0 : (DW - 1 - x0) / DW;
        kxb = W - x0 <= 0 ? 0 : min(KW, (W - x0 + DW - 1) / DW);
      }
      for (let c = 0; c < Cg; c++) {
        const plane = dx + ((<usize>c * <usize>H * <usize>W) << 2);
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * SH - PT + ky * DH;
          if (<u32>iy < <u32>H) {
            let p = plane + ((<usize>iy * <usize>W + <usize>x0) << 2) + <usize>kxa * dwBytes;
            for (let kx = kxa; kx < kxb; kx++) {
              store<f32>(p, load<f32>(p) + load<f32>(row + (<usize>kx << 2)));
              p += dwBytes;
            }
          }
          row += <usize>KW << 2;
        }
      }
    }
  }
}

/**
 * The filter and bias gradients of conv2d: dw[oc] += sum_n,p dy[n, oc, p] * im2col(x[n])[., p],
 * db[oc] += sum_n,p dy[n, oc, p] (db = 0: no bias). Accumulates: callers zero dw/db once per
 * batch. Per image and group: dW_g [OCg, Kg] += dy_g [OCg, P] x col^T [P, Kg], with col^T
 * packed straight from x (im2colTPacked). scratch: conv2dFilterGradScratchFloats(...) floats.
 */
export function conv2dFilterGrad(N: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                                 PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, groups: i32,
                                 x: usize, dy: usize, dw: usize, db: usize, scratch: usize): void {
  const Cg = C / groups, OCg = OC / groups;
  const K = Cg * KH * KW, P = OH * OW;
  const K8 = ((K + 7) >> 3) << 3;
  const gemmScratch = scratch + ((<usize>K8 * <usize>P) << 2);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const xg = x + ((<usize>(n * C + g * Cg) * <usize>H * <usize>W) << 2);
      const dyg = dy + ((<usize>(n * OC + g * OCg) * <usize>P) << 2);
      im2colTPacked(xg, H, W, Cg, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, scratch);
      gemmPacked(OCg, K, P, dyg, P, 1, scratch, dw + ((<usize>(g * OCg) * <usize>K) << 2), K, gemmScratch, false);
      if (db) {
        for (let oc = 0; oc < OCg; oc++) {
          const row = dyg + ((<usize>oc * <usize>P) << 2);
          let s: f32 = 0;
          for (let p = 0; p < P; p++) s += load<f32>(row + (<usize>p << 2));
          const at = db + (<usize>(g * OCg + oc) << 2);
          store<f32>(at, load<f32>(at) + s);
        }
      }
    }
  }
}

/** Scratch floats of conv2dFilterGrad (f64: see conv2dScratchFloats). */
export function conv2dFilterGradScratchFloats(C: i32, OC: i32, KH: i32, KW: i32, OH: i32, OW: i32, groups: i32): f64 {
  const K8 = Math.ceil(<f64>(C / groups) * <f64>KH * <f64>KW / 8) * 8;
  const P = <f64>OH * <f64>OW;
  return K8 * P + gemmScratchFloats(<f64>(OC / groups), P);
}

/**
 * im2col transposed, straight into gemm panels over k: panel j holds k = 8j..8j+7 (k = (c, ky,
 * kx)), its row p = oy*OW + ox the 8 values x[c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW] (0 outside
 * the image, and 0 in the lanes past K).
 */
function im2colTPacked(x: usize, H: i32, W: i32, Cg: i32, KH: i32, KW: i32, SH: i32, SW: i32,
                       PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, dst: usize): void {
  const K = Cg * KH * KW, P = OH * OW;
  const K8 = ((K + 7) >> 3) << 3;
  if (K8 != K) fill(dst + ((<usize>(K8 - 8) * <usize>P) << 2), 0, 8 * P);
  let k = 0;
  for (let c = 0; c < Cg; c++) {
    const plane = x + ((<usize>c * <usize>H * <usize>W) << 2);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        let out = dst + ((<usize>(k >> 3) * <usize>P) << 5) + (<usize>(k & 7) << 2);
        const by = ky * DH - PT, bx = kx * DW - PL;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * SH + by;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * SW + bx;
            store<f32>(out, <u32>iy < <u32>H && <u32>ix < <u32>W
              ? load<f32>(plane + ((<usize>iy * <usize>W + <usize>ix) << 2)) : 0);
            out += 32;
          }
        }
        k++;
      }
    }
  }
}
