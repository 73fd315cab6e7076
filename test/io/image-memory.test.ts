// Decompression bombs (issue 14, item 2): files of a few hundred KB whose headers declare images
// that would take gigabytes to decode. Each is decoded in a child process (the bundled
// src/io/image-node.ts) and its peak RSS measured: at most 1 GB for any file, a typed refusal
// for the ones over the decode budget, and the largest files under the budget still decoding.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflate, crc32 as nodeCrc32 } from 'node:zlib';
import { build } from 'esbuild';
import { encode as encodeJpeg } from 'jpeg-js';
import { root } from '../helpers/cli.js';

const PEAK_LIMIT = 1e9;
let dir = '';
let bundle = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zf-bombs-'));
  bundle = join(dir, 'image-node.cjs');
  await build({ entryPoints: [join(root, 'src/io/image-node.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  if (typeof nodeCrc32 === 'function') return nodeCrc32(bytes);
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

interface PngSpec { width: number; height: number; depth: number; colorType: number; interlace?: 0 | 1; rawBytes?: number }

/**
 * A PNG of zero pixels, built by hand (no encoder holds the image): IHDR, then a zlib stream of
 * `rawBytes` bytes (by default what the header needs) streamed through deflate a row at a time.
 * Every row of a non-interlaced file uses filter 1 (Sub), which makes pngjs allocate each
 * unfiltered row (its worst case).
 */
async function craftPng(file: string, spec: PngSpec): Promise<number> {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[spec.colorType]!;
  const rowBytesOf = (w: number) => (w > 0 ? Math.ceil((w * channels * spec.depth) / 8) + 1 : 0);
  const rowBytes = rowBytesOf(spec.width);
  let total = rowBytes * spec.height;
  if (spec.interlace) {
    total = 0;
    for (const [x0, y0, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]) {
      const ph = Math.ceil((spec.height - y0) / dy);
      if (ph > 0) total += rowBytesOf(Math.ceil((spec.width - x0) / dx)) * ph;
    }
  }
  total = spec.rawBytes ?? total;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr.set([spec.depth, spec.colorType, 0, 0, spec.interlace ?? 0], 8);
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(Math.min(rowBytes, total));
  row[0] = spec.interlace ? 0 : 1; // (an interlaced file's rows differ in length: all zeros is filter 0 everywhere)
  const block = Buffer.concat(Array.from({ length: Math.max(1, Math.floor((1 << 20) / row.length)) }, () => row));
  for (let left = total; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)), chunk('IEND', new Uint8Array(0))]);
  writeFileSync(file, png);
  return png.length;
}

/**
 * A real JPEG (jpeg-js: 4:4:4, 3 components) of `w x h`, its frame header patched to claim
 * width x height (by default the true size).
 */
function craftJpeg(file: string, width: number, height: number, w = 64, h = 48): number {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & (i % 4096 < 2048 ? 255 : 0);
  const jpg = Buffer.from(encodeJpeg({ width: w, height: h, data }, 90).data);
  const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
  jpg.writeUInt16BE(height, sof + 5);
  jpg.writeUInt16BE(width, sof + 7);
  writeFileSync(file, jpg);
  return jpg.length;
}

interface Outcome { ok: boolean; error?: string; message?: string; width?: number; height?: number; peak: number }

/** Decode `file` in a fresh node process; its peak RSS (resourceUsage().maxRSS) and what happened. */
function decodeInChild(file: string): Outcome {
  const script = `
    const { decodeImage } = require(${JSON.stringify(bundle)});
    const bytes = require('fs').readFileSync(${JSON.stringify(file)});
    let out;
    try {
      const px = decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), 'bomb');
      out = { ok: true, width: px.width, height: px.height };
    } catch (e) {
      out = { ok: false, error: e.constructor.name, message: e.message };
    }
    out.peak = process.resourceUsage().maxRSS * 1024;
    console.log(JSON.stringify(out));`;
  const text = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(text.trim().split('\n').pop()!) as Outcome;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

function report(label: string, size: number, r: Outcome): void {
  console.log(`${label}: file ${(size / 1024).toFixed(0)} KB, peak RSS ${mb(r.peak)}, ` +
    (r.ok ? `decoded ${r.width} x ${r.height}` : `${r.error}: ${r.message}`));
}

describe('decompression bombs are refused before decoding, in bounded memory', () => {
  test('a 16-bit RGBA PNG of 10000 x 10000 (exactly 100 million pixels)', async () => {
    const file = join(dir, 'rgba16.png');
    const size = await craftPng(file, { width: 10000, height: 10000, depth: 16, colorType: 6 });
    expect(size).toBeLessThan(1 << 20);
    const r = decodeInChild(file);
    report('16-bit RGBA PNG 10000x10000', size, r);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ImageDecodeError');
    expect(r.message).toMatch(/^bomb is 10000 x 10000 pixels \(16-bit RGBA\); decoding it would take about \d+ MB, over the 640 MB/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });

  test('a JPEG whose frame header claims 16000 x 6000', () => {
    const file = join(dir, 'wide.jpg');
    const size = craftJpeg(file, 16000, 6000);
    const r = decodeInChild(file);
    report('JPEG claiming 16000x6000', size, r);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ImageDecodeError');
    expect(r.message).toMatch(/^bomb is 16000 x 6000 pixels \(3 components, sampling 1x1 1x1 1x1\); decoding it would take/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });

  test('an interlaced 1 x 1 PNG whose zlib stream inflates to 1 GB', async () => {
    const file = join(dir, 'inflate.png');
    const size = await craftPng(file, { width: 1, height: 1, depth: 8, colorType: 6, interlace: 1, rawBytes: 2 ** 30 });
    const r = decodeInChild(file);
    report('interlaced 1x1 PNG inflating to 1 GB', size, r);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ImageDecodeError');
    expect(r.message).toMatch(/bomb is corrupt: its compressed pixel data inflates to more than the 5 bytes its 1 x 1 header allows/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });
});

describe('a header that is not the one the decoder uses', () => {
  test('a PNG with a 1 x 1 IHDR and then a 10000 x 10000 16-bit one (pngjs takes the second)', async () => {
    const file = join(dir, 'two-ihdr.png');
    await craftPng(file, { width: 10000, height: 10000, depth: 16, colorType: 6 });
    const real = readFileSync(file);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(1, 0);
    ihdr.writeUInt32BE(1, 4);
    ihdr.set([8, 6, 0, 0, 0], 8);
    const bytes = Buffer.concat([real.subarray(0, 8), chunk('IHDR', ihdr), real.subarray(8)]);
    writeFileSync(file, bytes);
    const r = decodeInChild(file);
    report('PNG with a second IHDR of 10000x10000', bytes.length, r);
    expect(r).toMatchObject({ ok: false, error: 'ImageDecodeError', message: 'bomb is corrupt: the PNG has more than one IHDR chunk' });
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });

  test('a JPEG with a second frame header claiming 16000 x 6000 after its first scan', () => {
    const file = join(dir, 'two-frames.jpg');
    craftJpeg(file, 64, 48);
    const jpg = readFileSync(file);
    const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
    const sofSegment = Buffer.from(jpg.subarray(sof, sof + 2 + jpg.readUInt16BE(sof + 2)));
    sofSegment.writeUInt16BE(6000, 5);
    sofSegment.writeUInt16BE(16000, 7);
    const bytes = Buffer.concat([jpg.subarray(0, jpg.length - 2), sofSegment, Buffer.from([0xff, 0xd9])]);
    writeFileSync(file, bytes);
    const r = decodeInChild(file);
    report('JPEG with a second frame of 16000x6000', bytes.length, r);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ImageDecodeError');
    expect(r.message).toMatch(/^bomb is 16000 x 6000 pixels \(3 components, sampling 1x1 1x1 1x1\); decoding it would take/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });

  test('a JPEG claiming 9000 x 9000 behind a damaged segment length jpeg-js recovers from', () => {
    const file = join(dir, 'damaged.jpg');
    craftJpeg(file, 9000, 9000);
    const jpg = Buffer.from(readFileSync(file));
    expect(jpg.readUInt16BE(2)).toBe(0xffe0); // APP0 first: one byte too long eats the next marker's 0xFF
    jpg.writeUInt16BE(jpg.readUInt16BE(4) + 1, 4);
    writeFileSync(file, jpg);
    const r = decodeInChild(file);
    report('JPEG of 9000x9000 behind a damaged APP0 length', jpg.length, r);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ImageDecodeError');
    expect(r.message).toMatch(/^bomb is too large to decode \(jpeg-js: maxMemoryUsageInMB limit exceeded/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });
});

describe('the largest images under the budget decode within 1 GB', () => {
  const pngs: [string, PngSpec][] = [
    ['16-bit RGBA PNG', { width: 4300, height: 4300, depth: 16, colorType: 6 }],
    ['8-bit RGBA PNG', { width: 6400, height: 6400, depth: 8, colorType: 6 }],
    ['8-bit RGB PNG', { width: 7100, height: 7100, depth: 8, colorType: 2 }],
    ['1-bit grayscale PNG, 100 million pixels', { width: 10000, height: 10000, depth: 1, colorType: 0 }],
    ['8-bit RGBA interlaced PNG', { width: 5700, height: 5700, depth: 8, colorType: 6, interlace: 1 }],
  ];
  for (const [label, spec] of pngs) {
    test(label, async () => {
      const file = join(dir, 'big.png');
      const size = await craftPng(file, spec);
      const r = decodeInChild(file);
      report(`${label} ${spec.width}x${spec.height}`, size, r);
      expect(r, r.message).toMatchObject({ ok: true, width: spec.width, height: spec.height });
      expect(r.peak).toBeLessThan(PEAK_LIMIT);
    });
  }

  test('a 4:4:4 JPEG', () => {
    const file = join(dir, 'big.jpg');
    const size = craftJpeg(file, 4100, 4100, 4100, 4100);
    const r = decodeInChild(file);
    report('4:4:4 JPEG 4100x4100', size, r);
    expect(r, r.message).toMatchObject({ ok: true, width: 4100, height: 4100 });
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
  });
});

test('the crafted files are what they claim (sanity: pngjs reads a small one)', async () => {
  const file = join(dir, 'small.png');
  await craftPng(file, { width: 5, height: 3, depth: 16, colorType: 6 });
  const { PNG } = await import('pngjs');
  expect(PNG.sync.read(readFileSync(file))).toMatchObject({ width: 5, height: 3 });
});
