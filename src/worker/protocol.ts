/**
 * The engine's message protocol between a page and its Web Worker (src/worker/worker.ts).
 *
 * Every request carries an `id` and gets exactly one reply with that id: a result or an error.
 * Progress notes (`progress`) may come before the reply; they are not replies. Large arrays are
 * transferred, never copied: pixels going in, pictures and activations coming out.
 * A `cancel` request aborts the request it names: that request then replies with an error named
 * `AbortError` (unless it had already replied), and the cancel itself replies `{ cancelled }`.
 *
 * Pictures are RGBA 8-bit row-major (`RgbaImage`, ImageData's layout), ready to paint.
 */
import type { Backend } from '../wasm/load.js';
import type { Preprocess } from '../graph/layers.js';
import type { Point } from '../graph/names.js';
import type { OpKind } from '../graph/layers.js';
import type { Box } from '../graph/shapes.js';
import type { ClassScore } from '../engine/run.js';
import type { ProjectionMode } from '../deconv/walk.js';
import type { RgbaImage } from '../deconv/render.js';
import type { Pixels } from '../io/preprocess.js';
import type { OcclusionBaseline } from '../analyses/occlusion.js';
import type { InvarianceCharts, InvarianceResult } from '../analyses/invariance.js';
import type { TransformKind } from '../analyses/transform.js';
import type { HandlerRequest, HandlerResultOf } from './handlers/index.js';

/** An image for the network: a file or blob, an absolute URL the worker fetches, or pixels. */
export type ImageSource = Blob | string | Pixels;

export interface LayerInfo {
  /** conv1..convN, fc{N+1}.. */
  name: string;
  kind: 'conv' | 'dense';
  /** The points this layer has (conv, relu, pool, norm). */
  points: Point[];
  /** The paper's feature map: relu where there is one. */
  defaultPoint: Point;
  /** Output shape at the default point, one image: [C, H, W] or [units]. */
  shape: number[];
}

/**
 * One named tensor of an imported graph (worker/tensors.ts): any of them is a layer for `maps`,
 * `project` and `gradcam` (by `name`, with no point).
 */
export interface TensorInfo {
  /** The graph's own name, e.g. `/layer4/layer4.1/relu_1/Relu_output_0`. */
  name: string;
  /** Its shape for one image: [C, H, W], [units], ... */
  shape: number[];
  /** The kind of op that computes it (`conv`, `relu`, `binary`, `concat`...), `input` for the network input. */
  kind: OpKind | 'input';
  /** The op's function, for kinds that have several (`add`, `mul`; `sigmoid`, `clip`...). */
  fn?: string;
  /** The name's module path, up to its last '/' (`/layer3/layer3.1/relu_1/`); '' when it has none. */
  scope: string;
  /** When the tensor is a short-named layer's point: that layer (`conv12`) and point (`relu`). */
  layer?: string;
  point?: Point;
  /** The feature grid and a projection can start here: a [C, H, W] tensor, or a dense layer's [units]. */
  projectable: boolean;
}

export interface ModelInfo {
  /** What was asked for: a built-in name or a URL. */
  source: string;
  /** The network's own name. */
  name: string;
  backend: Backend;
  input: [number, number, number];
  preprocess: Preprocess;
  classes: number;
  /** One per class ('class N' where the model has none). */
  labels: string[];
  layers: LayerInfo[];
  /**
   * Imported graphs (ONNX): every named tensor, in topological order; absent for the built-in
   * models, whose layers are `layers`.
   */
  tensors?: TensorInfo[];
  /**
   * The layer a view starts on: the last conv layer's name for the built-in models; for imported
   * graphs, the last conv block's output (the last projectable [C, H, W] tensor with H * W > 1).
   */
  defaultLayer?: string;
  memoryBytes: number;
  /** Milliseconds the load took inside the worker. */
  ms: number;
}

export interface ImageResult {
  /** Increments with every image; maps and projections name the run they are for. */
  run: number;
  name: string;
  /** The decoded image's size. */
  width: number;
  height: number;
  top: ClassScore[];
  /** The network input as a picture (what the network sees after preprocessing). */
  input: RgbaImage;
  ms: number;
}

export interface MapsResult {
  run: number;
  /** The layer as it was asked for (a short name or a tensor name). */
  layer: string;
  point: Point;
  /** [C, H, W] of one image ([units, 1, 1] for a dense layer's output). */
  shape: [number, number, number];
  /** The largest activation of each map. */
  strengths: Float32Array;
  /** Map indices, strongest first (ties: lower index first). */
  order: number[];
  /**
   * Every map as a picture, in one PNG sprite sheet (map k at column k % columns, row
   * floor(k / columns), cells W x H with `gap` pixels between): one image for the page to show
   * in C places, rather than C canvases to paint on the main thread.
   */
  sheet: Blob;
  columns: number;
  gap: number;
  /** The value shown as full brightness (largest |activation| of the layer). */
  scale: number;
}

export interface ProjectedPatch {
  y: number;
  x: number;
  value: number;
  /** Receptive field in input pixels. */
  box: Box;
  /** The projection cropped to `box`, contrast-stretched on its own. */
  projection: RgbaImage;
  /** The input image cropped to `box`. */
  patch: RgbaImage;
  /** The same two pictures as PNG files, for pages to show as images (decoded off their thread). */
  projectionPng: Blob;
  patchPng: Blob;
}

export interface ProjectResult {
  run: number;
  /** The layer as it was asked for. */
  layer: string;
  point: Point;
  map: number;
  mode: ProjectionMode;
  /** The strongest activation's projection, the whole input. */
  full: RgbaImage;
  /** The strongest positions of the map, strongest first (at most `top`, only positive ones after the first). */
  units: ProjectedPatch[];
  ms: number;
}

/** Grad-CAM of the current image at one layer (deconv/gradcam.ts), and its pictures. */
export interface GradcamResultMessage {
  run: number;
  /** The layer as it was asked for, and the point it resolved to (`tensor` for a graph tensor). */
  layer: string;
  point: Point;
  /** The class explained (default: the top class), and its probability. */
  class: number;
  label: string;
  probability: number;
  /** [h, w] of the layer, and the cam there (>= 0), row-major. */
  shape: [number, number];
  data: Float32Array;
  /** alpha_k, one per map of the layer. */
  weights: Float32Array;
  /** The cam upsampled to the input and laid over the network's view of the image (the input's size). */
  overlay: RgbaImage;
  /** Guided Grad-CAM (guided backprop x the upsampled cam) as a picture, when asked for. */
  guided?: RgbaImage;
  ms: number;
}

export interface FiltersResult {
  layer: string;
  /** [filters, channels, kh, kw] */
  shape: number[];
  /** Every filter as a picture, kh x kw each, in a grid `columns` wide with 1 px gaps. */
  sheet: RgbaImage;
  columns: number;
}

/** One occlusion map, drawn as a heatmap over the network's input (paper, Fig. 7). */
export interface OcclusionPicture {
  which: 'probability' | 'activation' | 'top';
  /** What the map shows, e.g. "P(Ankle boot)". */
  title: string;
  /** The heatmap blended over the input, the input's size. */
  picture: RgbaImage;
  /** The range of the map's values (probability and activation maps). */
  min: number;
  max: number;
}

export interface OcclusionResultMessage {
  run: number;
  /** The occluder's side and step in input pixels; the positions' grid. */
  size: number;
  stride: number;
  rows: number;
  cols: number;
  classIndex: number;
  label: string;
  layer: string;
  point: Point;
  map: number;
  baseline: OcclusionBaseline;
  /** [rows, cols] row-major, as analyses/occlusion.ts's result. */
  probability: Float32Array;
  activation: Float32Array;
  top: Int32Array;
  topProbability: Float32Array;
  /** The three maps as heatmaps over the input: probability, activation, most probable class. */
  pictures: OcclusionPicture[];
  /** The classes of the most-probable-class map, most positions first, with their colours. */
  classes: { index: number; label: string; color: string; positions: number }[];
  /** Threads that computed positions: the engine's worker and the pool workers that returned results. */
  workers?: number;
  ms: number;
}

export interface InvarianceResultMessage {
  run: number;
  result: InvarianceResult;
  /** SVG charts (analyses/invariance.ts's invarianceCharts). */
  charts: InvarianceCharts;
  ms: number;
}

export interface LoadRequest {
  type: 'load';
  /** 'zfnet-mini', a built-in architecture name, an absolute URL of a model file, or the file. */
  source: string | Blob;
  seed?: number;
  /** Where the default model's files are (default: next to the engine's own script). */
  modelBaseUrl?: string;
  backend?: Backend;
}
export interface ImageRequest { type: 'image'; image: ImageSource; name?: string }
export interface MapsRequest { type: 'maps'; run: number; layer: string; point?: Point }
export interface ProjectRequest {
  type: 'project'; run: number; layer: string; point?: Point; map: number; mode: ProjectionMode;
  /** How many of the strongest positions to project, each alone (default 9). */
  top?: number;
}
export interface FiltersRequest { type: 'filters'; layer?: string }
/** Grad-CAM of the current image at a layer: a [K, h, w] layer or any such tensor of an imported graph. */
export interface GradcamRequest {
  type: 'gradcam'; run: number; layer: string; point?: Point;
  /** The class to explain (default: the image's top class). */
  class?: number;
  /** Also guided Grad-CAM (default false). */
  guided?: boolean;
  /** The heatmap's weight over the image where the cam is strongest, 0-1 (default 0.6). */
  opacity?: number;
}
/** Occlusion sensitivity of the current image (reports progress). */
export interface OcclusionRequest {
  type: 'occlusion'; run: number;
  /** Side of the occluding square and step between positions, in input pixels. */
  size: number; stride: number;
  /** Defaults as analyses/occlusion.ts: the top class, the strongest map of the last conv layer (a graph's last conv block output). */
  classIndex?: number; layer?: string; map?: number;
  fill?: 'zero' | 'mean';
  /**
   * Threads to compute on at most, the engine's worker included (1: that worker alone). Default
   * and cap: the worker's choice, up to 4 as cores and memory allow (worker pools need nested
   * workers; the CDN script's worker starts none).
   */
  workers?: number;
}
/** Translation / scale / rotation sweeps of the current image (reports progress). */
export interface InvarianceRequest {
  type: 'invariance'; run: number;
  /** Default: all three. */
  kinds?: TransformKind[];
  classIndex?: number;
}
export interface CancelRequest { type: 'cancel'; target: number }

/** Scan, correspondence, diagnosis and evolution: their requests and results are in handlers/. */
export type Request = LoadRequest | ImageRequest | MapsRequest | ProjectRequest | FiltersRequest | OcclusionRequest |
  InvarianceRequest | HandlerRequest | GradcamRequest | CancelRequest;
export type RequestType = Request['type'];

export interface ResultOf extends HandlerResultOf {
  load: ModelInfo;
  image: ImageResult;
  maps: MapsResult;
  project: ProjectResult;
  filters: FiltersResult;
  occlusion: OcclusionResultMessage;
  invariance: InvarianceResultMessage;
  gradcam: GradcamResultMessage;
  cancel: { cancelled: boolean };
}

export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

/** What crosses from page to worker. */
export type RequestMessage = Request & { id: number };

export interface ErrorInfo { name: string; message: string }

/** What crosses from worker to page. */
export type ResponseMessage =
  | { id: number; kind: 'result'; result: ResultOf[RequestType] }
  | { id: number; kind: 'error'; error: ErrorInfo }
  | { id: number; kind: 'progress'; fraction: number };

/** Every ArrayBuffer inside a value (typed arrays' buffers), once each: what to transfer. */
export function transferables(value: unknown, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    // Only a view that owns its whole buffer: a view into something larger (a model's
    // WebAssembly memory) must be copied, or the owner would lose its memory.
    if (value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) {
      out.add(value.buffer);
    }
  } else if (value instanceof ArrayBuffer) {
    out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object' && !(value instanceof Blob)) {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}
