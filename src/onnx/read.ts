/**
 * ONNX import: a ModelProto's bytes -> our Network (src/onnx/graph.ts) -> a Model whose weights
 * are copied from the file straight into its wasm memory, once.
 *
 * Memory: the decoder records where each weight lies in the file instead of copying it
 * (src/onnx/proto.ts), the Model plans its memory from the Network, and each weight is then
 * copied from the file into its place in that memory: from a file in memory (bytes, a
 * download) the peak is the file plus the model's memory; from a file on disk (Node) it is the
 * model's memory alone, as the weights are read from disk into it. Gemm weights stored
 * untransposed (transB=0) and MatMul weights are transposed on the way, through a buffer of
 * 1 MB.
 *
 * Preprocessing preset, when not given (`preprocess` option), by what the model is:
 *   1. a `preprocess` metadata entry (written by our own networkToOnnx) is used as is;
 *   2. an input that is not 3 channels: 'grayscale' for 1, else 'none';
 *   3. Caffe lineage -> 'caffe' (BGR, mean pixel subtracted, 0-255): the input is named
 *      `data_0` or `.../data_0` (the zoo's Caffe2 conversions: ZFNet-512 `gpu_0/data_0`,
 *      BVLC AlexNet and CaffeNet `data_0`) or `data`, or the producer is Caffe/Caffe2, or the
 *      graph has an LRN (no torchvision classifier has one);
 *   4. otherwise 'torchvision' (RGB, ImageNet mean/std): PyTorch exports and the rest.
 *
 * Labels: a `labels` metadata entry (JSON array, networkToOnnx writes it), else the `labels`
 * option, else the ImageNet-1k names for a network with 1000 outputs.
 */
import { AbortError, ArgumentError, ModelFormatError } from '../errors.js';
import { Model, type ModelOptions } from '../engine/model.js';
import type { Network, Preprocess } from '../graph/layers.js';
import { inferShapes, size } from '../graph/shapes.js';
import { IMAGENET_LABELS } from '../models/imagenet-labels.js';
import { mapGraph, type MapOptions, type Mapped, type ParamTransfer } from './graph.js';
import type { Transfer } from './map-context.js';
import { decodeModel, type ModelRef } from './proto.js';
import { memorySource, type ByteSource } from './protobuf-reader.js';
import { checkFloatTensor, readFloats } from './tensor-data.js';

const PRESETS: readonly Preprocess[] = ['caffe', 'torchvision', 'none', 'grayscale'];

export interface OnnxReadOptions extends MapOptions {
  /** Override the preprocessing preset chosen from the model. */
  preprocess?: Preprocess;
  /** Class labels, one per output unit (default: from the file, or ImageNet's for 1000 classes). */
  labels?: string[];
}

export interface WeightOptions {
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** A parsed ONNX model: its network, and the means to fill a Model's weights from the file. */
export interface OnnxImport {
  network: Network;
  /** The default-domain opset the file imports. */
  opset: number;
  producer: string;
  /** The graph's input and output tensor names. */
  inputName: string;
  outputName: string;
  /** Why `network.preprocess` was chosen, in words. */
  presetReason: string;
  /** A Model of `network` with the file's weights. */
  createModel(options?: ModelOptions & WeightOptions): Promise<Model>;
  /** Copy the file's weights into `model` (created from `network`). */
  writeWeights(model: Model, options?: WeightOptions): void;
}

/** Parse an ONNX model (the structure only: weights are read later, into the model). */
export function readOnnx(file: ByteSource | Uint8Array | ArrayBuffer, options: OnnxReadOptions = {}): OnnxImport {
  const source = file instanceof Uint8Array ? memorySource(file)
    : file instanceof ArrayBuffer ? memorySource(new Uint8Array(file)) : file;
  const proto = decodeModel(source);
  const mapped = mapGraph(proto, source, options);
  const network = mapped.network;
  const chosen = choosePreset(proto, mapped, options.preprocess);
  network.preprocess = chosen.preset;
  const labels = chooseLabels(proto, network, options.labels);
  if (labels) network.labels = labels;
  return {
    network, opset: mapped.opset, producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    inputName: mapped.inputName, outputName: mapped.outputName, presetReason: chosen.reason,
    async createModel(modelOptions = {}) {
      const model = await createFor(network, modelOptions);
      writeWeights(source, mapped.transfers, model, modelOptions);
      return model;
    },
    writeWeights(model, weightOptions = {}) {
      if (model.network !== network) throw new ArgumentError('writeWeights needs a model created from this import\'s network');
      writeWeights(source, mapped.transfers, model, weightOptions);
    },
  };
}

async function createFor(network: Network, options: ModelOptions): Promise<Model> {
  try {
    return await Model.create(network, options);
  } catch (e) {
    if (e instanceof ArgumentError && /memory/.test(e.message)) {
      throw new ModelFormatError(`${network.name}: ${e.message}`);
    }
    if (e instanceof RangeError) {
      throw new ModelFormatError(`${network.name}: the WebAssembly memory for this model could not be allocated (${e.message})`);
    }
    throw e;
  }
}

function choosePreset(proto: ModelRef, mapped: Mapped, override?: Preprocess): { preset: Preprocess; reason: string } {
  if (override !== undefined) {
    if (!PRESETS.includes(override)) throw new ArgumentError(`preprocess must be one of ${PRESETS.join(', ')}, got '${override}'`);
    return { preset: override, reason: 'given' };
  }
  const meta = proto.metadata.get('preprocess') as Preprocess | undefined;
  if (meta && PRESETS.includes(meta)) return { preset: meta, reason: 'the file\'s preprocess metadata' };
  const channels = mapped.network.input[0];
  if (channels === 1) return { preset: 'grayscale', reason: 'one input channel' };
  if (channels !== 3) return { preset: 'none', reason: `${channels} input channels` };
  const input = mapped.inputName;
  if (input === 'data_0' || input.endsWith('/data_0') || input === 'data') {
    return { preset: 'caffe', reason: `input named '${input}' (Caffe/Caffe2 lineage)` };
  }
  if (/caffe/i.test(proto.producerName)) return { preset: 'caffe', reason: `producer '${proto.producerName}'` };
  if (mapped.network.ops.some((op) => op.kind === 'lrn')) return { preset: 'caffe', reason: 'it has LRN layers (Caffe lineage)' };
  return { preset: 'torchvision', reason: 'default for RGB models (PyTorch lineage)' };
}

function chooseLabels(proto: ModelRef, network: Network, given?: string[]): string[] | undefined {
  const classes = outputSize(network);
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== classes || given.some((l) => typeof l !== 'string')) {
      throw new ArgumentError(`labels must be ${classes} strings, one per output, got ${Array.isArray(given) ? given.length : typeof given}`);
    }
    return [...given];
  }
  const meta = proto.metadata.get('labels');
  if (meta) {
    try {
      const parsed: unknown = JSON.parse(meta);
      if (Array.isArray(parsed) && parsed.length === classes && parsed.every((l) => typeof l === 'string')) return parsed;
    } catch {
      // Not JSON: ignore it, as any other unknown metadata.
    }
  }
  return classes === 1000 ? [...IMAGENET_LABELS] : undefined;
}

/** Values per image of the network's output. */
function outputSize(network: Network): number {
  return size(inferShapes(network).at(-1)!);
}

const TRANSPOSE_BLOCK_FLOATS = 1 << 18;

function writeWeights(source: ByteSource, transfers: ParamTransfer[], model: Model, options: WeightOptions): void {
  const target = (t: ParamTransfer) => {
    const p = model.paramsAt(t.op)?.all[t.name];
    if (!p) throw new Error(`op ${t.op} has no constant '${t.name}'`);
    return p;
  };
  const total = transfers.reduce((n, t) => n + size(target(t).shape), 0) || 1;
  let done = 0;
  const named = new Map(model.layers.map((l) => [l.op, l.name]));
  for (const t of transfers) {
    if (options.signal?.aborted) throw new AbortError('loading the model was cancelled');
    const p = target(t);
    const where = `${named.get(t.op) ?? `op ${t.op} (${model.network.ops[t.op].kind})`} ${t.name}`;
    // Views of the wasm memory: the memory does not grow while the weights are written.
    writeTransfer(source, t.transfer, model.arena.f32(p.region), where);
    model.markWeightsChanged(t.op);
    done += size(p.shape);
    options.onProgress?.(done / total);
  }
}

function writeTransfer(source: ByteSource, t: Transfer, dest: Float32Array, what: string): void {
  writeValues(source, t, dest, what);
  if (t.rowScale) {
    const rows = t.rowScale.length, per = dest.length / rows;
    for (let r = 0; r < rows; r++) for (let i = r * per; i < (r + 1) * per; i++) dest[i] *= t.rowScale[r];
  }
  // NaN or Infinity in a weight poisons every output: refused, naming the tensor (or the folded constant).
  for (let i = 0; i < dest.length; i++) {
    if (Number.isFinite(dest[i])) continue;
    const from = t.tensor ? `initializer '${t.tensor.name}'` : 'a constant computed at load';
    throw new ModelFormatError(`${from} (${what}${t.scale !== 1 || t.rowScale ? ', scaled' : ''}): value ${i} of the layer's ` +
      `[${dest.length}] is ${dest[i]}; weights must be finite float32 numbers`);
  }
}

function writeValues(source: ByteSource, t: Transfer, dest: Float32Array, what: string): void {
  if (!t.tensor) {
    const v = t.values ?? [];
    if (v.length !== dest.length && !(t.broadcast && v.length === 1)) {
      throw new ModelFormatError(`${what}: ${v.length} values do not fill ${dest.length}`);
    }
    if (t.transpose) {
      const [rows, cols] = t.transpose;
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dest[c * rows + r] = v[r * cols + c] * t.scale;
      return;
    }
    for (let i = 0; i < dest.length; i++) dest[i] = v[t.broadcast ? 0 : i] * t.scale;
    return;
  }
  const count = checkFloatTensor(t.tensor);
  if (t.broadcast ? count !== 1 : count !== dest.length) {
    throw new ModelFormatError(`${what}: tensor '${t.tensor.name}' has ${count} values, the layer needs ${t.broadcast ? 1 : dest.length}`);
  }
  if (t.broadcast) {
    const one = new Float32Array(1);
    readFloats(source, t.tensor, 0, one);
    dest.fill(one[0] * t.scale);
    return;
  }
  if (!t.transpose) {
    readFloats(source, t.tensor, 0, dest);
    if (t.scale !== 1) for (let i = 0; i < dest.length; i++) dest[i] *= t.scale;
    return;
  }
  const [rows, cols] = t.transpose;
  if (rows * cols !== dest.length) throw new ModelFormatError(`${what}: ${rows}x${cols} values do not fill ${dest.length}`);
  // dest[c][r] = src[r][c], reading the source a block of rows at a time.
  const block = Math.max(1, Math.floor(TRANSPOSE_BLOCK_FLOATS / cols));
  const tmp = new Float32Array(Math.min(block, rows) * cols);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = Math.min(block, rows - r0);
    const chunk = tmp.subarray(0, n * cols);
    readFloats(source, t.tensor, r0 * cols, chunk);
    for (let r = 0; r < n; r++) {
      const from = r * cols;
      for (let c = 0, to = r0 + r; c < cols; c++, to += rows) dest[to] = chunk[from + c] * t.scale;
    }
  }
}
