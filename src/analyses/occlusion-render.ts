/**
 * Occlusion maps as pictures (paper, Fig. 7): heatmaps over the image. No DOM and no Node: every
 * function returns `{ width, height, data }` RGBA (ImageData's layout), like deconv/render.ts.
 *
 * A position's value is drawn over its occluder's centre: at image scale each pixel takes the
 * value of the position whose occluder centre is nearest along each axis (nearest-neighbour
 * upsampling of the [rows, cols] grid); at grid scale one pixel per position.
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { Preprocess } from '../graph/layers.js';
import type { PresetSpec } from '../io/preprocess.js';
import { inputToImage, type RgbaImage } from '../deconv/render.js';
import type { OcclusionGrid, OcclusionResult } from './occlusion.js';

export type OcclusionMapName = 'probability' | 'activation' | 'top';
export const OCCLUSION_MAPS: readonly OcclusionMapName[] = ['probability', 'activation', 'top'];

export interface OcclusionImageOptions {
  /** 'image' (default): the image's size; 'grid': one pixel per position. */
  scale?: 'image' | 'grid';
  /**
   * Value range mapped to the colour scale (probability and activation maps). Default: [0, 1]
   * for probabilities, [min, max] of the map for activations.
   */
  range?: [number, number];
}

/**
 * The colour scale of the paper's heatmaps (jet): dark blue (low) - cyan - yellow - dark red
 * (high), t in [0, 1].
 */
export function jet(t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const channel = (offset: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - offset))));
  return [channel(3), channel(2), channel(1)];
}

/** A distinct colour per class index (golden-angle hues), for the most-probable-class map. */
export function classColor(index: number): [number, number, number] {
  const h = (index * 137.508) % 360, s = 0.65, l = index % 2 ? 0.45 : 0.6;
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return [f(0), f(8), f(4)];
}

/** For each pixel along an axis, the position whose occluder centre is nearest. */
function nearest(starts: number[], size: number, extent: number): Int32Array {
  const centres = starts.map((s) => (s + Math.min(extent, s + size)) / 2);
  const out = new Int32Array(extent);
  let j = 0;
  for (let p = 0; p < extent; p++) {
    const c = p + 0.5;
    while (j + 1 < centres.length && Math.abs(centres[j + 1] - c) < Math.abs(centres[j] - c)) j++;
    out[p] = j;
  }
  return out;
}

/** Colour of each position of one map, [rows * cols] RGB triples. */
function positionColors(result: OcclusionResult, which: OcclusionMapName, range?: [number, number]): Uint8ClampedArray {
  if (!OCCLUSION_MAPS.includes(which)) throw new ArgumentError(`map '${which}' is not one of ${OCCLUSION_MAPS.join(', ')}`);
  const n = result.grid.rows * result.grid.cols;
  const rgb = new Uint8ClampedArray(n * 3);
  if (which === 'top') {
    for (let i = 0; i < n; i++) rgb.set(classColor(result.top[i]), i * 3);
    return rgb;
  }
  const values = which === 'probability' ? result.probability : result.activation;
  let [lo, hi] = range ?? (which === 'probability' ? [0, 1] : [Infinity, -Infinity]);
  if (!range && which === 'activation') {
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < n; i++) rgb.set(jet((values[i] - lo) / span), i * 3);
  return rgb;
}

/** One occlusion map as a heatmap, at the image's size (default) or one pixel per position. */
export function occlusionImage(result: OcclusionResult, which: OcclusionMapName, options: OcclusionImageOptions = {}): RgbaImage {
  const g: OcclusionGrid = result.grid;
  const rgb = positionColors(result, which, options.range);
  if (options.scale === 'grid') {
    const data = new Uint8ClampedArray(g.rows * g.cols * 4);
    for (let i = 0; i < g.rows * g.cols; i++) {
      data.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      data[i * 4 + 3] = 255;
    }
    return { width: g.cols, height: g.rows, data };
  }
  const rows = nearest(g.ys, g.size, g.height), cols = nearest(g.xs, g.size, g.width);
  const data = new Uint8ClampedArray(g.width * g.height * 4);
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      const i = rows[y] * g.cols + cols[x], o = (y * g.width + x) * 4;
      data[o] = rgb[i * 3]; data[o + 1] = rgb[i * 3 + 1]; data[o + 2] = rgb[i * 3 + 2]; data[o + 3] = 255;
    }
  }
  return { width: g.width, height: g.height, data };
}

/**
 * A heatmap blended over the image (`input` as the network saw it, the preset undone):
 * `alpha` of the heatmap (default 0.5) over 1 - alpha of the image.
 */
export function occlusionOverlay(result: OcclusionResult, which: OcclusionMapName, input: Tensor,
                                 preprocess: Preprocess | PresetSpec,
                                 options: OcclusionImageOptions & { alpha?: number; image?: number } = {}): RgbaImage {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentError(`alpha must be between 0 and 1, got ${options.alpha}`);
  const heat = occlusionImage(result, which, { ...options, scale: 'image' });
  const base = inputToImage(input, preprocess, undefined, options.image ?? 0);
  if (base.width !== heat.width || base.height !== heat.height) {
    throw new ArgumentError(`the input is ${base.width}x${base.height} but the occlusion grid is over ${heat.width}x${heat.height}`);
  }
  const data = new Uint8ClampedArray(base.data.length);
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) data[i + c] = alpha * heat.data[i + c] + (1 - alpha) * base.data[i + c];
    data[i + 3] = 255;
  }
  return { width: base.width, height: base.height, data };
}
