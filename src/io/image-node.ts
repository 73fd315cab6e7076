/**
 * Decoding and encoding image files in Node (the CLI): PNG with pngjs, JPEG with jpeg-js, both
 * pure JS. The format is sniffed from the first bytes, never from the file name. Every failure
 * is an ImageDecodeError naming the file. Browsers decode with createImageBitmap instead.
 *
 * Memory: neither decoder streams or decodes scaled down (pngjs holds the inflated, unfiltered
 * and unpacked image at once, at 2 bytes a sample for 16-bit files; jpeg-js holds every DCT
 * block as its own Int32Array), so a small file can declare an image that needs gigabytes
 * (a decompression bomb). Before either decoder runs, the header is read here and the
 * decoder's working memory is estimated from the declared size, the bytes per sample and the
 * chroma subsampling; above DECODE_BUDGET the file is refused, so that decoding any image file
 * stays under 1 GB of peak RSS (test/io/image-memory.test.ts measures it in a child process).
 */
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { decode as decodeJpeg } from 'jpeg-js';
import { ArgumentError, ImageDecodeError } from '../errors.js';
import { checkImageSize, MAX_PIXELS, type Pixels } from './preprocess.js';

/** The decoder working memory one image may need (estimated from its header): 640 MiB. */
export const DECODE_BUDGET = 640 * 2 ** 20;

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
  if (!(bytes instanceof Uint8Array)) throw new ArgumentError(`decodeImage(${name}) needs the file's bytes as a Uint8Array`);
  const format = sniffImage(bytes);
  if (!format) throw new ImageDecodeError(`${name} is not a PNG or JPEG image`);
  return format === 'png' ? decodePng(bytes, name) : decodeJpegFile(bytes, name);
}

/** What a PNG's IHDR declares, and the working memory pngjs needs to decode it. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
  /** Bytes of the filtered scanlines the zlib stream must inflate to (all 7 passes if interlaced). */
  rawBytes: number;
  /** Estimated peak bytes pngjs allocates for it (see estimate below). */
  decodeBytes: number;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const PNG_COLOR_NAMES: Record<number, string> = { 0: 'grayscale', 2: 'RGB', 3: 'palette', 4: 'grayscale+alpha', 6: 'RGBA' };

/** Read and check a PNG's IHDR (without decoding) and estimate the memory decoding takes. */
export function readPngHeader(bytes: Uint8Array, name: string): PngHeader {
  if (bytes.length < 33) throw new ImageDecodeError(`${name} is corrupt: the PNG ends before its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunk = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (chunk !== 'IHDR') throw new ImageDecodeError(`${name} is corrupt: the PNG does not start with an IHDR chunk`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  checkImageSize(width, height, name);
  // pngjs takes a later IHDR over the first (the size it decodes would not be the one checked).
  for (let at = 8 + 12 + view.getUint32(8); at + 8 <= bytes.length;) {
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (type === 'IHDR') throw new ImageDecodeError(`${name} is corrupt: the PNG has more than one IHDR chunk`);
    if (type === 'IEND') break;
    at += 12 + view.getUint32(at);
  }
  const bitDepth = bytes[24];
  const colorType = bytes[25];
  const interlace = bytes[28];
  const channels = PNG_CHANNELS[colorType];
  if (!channels) throw new ImageDecodeError(`${name} is corrupt: PNG colour type ${colorType} does not exist`);
  if (!PNG_DEPTHS[colorType].includes(bitDepth)) {
    throw new ImageDecodeError(`${name} is corrupt: a ${PNG_COLOR_NAMES[colorType]} PNG cannot have ${bitDepth}-bit samples`);
  }
  if (interlace > 1) throw new ImageDecodeError(`${name} is corrupt: PNG interlace method ${interlace} does not exist`);
  const rowBytes = (w: number) => (w > 0 ? Math.ceil((w * channels * bitDepth) / 8) + 1 : 0);
  let rawBytes = 0;
  if (interlace === 0) {
    rawBytes = rowBytes(width) * height;
  } else {
    // Adam7: pass p covers columns x0, x0+dx, ... and rows y0, y0+dy, ...
    for (const [x0, y0, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]) {
      const pw = Math.ceil((width - x0) / dx);
      const ph = Math.ceil((height - y0) / dy);
      if (pw > 0 && ph > 0) rawBytes += rowBytes(pw) * ph;
    }
  }
  const pixels = width * height;
  // pngjs (lib/parser-sync.js) holds at once: the concatenated IDAT data (under the file's size),
  // the inflated scanlines, the unfiltered rows and their concatenation (up to twice the
  // scanlines), the unpacked bitmap (4 samples a pixel, Uint16 for 16-bit files), and for
  // 16-bit files the rescaled 8-bit RGBA. An interlaced file is inflated once more here first
  // (to bound its zlib stream, which pngjs inflates without a limit).
  const decodeBytes = bytes.length + rawBytes * (interlace ? 4 : 3) +
    pixels * 4 * (bitDepth === 16 ? 2 : 1) + (bitDepth === 16 ? pixels * 4 : 0);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1, rawBytes, decodeBytes };
}

function checkBudget(name: string, width: number, height: number, what: string, bytes: number): void {
  if (bytes <= DECODE_BUDGET) return;
  const mb = (n: number) => Math.round(n / 2 ** 20);
  throw new ImageDecodeError(`${name} is ${width} x ${height} pixels (${what}); decoding it would take ` +
    `about ${mb(bytes)} MB, over the ${mb(DECODE_BUDGET)} MB an image may use (about ` +
    `${(DECODE_BUDGET / (bytes / (width * height)) / 1e6).toFixed(1)} million pixels for such a file); ` +
    'scale it down before loading it');
}

function decodePng(bytes: Uint8Array, name: string): Pixels {
  // Read the size from IHDR first, so an absurd header or a decompression bomb is refused
  // before anything is allocated.
  const header = readPngHeader(bytes, name);
  checkBudget(name, header.width, header.height,
    `${header.bitDepth}-bit ${PNG_COLOR_NAMES[header.colorType]}${header.interlaced ? ', interlaced' : ''}`, header.decodeBytes);
  if (header.interlaced) checkInflatedSize(bytes, header, name);
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

/**
 * pngjs inflates an interlaced file's zlib stream with no output limit, so a tiny image can
 * carry gigabytes of zeros. Inflate it here first, stopping at the size the header allows.
 */
function checkInflatedSize(bytes: Uint8Array, header: PngHeader, name: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (at + 12 + length > bytes.length) break; // truncated: pngjs says so
    if (type === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(parts), { maxOutputLength: Math.max(header.rawBytes, 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ImageDecodeError(`${name} is corrupt: its compressed pixel data inflates to more than the ` +
        `${header.rawBytes} bytes its ${header.width} x ${header.height} header allows`);
    }
    // Other zlib errors: pngjs reports them below.
  }
}

/** What a JPEG's frame header (SOF) declares, and the working memory jpeg-js needs for it. */
export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  /** Sampling factors "HxV" of each component, e.g. ['2x2', '1x1', '1x1'] for 4:2:0. */
  sampling: string[];
  decodeBytes: number;
  /**
   * True when the whole file was walked, marker by marker, to its end and held this one frame.
   * jpeg-js recovers from some damage this walk does not follow (and allocates every frame it
   * meets), so a file that is not `complete` is decoded under a stricter limit of jpeg-js's own.
   */
  complete: boolean;
}

/** Bytes jpeg-js spends on one 8x8 block: an Int32Array(64) (256 bytes, off the V8 heap) and its objects, as measured. */
const JPEG_BLOCK_BYTES = 576;
/**
 * jpeg-js's own memory limit (maxMemoryUsageInMB), a backstop to the estimate: it counts a
 * block as 256 bytes, so real use is up to JPEG_BLOCK_BYTES / 256 times what it counts.
 * 420 MB counted stays under 1 GB real; for a file the walk could not follow, 280 MB counted
 * keeps it within DECODE_BUDGET.
 */
const JPEG_COUNTED_LIMIT_MB = 420;
const JPEG_COUNTED_LIMIT_UNSURE_MB = 280;

/** Walk a JPEG's markers (without decoding), check its frame header and estimate the memory decoding takes. */
export function readJpegHeader(bytes: Uint8Array, name: string): JpegHeader | undefined {
  let found: JpegHeader | undefined;
  let frames = 0;
  let at = 2;
  const done = (complete: boolean) => (found ? { ...found, complete: complete && frames === 1 } : undefined);
  while (at + 2 <= bytes.length) {
    if (bytes[at] !== 0xff) return done(false); // not a marker where one must be
    const marker = bytes[at + 1];
    if (marker === 0xff) { at++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    if (marker === 0xd9) return done(true); // EOI
    if (at + 4 > bytes.length) return done(false);
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2) return done(false);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      frames++;
      if (at + 10 > bytes.length) return done(false);
      const height = (bytes[at + 5] << 8) | bytes[at + 6];
      const width = (bytes[at + 7] << 8) | bytes[at + 8];
      const components = bytes[at + 9];
      checkImageSize(width, height, name);
      if (components < 1 || components > 4 || at + 10 + 3 * components > bytes.length) return done(false);
      const hv: [number, number][] = [];
      for (let i = 0; i < components; i++) {
        const f = bytes[at + 11 + 3 * i];
        hv.push([Math.max(1, f >> 4), Math.max(1, f & 15)]);
      }
      const maxH = Math.max(...hv.map(([h]) => h));
      const maxV = Math.max(...hv.map(([, v]) => v));
      const mcusPerLine = Math.ceil(width / 8 / maxH);
      const mcusPerColumn = Math.ceil(height / 8 / maxV);
      // jpeg-js (lib/decoder.js) holds at once: a copy of the file, every component's blocks
      // (each its own Int32Array of 64), its samples as one Uint8Array a line, the
      // interleaved samples of the image, and the RGBA result.
      let decodeBytes = bytes.length + width * height * (components + 4);
      for (const [h, v] of hv) {
        const blocks = mcusPerLine * h * mcusPerColumn * v;
        const lines = Math.ceil((Math.ceil(height / 8) * v) / maxV) * 8;
        const perLine = Math.ceil((Math.ceil(width / 8) * h) / maxH) * 8;
        decodeBytes += blocks * JPEG_BLOCK_BYTES + lines * (perLine + 96);
      }
      const header = { width, height, components, sampling: hv.map(([h, v]) => `${h}x${v}`), decodeBytes, complete: false };
      // jpeg-js allocates the blocks of every frame it meets: count them all.
      if (found) header.decodeBytes += found.decodeBytes;
      found = header;
    }
    at += 2 + length;
    if (marker === 0xda) {
      // Entropy-coded data follows a scan header, up to the next marker that is not a stuffed
      // 0xFF00 or a restart marker.
      while (at + 1 < bytes.length && !(bytes[at] === 0xff && bytes[at + 1] !== 0 && (bytes[at + 1] < 0xd0 || bytes[at + 1] > 0xd7))) at++;
    }
  }
  return done(at >= bytes.length);
}

function decodeJpegFile(bytes: Uint8Array, name: string): Pixels {
  const header = readJpegHeader(bytes, name);
  if (header) {
    checkBudget(name, header.width, header.height,
      `${header.components} component${header.components > 1 ? 's' : ''}, sampling ${header.sampling.join(' ')}`,
      header.decodeBytes);
  }
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decodeJpeg(bytes, {
      useTArray: true, formatAsRGBA: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: header?.complete ? JPEG_COUNTED_LIMIT_MB : JPEG_COUNTED_LIMIT_UNSURE_MB,
    });
  } catch (e) {
    const text = errorText(e);
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(text)) {
      throw new ImageDecodeError(`${name} is too large to decode (jpeg-js: ${text}); an image may have at most ` +
        `${MAX_PIXELS.toLocaleString('en-US')} pixels and use ${DECODE_BUDGET / 2 ** 20} MB to decode`);
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
  if (!pixels || !(pixels.data instanceof Uint8Array || pixels.data instanceof Uint8ClampedArray)) {
    throw new ArgumentError('encodePng needs pixels { width, height, data: Uint8Array | Uint8ClampedArray } (RGBA)');
  }
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
