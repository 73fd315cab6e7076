/**
 * The one check of a request's image list, for every handler: a list of { source, name } within
 * the handler's limits, each with a source; a missing or empty name becomes 'image i'. What
 * arrives from a page is not trusted to be well-formed (a null entry, a number for a name).
 */
import { ArgumentError } from '../../errors.js';
import type { NamedImage } from '../context.js';

export function checkImages(images: unknown, what: string, min: number, max: number): NamedImage[] {
  if (!Array.isArray(images)) throw new ArgumentError(`${what}: images must be a list of { source, name }, got ${images === null ? 'null' : typeof images}`);
  if (images.length < min) {
    throw new ArgumentError(min === 1 ? `${what} needs at least one image` : `${what} needs at least ${min} images, got ${images.length}`);
  }
  if (images.length > max) throw new ArgumentError(`${what} takes at most ${max} images, got ${images.length}`);
  return images.map((item: unknown, i) => {
    const entry = item && typeof item === 'object' ? item as Partial<NamedImage> : undefined;
    const name = typeof entry?.name === 'string' && entry.name ? entry.name : `image ${i}`;
    if (entry?.source === undefined || entry.source === null) {
      throw new ArgumentError(`${what}: image ${i}${name === `image ${i}` ? '' : ` (${name})`} has no source (give a Blob, a URL or pixels)`);
    }
    return { source: entry.source, name };
  });
}
