// Projections and inputs as pictures: the contrast stretch, the heatmap, crops, undoing each
// preprocessing preset, and sheet geometry. Pure functions on small known tensors, no engine.
import { describe, expect, test } from 'vitest';
import {
  inputToImage, projectionSheet, projectionToImage, tileImages, type RgbaImage,
} from '../../src/deconv/render.js';
import type { Projection } from '../../src/deconv/project.js';
import type { Box } from '../../src/graph/shapes.js';
import { preprocessImage, resizeRgb, type Pixels } from '../../src/io/preprocess.js';
import { ArgumentError } from '../../src/errors.js';

/** A Projection of shape [K, C, H, W] holding `data`, boxes the whole image unless given. */
function projection(shape: [number, number, number, number], data: number[] | Float32Array, boxes?: Box[]): Projection {
  const [k, , h, w] = shape;
  return {
    image: 0, preprocess: 'none', layer: 'conv1', point: 'relu', map: 0, mode: 'deconvnet', keep: k > 1 ? `top-${k}` : 'max',
    shape, data: Float32Array.from(data), units: [],
    boxes: boxes ?? Array.from({ length: k }, () => ({ y0: 0, x0: 0, y1: h, x1: w })),
  };
}

/** RGBA of pixel (x, y). */
function px(img: RgbaImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(o, o + 4));
}

function image(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([...f(x, y), 255], (y * width + x) * 4);
  }
  return { width, height, data };
}

const pattern = (x: number, y: number): [number, number, number] =>
  [(x * 37 + y * 11) % 256, (x * 5 + y * 29 + 90) % 256, (x * y * 3 + 17) % 256];

describe('contrast (the paper: each projection centred on grey, stretched on its own)', () => {
  test('max |v| maps to 255 (positive) or 1 (negative), zero to 128, linear between', () => {
    // [1, 3, 1, 4]: R = (4, -4, 0, 1), G = (0, 0, 0, 0), B = (-1, 2, 0, 0), preset none (RGB).
    const p = projection([1, 3, 1, 4], [4, -4, 0, 1, 0, 0, 0, 0, -1, 2, 0, 0]);
    const img = projectionToImage(p, 0, { preprocess: 'none' });
    expect([img.width, img.height]).toEqual([4, 1]);
    expect(px(img, 0, 0)).toEqual([255, 128, Math.round(128 - 127 / 4), 255]);
    expect(px(img, 1, 0)).toEqual([1, 128, Math.round(128 + 127 / 2), 255]);
    expect(px(img, 2, 0)).toEqual([128, 128, 128, 255]);
    expect(px(img, 3, 0)).toEqual([Math.round(128 + 127 / 4), 128, 128, 255]);
  });

  test('one scale for all channels: the largest |v| of any channel sets it', () => {
    const p = projection([1, 3, 1, 1], [1, 2, -8]);
    expect(px(projectionToImage(p, 0, { preprocess: 'none' }), 0, 0))
      .toEqual([Math.round(128 + 127 / 8), Math.round(128 + 127 / 4), 1, 255]);
  });

  test('each projection is stretched on its own: a 1000x weaker one still reaches 255', () => {
    const p = projection([2, 3, 1, 2], [4, 1, 0, 0, 0, 0, 0.004, -0.001, 0, 0, 0, 0]);
    const a = projectionToImage(p, 0, { preprocess: 'none' });
    const b = projectionToImage(p, 1, { preprocess: 'none' });
    expect(Array.from(a.data)).toEqual([255, 128, 128, 255, 160, 128, 128, 255]);
    expect(Array.from(b.data)).toEqual([255, 128, 128, 255, 96, 128, 128, 255]);
  });

  test('an all-zero projection is plain grey (no division by zero)', () => {
    const img = projectionToImage(projection([1, 3, 2, 2], new Float32Array(12)), 0, { preprocess: 'torchvision' });
    for (let i = 0; i < img.data.length; i += 4) expect(Array.from(img.data.subarray(i, i + 4))).toEqual([128, 128, 128, 255]);
  });

  test('caffe tensors are BGR: channel 0 is shown as blue, channel 2 as red', () => {
    // x = 0: only tensor channel 0 (B); x = 1: only tensor channel 2 (R).
    const p = projection([1, 3, 1, 2], [5, 0, 0, 0, 0, 5]);
    const img = projectionToImage(p, 0, { preprocess: 'caffe' });
    expect(px(img, 0, 0)).toEqual([128, 128, 255, 255]);
    expect(px(img, 1, 0)).toEqual([255, 128, 128, 255]);
    // The same tensor read as RGB (torchvision) swaps them.
    const rgb = projectionToImage(p, 0, { preprocess: 'torchvision' });
    expect(px(rgb, 0, 0)).toEqual([255, 128, 128, 255]);
  });

  test('grayscale: the one channel is replicated into R, G and B', () => {
    const p = projection([1, 1, 2, 2], [3, -3, 0, 1.5]);
    const img = projectionToImage(p, 0, { preprocess: 'grayscale' });
    expect(px(img, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(px(img, 1, 0)).toEqual([1, 1, 1, 255]);
    expect(px(img, 0, 1)).toEqual([128, 128, 128, 255]);
    expect(px(img, 1, 1)).toEqual([192, 192, 192, 255]);
  });

  test('bad arguments: k out of range, channels not matching the preset, unknown preset or mode', () => {
    const p = projection([1, 3, 1, 1], [1, 2, 3]);
    expect(() => projectionToImage(p, 1, { preprocess: 'none' })).toThrow(/projection 1 is out of range/);
    expect(() => projectionToImage(p, 0, { preprocess: 'grayscale' })).toThrow(ArgumentError);
    expect(() => projectionToImage(p, 0, { preprocess: 'bgr' as never })).toThrow(/unknown preprocessing preset/);
    expect(() => projectionToImage(p, 0, { preprocess: 'none', mode: 'rainbow' as never })).toThrow(/display mode/);
  });
});

describe('heatmap (channel sum; bwr: white at zero, red positive, blue negative)', () => {
  test('signs and scale', () => {
    // Channel sums per pixel: 6, -6, 0 (cancelling channels), 3, -3, 0.
    const p = projection([1, 3, 1, 6], [
      2, -2, 5, 1, -1, 0,
      2, -2, -5, 1, -1, 0,
      2, -2, 0, 1, -1, 0,
    ]);
    const img = projectionToImage(p, 0, { preprocess: 'caffe', mode: 'heatmap' });
    expect(px(img, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(img, 1, 0)).toEqual([0, 0, 255, 255]);
    expect(px(img, 2, 0)).toEqual([255, 255, 255, 255]);
    expect(px(img, 3, 0)).toEqual([255, 128, 128, 255]);
    expect(px(img, 4, 0)).toEqual([128, 128, 255, 255]);
    expect(px(img, 5, 0)).toEqual([255, 255, 255, 255]);
  });

  test('an all-zero projection is white', () => {
    const img = projectionToImage(projection([1, 1, 1, 2], [0, 0]), 0, { preprocess: 'grayscale', mode: 'heatmap' });
    expect(Array.from(img.data)).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
  });
});

describe('crops', () => {
  // [2, 1, 4, 5]: projection 0 holds v = 10y + x, projection 1 its negation.
  const values = Array.from({ length: 20 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5));
  const boxes = [{ y0: 1, x0: 2, y1: 3, x1: 5 }, { y0: 0, x0: 0, y1: 2, x1: 1 }];
  const p = projection([2, 1, 4, 5], [...values, ...values.map((v) => -v)], boxes);

  test("'box' crops to boxes[k], the same pixels as the full picture (stretched over the whole projection)", () => {
    for (const k of [0, 1]) {
      const full = projectionToImage(p, k, { preprocess: 'grayscale' });
      const crop = projectionToImage(p, k, { preprocess: 'grayscale', crop: 'box' });
      const b = boxes[k];
      expect([crop.width, crop.height]).toEqual([b.x1 - b.x0, b.y1 - b.y0]);
      for (let y = 0; y < crop.height; y++) {
        for (let x = 0; x < crop.width; x++) expect(px(crop, x, y)).toEqual(px(full, b.x0 + x, b.y0 + y));
      }
    }
    // The stretch uses the whole projection's max |v| (34, at row 3, column 4, outside box 0):
    // crop pixel (2, 1) is image pixel (4, 2), v = 24.
    expect(px(projectionToImage(p, 0, { preprocess: 'grayscale', crop: 'box' }), 2, 1)[0]).toBe(Math.round(128 + 127 * 24 / 34));
  });

  test('an explicit box, in heatmap mode too; boxes outside the image or empty are refused', () => {
    const img = projectionToImage(p, 1, { preprocess: 'grayscale', mode: 'heatmap', crop: { y0: 3, x0: 4, y1: 4, x1: 5 } });
    expect([img.width, img.height]).toEqual([1, 1]);
    expect(px(img, 0, 0)).toEqual([0, 0, 255, 255]);
    for (const crop of [{ y0: 0, x0: 0, y1: 5, x1: 5 }, { y0: 2, x0: 2, y1: 2, x1: 4 }, { y0: -1, x0: 0, y1: 2, x1: 2 },
      { y0: 0, x0: 0.5, y1: 2, x1: 2 }]) {
      expect(() => projectionToImage(p, 0, { preprocess: 'grayscale', crop })).toThrow(ArgumentError);
    }
  });
});

describe('inputToImage undoes each preset', () => {
  /** Largest |picture - expected| over RGB, expected as planar float RGB [3][h][w]. */
  function worst(img: RgbaImage, expected: Float32Array): number {
    const plane = img.width * img.height;
    let d = 0;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(img.data[i * 4 + c] - expected[c * plane + i]));
      expect(img.data[i * 4 + 3]).toBe(255);
    }
    return d;
  }

  test('torchvision (* std + mean, * 255): a 256 x 256 image comes back as its centre 224 x 224', () => {
    const src = image(256, 256, pattern);
    const img = inputToImage(preprocessImage(src, [3, 224, 224], 'torchvision'), 'torchvision');
    expect([img.width, img.height]).toEqual([224, 224]);
    for (const [x, y] of [[0, 0], [100, 37], [223, 223]]) expect(px(img, x, y)).toEqual([...pattern(x + 16, y + 16), 255]);
    expect(worst(img, resizeRgb(src, 256, 256, 16, 16, 224, 224))).toBe(0);
  });

  test('torchvision after real resampling: the resized pixels within rounding', () => {
    const src = image(97, 61, pattern);
    const t = preprocessImage(src, [3, 40, 40], 'torchvision');
    // Shorter side (61) to round(256 * 40 / 224) = 46, the other to floor(97 * 46 / 61) = 73.
    const resized = resizeRgb(src, 73, 46, 16, 3, 40, 40);
    expect(worst(inputToImage(t, 'torchvision'), resized)).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  test('caffe (+ mean, BGR -> RGB) and none (* 255), same size and resized', () => {
    for (const preset of ['caffe', 'none'] as const) {
      const same = image(12, 9, pattern);
      const exact = inputToImage(preprocessImage(same, [3, 9, 12], preset), preset);
      for (let y = 0; y < 9; y++) for (let x = 0; x < 12; x++) expect(px(exact, x, y)).toEqual([...pattern(x, y), 255]);
      const big = image(50, 37, pattern);
      const resized = resizeRgb(big, 23, 19, 0, 0, 23, 19);
      expect(worst(inputToImage(preprocessImage(big, [3, 19, 23], preset), preset), resized)).toBeLessThanOrEqual(0.5 + 1e-3);
    }
  });

  test('grayscale: luminance replicated into R, G, B', () => {
    const src = image(30, 20, pattern);
    const img = inputToImage(preprocessImage(src, [1, 20, 30], 'grayscale'), 'grayscale');
    const rgb = resizeRgb(src, 30, 20, 0, 0, 30, 20);
    const plane = 600;
    const luma = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      const l = 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i];
      luma[i] = luma[plane + i] = luma[2 * plane + i] = l;
    }
    expect(worst(img, luma)).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  test('clamps to 0-255, takes [C, H, W] or one image of a batch, and crops', () => {
    const t = { shape: [2, 3, 1, 2], data: Float32Array.from([-1, 2, 0.5, 0.5, 0, 1, 0, 0, 0, 0, 0, 0.2]) };
    expect(Array.from(inputToImage(t, 'none').data)).toEqual([0, 128, 0, 255, 255, 128, 255, 255]);
    expect(Array.from(inputToImage(t, 'none', undefined, 1).data)).toEqual([0, 0, 0, 255, 0, 0, 51, 255]);
    const chw = { shape: [3, 1, 2], data: t.data.slice(0, 6) };
    expect(Array.from(inputToImage(chw, 'none', { y0: 0, x0: 1, y1: 1, x1: 2 }).data)).toEqual([255, 128, 255, 255]);
    expect(() => inputToImage(t, 'none', undefined, 2)).toThrow(/image 2 is out of range/);
    expect(() => inputToImage(t, 'grayscale')).toThrow(ArgumentError);
  });
});

describe('tiling', () => {
  const solid = (width: number, height: number, v: number): RgbaImage =>
    ({ width, height, data: new Uint8ClampedArray(width * height * 4).fill(v) });

  test('cells as large as the largest image, images centred, gaps in the background colour', () => {
    const sheet = tileImages([solid(4, 2, 10), solid(2, 3, 20), solid(1, 1, 30)],
      { columns: 2, gap: 3, background: [1, 2, 3] });
    // Cells 4 x 3; 2 columns, 2 rows: (2 * 4 + 3) x (2 * 3 + 3).
    expect([sheet.width, sheet.height]).toEqual([11, 9]);
    expect(px(sheet, 0, 0)).toEqual([10, 10, 10, 10]);      // image 0 at (0, floor((3-2)/2) = 0)
    expect(px(sheet, 3, 1)).toEqual([10, 10, 10, 10]);
    expect(px(sheet, 0, 2)).toEqual([1, 2, 3, 255]);         // below image 0 in its cell
    expect(px(sheet, 5, 0)).toEqual([1, 2, 3, 255]);         // the gap
    expect(px(sheet, 7, 0)).toEqual([1, 2, 3, 255]);         // image 1 starts at x = 7 + 1
    expect(px(sheet, 8, 0)).toEqual([20, 20, 20, 20]);
    expect(px(sheet, 9, 2)).toEqual([20, 20, 20, 20]);
    expect(px(sheet, 10, 0)).toEqual([1, 2, 3, 255]);
    expect(px(sheet, 0, 5)).toEqual([1, 2, 3, 255]);         // the row gap
    expect(px(sheet, 1, 7)).toEqual([30, 30, 30, 30]);       // image 2 at (0 + 1, 6 + 1)
    expect(px(sheet, 8, 7)).toEqual([1, 2, 3, 255]);         // the empty last cell
  });

  test('defaults: ceil(sqrt(n)) columns, gap 2, white; a top-9 sheet is 3 x 3', () => {
    const sheet = tileImages(Array.from({ length: 9 }, () => solid(5, 4, 0)));
    expect([sheet.width, sheet.height]).toEqual([3 * 5 + 2 * 2, 3 * 4 + 2 * 2]);
    expect(px(sheet, 5, 0)).toEqual([255, 255, 255, 255]);
    expect(tileImages([solid(5, 4, 0)]).width).toBe(5);
    expect(tileImages([solid(5, 4, 0), solid(5, 4, 0)], { columns: 9, gap: 1 }).width).toBe(11);
    expect(() => tileImages([])).toThrow(ArgumentError);
    expect(() => tileImages([{ width: 2, height: 2, data: new Uint8ClampedArray(3) }])).toThrow(ArgumentError);
  });

  test('projectionSheet: each projection beside its patch, cropped to its box', () => {
    const boxes = [{ y0: 0, x0: 0, y1: 2, x1: 3 }, { y0: 1, x0: 1, y1: 4, x1: 2 }, { y0: 0, x0: 0, y1: 4, x1: 4 }];
    const p = projection([3, 1, 4, 4], Array.from({ length: 48 }, (_, i) => (i % 7) - 3), boxes);
    const input = { shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1) };
    const sheet = projectionSheet(p, input, { preprocess: 'grayscale', crop: true, gap: 5 });
    // Pairs: (3 + 2 + 3) x 2, (1 + 2 + 1) x 3, (4 + 2 + 4) x 4 -> cells 10 x 4, 2 columns, 2 rows.
    expect([sheet.width, sheet.height]).toEqual([2 * 10 + 5, 2 * 4 + 5]);
    const full = projectionSheet(p, input, { preprocess: 'grayscale' });
    expect([full.width, full.height]).toEqual([2 * 10 + 8, 2 * 4 + 8]);
    // The patch beside projection 2 is the white input.
    expect(px(full, 6, 0)).toEqual([255, 255, 255, 255]);
    expect(px(full, 0, 0)).toEqual(px(projectionToImage(p, 0, { preprocess: 'grayscale' }), 0, 0));
  });
});
