/**
 * Grad-CAM (Selvaraju et al. 2017) at any [K, h, w] tensor A, for a class c (default: the top
 * class): alpha_k = mean over h, w of d logit_c / d A_k, cam = relu(sum_k alpha_k A_k), at A's
 * resolution. The gradient is the true one (the projection walk in gradient mode, from the
 * logit, stopped at A). The logits are the network's output, or the softmax's input when it
 * ends in one. Guided Grad-CAM multiplies guided backpropagation of the same logit by the cam
 * upsampled to the input (bilinear).
 */
import { AbortError, ArgumentError } from '../errors.js';
import { opInputs, size, type Box } from '../graph/shapes.js';
import type { Point } from '../graph/names.js';
import type { Preprocess } from '../graph/layers.js';
import type { Run } from '../engine/run.js';
import { gradientAt } from './walk.js';

export interface GradcamOptions {
  /** A layer (`conv5`, a point with `point`) or any tensor name of an imported graph. */
  layer: string;
  point?: Point | string;
  /** The class whose logit is explained (default: the image's most probable). */
  class?: number;
  /** Which image of the run's batch (default 0). */
  image?: number;
  /** Also compute guided Grad-CAM (guided backprop x the upsampled cam), [C, H, W] of the input. */
  guided?: boolean;
  signal?: AbortSignal;
}

export interface GradCam {
  image: number;
  layer: string;
  point: Point;
  /** The class explained, and its probability. */
  class: number;
  label: string;
  probability: number;
  /** [h, w] of the layer, and the cam there (>= 0). */
  shape: [number, number];
  data: Float32Array;
  /** alpha_k per map of the layer. */
  weights: Float32Array;
  /** The input region the cam covers (the whole image), and the input's [H, W]. */
  box: Box;
  inputShape: number[];
  preprocess: Preprocess;
  /** Guided Grad-CAM, [C, H, W] like the input (when asked for). */
  guided?: Float32Array;
}

export function gradcam(run: Run, options: GradcamOptions): GradCam {
  const model = run.model;
  const image = options.image ?? 0;
  if (!Number.isInteger(image) || image < 0 || image >= run.batch) {
    throw new ArgumentError(`image ${image} is out of range: this run has ${run.batch} image(s)`);
  }
  const { layer, point, op: at } = model.resolve(options.layer, options.point);
  const shape = model.tensorShape(at);
  if (shape.length !== 3 && shape.length !== 1) {
    throw new ArgumentError(`Grad-CAM needs a [K, h, w] (or [K]) tensor; ${layer.name} is [${shape.join(', ')}]`);
  }
  const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
  const { ops } = model.network;
  const last = ops.length - 1;
  const logits = ops[last].kind === 'softmax' ? opInputs(model.network, last)[0] : last;
  const classes = size(model.tensorShape(logits));
  const probabilities = run.probabilities(image);
  const top = probabilities.reduce((best, p, i) => (p > probabilities[best] ? i : best), 0);
  const c = options.class ?? top;
  if (!Number.isInteger(c) || c < 0 || c >= classes) {
    throw new ArgumentError(`class ${options.class} is out of range: the model has ${classes} classes (0-${classes - 1})`);
  }
  if (at >= logits) throw new ArgumentError(`${layer.name} is not below the logits: Grad-CAM needs a layer the class score depends on`);
  if (options.signal?.aborted) throw new AbortError('Grad-CAM cancelled');
  const grad = gradientAt(model, image, logits, { at: [c], values: [1], span: null }, 'gradient', at);
  if (!grad) throw new ArgumentError(`the class score does not depend on ${layer.name}`);
  const activation = run.opOutput(at).data.subarray(image * size(shape), (image + 1) * size(shape));
  const weights = new Float32Array(maps);
  const plane = h * w;
  for (let k = 0; k < maps; k++) {
    let s = 0;
    for (let i = k * plane; i < (k + 1) * plane; i++) s += grad[i];
    weights[k] = s / plane;
  }
  const cam = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    let s = 0;
    for (let k = 0; k < maps; k++) s += weights[k] * activation[k * plane + i];
    cam[i] = Math.max(0, s);
  }
  const input = model.network.input;
  const result: GradCam = {
    image, layer: layer.name, point, class: c, label: model.network.labels?.[c] ?? `class ${c}`,
    probability: probabilities[c], shape: [h, w], data: cam, weights,
    box: { y0: 0, x0: 0, y1: input[1] ?? 1, x1: input[2] ?? 1 }, inputShape: [...input], preprocess: model.network.preprocess,
  };
  if (options.guided) {
    if (input.length !== 3) throw new ArgumentError('guided Grad-CAM needs an image input [C, H, W]');
    const g = gradientAt(model, image, logits, { at: [c], values: [1], span: null }, 'guided', -1) ?? new Float32Array(size(input));
    const up = upsampleBilinear(cam, h, w, input[1], input[2]);
    const [channels, hh, ww] = input;
    for (let ch = 0; ch < channels; ch++) for (let i = 0; i < hh * ww; i++) g[ch * hh * ww + i] *= up[i];
    result.guided = g;
  }
  return result;
}

/**
 * Bilinear resize of an [h, w] map to [H, W], pixel centres aligned (PyTorch's
 * interpolate(align_corners=False), OpenCV's resize): a coarse cam sits where its cells are.
 */
export function upsampleBilinear(map: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const sy = h / H, sx = w / W;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      const top = map[y0 * w + x0] * (1 - tx) + map[y0 * w + x1] * tx;
      const bottom = map[y1 * w + x0] * (1 - tx) + map[y1 * w + x1] * tx;
      out[y * W + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}
