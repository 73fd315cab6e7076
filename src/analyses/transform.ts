/**
 * Geometric transforms of one image for the invariance sweeps (paper, Fig. 5): vertical
 * translation, scaling about the centre and rotation about the centre, on the network's input
 * tensor or on RGBA pixels. No DOM and no Node APIs.
 *
 * All three map every output pixel back to where it comes from in the source and interpolate:
 *
 *   translate (pixels, + moves the content down):   src = (y - amount, x)
 *   rotate (degrees, + turns the content counter-clockwise as displayed, y down), about the centre
 *   ((H-1)/2, (W-1)/2):   src = c + R(-amount) (p - c)
 *   scale (factor, > 1 enlarges), about the centre:   src = c + (p - c) / amount
 *
 * Translation and rotation sample bilinearly (the four neighbours, weights by distance).
 * Scaling is separable and uses the triangle filter PIL's bilinear resize uses (src/io/preprocess.ts):
 * radius 1 source pixel when enlarging (exactly bilinear), widened to 1/amount when shrinking,
 * so a shrunk image averages every source pixel instead of aliasing.
 * Where the source lies outside the image, the `fill` value is used, tap by tap, so edges blend
 * into it smoothly. In tensor space the default fill 0 is the data set's mean colour for the
 * caffe and torchvision presets and black for none/grayscale (Fashion-MNIST's background).
 * An identity amount (0 px, factor 1, 0 degrees) returns an exact copy.
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { Pixels } from '../io/preprocess.js';
import type { RgbaImage } from '../deconv/render.js';

export type TransformKind = 'translate' | 'scale' | 'rotate';
export const TRANSFORM_KINDS: readonly TransformKind[] = ['translate', 'scale', 'rotate'];

/** translate: pixels (vertical, + is down); scale: factor (> 0, 1 is identity); rotate: degrees (+ is counter-clockwise). */
export interface Transform { kind: TransformKind; amount: number }

/** The amount that leaves an image unchanged. */
export const IDENTITY_AMOUNT: Readonly<Record<TransformKind, number>> = { translate: 0, scale: 1, rotate: 0 };

/** What each kind's amount means, for axis labels and help. */
export const AMOUNT_UNITS: Readonly<Record<TransformKind, string>> = {
  translate: 'vertical translation (pixels)', scale: 'scale (factor)', rotate: 'rotation (degrees)',
};

export function isIdentity(t: Transform): boolean {
  return t.amount === IDENTITY_AMOUNT[t.kind];
}

export function checkTransform(t: Transform): void {
  if (!t || !TRANSFORM_KINDS.includes(t.kind)) {
    throw new ArgumentError(`transform kind '${t?.kind}' is not one of ${TRANSFORM_KINDS.join(', ')}`);
  }
  if (!Number.isFinite(t.amount)) throw new ArgumentError(`${t.kind} amount must be a finite number, got ${t.amount}`);
  if (t.kind === 'scale' && !(t.amount > 0)) throw new ArgumentError(`scale factor must be > 0, got ${t.amount}`);
}

/**
 * Transform one H x W plane into `out` (a new array if not given). `fill` stands for every
 * pixel outside the source.
 */
export function transformPlane(src: Float32Array, h: number, w: number, t: Transform, fill = 0,
                               out = new Float32Array(h * w)): Float32Array {
  checkTransform(t);
  if (src.length !== h * w || out.length !== h * w) {
    throw new ArgumentError(`a ${h} x ${w} plane needs ${h * w} values, got ${src.length} in and ${out.length} out`);
  }
  if (isIdentity(t)) {
    out.set(src);
    return out;
  }
  if (t.kind === 'scale') return scalePlane(src, h, w, t.amount, fill, out);
  const cy = (h - 1) / 2, cx = (w - 1) / 2;
  if (t.kind === 'translate') {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = bilinear(src, h, w, y - t.amount, x, fill);
    return out;
  }
  const rad = (t.amount * Math.PI) / 180;
  // Exact values at multiples of 90 degrees, so a quarter turn moves pixels without blur.
  const c = snap(Math.cos(rad)), s = snap(Math.sin(rad));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - cx, dy = y - cy;
      out[y * w + x] = bilinear(src, h, w, cy + dx * s + dy * c, cx + dx * c - dy * s, fill);
    }
  }
  return out;
}

function snap(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) < 1e-12 ? r : v;
}

/** Bilinear sample at index coordinates (sy, sx); neighbours outside the plane read `fill`. */
function bilinear(src: Float32Array, h: number, w: number, sy: number, sx: number, fill: number): number {
  const y0 = Math.floor(sy), x0 = Math.floor(sx);
  const fy = sy - y0, fx = sx - x0;
  let v = 0;
  for (let dy = 0; dy < 2; dy++) {
    const wy = dy === 0 ? 1 - fy : fy;
    if (wy === 0) continue;
    const y = y0 + dy;
    for (let dx = 0; dx < 2; dx++) {
      const wx = dx === 0 ? 1 - fx : fx;
      if (wx === 0) continue;
      const x = x0 + dx;
      v += wy * wx * (y >= 0 && y < h && x >= 0 && x < w ? src[y * w + x] : fill);
    }
  }
  return v;
}

/** Separable triangle-filter resampling of the plane about its centre; outside taps read `fill`. */
function scalePlane(src: Float32Array, h: number, w: number, factor: number, fill: number, out: Float32Array): Float32Array {
  const tx = axisTaps(w, factor), ty = axisTaps(h, factor);
  const tmp = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < w; o++) tmp[y * w + o] = applyTaps(tx, o, (x) => src[y * w + x], w, fill);
  }
  for (let x = 0; x < w; x++) {
    for (let o = 0; o < h; o++) out[o * w + x] = applyTaps(ty, o, (y) => tmp[y * w + x], h, fill);
  }
  return out;
}

interface AxisTaps { first: Int32Array; weights: Float64Array[] }

/** For each output index o: source taps first[o].. with normalised triangle weights. */
function axisTaps(n: number, factor: number): AxisTaps {
  const support = Math.max(1, 1 / factor);
  const first = new Int32Array(n);
  const weights: Float64Array[] = [];
  for (let o = 0; o < n; o++) {
    const centre = (o + 0.5 - n / 2) / factor + n / 2;
    const lo = Math.floor(centre - support - 0.5), hi = Math.ceil(centre + support - 0.5);
    const wts = new Float64Array(hi - lo + 1);
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const t = Math.abs((i + 0.5 - centre) / support);
      sum += wts[i - lo] = t < 1 ? 1 - t : 0;
    }
    for (let k = 0; k < wts.length; k++) wts[k] /= sum;
    first[o] = lo;
    weights.push(wts);
  }
  return { first, weights };
}

function applyTaps(taps: AxisTaps, o: number, at: (i: number) => number, n: number, fill: number): number {
  const wts = taps.weights[o];
  let v = 0;
  for (let k = 0; k < wts.length; k++) {
    if (wts[k] === 0) continue;
    const i = taps.first[o] + k;
    v += wts[k] * (i >= 0 && i < n ? at(i) : fill);
  }
  return v;
}

/**
 * Every [H, W] plane of a tensor [N, C, H, W] (or [C, H, W]) transformed; `fill` in tensor units
 * (default 0). Returns a new tensor of the same shape.
 */
export function transformTensor(tensor: Tensor, t: Transform, options: { fill?: number } = {}): Tensor {
  if (!tensor || !(tensor.data instanceof Float32Array) || !Array.isArray(tensor.shape) ||
      (tensor.shape.length !== 4 && tensor.shape.length !== 3)) {
    throw new ArgumentError('the input must be a tensor { shape: [N, C, H, W], data: Float32Array }');
  }
  const shape = tensor.shape;
  const h = shape[shape.length - 2], w = shape[shape.length - 1];
  const plane = h * w;
  const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  if (tensor.data.length !== planes * plane) {
    throw new ArgumentError(`tensor of shape [${shape.join(', ')}] needs ${planes * plane} values, got ${tensor.data.length}`);
  }
  const fill = options.fill ?? 0;
  if (!Number.isFinite(fill)) throw new ArgumentError(`fill must be a finite number, got ${fill}`);
  const data = new Float32Array(tensor.data.length);
  for (let p = 0; p < planes; p++) {
    transformPlane(tensor.data.subarray(p * plane, (p + 1) * plane), h, w, t, fill, data.subarray(p * plane, (p + 1) * plane));
  }
  return { shape: [...shape], data };
}

/**
 * RGBA pixels transformed (R, G and B; alpha becomes 255). `fill` is the RGB colour outside the
 * source (default black). Values are rounded and clamped to 0-255.
 */
export function transformPixels(pixels: Pixels, t: Transform,
                                options: { fill?: readonly [number, number, number] } = {}): RgbaImage {
  const { width: w, height: h } = pixels ?? {};
  if (!pixels || !Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || !pixels.data ||
      pixels.data.length < w * h * 4) {
    throw new ArgumentError('pixels must be { width, height, data } with width * height * 4 RGBA bytes');
  }
  const fill = options.fill ?? [0, 0, 0];
  const plane = w * h;
  const src = new Float32Array(plane), dst = new Float32Array(plane);
  const out = new Uint8ClampedArray(plane * 4);
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < plane; i++) src[i] = pixels.data[i * 4 + ch];
    transformPlane(src, h, w, t, fill[ch], dst);
    for (let i = 0; i < plane; i++) out[i * 4 + ch] = dst[i];
  }
  for (let i = 0; i < plane; i++) out[i * 4 + 3] = 255;
  return { width: w, height: h, data: out };
}

/** An RGBA image enlarged by an integer factor, nearest neighbour (for showing 7x7 filters). */
export function enlargeNearest(img: RgbaImage, factor: number): RgbaImage {
  if (!Number.isInteger(factor) || factor < 1) throw new ArgumentError(`enlarge factor must be a positive integer, got ${factor}`);
  if (factor === 1) return img;
  const width = img.width * factor, height = img.height * factor;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + Math.floor(x / factor)) * 4, d = (y * width + x) * 4;
      data[d] = img.data[s]; data[d + 1] = img.data[s + 1]; data[d + 2] = img.data[s + 2]; data[d + 3] = img.data[s + 3];
    }
  }
  return { width, height, data };
}
