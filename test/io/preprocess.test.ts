// Image pixels -> network input: each preset's numbers, the resampler, the centre crop.
import { describe, expect, test } from 'vitest';
import { preprocessImage, PRESETS, resizeRgb, type Pixels } from '../../src/io/preprocess.js';
import { ArgumentError, ImageDecodeError } from '../../src/errors.js';

/** An image whose RGBA at (x, y) is f(x, y). */
function image(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = f(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

const constant = (w: number, h: number, rgb: [number, number, number]) => image(w, h, () => rgb);

/** Channel k of a [1, C, H, W] tensor as an array. */
function channel(t: { shape: number[]; data: Float32Array }, k: number): Float32Array {
  const plane = t.shape[2] * t.shape[3];
  return t.data.subarray(k * plane, (k + 1) * plane);
}

function expectAll(values: Float32Array, want: number, digits = 5): void {
  let worst = 0;
  for (const v of values) worst = Math.max(worst, Math.abs(v - want));
  expect(worst).toBeLessThan(10 ** -digits);
}

describe('presets on known pixels', () => {
  const rgb: [number, number, number] = [200, 100, 50];

  test('torchvision: RGB, (u8/255 - mean) / std', () => {
    const t = preprocessImage(constant(300, 260, rgb), [3, 224, 224], 'torchvision');
    expect(t.shape).toEqual([1, 3, 224, 224]);
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    rgb.forEach((u8, k) => expectAll(channel(t, k), (u8 / 255 - mean[k]) / std[k]));
  });

  test('caffe: BGR, u8 - (103.939, 116.779, 123.68)', () => {
    const t = preprocessImage(constant(50, 80, rgb), [3, 224, 224], 'caffe');
    expectAll(channel(t, 0), 50 - 103.939, 4);
    expectAll(channel(t, 1), 100 - 116.779, 4);
    expectAll(channel(t, 2), 200 - 123.68, 4);
  });

  test('none: RGB, u8/255', () => {
    const t = preprocessImage(constant(7, 9, rgb), [3, 32, 16], 'none');
    expect(t.shape).toEqual([1, 3, 32, 16]);
    rgb.forEach((u8, k) => expectAll(channel(t, k), u8 / 255));
  });

  test('grayscale: one channel of ITU-R 601 luma / 255 (28 x 28, Fashion-MNIST style)', () => {
    const t = preprocessImage(constant(100, 100, rgb), [1, 28, 28], 'grayscale');
    expect(t.shape).toEqual([1, 1, 28, 28]);
    expectAll(t.data, (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255);
    // A gray image keeps its level; black and white stay 0 and 1.
    expectAll(preprocessImage(constant(5, 5, [255, 255, 255]), [1, 28, 28], 'grayscale').data, 1);
    expectAll(preprocessImage(constant(5, 5, [0, 0, 0]), [1, 28, 28], 'grayscale').data, 0);
  });

  test('same-size images pass through pixel for pixel (no resampling blur)', () => {
    const img = image(6, 4, (x, y) => [x * 40, y * 60, (x * 7 + y * 13) % 256]);
    const t = preprocessImage(img, [3, 4, 6], 'none');
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 6; x++) {
        expect(t.data[y * 6 + x]).toBeCloseTo((x * 40) / 255, 6);
        expect(t.data[24 + y * 6 + x]).toBeCloseTo((y * 60) / 255, 6);
        expect(t.data[48 + y * 6 + x]).toBeCloseTo(((x * 7 + y * 13) % 256) / 255, 6);
      }
    }
  });

  test('alpha is ignored', () => {
    const img = constant(4, 4, [10, 20, 30]);
    for (let i = 3; i < img.data.length; i += 4) img.data[i] = 0;
    expectAll(channel(preprocessImage(img, [3, 4, 4], 'none'), 2), 30 / 255);
  });

  test('PRESETS describes every preset', () => {
    expect(Object.keys(PRESETS).sort()).toEqual(['caffe', 'grayscale', 'none', 'torchvision']);
    expect(PRESETS.caffe.channels).toEqual(['B', 'G', 'R']);
  });
});

describe('resizing', () => {
  test('a constant image stays constant at any scale, up or down, odd sizes', () => {
    for (const [w, h] of [[1, 1], [3, 5], [37, 53], [224, 224], [640, 427], [1000, 17]]) {
      const out = resizeRgb(constant(w, h, [17, 130, 251]), 29, 31, 0, 0, 29, 31);
      expectAll(out.subarray(0, 29 * 31), 17, 3);
      expectAll(out.subarray(29 * 31, 2 * 29 * 31), 130, 3);
      expectAll(out.subarray(2 * 29 * 31), 251, 3);
    }
  });

  test('enlarging is bilinear with pixel centres at +0.5', () => {
    const out = resizeRgb(image(2, 1, (x) => [x * 255, 0, 0]), 4, 1, 0, 0, 4, 1);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 63.75, 191.25, 255]);
  });

  test('shrinking by 2 uses the widened triangle (weights 1/8, 3/8, 3/8, 1/8)', () => {
    const out = resizeRgb(image(8, 1, (x) => [x * 10, 0, 0]), 4, 1, 0, 0, 4, 1);
    // Interior outputs of a ramp are the ramp at the output's centre.
    expect(out[1]).toBeCloseTo(25, 4);
    expect(out[2]).toBeCloseTo(45, 4);
  });

  test('shrinking antialiases: a one-pixel checkerboard becomes flat gray', () => {
    const board = image(400, 400, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
    const out = resizeRgb(board, 37, 37, 0, 0, 37, 37).subarray(0, 37 * 37);
    const min = Math.min(...out), max = Math.max(...out);
    expect(min).toBeGreaterThan(120);
    expect(max).toBeLessThan(135);
  });

  test('torchvision resizes the shorter side to 256 and crops the centre', () => {
    // A 10 x 5 image for a 4 x 4 input: the shorter side becomes round(256 * 4 / 224) = 5, so no
    // resampling, and the crop is rows 0..3 (round(0.5) = 0, as Python rounds) and columns 3..6.
    const img = image(10, 5, (x, y) => [x * 20, y * 40, 0]);
    const t = preprocessImage(img, [3, 4, 4], 'torchvision');
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        expect(t.data[y * 4 + x]).toBeCloseTo(((3 + x) * 20 / 255 - 0.485) / 0.229, 5);
        expect(t.data[16 + y * 4 + x]).toBeCloseTo((y * 40 / 255 - 0.456) / 0.224, 5);
      }
    }
  });

  test('torchvision crop of a large landscape image is centred', () => {
    // Left third red, middle third green, right third blue: the centre crop sees only green.
    const img = image(1200, 400, (x) => (x < 400 ? [255, 0, 0] : x < 800 ? [0, 255, 0] : [0, 0, 255]));
    const t = preprocessImage(img, [3, 224, 224], 'torchvision');
    expectAll(channel(t, 0), (0 - 0.485) / 0.229, 4);
    expectAll(channel(t, 1), (1 - 0.456) / 0.224, 4);
  });

  test('caffe and none stretch the whole image (no crop)', () => {
    const img = image(300, 100, (x) => (x < 150 ? [0, 0, 0] : [255, 255, 255]));
    const t = preprocessImage(img, [3, 20, 20], 'none');
    expect(t.data[0]).toBeCloseTo(0, 5); // left edge black
    expect(t.data[19]).toBeCloseTo(1, 5); // right edge white
  });
});

describe('refusals', () => {
  test('images over 16384 px on a side or 100 M pixels', () => {
    const tiny = new Uint8Array(4);
    expect(() => preprocessImage({ width: 16385, height: 1, data: tiny }, [3, 4, 4], 'none')).toThrow(ImageDecodeError);
    expect(() => preprocessImage({ width: 10001, height: 10000, data: tiny }, [3, 4, 4], 'none')).toThrow(/100 million/);
    expect(() => preprocessImage({ width: 0, height: 5, data: tiny }, [3, 4, 4], 'none')).toThrow(ImageDecodeError);
  });

  test('a preset whose channel count does not fit the network, and short pixel data', () => {
    expect(() => preprocessImage(constant(4, 4, [1, 2, 3]), [1, 4, 4], 'caffe')).toThrow(ArgumentError);
    expect(() => preprocessImage(constant(4, 4, [1, 2, 3]), [3, 4, 4], 'grayscale')).toThrow(/1 channel/);
    expect(() => preprocessImage({ width: 4, height: 4, data: new Uint8Array(10) }, [3, 4, 4], 'none')).toThrow(ArgumentError);
    expect(() => preprocessImage(constant(4, 4, [1, 2, 3]), [3, 4, 4], 'imagenet' as 'none')).toThrow(/unknown preprocessing preset/);
  });
});
