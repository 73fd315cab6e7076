/**
 * zf-visualizer's web components. Importing this module defines every element:
 * <zf-visualizer> and its parts, each usable on its own.
 */
export { ZfVisualizer, DEFAULT_MODEL } from './zf-visualizer/zf-visualizer.js';
export type { ZfErrorDetail, ZfSelectionDetail, ZfProjectionShownDetail } from './zf-visualizer/zf-visualizer.js';
export type { ZfGradcamShownDetail } from './zf-visualizer/zf-visualizer.js';
export { defaultSamples } from './zf-visualizer/samples.js';
export { ZfImageInput } from './image-input/zf-image-input.js';
export type { SampleImage, ImageSelection } from './image-input/zf-image-input.js';
export { ZfClassBars } from './class-bars/zf-class-bars.js';
export { ZfLayerPicker } from './layer-picker/zf-layer-picker.js';
export { ZfFeatureGrid } from './feature-grid/zf-feature-grid.js';
export { ZfProjectionView } from './projection-view/zf-projection-view.js';
export type { ViewMode } from './projection-view/zf-projection-view.js';
export { ZfFilterGrid } from './filter-grid/zf-filter-grid.js';
export { ZfOcclusionView } from './occlusion-view/zf-occlusion-view.js';
export { ZfInvarianceView } from './invariance-view/zf-invariance-view.js';
export { ZfScanView } from './scan-view/zf-scan-view.js';
export { ZfCorrespondenceView, correspondenceCsv } from './correspondence-view/zf-correspondence-view.js';
export { ZfDiagnosisView } from './diagnosis-view/zf-diagnosis-view.js';
export { ZfEvolutionView } from './evolution-view/zf-evolution-view.js';
export { ZfAnalysesPanel } from './analyses-panel/zf-analyses-panel.js';
export type { ZfAnalysisDoneDetail, ZfAnalysisBusyDetail, AnalysisEngine } from './analyses-panel/zf-analyses-panel.js';
export { AnalysisView } from './shared/analysis-view.js';
export type { AnalysisName, ZfAnalysisRunDetail, ZfAnalysisCancelDetail, ZfAnalysisPreviewsDetail } from './shared/analysis-view.js';
export { ZfExportButtons } from './export-buttons/zf-export-buttons.js';
export type { ExportItem, ZfExportDetail } from './export-buttons/zf-export-buttons.js';
export { EngineController, defaultWorker } from './shared/engine-controller.js';
export type { WorkerFactory } from './shared/engine-controller.js';
export { EngineClient, WorkerError } from '../src/worker/client.js';
export type * from '../src/worker/protocol.js';
