/**
 * Row-major layouts of a batch of tensors as the 5-axis strided kernels take them
 * (assembly/strided.ts, assembly/binary.ts): axis 0 is the batch, each image's axes follow,
 * padded with leading 1s to four.
 */
import { ArgumentError } from '../../errors.js';
import type { Shape } from '../../graph/layers.js';

export type Five = [number, number, number, number, number];

/** Strides (in floats) of a contiguous row-major tensor. */
export function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = step; step *= shape[i]; }
  return s;
}

/** Dims [n, ...shape] padded to five axes. */
export function dims5(n: number, shape: Shape): Five {
  if (shape.length > 4) throw new ArgumentError(`[${shape.join(', ')}] has more than 4 axes per image`);
  return [n, ...new Array<number>(4 - shape.length).fill(1), ...shape] as Five;
}

/** Per-image strides padded to four axes (0 on the padding), after a batch stride. */
export function strides5(batchStride: number, strides: readonly number[]): Five {
  return [batchStride, ...new Array<number>(4 - strides.length).fill(0), ...strides] as Five;
}

/** numpy broadcasting of per-image shapes (right-aligned); throws naming the shapes that clash. */
export function broadcastShapes(shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    s.forEach((d, i) => {
      const j = rank - s.length + i;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new ArgumentError(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} cannot be broadcast together`);
      }
    });
  }
  return out;
}

/** Strides for reading `shape` broadcast to `out` (0 where it is repeated), right-aligned. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = contiguous(shape);
  return out.map((d, j) => {
    const i = j - (out.length - shape.length);
    if (i < 0) return 0;
    return shape[i] === 1 && d !== 1 ? 0 : own[i];
  });
}
