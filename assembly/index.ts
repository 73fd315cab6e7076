/** The module's exports: every kernel, built as assembly/simd.wasm and assembly/scalar.wasm. */
export { conv2d, conv2dTranspose, conv2dScratchFloats } from './conv2d';
export { gemmPacked, gemmScratchFloats, packRows } from './gemm';
export { maxpool, unpool } from './maxpool';
export { avgpool, avgpoolBackward } from './avgpool';
export { relu, reluBackward, reluGuided } from './relu';
export { lrn, lrnBackward } from './lrn';
export { dense, denseTranspose } from './dense';
export { softmax } from './softmax';
export { fill } from './fill';
