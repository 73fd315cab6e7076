/**
 * The built-in default model, zfnet-mini (trained on Fashion-MNIST by `npm run train`), and
 * its training snapshots: files in the package's models/zfnet-mini/, read with fs in Node and
 * fetched relative to the engine's own URL in browsers (or from `baseUrl`).
 */
import { ArgumentError, ModelFormatError } from '../errors.js';
import { Model, type ModelOptions } from '../engine/model.js';
import { checkManifest, decodeWeightsInto, type WeightsManifest } from '../weights/format.js';

export const DEFAULT_MODEL = 'zfnet-mini';

export interface DefaultModelOptions extends ModelOptions {
  /** Load the snapshot saved after this epoch instead of the final weights. */
  epoch?: number;
  /** Where models/ lives (a URL ending in '/'); defaults to the package's own. */
  baseUrl?: string | URL;
  signal?: AbortSignal;
}

/** The package's models/ folder, from this module's URL (dist/index.js or src/models/*.ts). */
export function defaultModelsUrl(): URL {
  const here = import.meta.url;
  return new URL(here.includes('/src/models/') ? '../../models/' : '../models/', here);
}

async function readBytes(url: URL, signal?: AbortSignal): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    try {
      return new Uint8Array(await readFile(url));
    } catch (e) {
      throw new ModelFormatError(`cannot read ${url.pathname}: ${(e as Error).message}`);
    }
  }
  const response = await fetch(url, { signal });
  if (!response.ok) throw new ModelFormatError(`cannot fetch ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function readManifest(options: DefaultModelOptions = {}): Promise<{ manifest: WeightsManifest; url: URL }> {
  const url = new URL(`${DEFAULT_MODEL}/manifest.json`, options.baseUrl ?? defaultModelsUrl());
  const bytes = await readBytes(url, options.signal);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ModelFormatError(`${url} is not JSON`);
  }
  return { manifest: checkManifest(json, url.toString()), url };
}

export async function loadDefaultModel(options: DefaultModelOptions = {}): Promise<Model> {
  const { manifest, url } = await readManifest(options);
  let file: string | undefined = manifest.files.final;
  if (options.epoch !== undefined) {
    // Own keys only: an epoch like 'constructor' must not find Object's.
    file = Object.hasOwn(manifest.files.epochs, String(options.epoch)) ? manifest.files.epochs[String(options.epoch)] : undefined;
    if (!file) {
      throw new ArgumentError(`${DEFAULT_MODEL} has no snapshot for epoch ${options.epoch}; saved epochs: ` +
        `${Object.keys(manifest.files.epochs).join(', ')}`);
    }
  }
  const weightsUrl = new URL(file, url);
  const bytes = await readBytes(weightsUrl, options.signal);
  const model = await Model.create(manifest.network, options);
  decodeWeightsInto(model, manifest, bytes, weightsUrl.toString());
  return model;
}

/**
 * zfnet-mini's saved training snapshots (its manifest's `files.epochs`): the epochs in
 * increasing order, and `final`, the epoch whose file is the final weights' file (training
 * saves its last epoch as both), so callers can avoid showing the same weights twice.
 */
export async function savedSnapshots(options: Pick<DefaultModelOptions, 'baseUrl' | 'signal'> = {}):
    Promise<{ epochs: number[]; final?: number }> {
  const { manifest } = await readManifest(options);
  const saved = Object.entries(manifest.files.epochs)
    .map(([epoch, file]) => ({ epoch: Number(epoch), file }))
    .filter((s) => Number.isSafeInteger(s.epoch) && s.epoch >= 0)
    .sort((a, b) => a.epoch - b.epoch);
  return { epochs: saved.map((s) => s.epoch), final: saved.find((s) => s.file === manifest.files.final)?.epoch };
}
