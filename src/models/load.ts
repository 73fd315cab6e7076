/**
 * loadModel: the one entry point from a name, a URL, a file or bytes to a Model.
 *
 *   'zfnet-mini'                the built-in default model (trained; `epoch` picks a snapshot)
 *   'zfnet', 'alexnet', ...     a built-in architecture with seeded random weights
 *   Uint8Array | ArrayBuffer    the bytes of an ONNX model
 *   File | Blob                 an ONNX model picked by the user (read as a stream)
 *   URL | 'https://...'         an ONNX model downloaded (streamed, with progress, cached offline;
 *                               see sources.ts); in browsers relative URLs ('models/x.onnx') too
 *   '/path/x.onnx' (Node)       an ONNX model on disk, read straight into the model's memory
 *
 * Progress (`onProgress`) runs from 0 to 1: for downloads and files read whole, the first 90%
 * is reading the file and the rest copying the weights; for files on disk, copying the weights.
 */
import { AbortError, ArgumentError, ModelFormatError } from '../errors.js';
import { Model, type ModelOptions } from '../engine/model.js';
import type { Preprocess } from '../graph/layers.js';
import { readOnnx, type OnnxImport, type OnnxReadOptions } from '../onnx/read.js';
import type { BoundConstant } from '../onnx/graph.js';
import { fileSource, type SyncFileReader } from '../onnx/protobuf-reader.js';
import { ARCHITECTURES } from './architectures.js';
import { DEFAULT_MODEL, loadDefaultModel } from './default-model.js';
import { fetchModel, openLocalFile, readBlob, resolveUrl, type LocalFs } from './sources.js';

export interface LoadOptions extends ModelOptions {
  /** Seed of the built-in architectures' random weights (default 1). */
  seed?: number;
  /** zfnet-mini: load the snapshot saved after this epoch (feature evolution). */
  epoch?: number;
  /** zfnet-mini: where the models/ folder is (default: beside the package's own code). */
  baseUrl?: string | URL;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** ONNX models: the preprocessing preset, instead of the one chosen from the model (see src/onnx/read.ts). */
  preprocess?: Preprocess;
  /** ONNX models: class labels, one per output (default: the file's, or ImageNet's for 1000 classes). */
  labels?: string[];
  /** ONNX models whose input height/width are symbolic: [height, width] (default 224 x 224). */
  inputSize?: [number, number];
  /** ONNX models: the network's name (default: the file name). */
  name?: string;
  /** ONNX models: values for graph inputs other than the data input (weights fed as inputs). */
  constants?: Record<string, BoundConstant>;
  /** URLs: use the offline cache (default true). */
  cache?: boolean;
}

export type ModelSource = string | URL | Blob | Uint8Array | ArrayBuffer;

const READ_SHARE = 0.9;

export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  if (options.signal?.aborted) throw new AbortError('loading the model was cancelled');
  if (source === DEFAULT_MODEL) {
    const model = await loadDefaultModel(options);
    options.onProgress?.(1);
    return model;
  }
  if (typeof source === 'string' && Object.hasOwn(ARCHITECTURES, source)) {
    const model = await Model.create(ARCHITECTURES[source](), options);
    model.initWeights(options.seed ?? 1);
    options.onProgress?.(1);
    return model;
  }
  const progress = options.onProgress;
  const readProgress = progress && ((f: number) => progress(f * READ_SHARE));
  const weightProgress = progress && ((f: number) => progress(READ_SHARE + f * (1 - READ_SHARE)));
  const readOptions = (name: string): OnnxReadOptions => ({
    name: options.name ?? name, preprocess: options.preprocess, labels: options.labels, inputSize: options.inputSize,
    constants: options.constants,
  });
  const build = async (parsed: OnnxImport, onProgress?: (f: number) => void) => {
    const model = await parsed.createModel({ ...options, onProgress });
    progress?.(1);
    return model;
  };

  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    return build(readOnnx(source, readOptions('onnx-model')), weightProgress);
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = typeof File !== 'undefined' && source instanceof File ? source.name : 'onnx-model';
    const bytes = await readBlob(source, { signal: options.signal, onProgress: readProgress });
    return build(readOnnx(bytes, readOptions(baseName(name))), weightProgress);
  }
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new ArgumentError(`loadModel takes a model name, URL, path, File, Blob or bytes; got ${describe(source)}`);
  }
  const text = String(source);
  if (isNode() && (source instanceof URL ? source.protocol === 'file:' : !/^[a-z][a-z0-9+.-]*:/i.test(text) || /^[a-z]:[\\/]/i.test(text))) {
    return loadPath(source instanceof URL ? source : text, readOptions, options, build);
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text) && typeof location === 'undefined') {
    throw new ArgumentError(`unknown model '${text}'; built-in: ${DEFAULT_MODEL}, ${Object.keys(ARCHITECTURES).join(', ')}`);
  }
  const href = resolveUrl(text);
  const fetched = await fetchModel(href, { signal: options.signal, onProgress: readProgress, cache: options.cache });
  try {
    return await build(readOnnx(fetched.bytes, readOptions(baseName(new URL(href).pathname))), weightProgress);
  } catch (e) {
    // A file that is not a usable model must not stay in the offline cache.
    if (e instanceof ModelFormatError) await fetched.forget();
    throw e;
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Node: a model file on disk, read through a file descriptor so the weights go from the disk
 * straight into the model's memory. `node:fs` is imported only here, at run time, so browser
 * bundles never see it.
 */
async function loadPath(path: string | URL, readOptions: (name: string) => OnnxReadOptions, options: LoadOptions,
                        build: (p: OnnxImport, f?: (f: number) => void) => Promise<Model>): Promise<Model> {
  const fs = await importNodeFs();
  const file = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  let opened: { fd: number; size: number };
  try {
    // stat before open: a device, a directory or a FIFO (which would block) is refused by name.
    opened = openLocalFile(fs, file, 'model');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' && typeof path === 'string' && !/[\\/.]/.test(path)) {
      throw new ArgumentError(`unknown model '${path}': not a built-in architecture (${Object.keys(ARCHITECTURES).join(', ')}) ` +
        'and no such file');
    }
    throw e;
  }
  try {
    const parsed = readOnnx(fileSource(fs, opened.fd, opened.size, file), readOptions(baseName(file)));
    return await build(parsed, options.onProgress);
  } finally {
    fs.closeSync(opened.fd);
  }
}

type NodeFs = SyncFileReader & LocalFs;

async function importNodeFs(): Promise<NodeFs> {
  // A computed specifier: bundlers leave it alone, and browsers never reach this.
  const specifier = ['node', 'fs'].join(':');
  return (await import(/* @vite-ignore */ specifier)) as NodeFs;
}

/** 'a/b/zfnet512-9.onnx' -> 'zfnet512-9'. */
function baseName(path: string): string {
  let last = path.split(/[\\/]/).filter(Boolean).pop() ?? path;
  try { last = decodeURIComponent(last); } catch { /* keep it as it is */ }
  return last.replace(/\.onnx$/i, '') || 'onnx-model';
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'an object';
}
