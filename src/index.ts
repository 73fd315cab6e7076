/** zf-visualizer's engine: no DOM use, runs in pages, workers and Node. */
export * from './errors.js';
export type * from './graph/layers.js';
export { inferShapes, receptiveFields, receptiveBox, windowOut, size } from './graph/shapes.js';
export type { ReceptiveField, Box } from './graph/shapes.js';
export { namedLayers, POINTS } from './graph/names.js';
export type { NamedLayer, Point } from './graph/names.js';
export { Model } from './engine/model.js';
export type { ModelOptions, LayerWeights, ForwardOptions } from './engine/model.js';
export { Run } from './engine/run.js';
export type { ClassScore } from './engine/run.js';
export type { Tensor, SwitchTensor } from './engine/tensor.js';
export { ARCHITECTURES, zfnet, alexnetTorchvision, alexnetBvlc, caffenet } from './models/architectures.js';
export { loadModel } from './models/load.js';
export type { LoadOptions } from './models/load.js';
export { simdSupported } from './wasm/load.js';
export type { Backend } from './wasm/load.js';
