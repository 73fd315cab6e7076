/**
 * What of the chosen feature map is kept before projecting (design.md, "Keep modes"):
 * `max` the single strongest activation (first in row-major order on ties), `all` the whole
 * map, a position, or the k strongest positions, each projected separately.
 */
import { ArgumentError } from '../errors.js';

export type Keep = 'max' | 'all' | { y: number; x: number } | { top: number };

/** Parse the CLI/attribute spelling: 'max', 'all', 'Y,X' or 'top-K' (also 'topK'). */
export function parseKeep(keep: Keep | string | undefined): Keep {
  if (keep === undefined || keep === 'max' || keep === 'all') return keep ?? 'max';
  if (typeof keep === 'object') return keep;
  const position = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(keep);
  if (position) return { y: Number(position[1]), x: Number(position[2]) };
  const top = /^top-?(\d+)$/.exec(keep);
  if (top) return { top: Number(top[1]) };
  throw new ArgumentError(`keep '${keep}' is not one of max, all, Y,X (e.g. 3,7) or top-K (e.g. top-9)`);
}

export function keepLabel(keep: Keep): string {
  if (typeof keep === 'string') return keep;
  return 'top' in keep ? `top-${keep.top}` : `${keep.y},${keep.x}`;
}

/**
 * The positions (flat indices into one [H, W] map) a keep mode selects, strongest first for
 * max/top-k (ties: lower index first). `all` returns every position with a non-zero value.
 */
export function selectPositions(map: Float32Array, h: number, w: number, keep: Keep, where: string): number[] {
  if (keep === 'all') {
    const all: number[] = [];
    map.forEach((v, i) => { if (v !== 0) all.push(i); });
    return all;
  }
  if (keep === 'max') return strongest(map, 1);
  if ('top' in keep) {
    if (!Number.isInteger(keep.top) || keep.top < 1 || keep.top > map.length) {
      throw new ArgumentError(`top-${keep.top} is out of range for ${where}: it has ${map.length} position(s)`);
    }
    return strongest(map, keep.top);
  }
  const { y, x } = keep;
  if (!Number.isInteger(y) || !Number.isInteger(x) || y < 0 || x < 0 || y >= h || x >= w) {
    throw new ArgumentError(`position ${y},${x} is outside ${where}, which is ${h}x${w} (rows 0-${h - 1}, columns 0-${w - 1})`);
  }
  return [y * w + x];
}

function strongest(map: Float32Array, k: number): number[] {
  return Array.from(map.keys()).sort((a, b) => map[b] - map[a] || a - b).slice(0, k);
}
