/**
 * Grad-CAM as a picture: the cam upsampled to the input (bilinear), scaled by its maximum and
 * coloured with a perceptually ordered map (a compact "turbo"-like ramp: dark blue, cyan, yellow,
 * red), laid over the network's view of the image with `opacity` where the cam is strong.
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { GradCam } from './gradcam.js';
import { upsampleBilinear } from './gradcam.js';
import { inputToImage, type RgbaImage } from './render.js';

export interface GradcamImageOptions {
  /** The heatmap's weight over the image at the cam's maximum (default 0.6). */
  opacity?: number;
}

/** Colour stops of the ramp, from 0 to 1. */
const STOPS: [number, number, number][] = [[48, 18, 59], [50, 130, 240], [30, 220, 170], [240, 230, 40], [240, 100, 20], [122, 4, 3]];

function ramp(t: number): [number, number, number] {
  const x = Math.min(Math.max(t, 0), 1) * (STOPS.length - 1);
  const i = Math.min(Math.floor(x), STOPS.length - 2), f = x - i;
  const a = STOPS[i], b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The cam over the input image `input` ([N, C, H, W] or [C, H, W], the run's input). */
export function gradcamToImage(cam: GradCam, input: Tensor, options: GradcamImageOptions = {}): RgbaImage {
  const opacity = options.opacity ?? 0.6;
  if (!(opacity >= 0 && opacity <= 1)) throw new ArgumentError(`opacity must be in [0, 1], got ${options.opacity}`);
  const base = inputToImage(input, cam.preprocess, undefined, input.shape.length === 4 ? cam.image : 0);
  const { width: W, height: H } = base;
  const up = upsampleBilinear(cam.data, cam.shape[0], cam.shape[1], H, W);
  let max = 0;
  for (const v of up) max = Math.max(max, v);
  const data = new Uint8ClampedArray(base.data);
  for (let i = 0; i < W * H; i++) {
    const t = max > 0 ? up[i] / max : 0;
    const [r, g, b] = ramp(t);
    const a = opacity * (0.25 + 0.75 * t);
    const o = i * 4;
    data[o] = data[o] * (1 - a) + r * a;
    data[o + 1] = data[o + 1] * (1 - a) + g * a;
    data[o + 2] = data[o + 2] * (1 - a) + b * a;
  }
  return { width: W, height: H, data };
}
