/**
 * A training replica in a worker thread (Node): it computes gradients for its share of each
 * batch, and applies the summed gradients it is sent, so every replica stays identical.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Model } from '../engine/model.js';
import type { Network } from '../graph/layers.js';
import { Trainer, type Hyper } from './trainer.js';

export type WorkerRequest =
  | { type: 'grad'; images: Float32Array; labels: Uint8Array }
  | { type: 'apply'; grads: Float32Array; hyper: Hyper }
  | { type: 'weights' };

const { network, batch, weights, seed } = workerData as {
  network: Network; batch: number; weights: Record<string, { weight: Float32Array; bias?: Float32Array }>; seed: number;
};
const model = await Model.create(network, { batch });
for (const [layer, w] of Object.entries(weights)) model.setWeights(layer, w);
const trainer = new Trainer(model, seed);

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'grad') {
    const result = trainer.computeGradients(msg.images, msg.labels);
    const grads = trainer.readGradients();
    parentPort!.postMessage({ ...result, grads }, [grads.buffer as ArrayBuffer]);
  } else if (msg.type === 'apply') {
    trainer.writeGradients(msg.grads);
    trainer.applyUpdate(msg.hyper);
    parentPort!.postMessage({ done: true });
  }
});
parentPort!.postMessage({ ready: true });
