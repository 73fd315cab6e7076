/**
 * The global `ZF` of dist/zf-visualizer.min.js (main.ts), less the element classes: the engine
 * API on the page's own thread, and two browser helpers (pixels, toCanvas). No DOM at module
 * level: this is evaluated in the script's worker too.
 */
/// <reference path="./globals.d.ts" />
import { checkImageSize, type Pixels } from '../../src/io/preprocess.js';
import { ImageDecodeError } from '../../src/errors.js';
import type { RgbaImage } from '../../src/deconv/render.js';
import { MODELS_URL, startWorker } from './start-worker.js';
import { loadTwin } from './file-url.js';

export * from '../../src/errors.js';
export { Model } from '../../src/engine/model.js';
export { Run } from '../../src/engine/run.js';
export { loadModel } from '../../src/models/load.js';
export { ARCHITECTURES } from '../../src/models/architectures.js';
export { simdSupported } from '../../src/wasm/load.js';
export { preprocessImage, PRESETS, PRESET_NAMES } from '../../src/io/preprocess.js';
export { parseNpy, encodeNpy } from '../../src/io/npy.js';
export { MODES } from '../../src/deconv/walk.js';
export { parseKeep } from '../../src/deconv/keep.js';
export { projectionToImage, inputToImage, tileImages, DISPLAY_MODES } from '../../src/deconv/render.js';
export { namedLayers, POINTS } from '../../src/graph/names.js';
export { receptiveFields } from '../../src/graph/shapes.js';
export { MODELS_URL, startWorker };
/** The URL this script was loaded from. */
export const SCRIPT_URL = __zfScriptUrl;

/** Decoded RGBA pixels of an image element, canvas, bitmap, Blob or URL (for model.preprocess). */
export async function pixels(source: string | URL | Blob | CanvasImageSource): Promise<Pixels> {
  let image: CanvasImageSource | ImageBitmap;
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(source, document.baseURI);
    if (url.protocol === 'file:') {
      image = await createImageBitmap(new Blob([await loadTwin(url.href) as BlobPart]));
    } else {
      const response = await fetch(url);
      if (!response.ok) throw new ImageDecodeError(`could not download ${source}: HTTP ${response.status}`);
      image = await createImageBitmap(await response.blob());
    }
  } else if (source instanceof Blob) {
    image = await createImageBitmap(source);
  } else {
    if (source instanceof HTMLImageElement && !source.complete) await source.decode();
    image = source;
  }
  const width = 'naturalWidth' in image ? image.naturalWidth : (image as { width: number }).width;
  const height = 'naturalHeight' in image ? image.naturalHeight : (image as { height: number }).height;
  checkImageSize(width, height, 'the image');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(image, 0, 0);
  return { width, height, data: context.getImageData(0, 0, width, height).data };
}

/** An RGBA picture (projectionToImage, inputToImage) as a canvas, optionally scaled up. */
export function toCanvas(image: RgbaImage, scale = 1): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width * scale;
  canvas.height = image.height * scale;
  const context = canvas.getContext('2d')!;
  const small = document.createElement('canvas');
  small.width = image.width;
  small.height = image.height;
  small.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  return canvas;
}
