/**
 * Results as files the user keeps: pictures as PNG, charts as SVG, numbers as JSON. Everything
 * is made in the page from what the worker sent; nothing leaves the machine.
 */
import type { RgbaImage } from '../../src/deconv/render.js';

/** A picture as a PNG file (a 2D canvas; no WebGL). */
export async function pngBlob(image: RgbaImage): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser gave no 2D canvas to draw the picture with');
  const data = image.data.byteOffset === 0 && image.data.length === image.width * image.height * 4 ? image.data : image.data.slice();
  context.putImageData(new ImageData(data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height), 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error(`the ${image.width}x${image.height} picture could not be encoded as PNG`);
  return blob;
}

/** An SVG document (the engine's charts are whole documents already). */
export function svgBlob(svg: string): Blob {
  const doc = svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  return new Blob([doc], { type: 'image/svg+xml' });
}

/**
 * Plain data as JSON: typed arrays become arrays, pictures and Blobs are left out (they are
 * exported as pictures), non-finite numbers become null (as JSON.stringify does).
 */
export function jsonBlob(value: unknown): Blob {
  return new Blob([JSON.stringify(value, jsonReplacer, 1)], { type: 'application/json' });
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Blob) return undefined;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    // An RGBA picture's bytes are not numbers anyone wants in a table.
    if (value instanceof Uint8ClampedArray) return undefined;
    return Array.from(value as unknown as ArrayLike<number>);
  }
  return value;
}

/** Hand a file to the browser's download (an object URL, released once the click is dispatched). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from parts: lower case, no spaces or characters file systems dislike. */
export function fileName(...parts: (string | number | undefined)[]): string {
  const stem = parts.filter((p) => p !== undefined && p !== '').join('-');
  const ext = stem.lastIndexOf('.');
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return ext > 0 ? `${clean(stem.slice(0, ext))}${stem.slice(ext).toLowerCase()}` : clean(stem);
}
