/**
 * Decoding and encoding image files in Node (the CLI): PNG with pngjs, JPEG with jpeg-js, both
 * pure JS. The format is sniffed from the first bytes, never from the file name. Every failure
 * is an ImageDecodeError naming the file. Browsers decode with createImageBitmap instead.
 */
import { PNG } from 'pngjs';
import { decode as decodeJpeg } from 'jpeg-js';
import { ImageDecodeError } from '../errors.js';
import { checkImageSize, MAX_PIXELS, type Pixels } from './preprocess.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type ImageFormat = 'png' | 'jpeg';

/** 'png', 'jpeg', or undefined, from the magic bytes. */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Decode a PNG or JPEG file to RGBA pixels. `name` is used in error messages. */
export function decodeImage(bytes: Uint8Array, name: string): Pixels {
  const format = sniffImage(bytes);
  if (!format) throw new ImageDecodeError(`${name} is not a PNG or JPEG image`);
  return format === 'png' ? decodePng(bytes, name) : decodeJpegFile(bytes, name);
}

function decodePng(bytes: Uint8Array, name: string): Pixels {
  // Read the size from IHDR first, so an absurd header is refused before anything is allocated.
  if (bytes.length < 33) throw new ImageDecodeError(`${name} is corrupt: the PNG ends before its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunk = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (chunk !== 'IHDR') throw new ImageDecodeError(`${name} is corrupt: the PNG does not start with an IHDR chunk`);
  checkImageSize(view.getUint32(16), view.getUint32(20), name);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(toBuffer(bytes));
  } catch (e) {
    const text = errorText(e);
    // pngjs reports a file that ends early as a stream that finished with reads pending.
    const truncated = /read requests|unexpected end|ended/i.test(text);
    throw new ImageDecodeError(`${name} is corrupt: ${truncated ? 'the PNG data ends early (truncated file?)' : text}`);
  }
  return rgba(png, name);
}

function decodeJpegFile(bytes: Uint8Array, name: string): Pixels {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decodeJpeg(bytes, {
      useTArray: true, formatAsRGBA: true,
      maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024,
    });
  } catch (e) {
    const text = errorText(e);
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(text)) {
      throw new ImageDecodeError(`${name} is too large to decode (${text}); images over ` +
        `${MAX_PIXELS / 1e6} million pixels are refused`);
    }
    throw new ImageDecodeError(`${name} is corrupt: ${text}`);
  }
  return rgba(img, name);
}

function rgba(img: { width: number; height: number; data: Uint8Array }, name: string): Pixels {
  checkImageSize(img.width, img.height, name);
  const data = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  if (data.length !== img.width * img.height * 4) {
    throw new ImageDecodeError(`${name} is corrupt: decoded ${data.length} bytes for ${img.width} x ${img.height} pixels`);
  }
  return { width: img.width, height: img.height, data };
}

/** A PNG file (8-bit RGBA) of the pixels. */
export function encodePng(pixels: Pixels): Uint8Array {
  const { width, height, data } = pixels;
  checkImageSize(width, height);
  if (data.length !== width * height * 4) {
    throw new ImageDecodeError(`cannot encode a PNG: ${width} x ${height} pixels need ${width * height * 4} RGBA bytes, got ${data.length}`);
  }
  const png = new PNG({ width, height });
  png.data = toBuffer(data);
  const out = PNG.sync.write(png);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function toBuffer(bytes: Uint8Array | Uint8ClampedArray): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s+/g, ' ').trim() || 'unknown decoder error';
}
