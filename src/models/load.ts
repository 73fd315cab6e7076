/**
 * loadModel: the one entry point from a name (or, with the ONNX importer, a file) to a Model.
 */
import { ArgumentError } from '../errors.js';
import { Model, type ModelOptions } from '../engine/model.js';
import { ARCHITECTURES } from './architectures.js';

export interface LoadOptions extends ModelOptions {
  /** Seed of the built-in architectures' random weights (default 1). */
  seed?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export async function loadModel(source: string, options: LoadOptions = {}): Promise<Model> {
  const build = ARCHITECTURES[source];
  if (!build) {
    throw new ArgumentError(`unknown model '${source}'; built-in architectures: ${Object.keys(ARCHITECTURES).join(', ')}`);
  }
  const model = await Model.create(build(), options);
  model.initWeights(options.seed ?? 1);
  options.onProgress?.(1);
  return model;
}
