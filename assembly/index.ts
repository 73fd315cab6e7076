/** The module's exports: every kernel, built as assembly/simd.wasm and assembly/scalar.wasm. */
export {
  conv2d, conv2dTranspose, conv2dTransposePacked, conv2dPackWeights, conv2dScratchFloats,
  conv2dPackedWeightFloats, conv2dTransposeScratchFloats, conv2dFilterGrad, conv2dFilterGradScratchFloats,
} from './conv2d';
export { gemmPacked, gemmScratchFloats, packRows } from './gemm';
export { maxpool, unpool, unpoolWindow } from './maxpool';
export { avgpool, avgpoolBackward } from './avgpool';
export { relu, reluBackward, reluGuided } from './relu';
export { lrn, lrnBackward } from './lrn';
export { dense, denseTranspose, denseWeightGrad } from './dense';
export { softmax } from './softmax';
export { fill, cropWindow, placeWindow, copy, accumulate } from './fill';
export { sgdMomentum, renormFilters, applyMask } from './sgd';
export { strided } from './strided';
export { binary, binaryBackward } from './binary';
export { unary, unaryBackward, clipGuided } from './pointwise';
export { channelAffine, channelAffineBackward } from './batchnorm';
export { softmaxAxis, softmaxAxisBackward } from './softmax';
export { depthwiseConv2d, depthwiseConv2dTranspose, depthwiseConv2dFilterGrad } from './depthwise';
