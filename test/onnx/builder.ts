// A small hand-built ONNX graph writer for the import tests: any node, attribute, initializer
// encoding (raw_data, packed or unpacked float_data), opset and name, so the tests can replicate
// the real files' structure exactly where networkToOnnx (which writes our own conventions) does
// not. Also the seeded structures of the real models (ZFNet-512, BVLC AlexNet at opsets 12 and
// 3, CaffeNet, a torchvision export), at small widths.
import { ProtoWriter, float32LittleEndian } from '../../src/onnx/protobuf-writer.js';

export type AttrValue = number | number[] | { float: number } | { floats: number[] } | string | { tensor: BTensor };

export interface BNode {
  op: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface BTensor {
  name: string;
  dims: number[];
  /** float (default) or int64 or bool. */
  type?: 'float' | 'int64' | 'bool';
  data: Float32Array | number[];
  /** raw_data (default), packed float_data / int64_data, or one key per value. */
  encoding?: 'raw' | 'typed' | 'unpacked';
  /** Write external_data instead of the values. */
  external?: string;
}

export interface BValue { name: string; dims?: (number | string)[]; type?: number }

export interface BGraph {
  name?: string;
  nodes: BNode[];
  initializers: BTensor[];
  inputs: BValue[];
  outputs: BValue[];
  opset: number;
  producer?: string;
  irVersion?: number;
  /** Extra opset imports (domain, version). */
  opsets?: [string, number][];
  metadata?: Record<string, string>;
  /** IR < 4: list initializers among the graph inputs too, as old exporters did. */
  initializersAsInputs?: boolean;
}

const DT = { float: 1, int64: 7, bool: 9 } as const;

function tensorProto(t: BTensor): ProtoWriter {
  const w = new ProtoWriter();
  w.repeatedInts(1, t.dims);
  w.int(2, DT[t.type ?? 'float']);
  w.string(8, t.name);
  if (t.external) {
    w.message(13, new ProtoWriter().string(1, 'location').string(2, t.external));
    w.int(14, 1);
    return w;
  }
  const enc = t.encoding ?? 'raw';
  if ((t.type ?? 'float') === 'float') {
    const f = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    if (enc === 'raw') w.bytes(9, float32LittleEndian(f));
    else if (enc === 'typed') w.packedFloats(4, f);
    else w.repeatedFloats(4, f);
  } else if (t.type === 'bool') {
    w.bytes(9, Uint8Array.from(t.data as number[]));
  } else {
    const v = Array.from(t.data);
    if (enc === 'raw') {
      const bytes = new Uint8Array(v.length * 8);
      const view = new DataView(bytes.buffer);
      v.forEach((x, i) => view.setBigInt64(i * 8, BigInt(x), true));
      w.bytes(9, bytes);
    } else if (enc === 'typed') w.packedInts(7, v);
    else w.repeatedInts(7, v);
  }
  return w;
}

function attribute(name: string, v: AttrValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (typeof v === 'string') return a.string(4, v).int(20, 3);
  if (Array.isArray(v)) return a.repeatedInts(8, v).int(20, 7);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  if ('floats' in v) return a.repeatedFloats(7, v.floats).int(20, 6);
  return a.message(5, tensorProto(v.tensor)).int(20, 4);
}

function valueInfo(v: BValue): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, v.type ?? 1);
  if (v.dims) {
    const shape = new ProtoWriter();
    for (const d of v.dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
    tensorType.message(2, shape);
  }
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

export function buildOnnx(g: BGraph): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) {
    const node = new ProtoWriter().repeatedStrings(1, n.inputs).repeatedStrings(2, n.outputs);
    if (n.name !== undefined) node.string(3, n.name);
    node.string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    if (n.domain !== undefined) node.string(7, n.domain);
    graph.message(1, node);
  }
  graph.string(2, g.name ?? 'graph');
  for (const t of g.initializers) graph.message(5, tensorProto(t));
  for (const i of g.inputs) graph.message(11, valueInfo(i));
  if (g.initializersAsInputs) {
    for (const t of g.initializers) graph.message(11, valueInfo({ name: t.name, dims: t.dims, type: DT[t.type ?? 'float'] }));
  }
  for (const o of g.outputs) graph.message(12, valueInfo(o));
  const model = new ProtoWriter().int(1, g.irVersion ?? (g.opset >= 13 ? 7 : g.opset >= 9 ? 4 : 3));
  model.string(2, g.producer ?? 'zf-visualizer tests');
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, g.opset));
  for (const [domain, version] of g.opsets ?? []) model.message(8, new ProtoWriter().string(1, domain).int(2, version));
  for (const [k, v] of Object.entries(g.metadata ?? {})) model.message(14, new ProtoWriter().string(1, k).string(2, v));
  return model.finish();
}

// ---------------------------------------------------------------------------------------------
// Seeded weights

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  next(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(n: number, scale: number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (this.next() * 2 - 1) * scale;
    return a;
  }
}

/** A seeded input [N, C, H, W], uniform in [-1, 1). */
export function seededInput(shape: number[], seed: number): { shape: number[]; data: Float32Array } {
  return { shape, data: new Rng(seed).uniform(shape.reduce((a, b) => a * b, 1), 1) };
}

// ---------------------------------------------------------------------------------------------
// The real models' structures at small widths

/** A structure: the graph, and the tensors on its data path, in order (for comparisons). */
export interface Structure { graph: BGraph; chain: string[] }

interface Ctx { g: BGraph; rng: Rng; cur: string; chain: string[]; channels: number }

function ctx(opset: number, input: string, producer: string, seed: number, channels = 3): Ctx {
  return {
    g: { nodes: [], initializers: [], inputs: [{ name: input, dims: [1, channels, 224, 224] }], outputs: [], opset, producer },
    rng: new Rng(seed), cur: input, chain: [input], channels,
  };
}

function node(c: Ctx, op: string, out: string, extraInputs: string[] = [], attrs: Record<string, AttrValue> = {},
              name = '', extraOutputs: string[] = []): void {
  c.g.nodes.push({ op, name, inputs: [c.cur, ...extraInputs], outputs: [out, ...extraOutputs], attrs });
  c.cur = out;
  c.chain.push(out);
}

function convNode(c: Ctx, out: string, w: string, b: string, filters: number, k: number, stride: number, pad: number,
                  group = 1, name = '', extra: Record<string, AttrValue> = {}): void {
  const fanIn = (c.channels / group) * k * k;
  c.g.initializers.push({ name: w, dims: [filters, c.channels / group, k, k], data: c.rng.uniform(filters * fanIn, Math.sqrt(6 / fanIn)) });
  c.g.initializers.push({ name: b, dims: [filters], data: c.rng.uniform(filters, 0.05) });
  const attrs: Record<string, AttrValue> = { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride], ...extra };
  if (group !== 1) attrs.group = group;
  node(c, 'Conv', out, [w, b], attrs, name);
  c.channels = filters;
}

function gemmNode(c: Ctx, out: string, w: string, b: string, inputs: number, units: number, name = '',
                  attrs: Record<string, AttrValue> = { transB: 1 }): void {
  c.g.initializers.push({ name: w, dims: [units, inputs], data: c.rng.uniform(units * inputs, Math.sqrt(6 / inputs)) });
  c.g.initializers.push({ name: b, dims: [units], data: c.rng.uniform(units, 0.05) });
  node(c, 'Gemm', out, [w, b], attrs, name);
}

function finish(c: Ctx): Structure {
  c.g.outputs.push({ name: c.cur });
  return { graph: c.g, chain: c.chain };
}

/**
 * The zoo's ZFNet-512 (Caffe2 conversion): names with '/', unnamed nodes, conv1 7x7/2 pad 0,
 * ReLU, LRN(5, 5e-4, .75, bias 2) before each pool, conv3-5 3x3 pad 1, pool5 2x2/2 -> 6,
 * Reshape with a baked [1, C*36] initializer, Gemm 4096 -> 1024 -> 1000 (here: widths/
 * scaled), Softmax 'gpu_0/softmax_1'. Opset 9.
 */
export function zfnet512(seed: number, w = [12, 16, 24, 32, 16], fc = [48, 24]): Structure {
  const c = ctx(9, 'gpu_0/data_0', 'onnx-caffe2', seed);
  const lrn = { size: 5, alpha: { float: 5e-4 }, beta: { float: 0.75 }, bias: { float: 2 } };
  convNode(c, 'gpu_0/conv1_1', 'gpu_0/conv1_w_0', 'gpu_0/conv1_b_0', w[0], 7, 2, 0);
  node(c, 'Relu', 'gpu_0/conv1_2');
  node(c, 'LRN', 'gpu_0/norm1_1', [], lrn);
  node(c, 'MaxPool', 'gpu_0/pool1_1', [], { kernel_shape: [3, 3], pads: [0, 0, 0, 0], strides: [2, 2] });
  convNode(c, 'gpu_0/conv2_1', 'gpu_0/conv2_w_0', 'gpu_0/conv2_b_0', w[1], 5, 2, 0);
  node(c, 'Relu', 'gpu_0/conv2_2');
  node(c, 'LRN', 'gpu_0/norm2_1', [], lrn);
  node(c, 'MaxPool', 'gpu_0/pool2_1', [], { kernel_shape: [3, 3], pads: [0, 0, 0, 0], strides: [2, 2] });
  convNode(c, 'gpu_0/conv3_1', 'gpu_0/conv3_w_0', 'gpu_0/conv3_b_0', w[2], 3, 1, 1);
  node(c, 'Relu', 'gpu_0/conv3_2');
  convNode(c, 'gpu_0/conv4_1', 'gpu_0/conv4_w_0', 'gpu_0/conv4_b_0', w[3], 3, 1, 1);
  node(c, 'Relu', 'gpu_0/conv4_2');
  convNode(c, 'gpu_0/conv5_1', 'gpu_0/conv5_w_0', 'gpu_0/conv5_b_0', w[4], 3, 1, 1);
  node(c, 'Relu', 'gpu_0/conv5_2');
  node(c, 'MaxPool', 'gpu_0/pool5_1', [], { kernel_shape: [2, 2], pads: [0, 0, 0, 0], strides: [2, 2] });
  const flat = w[4] * 6 * 6;
  c.g.initializers.push({ name: 'OC2_DUMMY_1', dims: [2], type: 'int64', data: [1, flat] });
  node(c, 'Reshape', 'OC2_DUMMY_0', ['OC2_DUMMY_1']);
  gemmNode(c, 'gpu_0/fc6_1', 'gpu_0/fc6_w_0', 'gpu_0/fc6_b_0', flat, fc[0]);
  node(c, 'Relu', 'gpu_0/fc6_2');
  gemmNode(c, 'gpu_0/fc7_1', 'gpu_0/fc7_w_0', 'gpu_0/fc7_b_0', fc[0], fc[1]);
  node(c, 'Relu', 'gpu_0/fc7_2');
  gemmNode(c, 'gpu_0/fc8_1', 'gpu_0/fc8_w_0', 'gpu_0/fc8_b_0', fc[1], 1000);
  node(c, 'Softmax', 'gpu_0/softmax_1');
  return finish(c);
}

/**
 * BVLC AlexNet as in the zoo. Opset 12: groups 2 in conv2/4/5, LRN before pools, pool5 pads
 * [0,0,1,1], Reshape with baked [1, C*36], Gemm(transB=1), Dropout with a mask output,
 * Softmax 'prob_1'. Opset 3: the same weights, but no Reshape (Gemm gets the 4-D pool5 output
 * and carries broadcast=1), and Dropout has is_test=1 and one output.
 * `caffenet`: CaffeNet's order instead (max-pool before LRN, pools padded at the end to emulate
 * Caffe's ceil rounding: 54 -> 27 -> 13 -> 6).
 */
export function bvlcAlexnet(seed: number, opset: 12 | 9 | 3, { caffenet = false, w = [8, 12, 16, 12, 12], fc = [40, 32] } = {}): Structure {
  const c = ctx(opset, 'data_0', opset === 3 ? 'onnx-caffe2' : 'onnx-caffe2', seed);
  const lrn = { size: 5, alpha: { float: 1e-4 }, beta: { float: 0.75 }, bias: { float: 1 } };
  const pool = (out: string, pads = [0, 0, 0, 0]) => node(c, 'MaxPool', out, [], { kernel_shape: [3, 3], pads, strides: [2, 2] });
  const end = caffenet ? [0, 0, 1, 1] : [0, 0, 0, 0];
  convNode(c, 'conv1_1', 'conv1_w_0', 'conv1_b_0', w[0], 11, 4, 0);
  node(c, 'Relu', 'conv1_2');
  if (caffenet) { pool('pool1_1', end); node(c, 'LRN', 'norm1_1', [], lrn); } else { node(c, 'LRN', 'norm1_1', [], lrn); pool('pool1_1'); }
  convNode(c, 'conv2_1', 'conv2_w_0', 'conv2_b_0', w[1], 5, 1, 2, 2);
  node(c, 'Relu', 'conv2_2');
  if (caffenet) { pool('pool2_1', end); node(c, 'LRN', 'norm2_1', [], lrn); } else { node(c, 'LRN', 'norm2_1', [], lrn); pool('pool2_1'); }
  convNode(c, 'conv3_1', 'conv3_w_0', 'conv3_b_0', w[2], 3, 1, 1);
  node(c, 'Relu', 'conv3_2');
  convNode(c, 'conv4_1', 'conv4_w_0', 'conv4_b_0', w[3], 3, 1, 1, 2);
  node(c, 'Relu', 'conv4_2');
  convNode(c, 'conv5_1', 'conv5_w_0', 'conv5_b_0', w[4], 3, 1, 1, 2);
  node(c, 'Relu', 'conv5_2');
  pool('pool5_1', caffenet ? [0, 0, 0, 0] : [0, 0, 1, 1]);
  const flat = w[4] * 6 * 6;
  const dropout = (out: string, mask: string) => {
    if (opset === 3) node(c, 'Dropout', out, [], { is_test: 1, ratio: { float: 0.5 } });
    else if (opset >= 12) node(c, 'Dropout', out, [], {}, '', [mask]);
    else node(c, 'Dropout', out, [], { ratio: { float: 0.5 } }, '', [mask]);
  };
  const gemmAttrs: Record<string, AttrValue> = opset === 3 ? { broadcast: 1, transB: 1 } : { transB: 1 };
  if (opset !== 3) {
    c.g.initializers.push({ name: 'OC2_DUMMY_1', dims: [2], type: 'int64', data: [1, flat] });
    node(c, 'Reshape', 'OC2_DUMMY_0', ['OC2_DUMMY_1']);
  }
  gemmNode(c, 'fc6_1', 'fc6_w_0', 'fc6_b_0', flat, fc[0], '', gemmAttrs);
  node(c, 'Relu', 'fc6_2');
  dropout('fc6_3', '_fc6_mask_1');
  gemmNode(c, 'fc7_1', 'fc7_w_0', 'fc7_b_0', fc[0], fc[1], '', gemmAttrs);
  node(c, 'Relu', 'fc7_2');
  dropout('fc7_3', '_fc7_mask_1');
  gemmNode(c, 'fc8_1', 'fc8_w_0', 'fc8_b_0', fc[1], 1000, '', gemmAttrs);
  node(c, 'Softmax', 'prob_1');
  if (opset === 3) { c.g.initializersAsInputs = true; c.g.irVersion = 3; }
  return finish(c);
}

/**
 * torchvision's AlexNet exported by torch.onnx.export (opset 13, eval mode): input 'input.1',
 * numeric tensor names, node names 'Conv_0', ..., weights 'features.0.weight' ...; conv1 11x11/4
 * pad 2 -> 55, floor pools, AveragePool 1x1 (the adaptive pool at 224), Flatten, Gemm(transB=1),
 * no Dropout, logits out.
 */
export function torchvisionAlexnet(seed: number, w = [8, 12, 16, 12, 12], fc = [40, 32]): Structure {
  const c = ctx(13, 'input.1', 'pytorch', seed);
  let id = 17;
  let k = 0;
  const t = () => String(id++);
  const n = (op: string) => `${op}_${k++}`;
  const pool = () => node(c, 'MaxPool', t(), [], { ceil_mode: 0, kernel_shape: [3, 3], pads: [0, 0, 0, 0], strides: [2, 2] }, n('MaxPool'));
  const conv = (i: number, filters: number, kk: number, s: number, p: number) =>
    convNode(c, t(), `features.${i}.weight`, `features.${i}.bias`, filters, kk, s, p, 1, n('Conv'), { dilations: [1, 1], group: 1 });
  conv(0, w[0], 11, 4, 2); node(c, 'Relu', t(), [], {}, n('Relu')); pool();
  conv(3, w[1], 5, 1, 2); node(c, 'Relu', t(), [], {}, n('Relu')); pool();
  conv(6, w[2], 3, 1, 1); node(c, 'Relu', t(), [], {}, n('Relu'));
  conv(8, w[3], 3, 1, 1); node(c, 'Relu', t(), [], {}, n('Relu'));
  conv(10, w[4], 3, 1, 1); node(c, 'Relu', t(), [], {}, n('Relu')); pool();
  node(c, 'AveragePool', t(), [], { ceil_mode: 0, count_include_pad: 1, kernel_shape: [1, 1], pads: [0, 0, 0, 0], strides: [1, 1] }, n('AveragePool'));
  node(c, 'Flatten', t(), [], { axis: 1 }, n('Flatten'));
  const flat = w[4] * 36;
  const gemm = { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 };
  gemmNode(c, t(), 'classifier.1.weight', 'classifier.1.bias', flat, fc[0], n('Gemm'), gemm);
  node(c, 'Relu', t(), [], {}, n('Relu'));
  gemmNode(c, t(), 'classifier.4.weight', 'classifier.4.bias', fc[0], fc[1], n('Gemm'), gemm);
  node(c, 'Relu', t(), [], {}, n('Relu'));
  gemmNode(c, t(), 'classifier.6.weight', 'classifier.6.bias', fc[1], 1000, n('Gemm'), gemm);
  c.g.irVersion = 7;
  return finish(c);
}

/** The graph with every tensor of its data path also listed as an output (for onnxruntime). */
export function withChainOutputs(s: Structure): BGraph {
  const last = s.chain[s.chain.length - 1];
  const extra = s.chain.slice(1, -1).filter((n) => n !== last).map((name) => ({ name }));
  return { ...s.graph, outputs: [...s.graph.outputs, ...extra] };
}

/**
 * The small Caffe-style model kept as test/fixtures/tiny-caffe.onnx (served to the browser
 * tests): input 'data_0' [1, 3, 32, 32], conv 8 5x5/2, ReLU, LRN, max-pool 3/2, baked Reshape,
 * Gemm 10, Softmax 'prob_1'. test/onnx/fixtures.test.ts checks the file is exactly this.
 */
export function tinyCaffe(): BGraph {
  const rng = new Rng(2013);
  const conv = rng.uniform(8 * 3 * 5 * 5, 0.25);
  const fc = rng.uniform(10 * 8 * 6 * 6, 0.1);
  return {
    opset: 12, producer: 'zf-visualizer tests', name: 'tiny-caffe',
    inputs: [{ name: 'data_0', dims: [1, 3, 32, 32] }],
    outputs: [{ name: 'prob_1' }],
    initializers: [
      { name: 'conv1_w_0', dims: [8, 3, 5, 5], data: conv }, { name: 'conv1_b_0', dims: [8], data: rng.uniform(8, 0.05) },
      { name: 'OC2_DUMMY_1', dims: [2], type: 'int64', data: [1, 288] },
      { name: 'fc2_w_0', dims: [10, 288], data: fc }, { name: 'fc2_b_0', dims: [10], data: rng.uniform(10, 0.05) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['data_0', 'conv1_w_0', 'conv1_b_0'], outputs: ['conv1_1'], attrs: { kernel_shape: [5, 5], strides: [2, 2], pads: [0, 0, 0, 0] } },
      { op: 'Relu', inputs: ['conv1_1'], outputs: ['conv1_2'] },
      { op: 'LRN', inputs: ['conv1_2'], outputs: ['norm1_1'], attrs: { size: 5, alpha: { float: 1e-4 }, beta: { float: 0.75 }, bias: { float: 1 } } },
      { op: 'MaxPool', inputs: ['norm1_1'], outputs: ['pool1_1'], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
      { op: 'Reshape', inputs: ['pool1_1', 'OC2_DUMMY_1'], outputs: ['OC2_DUMMY_0'] },
      { op: 'Gemm', inputs: ['OC2_DUMMY_0', 'fc2_w_0', 'fc2_b_0'], outputs: ['fc2_1'], attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['fc2_1'], outputs: ['prob_1'] },
    ],
  };
}
