/**
 * What a forward pass costs, to decide whether work is worth a pool of workers: starting one
 * and copying the model into it takes 0.1-0.4 s here, which a small network on a few images
 * never earns back.
 */
import type { Model } from './model.js';

/** Multiply-adds of one image's forward pass: convolutions and dense layers (the rest is small). */
export function forwardMacs(model: Model): number {
  let macs = 0;
  model.network.ops.forEach((op, i) => {
    const outSize = model.shapes[i].reduce((a, b) => a * b, 1);
    const inp = model.inputShape(i);
    if (op.kind === 'conv') macs += outSize * (inp[0] / op.groups) * op.kernel[0] * op.kernel[1];
    else if (op.kind === 'dense') macs += outSize * inp.reduce((a, b) => a * b, 1);
  });
  return macs;
}
