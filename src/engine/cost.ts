/**
 * What a forward pass costs, to decide whether work is worth a pool of workers: starting one
 * and copying the model into it takes 0.1-0.4 s here, which a small network on a few images
 * never earns back.
 */
import { opDef } from './ops/index.js';
import type { Model } from './model.js';

/** Multiply-adds of one image's forward pass, by each op's own count (convolutions and dense layers dominate). */
export function forwardMacs(model: Model): number {
  let macs = 0;
  model.network.ops.forEach((op, i) => {
    macs += opDef(op).macs?.(op, model.inputShapes(i), model.shapes[i]) ?? 0;
  });
  return macs;
}
