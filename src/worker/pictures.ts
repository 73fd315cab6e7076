/**
 * Activations and weights as pictures for the components: feature maps on one colour scale per
 * layer (so a map's brightness tells its strength), and filters through the projection display.
 */
import type { PresetSpec } from '../io/preprocess.js';
import type { Preprocess } from '../graph/layers.js';
import type { Projection } from '../deconv/project.js';
import { projectionToImage, tileImages, type RgbaImage } from '../deconv/render.js';

/**
 * Viridis at nine stops (matplotlib's, sampled evenly): dark for zero, yellow for the layer's
 * largest value. Perceptually even and readable on light and dark pages alike.
 */
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

function viridis(t: number, out: Uint8ClampedArray, o: number): void {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  out[o] = a[0] + (b[0] - a[0]) * f;
  out[o + 1] = a[1] + (b[1] - a[1]) * f;
  out[o + 2] = a[2] + (b[2] - a[2]) * f;
  out[o + 3] = 255;
}

export interface MapPictures {
  strengths: Float32Array;
  order: number[];
  /** The maps' pictures, C of H x W one after another. */
  pixels: Uint8ClampedArray;
  scale: number;
}

/**
 * Maps [C, H, W] (one image) as C pictures. Values are divided by the layer's largest |value|:
 * rectified maps run from 0 (dark) to 1 (yellow); maps with negative values (the `conv` point)
 * put zero at the middle of the scale.
 */
export function mapPictures(data: Float32Array, c: number, h: number, w: number): MapPictures {
  const plane = h * w;
  const strengths = new Float32Array(c);
  let scale = 0, min = 0;
  for (let k = 0; k < c; k++) {
    let m = -Infinity;
    for (let i = k * plane; i < (k + 1) * plane; i++) {
      const v = data[i];
      if (v > m) m = v;
      if (v < min) min = v;
      if (Math.abs(v) > scale) scale = Math.abs(v);
    }
    strengths[k] = m;
  }
  const signed = min < 0;
  const gain = scale > 0 && Number.isFinite(scale) ? 1 / scale : 0;
  const pixels = new Uint8ClampedArray(c * plane * 4);
  for (let i = 0; i < c * plane; i++) {
    const t = data[i] * gain;
    viridis(signed ? 0.5 + t / 2 : t, pixels, i * 4);
  }
  const order = Array.from(strengths.keys()).sort((a, b) => strengths[b] - strengths[a] || a - b);
  return { strengths, order, pixels, scale };
}

/**
 * Filters [F, C, kh, kw] as one sheet: each filter stretched on its own around grey (the
 * projection display: zero is grey, the sign reads true), in the model's channel order undone.
 */
export function filterSheet(weight: Float32Array, shape: number[], preprocess: Preprocess | PresetSpec):
    { sheet: RgbaImage; columns: number } {
  const [f, , kh, kw] = shape;
  const asProjection = { shape, data: weight, boxes: [], units: [] } as unknown as Projection;
  const images: RgbaImage[] = [];
  for (let k = 0; k < f; k++) images.push(projectionToImage(asProjection, k, { preprocess }));
  // Wide rather than tall: filters sit under the other views.
  const columns = Math.min(f, Math.max(1, Math.ceil(Math.sqrt(f * 2 * (kh / kw)))));
  return { sheet: tileImages(images, { columns, gap: 1, background: [128, 128, 128, 0] }), columns };
}

/** The maps' pictures as one sheet, `columns` wide (a near-square grid), 1 px transparent gaps. */
export function mapSheet(pixels: Uint8ClampedArray, c: number, h: number, w: number): { sheet: RgbaImage; columns: number; gap: number } {
  const n = h * w * 4;
  const images = Array.from({ length: c }, (_, k) => ({ width: w, height: h, data: pixels.subarray(k * n, (k + 1) * n) }));
  const columns = Math.ceil(Math.sqrt(c));
  const gap = 1;
  return { sheet: tileImages(images, { columns, gap, background: [0, 0, 0, 0] }), columns, gap };
}

/** A picture as a PNG file, encoded off the page's thread (OffscreenCanvas, 2D). */
export async function encodePng(image: RgbaImage): Promise<Blob> {
  if (typeof OffscreenCanvas === 'undefined') throw new Error('OffscreenCanvas is needed to encode pictures');
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D context for OffscreenCanvas');
  context.putImageData(new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}
