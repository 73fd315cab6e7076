// Decoding images in Node: PNG and JPEG round trips, and every bad file an ImageDecodeError
// that names the file.
import { describe, expect, test } from 'vitest';
import { PNG } from 'pngjs';
import { encode as encodeJpeg } from 'jpeg-js';
import { decodeImage, encodePng, sniffImage } from '../../src/io/image-node.js';
import { ImageDecodeError } from '../../src/errors.js';
import type { Pixels } from '../../src/io/preprocess.js';

function gradient(width: number, height: number): Pixels {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([(x * 255) / (width - 1), (y * 255) / (height - 1), 128, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

function decodeError(bytes: Uint8Array, name: string): string {
  try {
    decodeImage(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    expect((e as Error).message).toContain(name);
    return (e as Error).message;
  }
  throw new Error(`${name} decoded`);
}

describe('round trips', () => {
  test('PNG: encodePng then decodeImage gives the same pixels', () => {
    const img = gradient(37, 23);
    img.data[7] = 100; // some alpha
    const bytes = encodePng(img);
    expect(sniffImage(bytes)).toBe('png');
    const back = decodeImage(bytes, 'g.png');
    expect(back.width).toBe(37);
    expect(back.height).toBe(23);
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });

  test('PNG without alpha and grayscale PNG decode to opaque RGBA', () => {
    const img = gradient(8, 8);
    for (const colorType of [0, 2] as const) {
      const png = new PNG({ width: 8, height: 8, colorType, inputColorType: 6 });
      png.data = Buffer.from(img.data);
      const back = decodeImage(PNG.sync.write(png, { colorType, inputColorType: 6 }), `c${colorType}.png`);
      expect(back.data.length).toBe(8 * 8 * 4);
      expect(back.data[3]).toBe(255);
      if (colorType === 2) expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
      else expect(back.data[0]).toBe(back.data[1]);
    }
  });

  test('JPEG: jpeg-js encode then decodeImage is close to the original', () => {
    const img = gradient(64, 48);
    const bytes = encodeJpeg({ width: 64, height: 48, data: img.data }, 95).data;
    expect(sniffImage(bytes)).toBe('jpeg');
    const back = decodeImage(bytes, 'g.jpg');
    expect([back.width, back.height]).toEqual([64, 48]);
    let worst = 0;
    for (let i = 0; i < img.data.length; i++) {
      if (i % 4 === 3) expect(back.data[i]).toBe(255);
      else worst = Math.max(worst, Math.abs(back.data[i] - img.data[i]));
    }
    expect(worst).toBeLessThan(12);
  });
});

describe('bad files', () => {
  const png = encodePng(gradient(40, 30));
  const jpg = new Uint8Array(encodeJpeg({ width: 40, height: 30, data: gradient(40, 30).data }, 90).data);

  test('truncated PNG', () => {
    expect(decodeError(png.subarray(0, png.length - 30), 'x.png')).toMatch(/x\.png is corrupt/);
    expect(decodeError(png.subarray(0, 20), 'y.png')).toMatch(/y\.png is corrupt/);
  });

  test('PNG with damaged pixel data', () => {
    const bad = png.slice();
    for (let i = 60; i < bad.length - 20; i++) bad[i] ^= 0x5a;
    expect(decodeError(bad, 'z.png')).toMatch(/z\.png is corrupt/);
  });

  test('truncated JPEG', () => {
    expect(decodeError(jpg.subarray(0, 300), 'x.jpg')).toMatch(/x\.jpg is corrupt/);
  });

  test('random bytes and a text file are not images', () => {
    let seed = 7;
    const random = Uint8Array.from({ length: 1000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    expect(decodeError(random, 'noise.bin')).toBe('noise.bin is not a PNG or JPEG image');
    expect(decodeError(new TextEncoder().encode('hello, world\n'), 'x.png')).toBe('x.png is not a PNG or JPEG image');
    expect(decodeError(new Uint8Array(0), 'empty.jpg')).toBe('empty.jpg is not a PNG or JPEG image');
  });

  test('a PNG header claiming an absurd size is refused before decoding', () => {
    const huge = png.slice();
    const view = new DataView(huge.buffer);
    view.setUint32(16, 100_000); // IHDR width
    view.setUint32(20, 100_000); // IHDR height
    expect(decodeError(huge, 'huge.png')).toMatch(/100000 x 100000 pixels \(10,000,000,000\); an image may have at most 16384 px on a side/);
    view.setUint32(16, 20_000);
    view.setUint32(20, 1);
    expect(decodeError(huge, 'wide.png')).toMatch(/wide\.png is 20000 x 1 pixels .*at most 16384 px/);
  });

  test('a JPEG frame header claiming an absurd size is refused', () => {
    const huge = jpg.slice();
    const sof = huge.findIndex((b, i) => b === 0xff && huge[i + 1] === 0xc0);
    expect(sof).toBeGreaterThan(0);
    new DataView(huge.buffer).setUint16(sof + 5, 60_000); // height
    new DataView(huge.buffer).setUint16(sof + 7, 60_000); // width
    expect(decodeError(huge, 'huge.jpg')).toMatch(/huge\.jpg is 60000 x 60000 pixels \(3,600,000,000\); an image may have at most/);
  });
});
