/**
 * Image pixels -> the float32 NCHW tensor a network takes, by the network's preset
 * (design.md, "Preprocessing presets"). No DOM and no Node APIs: the same code runs in pages,
 * workers and the CLI, so an image gives the same numbers everywhere.
 *
 * Resizing is written here rather than taken from a library: there is no well-kept pure-JS
 * resampler that runs unchanged in browsers and Node without native code (sharp is native,
 * canvas resizing is browser-only and differs between browsers, and the small pure-JS packages
 * are unmaintained or do not antialias). The filter is the one PIL (and so torchvision's
 * Resize) uses for bilinear: a triangle whose support widens by the shrink factor, so shrinking
 * averages every source pixel instead of sampling a few (no aliasing), and enlarging is plain
 * bilinear interpolation with pixel centres at +0.5.
 */
import { ArgumentError, ImageDecodeError } from '../errors.js';
import type { Preprocess } from '../graph/layers.js';
import type { Tensor } from '../engine/tensor.js';

/** Decoded pixels, RGBA 8-bit, row-major (ImageData's layout). Alpha is ignored. */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export interface PresetSpec {
  /** Channels of the tensor, in order: colour channels of the image, or luminance. */
  channels: readonly ('R' | 'G' | 'B' | 'L')[];
  /**
   * `short-side-crop`: resize so the shorter side is 256/224 of the input's, then take the
   * centre (torchvision's Resize(256) + CenterCrop(224)); `stretch`: resize straight to H x W.
   */
  resize: 'short-side-crop' | 'stretch';
  /** value = (u8 * scale - mean[c]) / std[c], per tensor channel. */
  scale: number;
  mean: readonly number[];
  std: readonly number[];
}

export const PRESETS: Readonly<Record<Preprocess, PresetSpec>> = {
  torchvision: {
    channels: ['R', 'G', 'B'], resize: 'short-side-crop', scale: 1 / 255,
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
  },
  caffe: {
    channels: ['B', 'G', 'R'], resize: 'stretch', scale: 1,
    mean: [103.939, 116.779, 123.68], std: [1, 1, 1],
  },
  none: { channels: ['R', 'G', 'B'], resize: 'stretch', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  grayscale: { channels: ['L'], resize: 'stretch', scale: 1 / 255, mean: [0], std: [1] },
};

export const PRESET_NAMES = Object.keys(PRESETS) as Preprocess[];

/** Largest image accepted: 16384 px on a side and 100 million pixels (both inclusive). */
export const MAX_SIDE = 16384;
export const MAX_PIXELS = 100_000_000;
/**
 * Largest network input preprocessImage makes: 16384 on a side and 2^28 values (1 GiB of
 * float32), as the ONNX importer allows (src/onnx/graph.ts); the 3 colour planes of the
 * resized image count even for a 1-channel input.
 */
export const MAX_INPUT_VALUES = 2 ** 28;

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `the string '${v.length > 20 ? `${v.slice(0, 20)}...` : v}'`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Throw ImageDecodeError if an image of this size is empty or too large to handle. */
export function checkImageSize(width: number, height: number, name = 'the image'): void {
  for (const [what, v] of [['width', width], ['height', height]] as const) {
    if (typeof v !== 'number') {
      throw new ImageDecodeError(`${name}'s ${what} must be a number, got ${describeValue(v)}`);
    }
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageDecodeError(`${name} has no pixels (${width} x ${height}); width and height must be whole numbers of at least 1`);
  }
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ImageDecodeError(`${name} is ${width} x ${height} pixels (${(width * height).toLocaleString('en-US')}); ` +
      `an image may have at most ${MAX_SIDE} px on a side and ${MAX_PIXELS / 1e6} million pixels ` +
      `(${MAX_PIXELS.toLocaleString('en-US')})`);
  }
}

/**
 * The tensor [1, C, H, W] for a network whose input is [C, H, W], from RGBA pixels and a preset.
 */
export function preprocessImage(pixels: Pixels, input: readonly number[], preset: Preprocess): Tensor {
  const spec = PRESETS[preset];
  if (!spec) throw new ArgumentError(`unknown preprocessing preset '${preset}'; presets: ${PRESET_NAMES.join(', ')}`);
  if (!pixels || !(pixels.data instanceof Uint8Array || pixels.data instanceof Uint8ClampedArray)) {
    throw new ArgumentError('pixels must be { width, height, data: Uint8Array | Uint8ClampedArray } (RGBA)');
  }
  const { width, height } = pixels;
  checkImageSize(width, height);
  if (pixels.data.length !== width * height * 4) {
    throw new ArgumentError(`pixels of a ${width} x ${height} image must be ${width * height * 4} RGBA bytes ` +
      `(width * height * 4), got ${pixels.data.length}`);
  }
  if (!Array.isArray(input) || input.length !== 3) {
    throw new ArgumentError(`network input must be [C, H, W], got ${Array.isArray(input) ? `[${input.join(', ')}]` : describeValue(input)}`);
  }
  const [c, h, w] = input;
  if (![c, h, w].every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)) {
    throw new ArgumentError(`network input must be [C, H, W] of whole numbers of at least 1, got [${input.join(', ')}]`);
  }
  // The resize makes 3 colour planes of H x W floats whatever C is, so count those.
  if (h > MAX_SIDE || w > MAX_SIDE || Math.max(c, 3) * h * w > MAX_INPUT_VALUES) {
    throw new ArgumentError(`network input [${input.join(', ')}] is too large to preprocess: at most ` +
      `${MAX_SIDE} on a side and ${MAX_INPUT_VALUES} values (2^28, counting at least 3 colour planes)`);
  }
  if (c !== spec.channels.length) {
    throw new ArgumentError(`preset '${preset}' makes ${spec.channels.length} channel(s) but the network takes ${c}`);
  }

  // Size of the resized image, and the window of it that becomes the tensor.
  let rh = h, rw = w, top = 0, left = 0;
  if (spec.resize === 'short-side-crop') {
    const sh = Math.round((256 * h) / 224);
    const sw = Math.round((256 * w) / 224);
    // Scale so that both target sides are covered; the limiting side lands exactly on its target,
    // the other is truncated like torchvision's int(size * long / short).
    if (sh / height >= sw / width) {
      rh = sh;
      rw = Math.max(sw, Math.floor((width * sh) / height + 1e-9));
    } else {
      rw = sw;
      rh = Math.max(sh, Math.floor((height * sw) / width + 1e-9));
    }
    top = roundHalfEven((rh - h) / 2);
    left = roundHalfEven((rw - w) / 2);
  }
  const rgb = resizeRgb(pixels, rw, rh, left, top, w, h);

  const plane = h * w;
  const out = new Float32Array(c * plane);
  spec.channels.forEach((channel, k) => {
    const mul = spec.scale / spec.std[k];
    const add = -spec.mean[k] / spec.std[k];
    const dst = out.subarray(k * plane, (k + 1) * plane);
    if (channel === 'L') {
      // ITU-R 601 luma, as PIL's convert('L') and most grayscale datasets.
      const r = rgb.subarray(0, plane), g = rgb.subarray(plane, 2 * plane), b = rgb.subarray(2 * plane);
      for (let i = 0; i < plane; i++) dst[i] = (0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]) * mul + add;
    } else {
      const src = rgb.subarray('RGB'.indexOf(channel) * plane, ('RGB'.indexOf(channel) + 1) * plane);
      for (let i = 0; i < plane; i++) dst[i] = src[i] * mul + add;
    }
  });
  return { shape: [1, c, h, w], data: out };
}

/** Python's round(): halves go to the even neighbour (what torchvision's CenterCrop uses). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

interface Taps {
  /** First source index of each output index. */
  start: Int32Array;
  count: Int32Array;
  /** `stride` weights per output index, normalised to sum to 1. */
  weights: Float32Array;
  stride: number;
}

/**
 * Filter taps for outputs first..first+n-1 of resizing an axis of `inSize` pixels to `outSize`
 * (PIL's bilinear: a triangle of radius max(1, inSize/outSize) around each output's centre).
 */
function taps(inSize: number, outSize: number, first: number, n: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float32Array(n * stride);
  for (let o = 0; o < n; o++) {
    const center = (first + o + 0.5) * scale;
    const lo = Math.max(Math.floor(center - support + 0.5), 0);
    const hi = Math.min(Math.floor(center + support + 0.5), inSize);
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const t = Math.abs((x - center + 0.5) / filterScale);
      const wgt = t < 1 ? 1 - t : 0;
      weights[o * stride + (x - lo)] = wgt;
      sum += wgt;
    }
    start[o] = lo;
    count[o] = hi - lo;
    if (sum > 0) for (let k = 0; k < hi - lo; k++) weights[o * stride + k] /= sum;
  }
  return { start, count, weights, stride };
}

/**
 * Resize RGBA pixels to rw x rh and return the window (left, top, w, h) of the result as planar
 * float RGB [3][h][w] in u8 units (not rounded). Separable: a horizontal pass over only the
 * source rows the vertical pass reads, then the vertical pass.
 */
export function resizeRgb(pixels: Pixels, rw: number, rh: number, left: number, top: number,
                          w: number, h: number): Float32Array {
  const { width, height, data } = pixels;
  checkImageSize(width, height);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray) || data.length !== width * height * 4) {
    throw new ArgumentError(`resizeRgb needs the ${width * height * 4} RGBA bytes of a ${width} x ${height} image`);
  }
  const whole = (v: number) => typeof v === 'number' && Number.isInteger(v);
  if (![rw, rh, w, h].every((v) => whole(v) && v >= 1) || !whole(left) || !whole(top) || left < 0 || top < 0 ||
      left + w > rw || top + h > rh || 3 * w * h > MAX_INPUT_VALUES) {
    throw new ArgumentError(`resizeRgb: cannot take the ${w} x ${h} window at (${left}, ${top}) of a ${rw} x ${rh} resize ` +
      `(sizes must be whole numbers, the window inside the resize, at most ${MAX_INPUT_VALUES} values)`);
  }
  const tx = taps(width, rw, left, w);
  const ty = taps(height, rh, top, h);
  const row0 = ty.start[0];
  let row1 = row0;
  for (let o = 0; o < h; o++) row1 = Math.max(row1, ty.start[o] + ty.count[o]);

  // Horizontal pass: rows row0..row1 of the source, w output columns, RGB interleaved.
  const tmp = new Float32Array((row1 - row0) * w * 3);
  for (let y = row0; y < row1; y++) {
    const srcRow = y * width * 4;
    const dstRow = (y - row0) * w * 3;
    for (let o = 0; o < w; o++) {
      let r = 0, g = 0, b = 0;
      const base = o * tx.stride;
      let p = srcRow + tx.start[o] * 4;
      for (let k = 0; k < tx.count[o]; k++, p += 4) {
        const wgt = tx.weights[base + k];
        r += data[p] * wgt;
        g += data[p + 1] * wgt;
        b += data[p + 2] * wgt;
      }
      tmp[dstRow + o * 3] = r;
      tmp[dstRow + o * 3 + 1] = g;
      tmp[dstRow + o * 3 + 2] = b;
    }
  }

  // Vertical pass into planar RGB.
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  for (let o = 0; o < h; o++) {
    const base = o * ty.stride;
    for (let x = 0; x < w; x++) {
      let r = 0, g = 0, b = 0;
      let p = ((ty.start[o] - row0) * w + x) * 3;
      for (let k = 0; k < ty.count[o]; k++, p += w * 3) {
        const wgt = ty.weights[base + k];
        r += tmp[p] * wgt;
        g += tmp[p + 1] * wgt;
        b += tmp[p + 2] * wgt;
      }
      out[o * w + x] = r;
      out[plane + o * w + x] = g;
      out[2 * plane + o * w + x] = b;
    }
  }
  return out;
}
