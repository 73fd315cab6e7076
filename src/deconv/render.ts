/**
 * Projections and inputs as pictures (paper, section 2, step 4). No DOM and no Node APIs: every
 * function returns `{ width, height, data }` with `data` RGBA 8-bit row-major, ImageData's
 * layout, so a page wraps it with `new ImageData(img.data, img.width, img.height)` and the CLI
 * encodes it as PNG.
 *
 * Colour order: tensors are in the model's channel order (the preset's `channels`: RGB for
 * torchvision and none, BGR for caffe, one luminance channel for grayscale). Pictures are always
 * RGB: BGR is reordered, luminance is replicated into R, G and B.
 */
import { ArgumentError } from '../errors.js';
import type { Preprocess } from '../graph/layers.js';
import type { Box } from '../graph/shapes.js';
import type { Tensor } from '../engine/tensor.js';
import { PRESETS, PRESET_NAMES, type PresetSpec } from '../io/preprocess.js';
import type { Projection } from './project.js';

/** RGBA pixels, row-major, alpha 255 (ImageData's layout). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/**
 * `contrast`: the paper's display, each projection centred on grey and stretched on its own.
 * `heatmap`: the channel sum as one signed value per pixel, on a diverging blue-white-red map.
 */
export type DisplayMode = 'contrast' | 'heatmap';
export const DISPLAY_MODES: readonly DisplayMode[] = ['contrast', 'heatmap'];

export interface ProjectionImageOptions {
  /** How the input tensor was made: a preset name or its spec (gives the channel order). */
  preprocess: Preprocess | PresetSpec;
  /** Crop to the projection's receptive box (`'box'`, i.e. `projection.boxes[k]`) or a box. */
  crop?: Box | 'box';
  mode?: DisplayMode;
}

/**
 * The k-th projection of `projection` (shape [K, C, H, W]) as a picture.
 *
 * `contrast` (default): RGB in display order, then every value v of the projection becomes
 * `128 + 127 * v / m`, m = max |v| over the whole projection (all channels, before any crop).
 * Why this stretch: a projection is a signed pattern whose zero means "no contribution", so zero
 * must stay one fixed grey (the paper's figures: grey background = 0) and positive and negative
 * must share one scale so the sign reads true; a min-max stretch would move zero to a different
 * grey in every tile of a sheet. 127 rather than 128 keeps it symmetric: +m -> 255, -m -> 1,
 * nothing clips. One m for all three channels keeps the colour balance (a per-channel stretch
 * would invent colour). Each projection is stretched on its own, as the paper does, so sheets
 * show structure, not relative strength (the units' values are printed for that). The values
 * are shown in the tensor's units: the preset's std is not multiplied back in (torchvision's
 * three stds differ by under 3%, so it would barely change a colour). A projection that is all
 * zero is plain grey.
 *
 * `heatmap`: s = the sum over channels at each pixel (the signed total contribution of that
 * pixel; max-abs would hide channels that cancel), t = s / max |s|, drawn on matplotlib's `bwr`
 * map: t = 0 white, t -> +1 towards pure red (255, 0, 0), t -> -1 towards pure blue (0, 0, 255),
 * linear in between. White at zero because a projection is mostly zero: the map reads like a
 * plot on paper, and red/blue stay readable for most colour-vision deficiencies.
 */
export function projectionToImage(projection: Projection, k: number, options: ProjectionImageOptions): RgbaImage {
  const [count, c, h, w] = checkShape(projection.shape, projection.data.length, 'projection', 4);
  if (!Number.isInteger(k) || k < 0 || k >= count) {
    throw new ArgumentError(`projection ${k} is out of range: this result holds ${count} (0-${count - 1})`);
  }
  const mode = options?.mode ?? 'contrast';
  if (!DISPLAY_MODES.includes(mode)) {
    throw new ArgumentError(`display mode '${mode}' is not one of ${DISPLAY_MODES.join(', ')}`);
  }
  const spec = presetSpec(options?.preprocess);
  const sources = displaySources(spec, c);
  const plane = h * w;
  const data = projection.data.subarray(k * c * plane, (k + 1) * c * plane);
  let crop: Box | undefined;
  if (options.crop === 'box') {
    crop = projection.boxes?.[k];
    if (!crop) throw new ArgumentError(`projection ${k} has no receptive box to crop to`);
  } else {
    crop = options.crop;
  }
  const box = checkCrop(crop, h, w);

  if (mode === 'contrast') {
    let m = 0;
    for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
    const gain = m > 0 && Number.isFinite(m) ? 127 / m : 0;
    return paint(box, w, (i, out, o) => {
      for (let ch = 0; ch < 3; ch++) out[o + ch] = 128 + gain * data[sources[ch] * plane + i];
    });
  }
  const sum = new Float32Array(plane);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < plane; i++) sum[i] += data[ch * plane + i];
  }
  let m = 0;
  for (let i = 0; i < plane; i++) m = Math.max(m, Math.abs(sum[i]));
  const gain = m > 0 && Number.isFinite(m) ? 1 / m : 0;
  return paint(box, w, (i, out, o) => {
    const t = sum[i] * gain;
    const fade = 255 * (1 - Math.abs(t));
    out[o] = t >= 0 ? 255 : fade;
    out[o + 1] = fade;
    out[o + 2] = t <= 0 ? 255 : fade;
  });
}

/**
 * An input tensor ([1, C, H, W], [N, C, H, W] with `image` picking one, or [C, H, W]) back to
 * the picture the network saw, by undoing `preprocess`: u8 = (v * std + mean) / scale per tensor
 * channel (torchvision: * std + mean, * 255; caffe: + mean, BGR -> RGB; none: * 255;
 * grayscale: luminance replicated), rounded and clamped to 0-255. With `crop` (e.g. a
 * projection's `boxes[k]`) it is the image patch beside that projection, as in the paper's
 * Fig. 2.
 */
export function inputToImage(tensor: Tensor, preprocess: Preprocess | PresetSpec, crop?: Box, image = 0): RgbaImage {
  if (!tensor || !(tensor.data instanceof Float32Array) || !Array.isArray(tensor.shape)) {
    throw new ArgumentError('the input must be a tensor { shape, data: Float32Array }');
  }
  const shape = tensor.shape.length === 3 ? [1, ...tensor.shape] : tensor.shape;
  const [n, c, h, w] = checkShape(shape, tensor.data.length, 'input tensor', 4);
  if (!Number.isInteger(image) || image < 0 || image >= n) {
    throw new ArgumentError(`image ${image} is out of range: the input holds ${n} image(s)`);
  }
  const spec = presetSpec(preprocess);
  const sources = displaySources(spec, c);
  const plane = h * w;
  const data = tensor.data.subarray(image * c * plane, (image + 1) * c * plane);
  const mul = spec.channels.map((_, k) => spec.std[k] / spec.scale);
  const add = spec.channels.map((_, k) => spec.mean[k] / spec.scale);
  const box = checkCrop(crop, h, w);
  return paint(box, w, (i, out, o) => {
    for (let ch = 0; ch < 3; ch++) {
      const s = sources[ch];
      // Uint8ClampedArray clamps to 0-255 and rounds (half to even) on assignment.
      out[o + ch] = data[s * plane + i] * mul[s] + add[s];
    }
  });
}

export interface TileOptions {
  /** Images per row (default: ceil(sqrt(n)), a near-square grid). */
  columns?: number;
  /** Pixels between cells, horizontally and vertically (default 2); no outer margin. */
  gap?: number;
  /** RGBA of the gaps and of cell space an image does not fill (default opaque white). */
  background?: readonly [number, number, number] | readonly [number, number, number, number];
}

/**
 * A sheet of images in a grid, row-major. Every cell is as large as the largest image (widest
 * width, tallest height), and each image is centred in its cell (offsets rounded down), so
 * crops of different sizes still line up. Size: columns * cellW + (columns - 1) * gap by
 * rows * cellH + (rows - 1) * gap, rows = ceil(n / columns) (columns capped at n).
 */
export function tileImages(images: readonly RgbaImage[], options: TileOptions = {}): RgbaImage {
  if (!Array.isArray(images) || images.length === 0) throw new ArgumentError('tileImages needs at least one image');
  images.forEach((img, i) => {
    if (!img || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1 ||
        !img.data || img.data.length !== img.width * img.height * 4) {
      throw new ArgumentError(`image ${i} is not { width, height, data } with width * height * 4 RGBA bytes`);
    }
  });
  const n = images.length;
  const columns = Math.min(n, options.columns ?? Math.ceil(Math.sqrt(n)));
  const gap = options.gap ?? 2;
  if (!Number.isInteger(columns) || columns < 1) throw new ArgumentError(`columns must be a positive integer, got ${options.columns}`);
  if (!Number.isInteger(gap) || gap < 0) throw new ArgumentError(`gap must be a non-negative integer, got ${options.gap}`);
  const bg = options.background ?? [255, 255, 255, 255];
  if (!(bg.length === 3 || bg.length === 4) || !bg.every((v) => Number.isFinite(v))) {
    throw new ArgumentError('background must be [r, g, b] or [r, g, b, a] (0-255)');
  }
  const rows = Math.ceil(n / columns);
  const cellW = Math.max(...images.map((i) => i.width));
  const cellH = Math.max(...images.map((i) => i.height));
  const width = columns * cellW + (columns - 1) * gap;
  const height = rows * cellH + (rows - 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4);
  const fill = [bg[0], bg[1], bg[2], bg[3] ?? 255];
  for (let p = 0; p < data.length; p += 4) data.set(fill, p);
  images.forEach((img, i) => {
    const x0 = (i % columns) * (cellW + gap) + Math.floor((cellW - img.width) / 2);
    const y0 = Math.floor(i / columns) * (cellH + gap) + Math.floor((cellH - img.height) / 2);
    for (let y = 0; y < img.height; y++) {
      data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), ((y0 + y) * width + x0) * 4);
    }
  });
  return { width, height, data };
}

export interface SheetOptions extends TileOptions {
  preprocess: Preprocess | PresetSpec;
  /** Crop each projection and its patch to the projection's receptive box. */
  crop?: boolean;
  mode?: DisplayMode;
  /** Which image of the input's batch the projection is of (default 0). */
  image?: number;
  /** Pixels between a projection and its patch (default 2). */
  pairGap?: number;
}

/**
 * Every projection beside its image patch (the paper's Fig. 2 pairs), the pairs in a grid:
 * each pair is tileImages([projection, patch], { columns: 2, gap: pairGap }), then the pairs
 * are tiled with `columns` (default ceil(sqrt(K))), `gap` (default 8) and `background`.
 */
export function projectionSheet(projection: Projection, input: Tensor, options: SheetOptions): RgbaImage {
  const count = projection.shape[0];
  const pairs: RgbaImage[] = [];
  for (let k = 0; k < count; k++) {
    const box = options.crop ? projection.boxes[k] : undefined;
    pairs.push(tileImages([
      projectionToImage(projection, k, { preprocess: options.preprocess, crop: box, mode: options.mode }),
      inputToImage(input, options.preprocess, box, options.image ?? 0),
    ], { columns: 2, gap: options.pairGap ?? 2, background: options.background }));
  }
  return tileImages(pairs, { columns: options.columns, gap: options.gap ?? 8, background: options.background });
}

function presetSpec(preprocess: Preprocess | PresetSpec | undefined): PresetSpec {
  if (typeof preprocess === 'string') {
    const spec = Object.hasOwn(PRESETS, preprocess) ? PRESETS[preprocess] : undefined;
    if (!spec) throw new ArgumentError(`unknown preprocessing preset '${preprocess}'; presets: ${PRESET_NAMES.join(', ')}`);
    return spec;
  }
  if (!preprocess || !Array.isArray(preprocess.channels)) {
    throw new ArgumentError(`preprocess must be a preset name (${PRESET_NAMES.join(', ')}) or a preset spec`);
  }
  return preprocess;
}

/** For display channels R, G, B: the tensor channel each is read from. */
function displaySources(spec: PresetSpec, c: number): [number, number, number] {
  if (c !== spec.channels.length) {
    throw new ArgumentError(`the tensor has ${c} channel(s) but its preset has ${spec.channels.length} ` +
      `(${spec.channels.join('')})`);
  }
  if (c === 1 && spec.channels[0] === 'L') return [0, 0, 0];
  const at = (name: 'R' | 'G' | 'B') => {
    const i = spec.channels.indexOf(name);
    if (i < 0) throw new ArgumentError(`the preset's channels ${spec.channels.join('')} have no ${name}`);
    return i;
  };
  return [at('R'), at('G'), at('B')];
}

function checkShape(shape: readonly number[], length: number, what: string, rank: number): number[] {
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ArgumentError(`${what} must have shape [N, C, H, W], got [${shape?.join(', ')}]`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (length !== n) throw new ArgumentError(`${what} of shape [${shape.join(', ')}] needs ${n} values, got ${length}`);
  return [...shape];
}

function checkCrop(crop: Box | undefined, h: number, w: number): Box {
  if (crop === undefined) return { y0: 0, x0: 0, y1: h, x1: w };
  const { y0, x0, y1, x1 } = crop;
  if (![y0, x0, y1, x1].every(Number.isInteger) || y0 < 0 || x0 < 0 || y1 > h || x1 > w || y0 >= y1 || x0 >= x1) {
    throw new ArgumentError(`crop { y0: ${y0}, x0: ${x0}, y1: ${y1}, x1: ${x1} } is not a non-empty box ` +
      `inside the ${h} x ${w} image (rows y0..y1-1, columns x0..x1-1)`);
  }
  return crop;
}

/**
 * An RGBA image of `box`'s size, cut from an H x `stride` plane; `pixel(i, out, o)` writes R, G,
 * B of source index i (a flat index into the plane) at out[o..o+2]. Alpha is 255.
 */
function paint(box: Box, stride: number, pixel: (i: number, out: Uint8ClampedArray, o: number) => void): RgbaImage {
  const width = box.x1 - box.x0, height = box.y1 - box.y0;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      pixel((box.y0 + y) * stride + box.x0 + x, out, o);
      out[o + 3] = 255;
    }
  }
  return { width, height, data: out };
}
