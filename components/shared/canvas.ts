/** Painting the worker's RGBA pictures: 2D canvases only (no WebGL anywhere). */
import type { RgbaImage } from '../../src/deconv/render.js';

/** Size `canvas` to the picture and paint it. */
export function paint(canvas: HTMLCanvasElement | null | undefined, image: RgbaImage | undefined): void {
  if (!canvas || !image) return;
  if (canvas.width !== image.width) canvas.width = image.width;
  if (canvas.height !== image.height) canvas.height = image.height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const data = image.data.byteOffset === 0 && image.data.length === image.width * image.height * 4
    ? image.data : image.data.slice();
  context.putImageData(new ImageData(data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), 0, 0);
}
