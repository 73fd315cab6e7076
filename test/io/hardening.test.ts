// Issue 14, items 5 and 9: the public functions of src/io validate their sizes and types with
// typed errors that say what is wrong (never a RangeError from a typed array, never a
// misleading message).
import { describe, expect, test } from 'vitest';
import { encode as encodeJpeg } from 'jpeg-js';
import { checkImageSize, MAX_PIXELS, preprocessImage, resizeRgb, type Pixels } from '../../src/io/preprocess.js';
import { decodeImage, encodePng } from '../../src/io/image-node.js';
import { encodeNpy } from '../../src/io/npy.js';
import { ArgumentError, ImageDecodeError, NpyFormatError } from '../../src/errors.js';

const px = (width: number, height: number, extra = 0): Pixels => ({ width, height, data: new Uint8Array(width * height * 4 + extra).fill(100) });

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('preprocessImage validates the network input size', () => {
  test('[3, 1e6, 1e6] is an ArgumentError, not a RangeError', () => {
    const e = thrown(() => preprocessImage(px(8, 8), [3, 1e6, 1e6], 'torchvision'));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe('network input [3, 1000000, 1000000] is too large to preprocess: at most 16384 on a side ' +
      'and 268435456 values (2^28, counting at least 3 colour planes)');
  });

  test('other absurd or malformed inputs', () => {
    for (const input of [[3, 16384, 16384], [1, 16384, 16384], [3, 1, 16385], [4096, 128, 1024]]) {
      expect(() => preprocessImage(px(8, 8), input, 'none')).toThrow(/too large to preprocess/);
    }
    for (const input of [[3, NaN, 4], [3, 4.5, 4], [3, 0, 4], [3, -4, 4], [3, '4', 4], [3, 4], [3, 4, 4, 1]]) {
      expect(() => preprocessImage(px(8, 8), input as number[], 'none')).toThrow(ArgumentError);
    }
    expect(() => preprocessImage(px(8, 8), 224 as unknown as number[], 'none')).toThrow(/network input must be \[C, H, W\], got number 224/);
  });

  test('a valid input of an unusual shape still works', () => {
    const t = preprocessImage(px(3, 2), [3, 1, 1000], 'none');
    expect(t.shape).toEqual([1, 3, 1, 1000]);
  });
});

describe('RGBA data must be exactly width * height * 4 bytes', () => {
  test('longer data is refused as shorter data is', () => {
    const e = thrown(() => preprocessImage(px(4, 4, 4), [3, 4, 4], 'none'));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe('pixels of a 4 x 4 image must be 64 RGBA bytes (width * height * 4), got 68');
    expect(() => preprocessImage(px(4, 4, -4), [3, 4, 4], 'none')).toThrow(/must be 64 RGBA bytes .* got 60/);
    expect(() => preprocessImage(px(4, 4), [3, 4, 4], 'none')).not.toThrow();
    expect(() => encodePng(px(4, 4, 4))).toThrow(ImageDecodeError);
    expect(() => resizeRgb(px(4, 4, 4), 4, 4, 0, 0, 4, 4)).toThrow(ArgumentError);
  });
});

describe('image sizes: types and wording', () => {
  test("a width given as the string '28' must be a number", () => {
    const image = { width: '28', height: 28, data: new Uint8Array(28 * 28 * 4) } as unknown as Pixels;
    const e = thrown(() => preprocessImage(image, [3, 4, 4], 'none'));
    expect(e).toBeInstanceOf(ImageDecodeError);
    expect(e.message).toBe("the image's width must be a number, got the string '28'");
    expect(() => checkImageSize(28, undefined as unknown as number, 'x.png')).toThrow("x.png's height must be a number, got undefined");
    expect(() => checkImageSize(0, 5)).toThrow('the image has no pixels (0 x 5); width and height must be whole numbers of at least 1');
  });

  test('exactly 100 million pixels is accepted; one row more says by how much it is over', () => {
    expect(MAX_PIXELS).toBe(100_000_000);
    expect(() => checkImageSize(10000, 10000)).not.toThrow();
    const e = thrown(() => checkImageSize(10000, 10001, 'big.png'));
    expect(e).toBeInstanceOf(ImageDecodeError);
    expect(e.message).toBe('big.png is 10000 x 10001 pixels (100,010,000); an image may have at most 16384 px on a side ' +
      'and 100 million pixels (100,000,000)');
  });

  test('a JPEG just over 100 million pixels names its exact size (not "exceeded by 0MP")', () => {
    const jpg = new Uint8Array(encodeJpeg({ width: 16, height: 8, data: new Uint8Array(16 * 8 * 4) }, 90).data);
    const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
    new DataView(jpg.buffer).setUint16(sof + 5, 6104); // height
    new DataView(jpg.buffer).setUint16(sof + 7, 16384); // width
    const e = thrown(() => decodeImage(jpg, 'p.jpg'));
    expect(e).toBeInstanceOf(ImageDecodeError);
    expect(e.message).toBe('p.jpg is 16384 x 6104 pixels (100,007,936); an image may have at most 16384 px on a side ' +
      'and 100 million pixels (100,000,000)');
  });
});

describe('the other public functions check their arguments', () => {
  test('decodeImage and encodePng', () => {
    expect(() => decodeImage('x.png' as unknown as Uint8Array, 'x.png')).toThrow(ArgumentError);
    expect(() => encodePng({ width: 2, height: 2, data: 'abcd' } as unknown as Pixels)).toThrow(ArgumentError);
    expect(() => encodePng({ width: 1e6, height: 1e6, data: new Uint8Array(4) })).toThrow(ImageDecodeError);
  });

  test('resizeRgb', () => {
    expect(resizeRgb(px(4, 4), 8, 8, 2, 2, 4, 4).length).toBe(48);
    for (const args of [[8, 8, 6, 0, 4, 4], [8, 8, 0, 0, 1e6, 1e6], [8, 8, -1, 0, 4, 4], [0, 8, 0, 0, 1, 1], [8, 8, 0.5, 0, 4, 4]]) {
      expect(() => resizeRgb(px(4, 4), ...(args as [number, number, number, number, number, number]))).toThrow(ArgumentError);
    }
    expect(() => resizeRgb(px(4, 4), 1e5, 1e5, 0, 0, 1e5, 1e5)).toThrow(ArgumentError);
  });

  test('encodeNpy', () => {
    expect(() => encodeNpy({ shape: [1e6, 1e6], data: new Float32Array(4) })).toThrow(NpyFormatError);
    expect(() => encodeNpy({ shape: ['2', 2] as unknown as number[], data: new Float32Array(4) })).toThrow(NpyFormatError);
  });
});
