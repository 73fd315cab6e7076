// The worker's image decoding (src/worker/host.ts decodeSource) in Chromium: pictures larger
// than the data-set analyses' bound are scaled down right after decoding (aspect kept, content
// kept), smaller ones come back exactly as decoded.
import { expect, test } from 'vitest';
import { decodeSource } from '../../src/worker/host.js';
import type { Pixels } from '../../src/io/preprocess.js';

/** A PNG of `width` x `height`: left half red, right half blue. */
async function halves(width: number, height: number): Promise<Blob> {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#ff0000';
  context.fillRect(0, 0, width / 2, height);
  context.fillStyle = '#0000ff';
  context.fillRect(width / 2, 0, width / 2, height);
  return canvas.convertToBlob({ type: 'image/png' });
}

const at = (p: Pixels, x: number, y: number) =>
  Array.from(p.data.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 3));

test('a 3000 x 2000 photo-sized image is scaled to 1024 on its long side; a small one is left alone', async () => {
  const signal = new AbortController().signal;
  const big = await decodeSource(await halves(3000, 2000), 'big.png', signal, 1024);
  expect([big.width, big.height]).toEqual([1024, 683]);
  expect(big.data.length).toBe(1024 * 683 * 4);
  expect(at(big, 100, 300)).toEqual([255, 0, 0]);
  expect(at(big, 900, 300)).toEqual([0, 0, 255]);

  const smallBlob = await halves(200, 100);
  const small = await decodeSource(smallBlob, 'small.png', signal, 1024);
  const full = await decodeSource(smallBlob, 'small.png', signal);
  expect([small.width, small.height]).toEqual([200, 100]);
  expect(small.data).toEqual(full.data);
});
