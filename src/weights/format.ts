/**
 * The project's own compact weight format, for the shipped model and training snapshots:
 * a JSON manifest (the network, preprocessing, labels, training facts, tensor order) and
 * binary files of little-endian f16 values, each layer's weight then bias, in layer order.
 */
import { ModelFormatError } from '../errors.js';
import type { Network } from '../graph/layers.js';
import type { Model } from '../engine/model.js';
import { size } from '../graph/shapes.js';
import { decodeHalf, encodeHalf } from './f16.js';

export const FORMAT = 'zf-visualizer-weights';

export interface WeightsManifest {
  format: typeof FORMAT;
  version: 1;
  network: Network;
  dtype: 'f16';
  /** Layer order and shapes of the tensors in each binary file. */
  tensors: { layer: string; weight: number[]; bias?: number[] }[];
  /** The final weights' file, and one per saved epoch. */
  files: { final: string; epochs: Record<string, string> };
  /** Facts of the training run (epoch count, test accuracy, data, time). */
  training?: Record<string, unknown>;
}

export function describeTensors(model: Model): WeightsManifest['tensors'] {
  return Object.entries(model.weightShapes()).map(([layer, s]) => ({ layer, weight: s.weight, bias: s.bias }));
}

/** The model's weights as one f16 file. */
export function encodeWeights(model: Model): Uint8Array {
  const parts: Uint16Array[] = [];
  for (const t of describeTensors(model)) {
    const w = model.getWeights(t.layer);
    parts.push(encodeHalf(w.weight));
    if (w.bias) parts.push(encodeHalf(w.bias));
  }
  const out = new Uint16Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return new Uint8Array(out.buffer);
}

/** Check a manifest's shape before trusting anything in it. */
export function checkManifest(value: unknown, name: string): WeightsManifest {
  const m = value as WeightsManifest;
  if (!m || m.format !== FORMAT || m.version !== 1 || m.dtype !== 'f16' || !Array.isArray(m.tensors) ||
      !m.network || !Array.isArray(m.network.ops) || !m.files || typeof m.files.final !== 'string') {
    throw new ModelFormatError(`${name} is not a ${FORMAT} v1 manifest`);
  }
  return m;
}

/** Load one f16 weight file into a model created from the manifest's network. */
export function decodeWeightsInto(model: Model, manifest: WeightsManifest, bytes: Uint8Array, name: string): void {
  const expected = manifest.tensors.reduce((a, t) => a + size(t.weight) + (t.bias ? size(t.bias) : 0), 0);
  if (bytes.byteLength !== expected * 2) {
    throw new ModelFormatError(`${name} holds ${bytes.byteLength} bytes; the manifest's tensors need ${expected * 2}`);
  }
  const bits = new Uint16Array(bytes.slice().buffer);
  let at = 0;
  for (const t of manifest.tensors) {
    const w = decodeHalf(bits.subarray(at, at + size(t.weight)));
    at += size(t.weight);
    const b = t.bias ? decodeHalf(bits.subarray(at, at + size(t.bias))) : undefined;
    if (t.bias) at += size(t.bias);
    model.setWeights(t.layer, { weight: w, bias: b });
  }
}
