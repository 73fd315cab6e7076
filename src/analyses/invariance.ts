/**
 * Invariance (paper, Fig. 5): transform one image by increasing amounts (vertical translation,
 * scale, rotation) and measure, at each amount, the Euclidean distance between the feature
 * vectors of the original and the transformed image at a low and a high layer (layer 1 and the
 * last hidden fc layer by default, both at their ReLU point, flattened), and the probability of
 * the true (or chosen) class. Transformed images go through the network in batches.
 *
 * Also the feature-vector helpers the other analyses share (layer specs, image lists, batched
 * forward passes with progress and cancellation).
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Run } from '../engine/run.js';
import type { Tensor } from '../engine/tensor.js';
import type { Pixels } from '../io/preprocess.js';
import { defaultPoint, POINTS, type NamedLayer, type Point } from '../graph/names.js';
import { inferShapes, opInputs, size } from '../graph/shapes.js';
import type { Network, Op, Shape } from '../graph/layers.js';
import { opDef } from '../engine/ops/index.js';
import { AMOUNT_UNITS, TRANSFORM_KINDS, checkTransform, isIdentity, transformTensor,
  type TransformKind } from './transform.js';
import { lineChart, svgGrid, type Series } from './svg.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers: layers, images, batches.

/** A layer and the point on it (default: its ReLU output, the paper's feature map). */
export interface LayerPoint { layer: string; point?: Point | string }

export interface ResolvedLayer {
  layer: string;
  point: Point;
  /** The op whose output this is. */
  op: number;
  /** Values per image (the flattened feature vector's length). */
  size: number;
  /** Shape per image. */
  shape: number[];
}

/** 'conv5' or 'conv5:pool' -> { layer, point }. */
export function parseLayerPoint(spec: string | LayerPoint): LayerPoint {
  if (typeof spec !== 'string') return spec;
  const at = spec.lastIndexOf(':');
  if (at > 0 && (POINTS as readonly string[]).includes(spec.slice(at + 1))) {
    return { layer: spec.slice(0, at), point: spec.slice(at + 1) };
  }
  return { layer: spec };
}

/** 'conv5 relu'; a graph tensor by its name alone (its point, `tensor`, says nothing). */
export function layerLabel(l: { layer: string; point?: string }): string {
  return l.point && l.point !== 'tensor' ? `${l.layer} ${l.point}` : l.layer;
}

export function resolveLayers(model: Model, specs: readonly (string | LayerPoint)[]): ResolvedLayer[] {
  if (!Array.isArray(specs) || specs.length === 0) throw new ArgumentError('give at least one layer');
  return specs.map((s) => {
    const { layer, point } = parseLayerPoint(s);
    const r = model.resolve(layer, point);
    // Any tensor of a graph, the network input (op -1) included.
    const shape = model.tensorShape(r.op);
    return { layer: r.layer.name, point: r.point, op: r.op, size: size(shape), shape: [...shape] };
  });
}

/**
 * What the default layers are chosen from: a model, or (the CLI, before any weights are read) a
 * network's short-named layers with the network itself. Imported graphs (`network.tensors`) have
 * rules of their own; built-in networks the paper's.
 */
export interface LayerSource {
  layers: readonly NamedLayer[];
  network?: Network;
  /** Output shape of every op for one image (inferred from `network` when absent). */
  shapes?: readonly Shape[];
}

/** The ops whose output is a conv block's output in a graph: a nonlinearity, or a merge of branches. */
function isBlockOutput(op: Op): boolean {
  if (op.kind === 'relu' || op.kind === 'concat' || op.kind === 'binary') return true;
  return op.kind === 'pointwise' && op.fn !== 'affine';
}

/** How a default names tensor `op`: the layer's short name where it is that layer's default point, else a tensor name. */
function nameOfTensor(source: LayerSource, op: number): string | undefined {
  const layer = source.layers.find((l) => l.points[defaultPoint(l)] === op);
  if (layer) return layer.name;
  for (const [name, t] of source.network?.tensors ?? []) if (t === op) return name;
  return undefined;
}

function shapesOf(source: LayerSource): readonly Shape[] {
  return source.shapes ?? inferShapes(source.network!);
}

/**
 * The paper's layer 5 in an imported graph: the last conv block's output, i.e. the last tensor
 * (in topological order) of shape [C, H, W] with H x W > 1 made by a nonlinearity (Relu, Clip,
 * HardSwish...) or a merge of branches (Add, Mul, Concat): ResNet's last block's final ReLU,
 * GoogLeNet's last Inception concat, MobileNet's last ReLU6, AlexNet's conv5 ReLU. Not a pool
 * after it, nor a conv inside a block (a conv that feeds a residual Add is only half a block).
 */
function graphFeatureLayer(source: LayerSource): string | undefined {
  const { ops } = source.network!;
  const shapes = shapesOf(source);
  for (let i = ops.length - 1; i >= 0; i--) {
    const s = shapes[i];
    if (s.length === 3 && s[1] * s[2] > 1 && isBlockOutput(ops[i])) {
      const name = nameOfTensor(source, i);
      if (name !== undefined) return name;
    }
  }
  return undefined;
}

/**
 * The features the classifier reads in an imported graph whose head is a single layer: the
 * input of the last conv or dense layer, through views (Flatten, Dropout, Reshape): ResNet's,
 * GoogLeNet's and MobileNet's global-pool output, SqueezeNet's last Fire concat.
 */
function classifierInput(source: LayerSource): string | undefined {
  const net = source.network!;
  const last = source.layers[source.layers.length - 1];
  if (!last) return undefined;
  let t = opInputs(net, last.op)[0];
  while (t >= 0 && opDef(net.ops[t]).alias && opInputs(net, t).length === 1) {
    const before = opInputs(net, t)[0];
    if (before < 0) break;
    t = before;
  }
  return t >= 0 ? nameOfTensor(source, t) : undefined;
}

/**
 * The last hidden layer (fc7 in ZFNet and AlexNet): the dense layer before the classifier. An
 * imported graph whose classifier is its only dense layer (ResNet, GoogLeNet, MobileNet...): the
 * features the classifier reads (the global pool's output). Otherwise the last conv layer.
 */
export function lastHiddenLayer(model: LayerSource): string {
  const dense = model.layers.filter((l) => l.kind === 'dense');
  if (dense.length >= 2) return dense[dense.length - 2].name;
  if (model.network?.tensors) {
    const input = classifierInput(model);
    if (input !== undefined) return input;
  }
  return lastConvLayer(model);
}

/**
 * The paper's layer 5: the last conv layer; in an imported graph, the last conv block's output
 * (see graphFeatureLayer: a tensor name unless it is a layer's feature map).
 */
export function lastConvLayer(model: LayerSource): string {
  if (model.network?.tensors) {
    const block = graphFeatureLayer(model);
    if (block !== undefined) return block;
  }
  const convs = model.layers.filter((l) => l.kind === 'conv');
  return (convs.length > 0 ? convs[convs.length - 1] : model.layers[0]).name;
}

/** Fig. 5's pair: the first layer and the last hidden layer, each at its default point. */
export function lowAndHighLayers(model: LayerSource): LayerPoint[] {
  return [{ layer: model.layers[0].name }, { layer: lastHiddenLayer(model) }];
}

/** Layers with the same op (a default chosen twice, say) once, the first kept. */
export function distinctLayers(layers: readonly ResolvedLayer[]): ResolvedLayer[] {
  return layers.filter((l, i) => layers.findIndex((m) => m.op === l.op) === i);
}

function isPixels(x: unknown): x is Pixels {
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x && !('shape' in x);
}

/** What the analyses take as images: a tensor [N, C, H, W], or a list of tensors and/or RGBA pixels. */
export type ImageSet = Tensor | Pixels | readonly (Tensor | Pixels)[];

/**
 * One Float32Array per image, each the network's input for that image (pixels are preprocessed
 * by the model's preset). Tensors are checked against the network's input shape.
 */
export function imagesOf(model: Model, images: ImageSet): Float32Array[] {
  const list = Array.isArray(images) ? images : [images as Tensor | Pixels];
  const want = model.network.input;
  const per = size(want);
  const out: Float32Array[] = [];
  list.forEach((img, i) => {
    const t = isPixels(img) ? model.preprocess(img) : img as Tensor;
    if (!t || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      throw new ArgumentError(`image ${i} is neither a tensor { shape, data } nor RGBA pixels { width, height, data }`);
    }
    const s = t.shape.length === 3 ? [1, ...t.shape] : t.shape;
    if (s.length !== 4 || s[1] !== want[0] || s[2] !== want[1] || s[3] !== want[2] || t.data.length !== size(s)) {
      throw new ArgumentError(`image ${i} has shape [${t.shape.join(', ')}] but ${model.network.name} takes ` +
        `[N, ${want.join(', ')}]`);
    }
    for (let n = 0; n < s[0]; n++) out.push(t.data.subarray(n * per, (n + 1) * per));
  });
  if (out.length === 0) throw new ArgumentError('no images given');
  return out;
}

/** Stack images into one batch tensor [N, C, H, W]. */
export function stack(model: Model, images: readonly Float32Array[]): Tensor {
  const per = size(model.network.input);
  const data = new Float32Array(images.length * per);
  images.forEach((img, i) => data.set(img, i * per));
  return { shape: [images.length, ...model.network.input], data };
}

export function checkBatch(batch: number | undefined, fallback = 8): number {
  const b = batch ?? fallback;
  if (!Number.isInteger(b) || b < 1) throw new ArgumentError(`batch must be a positive integer, got ${batch}`);
  return b;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} cancelled`);
}

/** Let the event loop run (a cancel message, a progress repaint) between batches. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Each image's flattened feature vector at `layer` from a batch run: copies, [image][values]. */
export function featuresOf(run: Run, layer: ResolvedLayer): Float32Array[] {
  const all = run.opOutput(layer.op).data;
  return Array.from({ length: run.batch }, (_, i) => all.slice(i * layer.size, (i + 1) * layer.size));
}

/** Euclidean distance between two vectors, accumulated in double precision. */
export function euclidean(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new ArgumentError(`vectors of ${a.length} and ${b.length} values cannot be compared`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

// ---------------------------------------------------------------------------------------------
// Invariance.

export interface InvarianceOptions {
  /** Which sweeps (default all three). */
  kinds?: readonly TransformKind[];
  /** Amounts per kind (default: `defaultAmounts`). */
  amounts?: Partial<Record<TransformKind, readonly number[]>>;
  /** Layers to compare at (default: the first layer and the last hidden fc layer). */
  layers?: readonly (string | LayerPoint)[];
  /** The class whose probability is tracked (default: the most probable on the original). */
  classIndex?: number;
  /** Which image of a batch tensor (default 0). */
  image?: number;
  /** Value outside the transformed image, in tensor units (default 0: the preset's mean). */
  fill?: number;
  /** Images per forward pass (default 8). */
  batch?: number;
  /** A name for the image, used as the series label in charts. */
  name?: string;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface InvarianceSweep {
  kind: TransformKind;
  /** What an amount means (axis label). */
  unit: string;
  amounts: number[];
  /** [layer][amount]: distance between the original's and the transformed image's features. */
  distances: number[][];
  /** The tracked class's probability at each amount. */
  probability: number[];
  /** The most probable class at each amount. */
  top: number[];
}

export interface InvarianceResult {
  model: string;
  name?: string;
  classIndex: number;
  label: string;
  /** The compared layers, in the order of `distances`. */
  layers: { layer: string; point: Point; size: number }[];
  /** The tracked class's probability on the original image. */
  probability: number;
  sweeps: InvarianceSweep[];
}

/**
 * The paper's ranges, scaled to the input: vertical translation -60..60 px of a 224 input in 13
 * steps (-6..6 px at 28), scale 1 to 1.8 in steps of 0.1, rotation 0 to 350 degrees in steps of 10.
 */
export function defaultAmounts(kind: TransformKind, input: readonly number[]): number[] {
  if (kind === 'translate') {
    const step = Math.max(1, Math.round((input[1] * 60) / 224 / 6));
    return Array.from({ length: 13 }, (_, i) => (i - 6) * step);
  }
  if (kind === 'scale') return Array.from({ length: 9 }, (_, i) => Number((1 + i / 10).toFixed(1)));
  return Array.from({ length: 36 }, (_, i) => i * 10);
}

/**
 * Sweep transformations of one image. An identity amount (0 px, factor 1, 0 degrees) is the
 * original image itself and reuses its features, so its distance is exactly 0; every other
 * amount is a forward pass of the transformed image, batched. The model must not be used by
 * anything else until the promise settles.
 */
export async function invariance(model: Model, image: ImageSet, options: InvarianceOptions = {}): Promise<InvarianceResult> {
  return model.exclusive('invariance analysis', (held) => invarianceHeld(held, image, options));
}

async function invarianceHeld(model: Model, image: ImageSet, options: InvarianceOptions = {}): Promise<InvarianceResult> {
  const images = imagesOf(model, image);
  const which = options.image ?? 0;
  if (!Number.isInteger(which) || which < 0 || which >= images.length) {
    throw new ArgumentError(`image ${which} is out of range: ${images.length} image(s) given`);
  }
  const original = images[which];
  const kinds = options.kinds ?? TRANSFORM_KINDS;
  for (const k of kinds) {
    if (!TRANSFORM_KINDS.includes(k)) throw new ArgumentError(`transform kind '${k}' is not one of ${TRANSFORM_KINDS.join(', ')}`);
  }
  const amounts = kinds.map((kind) => {
    const list = [...(options.amounts?.[kind] ?? defaultAmounts(kind, model.network.input))];
    if (list.length === 0) throw new ArgumentError(`no ${kind} amounts given`);
    list.forEach((amount) => checkTransform({ kind, amount }));
    return list;
  });
  const layers = options.layers ? resolveLayers(model, options.layers) : distinctLayers(resolveLayers(model, lowAndHighLayers(model)));
  const batch = checkBatch(options.batch);
  const fill = options.fill ?? 0;
  const what = 'the invariance sweep';
  throwIfAborted(options.signal, what);

  const inputShape = [1, ...model.network.input];
  const first = model.forwardSync({ shape: inputShape, data: original.slice() });
  const base = layers.map((l) => featuresOf(first, l)[0]);
  const baseProbabilities = first.probabilities(0);
  const classes = baseProbabilities.length;
  const classIndex = options.classIndex ?? argmax(baseProbabilities);
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new ArgumentError(`class ${classIndex} is out of range: ${model.network.name} has ${classes} classes (0-${classes - 1})`);
  }

  const sweeps: InvarianceSweep[] = kinds.map((kind, k) => ({
    kind, unit: AMOUNT_UNITS[kind], amounts: amounts[k],
    distances: layers.map(() => new Array<number>(amounts[k].length).fill(0)),
    probability: new Array<number>(amounts[k].length).fill(0),
    top: new Array<number>(amounts[k].length).fill(0),
  }));
  const jobs: { sweep: number; index: number }[] = [];
  sweeps.forEach((s, k) => s.amounts.forEach((amount, index) => {
    if (isIdentity({ kind: s.kind, amount })) {
      s.probability[index] = baseProbabilities[classIndex];
      s.top[index] = argmax(baseProbabilities);
    } else {
      jobs.push({ sweep: k, index });
    }
  }));

  options.onProgress?.(0);
  for (let start = 0; start < jobs.length; start += batch) {
    await yieldToEventLoop();
    throwIfAborted(options.signal, what);
    const chunk = jobs.slice(start, start + batch);
    const inputs = chunk.map(({ sweep, index }) => transformTensor({ shape: inputShape, data: original },
      { kind: sweeps[sweep].kind, amount: sweeps[sweep].amounts[index] }, { fill }).data);
    const run = model.forwardSync(stack(model, inputs));
    const feats = layers.map((l) => featuresOf(run, l));
    chunk.forEach(({ sweep, index }, i) => {
      const s = sweeps[sweep];
      layers.forEach((_, l) => { s.distances[l][index] = euclidean(base[l], feats[l][i]); });
      const p = run.probabilities(i);
      s.probability[index] = p[classIndex];
      s.top[index] = argmax(p);
    });
    options.onProgress?.(Math.min(jobs.length, start + batch) / jobs.length);
  }
  if (jobs.length === 0) options.onProgress?.(1);
  return {
    model: model.network.name, name: options.name, classIndex,
    label: model.network.labels?.[classIndex] ?? `class ${classIndex}`,
    layers: layers.map((l) => ({ layer: l.layer, point: l.point, size: l.size })),
    probability: baseProbabilities[classIndex], sweeps,
  };
}

function isResultList(r: InvarianceResult | readonly InvarianceResult[]): r is readonly InvarianceResult[] {
  return Array.isArray(r);
}

export interface InvarianceCharts {
  /** One SVG per sweep kind: a column of panels (each layer's distance, then the probability). */
  byKind: Partial<Record<TransformKind, string>>;
  /** Every panel in one SVG, laid out as the paper's Fig. 5: a column per kind, a row per measure. */
  all: string;
}

/**
 * The curves as SVG line charts. Several results (e.g. one per image, with the same layers and
 * kinds) become several lines per panel, labelled by their `name`.
 */
export function invarianceCharts(results: InvarianceResult | readonly InvarianceResult[],
                                 options: { width?: number; height?: number } = {}): InvarianceCharts {
  const list: readonly InvarianceResult[] = isResultList(results) ? results : [results];
  if (list.length === 0) throw new ArgumentError('no invariance results to chart');
  const first = list[0];
  const size = { width: options.width ?? 300, height: options.height ?? 200 };
  const kinds = first.sweeps.map((s) => s.kind);
  const label = (r: InvarianceResult, i: number) => r.name ?? (list.length > 1 ? `image ${i + 1}` : r.label);
  const panels = (kind: TransformKind): string[] => {
    const sweepsOf = list.map((r) => r.sweeps.find((s) => s.kind === kind));
    const unit = AMOUNT_UNITS[kind];
    const rows = first.layers.map((l, li) => lineChart({
      ...size, title: `${layerLabel(l)}: distance to the original`, xLabel: unit, yLabel: 'Euclidean distance',
      series: sweepsOf.flatMap((s, i): Series[] => (s ? [{ label: label(list[i], i), x: s.amounts, y: s.distances[li] ?? [] }] : [])),
    }));
    rows.push(lineChart({
      ...size, title: list.length > 1 ? 'P(true class)' : `P(${first.label})`, xLabel: unit, yLabel: 'probability',
      yMin: 0, yMax: 1,
      series: sweepsOf.flatMap((s, i): Series[] => (s ? [{ label: label(list[i], i), x: s.amounts, y: s.probability }] : [])),
    }));
    return rows;
  };
  const columns = kinds.map(panels);
  const byKind: Partial<Record<TransformKind, string>> = {};
  kinds.forEach((k, i) => { byKind[k] = svgGrid(columns[i], { columns: 1 }); });
  const rowMajor: string[] = [];
  for (let r = 0; r < columns[0].length; r++) for (const col of columns) rowMajor.push(col[r]);
  return { byKind, all: svgGrid(rowMajor, { columns: kinds.length }) };
}

