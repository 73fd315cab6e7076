/** zf-visualizer's engine: no DOM use, runs in pages, workers and Node. */
export * from './errors.js';
export type * from './graph/layers.js';
export { inferShapes, receptiveFields, receptiveBox, windowOut, size } from './graph/shapes.js';
export type { ReceptiveField, Box } from './graph/shapes.js';
export { namedLayers, POINTS } from './graph/names.js';
export type { NamedLayer, Point } from './graph/names.js';
export { Model, DEFAULT_BATCH_BYTES, MIN_BATCH_CAP } from './engine/model.js';
export type { ModelOptions, LayerWeights, ForwardOptions, TensorInfo } from './engine/model.js';
export { Run } from './engine/run.js';
export type { ClassScore } from './engine/run.js';
export type { Tensor, SwitchTensor } from './engine/tensor.js';
export { ARCHITECTURES, zfnet, alexnetTorchvision, alexnetBvlc, caffenet } from './models/architectures.js';
export { loadModel } from './models/load.js';
export type { LoadOptions, ModelSource } from './models/load.js';
export { clearModelCache, MODEL_CACHE } from './models/sources.js';
export { IMAGENET_LABELS } from './models/imagenet-labels.js';
export { readOnnx } from './onnx/read.js';
export type { OnnxImport, OnnxReadOptions } from './onnx/read.js';
export { simdSupported } from './wasm/load.js';
export type { Backend } from './wasm/load.js';
export { networkToOnnx } from './onnx/write.js';
export { parseNpy, encodeNpy } from './io/npy.js';
export { preprocessImage, PRESETS, PRESET_NAMES, checkImageSize } from './io/preprocess.js';
export type { Pixels, PresetSpec } from './io/preprocess.js';
export { MODES } from './deconv/walk.js';
export type { ProjectionMode } from './deconv/walk.js';
export type { ProjectOptions, Projection, ProjectedUnit } from './deconv/project.js';
export { parseKeep } from './deconv/keep.js';
export type { Keep } from './deconv/keep.js';
export { resolvePoint, resolveTensor } from './graph/names.js';
export { projectionToImage, inputToImage, tileImages, projectionSheet, DISPLAY_MODES } from './deconv/render.js';
export { upsampleBilinear } from './deconv/gradcam.js';
export type { GradCam, GradcamOptions } from './deconv/gradcam.js';
export { gradcamToImage } from './deconv/gradcam-render.js';
export type { GradcamImageOptions } from './deconv/gradcam-render.js';
export type { RgbaImage, DisplayMode, ProjectionImageOptions, TileOptions, SheetOptions } from './deconv/render.js';
export { occlusion, occlusionGrid, occluderBox, occluderBoxes, occlusionFill, occludeImage } from './analyses/occlusion.js';
export type { OcclusionOptions, OcclusionResult, OcclusionGrid, OcclusionFill, OcclusionBaseline } from './analyses/occlusion.js';
export { ModelPool, availableCores, POOL_WORKER_NAME, setDefaultSpawnWorker } from './analyses/pool.js';
export type { PoolOptions, JobOptions } from './analyses/pool.js';
export { startPoolWorker } from './analyses/pool-worker.js';
export type { PoolTasks, TaskName, WorkerPort } from './analyses/pool-worker.js';
export { scanDataset, projectScan, scanSheet, scanUnitImages, scanIndex } from './analyses/scan.js';
export type {
  ScanImage, ScanSource, ScanOptions, ScanProgress, ScanResult, ScanLayer, ScanMap, ScanUnit, ScanSheetOptions,
} from './analyses/scan.js';
export { occlusionImage, occlusionOverlay, jet, classColor, OCCLUSION_MAPS } from './analyses/occlusion-render.js';
export type { OcclusionMapName, OcclusionImageOptions } from './analyses/occlusion-render.js';
export { invariance, invarianceCharts, defaultAmounts, lowAndHighLayers, lastHiddenLayer, lastConvLayer } from './analyses/invariance.js';
export type { InvarianceOptions, InvarianceResult, InvarianceSweep, InvarianceCharts, LayerPoint, ImageSet } from './analyses/invariance.js';
export { transformTensor, transformPixels, transformPlane, enlargeNearest, TRANSFORM_KINDS, IDENTITY_AMOUNT, AMOUNT_UNITS } from './analyses/transform.js';
export type { Transform, TransformKind } from './analyses/transform.js';
export { lineChart, svgGrid, niceTicks } from './analyses/svg.js';
export type { Series, LineChartOptions } from './analyses/svg.js';
export { correspondence, correspondenceTable, consistency, signs, hamming, maskBox, randomBoxes, SIGN_OF_ZERO } from './analyses/correspondence.js';
export type { CorrespondenceOptions, CorrespondenceResult, CorrespondenceRow, ConsistencyScore, RandomScore, MaskFill } from './analyses/correspondence.js';
export {
  diagnoseArchitecture, filterStatistics, filterGrid, layer2Grid, sideBySide, diagnosisCharts, diagnosisSummary, dft2, BANDS, BAND_EDGES,
} from './analyses/diagnosis.js';
export type { ArchitectureDiagnosis, DiagnosisOptions, FilterStats, Band, BandValues } from './analyses/diagnosis.js';
export {
  featureEvolution, evolutionGrid, evolutionSummary, strongestActivations, projectActivations, parseFeature,
} from './analyses/evolution.js';
export type {
  FeatureRef, Snapshot, StrongestActivation, StrongestOptions, EvolutionOptions, EvolutionResult, EvolutionCell, EvolutionGridOptions,
} from './analyses/evolution.js';
