/**
 * What every model/input command shares: pick the model (cheaply, before the slow weight load),
 * read the input (an image through the preset, or a .npy tensor used as is), check that the
 * input fits, then load the model with a status line.
 */
import * as fs from 'node:fs';
import { closeSync } from 'node:fs';
import { access, constants, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  ARCHITECTURES, loadModel, ArgumentError, type Backend, type Model, type Network,
  type Tensor,
} from '../src/index.js';
import { parseNpy } from '../src/io/npy.js';
import { readOnnx } from '../src/onnx/read.js';
import { zfnetMini } from '../src/models/architectures.js';
import { fileSource } from '../src/onnx/protobuf-reader.js';
import { preprocessImage, PRESET_NAMES } from '../src/io/preprocess.js';
import { decodeImage } from '../src/io/image-node.js';
import { fsReason, openLocalFile, readLocalFile, type LocalFileKind } from '../src/models/sources.js';
import { choice, integer, UsageError } from './args.js';
import type { Status } from './status.js';

export const DEFAULT_MODEL = 'zfnet-mini';

export interface ModelInputValues {
  model?: string;
  image?: string;
  input?: string;
  seed?: string;
  backend?: string;
  preprocess?: string;
}

export interface Prepared {
  modelName: string;
  network: Network;
  seed: number;
  backend?: Backend;
  /** The input tensor [N, C, H, W]. */
  input: Tensor;
  /** Where the input came from, for messages. */
  inputName: string;
}

/** Validate options, build the network description and read the input; no weights yet. */
export async function prepare(values: ModelInputValues, command: string): Promise<Prepared> {
  const modelName = values.model ?? DEFAULT_MODEL;
  const seed = integer(values.seed, 'seed', 0, 2 ** 32 - 1) ?? 1;
  const backend = choice(values.backend, 'backend', ['simd', 'scalar'] as const);
  const preset = choice(values.preprocess, 'preprocess', PRESET_NAMES);
  if (values.image !== undefined && values.input !== undefined) {
    throw new UsageError(`give either --image or --input, not both (see zf-vis ${command} --help)`);
  }
  if (values.image === undefined && values.input === undefined) {
    throw new UsageError(`${command} needs --image FILE or --input FILE.npy (see zf-vis ${command} --help)`);
  }
  if (values.input !== undefined && preset !== undefined) {
    throw new UsageError('--preprocess applies to --image only; an --input tensor is used as is');
  }
  const network = networkOf(modelName);

  let input: Tensor;
  let inputName: string;
  if (values.image !== undefined) {
    inputName = values.image;
    const pixels = decodeImage(await readInput(values.image, 'image'), values.image);
    input = preprocessImage(pixels, network.input, preset ?? network.preprocess);
  } else {
    inputName = values.input!;
    input = parseNpy(await readInput(values.input!, 'npy'), values.input!);
    checkFits(input, network, values.input!);
  }
  return { modelName, network, seed, backend, input, inputName };
}

/**
 * The network description of a built-in model name or an ONNX file (cheap: the file's structure
 * is read, its weights are not).
 */
export function networkOf(name: string): Network {
  if (name === 'zfnet-mini') return zfnetMini(); // the architecture its manifest holds
  const build = Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name] : undefined;
  if (build) return build();
  const cached = onnxNetworks.get(name);
  if (cached) return cached;
  let file: { fd: number; size: number };
  try {
    file = openLocalFile(fs, name, 'model');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw new UsageError(`unknown model '${name}'; built-in models: zfnet-mini, ${Object.keys(ARCHITECTURES).join(', ')}, ` +
        'or the path of an .onnx file');
    }
    throw e;
  }
  try {
    const network = readOnnx(fileSource(fs, file.fd, file.size, name), { name: basename(name).replace(/\.onnx$/i, '') }).network;
    onnxNetworks.set(name, network);
    return network;
  } finally {
    closeSync(file.fd);
  }
}

const onnxNetworks = new Map<string, Network>();

/** Refuse a tensor that the network cannot take, naming the file (the engine would too, later). */
function checkFits(t: Tensor, network: Network, name: string): void {
  const want = network.input;
  const s = t.shape;
  if (s.length !== 4 || s[0] < 1 || s[1] !== want[0] || s[2] !== want[1] || s[3] !== want[2]) {
    const hint = s.length === 3 ? ' (add a batch axis: x[None])' : '';
    throw new ArgumentError(`${name} has shape [${s.join(', ')}] but ${network.name} takes ` +
      `[N, ${want.join(', ')}]${hint}`);
  }
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new ArgumentError(`${name} holds ${d[i]} at flat index ${i}; inputs must be finite numbers`);
    }
  }
}

export async function load(p: Prepared, status: Status): Promise<Model> {
  status.set(`zf-vis: loading ${p.modelName}...`);
  try {
    return await loadModel(p.modelName, { seed: p.seed, backend: p.backend, batch: p.input.shape[0] });
  } finally {
    status.clear();
  }
}

/**
 * The bytes of an input file: a regular file of at most the limit of its kind (LOCAL_FILE_LIMITS:
 * images 256 MiB, .npy 1 GiB); devices, directories and FIFOs are refused without blocking.
 */
export async function readInput(path: string, kind: Exclude<LocalFileKind, 'model'>): Promise<Uint8Array> {
  return readLocalFile(fs, path, kind);
}

export async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${fsReason(e)}`);
  }
}

/** Fail early (before the slow model load) if `path` cannot be written: no such directory. */
export async function checkWritable(path: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${fsReason(e)}`);
  }
}
