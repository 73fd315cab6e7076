/**
 * The kernels' exported signatures (assembly/index.ts). Pointers are byte offsets into the
 * model's memory; every size is passed explicitly. See each assembly/ file for the contract.
 */
type Ptr = number;

export interface Kernels {
  conv2dScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number, groups: number): number;
  conv2d(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number, SW: number,
         PT: number, PL: number, OH: number, OW: number, groups: number,
         x: Ptr, w: Ptr, bias: Ptr, y: Ptr, scratch: Ptr): void;
  conv2dTranspose(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number,
                  SW: number, PT: number, PL: number, OH: number, OW: number, groups: number,
                  dy: Ptr, w: Ptr, dx: Ptr, scratch: Ptr): void;
  conv2dTransposePacked(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number,
                        SW: number, PT: number, PL: number, OH: number, OW: number, groups: number,
                        dy: Ptr, wPacked: Ptr, dx: Ptr, scratch: Ptr): void;
  conv2dPackWeights(C: number, OC: number, KH: number, KW: number, groups: number, w: Ptr, dst: Ptr): void;
  conv2dPackedWeightFloats(C: number, OC: number, KH: number, KW: number, groups: number): number;
  conv2dTransposeScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number, groups: number): number;
  conv2dFilterGrad(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number, SH: number, SW: number,
                   PT: number, PL: number, OH: number, OW: number, groups: number,
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
  cropWindow(C: number, H: number, W: number, y0: number, x0: number, h: number, w: number, src: Ptr, dst: Ptr): void;
  placeWindow(C: number, H: number, W: number, y0: number, x0: number, h: number, w: number, src: Ptr, dst: Ptr): void;
}
