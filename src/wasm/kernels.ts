/**
 * The kernels' exported signatures (assembly/index.ts). Pointers are byte offsets into the
 * model's memory; every size is passed explicitly. See each assembly/ file for the contract.
 */
type Ptr = number;

export interface Kernels {
  conv2dScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number, groups: number): number;
  /** DH/DW (after PL in the conv2d* calls): dilations, >= 1; tap (ky, kx) reads x[oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]. */
  conv2d(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number, SW: number,
         PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, groups: number,
         x: Ptr, w: Ptr, bias: Ptr, y: Ptr, scratch: Ptr): void;
  conv2dTranspose(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number,
                  SW: number, PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, groups: number,
                  dy: Ptr, w: Ptr, dx: Ptr, scratch: Ptr): void;
  conv2dTransposePacked(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number,
                        SW: number, PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, groups: number,
                        dy: Ptr, wPacked: Ptr, dx: Ptr, scratch: Ptr): void;
  conv2dPackWeights(C: number, OC: number, KH: number, KW: number, groups: number, w: Ptr, dst: Ptr): void;
  conv2dPackedWeightFloats(C: number, OC: number, KH: number, KW: number, groups: number): number;
  conv2dTransposeScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number, groups: number): number;
  conv2dFilterGrad(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number, SW: number,
                   PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, groups: number,
                   x: Ptr, dy: Ptr, dw: Ptr, db: Ptr, scratch: Ptr): void;
  conv2dFilterGradScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number, groups: number): number;
  maxpool(planes: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
          PT: number, PL: number, OH: number, OW: number, x: Ptr, y: Ptr, switches: Ptr): void;
  unpoolWindow(planes: number, H: number, W: number, OH: number, OW: number, oy0: number, oy1: number, ox0: number,
               ox1: number, iy0: number, iy1: number, ix0: number, ix1: number, dy: Ptr, switches: Ptr, dx: Ptr): void;
  unpool(planes: number, H: number, W: number, OH: number, OW: number, dy: Ptr, switches: Ptr, dx: Ptr): void;
  avgpool(planes: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
          PT: number, PL: number, PB: number, PR: number, OH: number, OW: number, includePad: number,
          x: Ptr, y: Ptr): void;
  avgpoolBackward(planes: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
                  PT: number, PL: number, PB: number, PR: number, OH: number, OW: number, includePad: number,
                  dy: Ptr, dx: Ptr): void;
  relu(n: number, x: Ptr, y: Ptr): void;
  reluBackward(n: number, fwd: Ptr, dy: Ptr, dx: Ptr): void;
  reluGuided(n: number, fwd: Ptr, dy: Ptr, dx: Ptr): void;
  lrn(N: number, C: number, HW: number, size: number, alpha: number, beta: number, bias: number, x: Ptr, y: Ptr): void;
  lrnBackward(N: number, C: number, HW: number, size: number, alpha: number, beta: number, bias: number,
              x: Ptr, dy: Ptr, dx: Ptr, scratch: Ptr): void;
  dense(N: number, I: number, O: number, x: Ptr, w: Ptr, bias: Ptr, y: Ptr): void;
  denseTranspose(N: number, I: number, O: number, dy: Ptr, w: Ptr, dx: Ptr): void;
  denseWeightGrad(N: number, I: number, O: number, x: Ptr, dy: Ptr, dw: Ptr, db: Ptr): void;
  sgdMomentum(n: number, w: Ptr, g: Ptr, v: Ptr, lr: number, momentum: number, decay: number): void;
  renormFilters(filters: number, size: number, w: Ptr, radius: number): void;
  applyMask(n: number, x: Ptr, mask: Ptr, y: Ptr): void;
  softmax(N: number, classes: number, x: Ptr, y: Ptr): void;
  fill(p: Ptr, v: number, n: number): void;
  /** n floats from src to dst. */
  copy(n: number, src: Ptr, dst: Ptr): void;
  /** dst += src over n floats. */
  accumulate(n: number, src: Ptr, dst: Ptr): void;
  cropWindow(C: number, H: number, W: number, y0: number, x0: number, h: number, w: number, src: Ptr, dst: Ptr): void;
  placeWindow(C: number, H: number, W: number, y0: number, x0: number, h: number, w: number, src: Ptr, dst: Ptr): void;
  /** Strided move over 5 axes (assembly/strided.ts): for every index i < d, with a = src + 4*Σ ik*sk and
   *  b = dst + 4*Σ ik*tk, mode 0 dst[b] = src[a], 1 dst[b] += src[a], 2 dst[b] = max(dst[b], src[a]); element
   *  strides may be negative or 0 (a 0 dst stride reduces in modes 1/2); unused leading axes d = 1; src, dst disjoint. */
  strided(mode: number, d0: number, d1: number, d2: number, d3: number, d4: number,
          s0: number, s1: number, s2: number, s3: number, s4: number,
          t0: number, t1: number, t2: number, t3: number, t4: number, src: Ptr, dst: Ptr): void;
  /** Broadcasting y = op(a, b) over the 5-axis output d (assembly/binary.ts), y contiguous, operand element strides
   *  >= 0 (0 on broadcast axes); kind 0 add, 1 sub, 2 mul, 3 div, 4 prelu (a = x, b = slope); y may alias a
   *  non-broadcast operand. */
  binary(kind: number, d0: number, d1: number, d2: number, d3: number, d4: number,
         as0: number, as1: number, as2: number, as3: number, as4: number,
         bs0: number, bs1: number, bs2: number, bs3: number, bs4: number, a: Ptr, b: Ptr, y: Ptr): void;
  /** dout[Σ ik*osk] += dy[i] * ∂op/∂(operand `which`, 0 = a, 1 = b) for binary's kinds (accumulates: zero dout first;
   *  os the operand's strides, 0 on broadcast axes, which are summed); prelu d/dx = x > 0 ? 1 : slope. */
  binaryBackward(kind: number, which: number, d0: number, d1: number, d2: number, d3: number, d4: number,
                 as0: number, as1: number, as2: number, as3: number, as4: number,
                 bs0: number, bs1: number, bs2: number, bs3: number, bs4: number,
                 os0: number, os1: number, os2: number, os3: number, os4: number,
                 a: Ptr, b: Ptr, dy: Ptr, dout: Ptr): void;
  /** Pointwise activation y = f(x) over n floats (assembly/pointwise.ts); kind 0 sigmoid, 1 tanh, 2 elu(alpha),
   *  3 leakyrelu(alpha), 4 hardsigmoid(alpha, beta), 5 hardswish, 6 clip(lo = alpha, hi = beta), 7 affine alpha*x+beta. */
  unary(kind: number, n: number, alpha: number, beta: number, x: Ptr, y: Ptr): void;
  /** dx = dy * f'(x) for unary's kinds, x the forward input (PyTorch's values at the kinks); dx may be dy. */
  unaryBackward(kind: number, n: number, alpha: number, beta: number, x: Ptr, dy: Ptr, dx: Ptr): void;
  /** Guided backprop through a Clip: dx = dy where lo < x < hi and dy > 0, else 0 (x the forward input). */
  clipGuided(n: number, lo: number, hi: number, x: Ptr, dy: Ptr, dx: Ptr): void;
  /** y[n, c, i] = x[n, c, i] * scale[c] + shift[c] over [N, C, HW] (inference batch norm; shift 0 = none). */
  channelAffine(N: number, C: number, HW: number, scale: Ptr, shift: Ptr, x: Ptr, y: Ptr): void;
  /** dx[n, c, i] = dy[n, c, i] * scale[c]: channelAffine's gradient with respect to x. */
  channelAffineBackward(N: number, C: number, HW: number, scale: Ptr, dy: Ptr, dx: Ptr): void;
  /** Softmax along the middle axis of [outer, len, inner] (max-shifted; in place allowed). */
  softmaxAxis(outer: number, len: number, inner: number, x: Ptr, y: Ptr): void;
  /** dx = y * (dy - sum over the axis of dy * y), y softmaxAxis's output; dx may be dy. */
  softmaxAxisBackward(outer: number, len: number, inner: number, y: Ptr, dy: Ptr, dx: Ptr): void;
  /**
   * Depthwise convolution (assembly/depthwise.ts), ONNX Conv with group == C == M: weights [C, 1, KH, KW],
   * y [N, C, OH, OW] = bias[c] + sum w[c, ky, kx] * x[n, c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW] (zero
   * padding; bias 0 = none; OH/OW from the caller, with the dilated extent (K - 1)*D + 1). No scratch.
   */
  depthwiseConv2d(N: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
                  PT: number, PL: number, DH: number, DW: number, OH: number, OW: number,
                  x: Ptr, w: Ptr, bias: Ptr, y: Ptr): void;
  /** The adjoint of depthwiseConv2d (no bias) with the forward's geometry: overwrites all of dx [N, C, H, W]. */
  depthwiseConv2dTranspose(N: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
                           PT: number, PL: number, DH: number, DW: number, OH: number, OW: number,
                           dy: Ptr, w: Ptr, dx: Ptr): void;
  /** ACCUMULATES the filter gradient onto dw [C, 1, KH, KW] and the bias gradient onto db [C] (db 0 = none). */
  depthwiseConv2dFilterGrad(N: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
                            PT: number, PL: number, DH: number, DW: number, OH: number, OW: number,
                            x: Ptr, dy: Ptr, dw: Ptr, db: Ptr): void;
}
