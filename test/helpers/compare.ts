// Comparing our engine's numbers with a reference's (onnxruntime, a direct computation).
import { expect } from 'vitest';

/** max |ours - ref| over max |ref|: the difference relative to the reference's scale. */
export function relDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(ours.length).toBe(ref.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
