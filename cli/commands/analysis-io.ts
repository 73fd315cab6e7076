/**
 * What the analysis commands (invariance, correspondence, diagnose, evolution) share: models by
 * name including the trained default `zfnet-mini` (and its epoch snapshots), image lists from a
 * folder or a comma-separated list, output folders, progress on the status line, list syntax.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadModel, ArgumentError, ModelFormatError, type Backend, type Box, type Model, type Network, type Preprocess, type Tensor,
} from '../../src/index.js';
import { zfnetMini } from '../../src/models/architectures.js';
import { loadDefaultModel, savedSnapshots, DEFAULT_MODEL as MINI } from '../../src/models/default-model.js';
import { parseNpy } from '../../src/io/npy.js';
import { preprocessImage, PRESET_NAMES } from '../../src/io/preprocess.js';
import { decodeImage, encodePng } from '../../src/io/image-node.js';
import type { RgbaImage } from '../../src/deconv/render.js';
import { choice, integer, UsageError } from '../args.js';
import { networkOf, readInput, writeOutput } from '../input.js';
import type { Status } from '../status.js';

export const ANALYSIS_MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  preprocess: { type: 'string' },
  batch: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const ANALYSIS_MODEL_HELP = `Model:
  -m, --model M         zfnet-mini (the trained default model), zfnet, alexnet,
                        alexnet-bvlc, caffenet (built-in architectures with seeded random
                        weights), or FILE.onnx
      --seed N          seed of the random weights (default 1)
      --backend B       simd (default where supported) or scalar
      --preprocess P    torchvision, caffe, none or grayscale (overrides the model's preset
                        for images)
      --batch N         images per forward pass (default 8)
      --json            print machine-readable JSON
  -h, --help            show this help`;

export interface ModelValues { model?: string; seed?: string; backend?: string; preprocess?: string; batch?: string }

export interface ModelChoice {
  name: string;
  network: Network;
  seed: number;
  backend?: Backend;
  preset: Preprocess;
  batch: number;
}

/** The network of a model name (cheap: no weights), including zfnet-mini. */
export function analysisNetwork(name: string): Network {
  return name === MINI ? zfnetMini() : networkOf(name);
}

/** Validate the model options and describe the model without loading its weights. */
export function chooseModel(values: ModelValues, fallback: string): ModelChoice {
  const name = values.model ?? fallback;
  const seed = integer(values.seed, 'seed', 0, 2 ** 32 - 1) ?? 1;
  const backend = choice(values.backend, 'backend', ['simd', 'scalar'] as const);
  const network = analysisNetwork(name);
  const preset = choice(values.preprocess, 'preprocess', PRESET_NAMES) ?? network.preprocess;
  const batch = integer(values.batch, 'batch', 1, 4096) ?? 8;
  return { name, network, seed, backend, preset, batch };
}

/** Load a model: zfnet-mini (optionally an epoch's snapshot), a built-in with its seed, or an ONNX file. */
export async function openModel(name: string, options: { seed?: number; backend?: Backend; batch?: number; epoch?: number },
                                status?: Status): Promise<Model> {
  status?.set(`zf-vis: loading ${name}${options.epoch !== undefined ? ` (epoch ${options.epoch})` : ''}...`);
  try {
    if (name === MINI) {
      try {
        return await loadDefaultModel({ epoch: options.epoch, backend: options.backend, batch: options.batch });
      } catch (e) {
        if (e instanceof ModelFormatError && /manifest\.json/.test(e.message)) {
          throw new UsageError(`${MINI}'s trained weights are not installed (no models/${MINI}/manifest.json); ` +
            'run npm run train, or use a built-in architecture');
        }
        throw e;
      }
    }
    if (options.epoch !== undefined) throw new UsageError(`epochs are snapshots of ${MINI}; ${name} has none`);
    return await loadModel(name, { seed: options.seed, backend: options.backend, batch: options.batch });
  } finally {
    status?.clear();
  }
}

/** The saved epochs of zfnet-mini, in increasing order (the last is the final weights' epoch). */
export async function savedEpochs(): Promise<number[]> {
  try {
    return (await savedSnapshots()).epochs;
  } catch (e) {
    if (e instanceof ModelFormatError) {
      throw new UsageError(`${MINI}'s trained weights are not installed (no models/${MINI}/manifest.json); run npm run train`);
    }
    throw e;
  }
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Image files from a folder (its PNG and JPEG files, sorted by name) or a comma-separated list
 * of files.
 */
export async function listImages(spec: string, option: string): Promise<string[]> {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`--${option} needs a folder or a comma-separated list of images`);
  if (parts.length === 1) {
    let info;
    try {
      info = await stat(parts[0]);
    } catch {
      throw new UsageError(`cannot read ${parts[0]}: no such file or directory`);
    }
    if (info.isDirectory()) {
      const files = (await readdir(parts[0])).filter((f) => IMAGE_FILE.test(f)).sort();
      if (files.length === 0) throw new UsageError(`${parts[0]} holds no PNG or JPEG images`);
      return files.map((f) => join(parts[0], f));
    }
  }
  return parts;
}

/** One image file as the network's input tensor [1, C, H, W]. */
export async function readImageTensor(path: string, network: Network, preset: Preprocess): Promise<Tensor> {
  return preprocessImage(decodeImage(await readInput(path, 'image'), path), network.input, preset);
}

/** Images (files) or a .npy tensor [N, C, H, W] as a list of [1, C, H, W] tensors. */
export async function readImages(files: readonly string[], network: Network, preset: Preprocess): Promise<Tensor[]> {
  const out: Tensor[] = [];
  for (const f of files) {
    if (/\.npy$/i.test(f)) out.push(...splitBatch(await readNpyInput(f, network), network));
    else out.push(await readImageTensor(f, network, preset));
  }
  return out;
}

export async function readNpyInput(path: string, network: Network): Promise<Tensor> {
  const t = parseNpy(await readInput(path, 'npy'), path);
  const want = network.input;
  const s = t.shape;
  if (s.length !== 4 || s[0] < 1 || s[1] !== want[0] || s[2] !== want[1] || s[3] !== want[2]) {
    throw new ArgumentError(`${path} has shape [${s.join(', ')}] but ${network.name} takes [N, ${want.join(', ')}]`);
  }
  return t;
}

function splitBatch(t: Tensor, network: Network): Tensor[] {
  const per = network.input[0] * network.input[1] * network.input[2];
  return Array.from({ length: t.shape[0] }, (_, i) => ({ shape: [1, ...network.input], data: t.data.slice(i * per, (i + 1) * per) }));
}

/** Create the output folder (and its parents). */
export async function outputDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`cannot create ${dir}: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' :
      code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message}`);
  }
}

export async function writePng(path: string, img: RgbaImage): Promise<void> {
  await writeOutput(path, encodePng(img));
}

export async function writeText(path: string, text: string): Promise<void> {
  await writeOutput(path, new TextEncoder().encode(text.endsWith('\n') ? text : `${text}\n`));
}

/** A progress callback that shows `label NN%` on the status line. */
export function progress(status: Status, label: string): (fraction: number) => void {
  return (f) => status.set(`zf-vis: ${label} ${Math.round(f * 100)}%`);
}

/** '1,2,5' or '0-15' or '0-3,8' -> numbers (integers when `integers`). */
export function numberList(value: string, option: string, integers = false): number[] {
  const out: number[] = [];
  for (const part of value.split(',').map((s) => s.trim())) {
    const range = integers ? /^(\d+)-(\d+)$/.exec(part) : null;
    if (range) {
      const a = Number(range[1]), b = Number(range[2]);
      if (b < a || b - a > 100_000) throw new UsageError(`--${option}: '${part}' is not a range from low to high`);
      for (let v = a; v <= b; v++) out.push(v);
      continue;
    }
    const v = part === '' ? NaN : Number(part);
    if (!Number.isFinite(v) || (integers && !Number.isInteger(v))) {
      throw new UsageError(`--${option} must be a comma-separated list of ${integers ? 'integers' : 'numbers'}; got '${value}'`);
    }
    out.push(v);
  }
  return out;
}

/** 'y0,x0,y1,x1;y0,x0,y1,x1' -> boxes (rows y0..y1-1, columns x0..x1-1). */
export function parseBoxes(value: string, option = 'boxes'): Box[] {
  return value.split(';').map((s) => s.trim()).filter(Boolean).map((part) => {
    const v = part.split(',').map((n) => n.trim());
    if (v.length !== 4 || !v.every((n) => /^\d+$/.test(n))) {
      throw new UsageError(`--${option}: '${part}' is not y0,x0,y1,x1 (four integers; boxes separated by ';')`);
    }
    const [y0, x0, y1, x1] = v.map(Number);
    return { y0, x0, y1, x1 };
  });
}
