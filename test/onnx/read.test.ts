// ONNX import against onnxruntime-web: graphs built here with the real files' structure (the
// zoo's ZFNet-512, BVLC AlexNet at opsets 12 and 3, CaffeNet, a torchvision export; small
// widths, seeded weights), loaded by our importer and by onnxruntime from the same bytes. Every
// tensor on the data path is compared (the graph lists them all as outputs, so onnxruntime
// returns them), and the largest relative difference per model is printed.
import * as ort from 'onnxruntime-web';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { relDiff } from '../helpers/compare.js';
import {
  AbortError, ArgumentError, IMAGENET_LABELS, loadModel, Model, networkToOnnx, readOnnx, zfnet,
} from '../../src/index.js';
import {
  buildOnnx, bvlcAlexnet, seededInput, torchvisionAlexnet, withChainOutputs, zfnet512,
  type BGraph, type BNode, type BTensor, type Structure, Rng,
} from './builder.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const TOLERANCE = 1e-5;
const tmp = mkdtempSync(join(tmpdir(), 'zf-onnx-read-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Load `graph` (with its data path listed as outputs) in both engines at batch 1 and compare
 * every tensor of `chain`. Returns the worst difference; prints it and where it is.
 */
async function compareWithOrt(label: string, graph: BGraph, chain: string[], seed = 7): Promise<number> {
  const bytes = buildOnnx(graph);
  const imported = readOnnx(bytes);
  const model = await imported.createModel();
  const [c, h, w] = imported.network.input;
  const input = seededInput([1, c, h, w], seed);
  const run = model.forwardSync(input);
  const session = await ort.InferenceSession.create(bytes);
  let worst = 0;
  let where = '';
  try {
    const out = await session.run({ [imported.inputName]: new ort.Tensor('float32', input.data, input.shape) });
    for (const name of chain.slice(1)) {
      const op = imported.network.tensors!.get(name);
      expect(op, `tensor ${name} is addressable`).toBeDefined();
      const ours = op! < 0 ? input.data : run.opOutput(op!).data;
      const d = relDiff(ours, out[name].data as Float32Array);
      if (d >= worst) { worst = d; where = name; }
    }
  } finally {
    await session.release();
  }
  console.log(`${label}: ${chain.length - 1} tensors vs onnxruntime, max rel diff ${worst.toExponential(2)} (at '${where}')`);
  return worst;
}

async function importModel(s: Structure | BGraph): Promise<{ model: Model; bytes: Uint8Array }> {
  const bytes = buildOnnx('graph' in s ? s.graph : s);
  return { model: await readOnnx(bytes).createModel({ batch: 2 }), bytes };
}

describe('the real models\' structures, every tensor against onnxruntime', () => {
  test('ZFNet-512 (zoo, Caffe2): names with "/", unnamed nodes, LRN bias 2 before the pools, pool5 2x2, baked Reshape', async () => {
    const s = zfnet512(11);
    expect(await compareWithOrt('zfnet512 (opset 9)', withChainOutputs(s), s.chain)).toBeLessThanOrEqual(TOLERANCE);
    const { model } = await importModel(s);
    const net = model.network;
    expect(net.input).toEqual([3, 224, 224]);
    expect(net.preprocess).toBe('caffe');
    expect(net.labels).toEqual(IMAGENET_LABELS);
    expect(model.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    // ZFNet-512 normalises before pooling: the points come from the graph.
    const conv1 = model.layers[0];
    expect(Object.keys(conv1.points).sort()).toEqual(['conv', 'norm', 'pool', 'relu']);
    expect(conv1.points.norm).toBeLessThan(conv1.points.pool!);
    expect(model.shapes.filter((_, i) => net.ops[i].kind === 'maxpool').map((s) => s.slice(1))).toEqual([[54, 54], [12, 12], [6, 6]]);
    expect(model.layers.find((l) => l.name === 'fc7')!.op).toBeGreaterThan(0);
    expect(model.weightShapes().fc7.weight).toEqual([24, 48]);
    const lrnOp = net.ops.find((op) => op.kind === 'lrn');
    expect(lrnOp).toEqual({ kind: 'lrn', size: 5, alpha: expect.closeTo(5e-4, 9), beta: 0.75, bias: 2 });
  });

  test('BVLC AlexNet, opset 12: groups, asymmetric pool5 pads, baked Reshape, Dropout with a mask output', async () => {
    const s = bvlcAlexnet(12, 12);
    expect(await compareWithOrt('bvlcalexnet (opset 12)', withChainOutputs(s), s.chain)).toBeLessThanOrEqual(TOLERANCE);
    const { model } = await importModel(s);
    const ops = model.network.ops;
    expect(ops.filter((op) => op.kind === 'conv').map((op) => (op as { groups: number }).groups)).toEqual([1, 2, 1, 2, 2]);
    expect(ops.filter((op) => op.kind === 'maxpool').map((op) => (op as { pads: number[] }).pads))
      .toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]);
    expect(ops.filter((op) => op.kind === 'dropout')).toHaveLength(2);
    expect(model.network.preprocess).toBe('caffe');
  });

  test('BVLC AlexNet, opset 3: a 4-D Gemm input with broadcast=1, Dropout is_test; same numbers as opset 12', async () => {
    // onnxruntime runs opset 7 and later only ("Could not find an implementation for Relu(1)"),
    // so the opset-3 file is checked against the opset-12 file with the same weights, which
    // onnxruntime checks above.
    const old = await importModel(bvlcAlexnet(12, 3));
    const now = await importModel(bvlcAlexnet(12, 12));
    const input = seededInput([2, 3, 224, 224], 4);
    const a = old.model.forwardSync(input);
    const b = now.model.forwardSync(input);
    for (const layer of old.model.layers) {
      expect(relDiff(a.activation(layer.name).data, b.activation(layer.name).data), layer.name).toBe(0);
    }
    expect(relDiff(a.output().data, b.output().data)).toBe(0);
    expect(old.model.network.ops.some((op) => op.kind === 'flatten')).toBe(false);
    const session = ort.InferenceSession.create(old.bytes);
    await expect(session).rejects.toThrow(/Relu\(1\)|opset/);
  });

  test('CaffeNet: max-pool before LRN, end pads emulating ceil rounding (54 -> 27 -> 13 -> 6)', async () => {
    const s = bvlcAlexnet(13, 9, { caffenet: true });
    expect(await compareWithOrt('caffenet (opset 9)', withChainOutputs(s), s.chain)).toBeLessThanOrEqual(TOLERANCE);
    const { model } = await importModel(s);
    const conv1 = model.layers[0];
    expect(conv1.points.pool).toBeLessThan(conv1.points.norm!);
    expect(model.shapes.filter((_, i) => model.network.ops[i].kind === 'maxpool').map((sh) => sh[1])).toEqual([27, 13, 6]);
  });

  test('torchvision AlexNet export: input.1, numeric names, AveragePool 1x1, Flatten, Gemm, logits', async () => {
    const s = torchvisionAlexnet(14);
    expect(await compareWithOrt('torchvision alexnet (opset 13)', withChainOutputs(s), s.chain)).toBeLessThanOrEqual(TOLERANCE);
    const { model } = await importModel(s);
    expect(model.network.preprocess).toBe('torchvision');
    expect(model.network.ops.at(-1)!.kind).toBe('dense');
    expect(model.network.ops.find((op) => op.kind === 'conv')!.name).toBe('Conv_0');
    expect(model.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    const run = model.forwardSync(seededInput([1, 3, 224, 224], 3));
    const top = run.top(3);
    expect(top).toHaveLength(3);
    expect(IMAGENET_LABELS).toContain(top[0].label);
  });
});

describe('imported models in the engine', () => {
  test('a baked batch of 1 is the batch: batch 2 gives each image\'s batch-1 result', async () => {
    for (const s of [zfnet512(2), bvlcAlexnet(2, 12), torchvisionAlexnet(2)]) {
      const { model } = await importModel(s);
      const pair = seededInput([2, 3, 224, 224], 9);
      const both = model.forwardSync(pair).output().data.slice();
      const per = both.length / 2;
      for (const i of [0, 1]) {
        const one = { shape: [1, 3, 224, 224], data: pair.data.slice(i * 3 * 224 * 224, (i + 1) * 3 * 224 * 224) };
        const alone = model.forwardSync(one).output().data;
        expect(relDiff(both.subarray(i * per, (i + 1) * per), alone)).toBeLessThan(1e-6);
      }
    }
  });

  test('original tensor names are addressable: run.activation(\'gpu_0/conv5_1\') and friends', async () => {
    const { model } = await importModel(zfnet512(3));
    const run = model.forwardSync(seededInput([1, 3, 224, 224], 1));
    expect(run.activation('gpu_0/conv5_1')).toEqual(run.activation('conv5', 'conv'));
    expect(run.activation('gpu_0/conv5_2')).toEqual(run.activation('conv5'));
    expect(run.activation('gpu_0/norm1_1')).toEqual(run.activation('conv1', 'norm'));
    expect(run.activation('gpu_0/pool1_1')).toEqual(run.activation('conv1', 'pool'));
    expect(run.activation('gpu_0/fc7_2')).toEqual(run.activation('fc7', 'relu'));
    expect(model.resolve('OC2_DUMMY_0')).toMatchObject({ layer: { name: 'conv5' }, point: 'pool' });
    // Any tensor of the graph is a layer: the output, the input itself.
    expect(run.activation('gpu_0/softmax_1')).toEqual(run.output());
    expect(model.resolve('gpu_0/softmax_1')).toMatchObject({ point: 'tensor', layer: { name: 'gpu_0/softmax_1' } });
    expect(Array.from(run.activation('gpu_0/data_0').data)).toEqual(Array.from(seededInput([1, 3, 224, 224], 1).data));
    expect(() => run.activation('gpu_0/conv5_1', 'relu')).toThrow(ArgumentError);
    expect(() => run.activation('gpu_0/nothing')).toThrow(/unknown layer/);
    // Dropout outputs are their input's data.
    const bvlc = await importModel(bvlcAlexnet(3, 12));
    const r2 = bvlc.model.forwardSync(seededInput([1, 3, 224, 224], 1));
    expect(r2.activation('fc6_3')).toEqual(r2.activation('fc6', 'relu'));
  });

  test('the deconvnet projects from imported layers', async () => {
    const { model } = await importModel(bvlcAlexnet(5, 12));
    const run = model.forwardSync(seededInput([1, 3, 224, 224], 2));
    const p = await run.project({ layer: 'conv5', map: 1 });
    expect(p.shape).toEqual([1, 3, 224, 224]);
    expect(p.data.some((v) => v !== 0)).toBe(true);
    const q = await run.project({ layer: 'conv2_2', map: 1 });
    expect(q.layer).toBe('conv2');
  });

  test('networkToOnnx round trip: the paper ZFNet keeps its geometry, preset and outputs', async () => {
    const net = zfnet();
    const original = await Model.create(net);
    original.initWeights(4);
    const bytes = networkToOnnx(net, (n) => original.getWeights(n), { inputName: 'data', outputName: 'prob' });
    const imported = readOnnx(bytes);
    expect(imported.network.ops.map(({ name: _, ...op }) => op)).toEqual(net.ops);
    expect(imported.network.ops.find((op) => op.kind === 'lrn')).toMatchObject({ alpha: 1e-4, beta: 0.75 });
    expect(imported.network.preprocess).toBe('caffe');
    const model = await imported.createModel();
    const input = seededInput([1, 3, 224, 224], 8);
    expect(relDiff(model.forwardSync(input).output().data, original.forwardSync(input).output().data)).toBe(0);
  });
});

describe('op coverage against onnxruntime', () => {
  const rng = new Rng(99);
  const weights = (name: string, dims: number[], encoding?: BTensor['encoding']): BTensor => {
    const n = dims.reduce((a, b) => a * b, 1);
    return { name, dims, data: rng.uniform(n, Math.sqrt(3 / Math.max(1, n / dims[0]))), encoding };
  };

  /** A chain of nodes over input 'x' [1, C, H, W]; returns the graph and its chain. */
  function chainGraph(opset: number, shape: number[], nodes: BNode[], inits: BTensor[]): { graph: BGraph; chain: string[] } {
    // (A MatMul's output is not a tensor of ours: its Add is folded in as the bias.)
    const chain = ['x', ...nodes.filter((n) => n.op !== 'Constant' && n.op !== 'MatMul').map((n) => n.outputs[0])];
    const graph: BGraph = { nodes, initializers: inits, inputs: [{ name: 'x', dims: [1, ...shape] }], outputs: [{ name: chain.at(-1)! }], opset };
    return { graph: { ...graph, outputs: chain.slice(1).reverse().map((name) => ({ name })) }, chain };
  }

  test('Conv auto_pad and inferred kernels, asymmetric pads, pools with pads / ceil / count_include_pad, Indices, GlobalAveragePool, MatMul + Add, Identity, Constant, float_data', async () => {
    const nodes: BNode[] = [
      { op: 'Conv', name: 'same_upper', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
      { op: 'Relu', name: 'r1', inputs: ['c1'], outputs: ['r1'] },
      { op: 'MaxPool', name: 'p1', inputs: ['r1'], outputs: ['p1', 'p1_indices'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1], ceil_mode: 1 } },
      { op: 'Conv', name: 'same_lower', inputs: ['p1', 'w2'], outputs: ['c2'], attrs: { auto_pad: 'SAME_LOWER', kernel_shape: [2, 4], group: 2 } },
      { op: 'Identity', name: 'id', inputs: ['c2'], outputs: ['c2_id'] },
      { op: 'AveragePool', name: 'a1', inputs: ['c2_id'], outputs: ['a1'], attrs: { kernel_shape: [3, 2], pads: [1, 1, 0, 1], count_include_pad: 0 } },
      { op: 'AveragePool', name: 'a2', inputs: ['a1'], outputs: ['a2'], attrs: { kernel_shape: [2, 2], strides: [2, 1], pads: [1, 0, 1, 0], count_include_pad: 1, ceil_mode: 1 } },
      { op: 'Conv', name: 'valid', inputs: ['a2', 'w3', 'b3'], outputs: ['c3'], attrs: { auto_pad: 'VALID', pads: [] as number[] } },
      { op: 'LRN', name: 'n1', inputs: ['c3'], outputs: ['n1'], attrs: { size: 3, alpha: { float: 0.01 }, beta: { float: 0.6 }, bias: { float: 1.5 } } },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['n1'], outputs: ['gap'] },
      { op: 'Constant', name: 'shape_const', inputs: [], outputs: ['shape'], attrs: { value: { tensor: { name: 'v', dims: [2], type: 'int64', data: [0, -1] } } } },
      { op: 'Reshape', name: 'rs', inputs: ['gap', 'shape'], outputs: ['flat'] },
      { op: 'MatMul', name: 'mm', inputs: ['flat', 'wm'], outputs: ['mm'] },
      { op: 'Add', name: 'bias', inputs: ['bm', 'mm'], outputs: ['fc'] },
      { op: 'Relu', name: 'r2', inputs: ['fc'], outputs: ['r2'] },
      { op: 'Gemm', name: 'g', inputs: ['r2', 'wg', 'cg'], outputs: ['g'], attrs: { alpha: { float: 0.5 }, beta: { float: 2 } } },
      { op: 'Dropout', name: 'drop', inputs: ['g', 'ratio'], outputs: ['d', 'mask'] },
      { op: 'Softmax', name: 'sm', inputs: ['d'], outputs: ['y'], attrs: { axis: 1 } },
    ];
    nodes.forEach((n) => { if (n.attrs && 'pads' in n.attrs && (n.attrs.pads as number[]).length === 0) delete n.attrs.pads; });
    const inits = [
      weights('w1', [6, 3, 3, 3], 'typed'), weights('b1', [6], 'unpacked'),
      weights('w2', [8, 3, 2, 4]),
      weights('w3', [10, 8, 3, 3]), weights('b3', [10]),
      weights('wm', [10, 12]), weights('bm', [12], 'typed'),
      weights('wg', [12, 7]), { name: 'cg', dims: [], data: new Float32Array([0.25]) },
      { name: 'ratio', dims: [], data: new Float32Array([0.3]) },
    ];
    const { graph, chain } = chainGraph(13, [3, 29, 31], nodes, inits);
    expect(await compareWithOrt('op coverage (opset 13)', graph, chain, 5)).toBeLessThanOrEqual(TOLERANCE);
    const net = readOnnx(buildOnnx(graph)).network;
    expect(net.ops.map((op) => op.kind)).toEqual(['conv', 'relu', 'maxpool', 'conv', 'avgpool', 'avgpool', 'conv', 'lrn', 'avgpool',
      'flatten', 'dense', 'relu', 'dense', 'dropout', 'softmax']);
    expect((net.ops[0] as { pads: number[] }).pads).toEqual([1, 1, 1, 1]);
    expect((net.ops[3] as { pads: number[] }).pads).toEqual([1, 2, 0, 1]);
    expect((net.ops.find((op) => op.kind === 'dropout') as { rate: number }).rate).toBeCloseTo(0.3, 6);
  });

  test('Softmax: opset 11 flattens from the axis (spatial input), opset 13 on a [N, C, 1, 1] channel axis', async () => {
    for (const [opset, axis, pool] of [[11, 1, false], [11, -3, false], [11, 1, true], [13, 1, true], [13, -3, true]] as const) {
      const nodes: BNode[] = [
        { op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } },
        ...(pool ? [{ op: 'GlobalAveragePool', name: 'gap', inputs: ['c'], outputs: ['g'] }] : []),
        { op: 'Softmax', name: 's', inputs: [pool ? 'g' : 'c'], outputs: ['y'], attrs: { axis } },
      ];
      const { graph, chain } = chainGraph(opset, [2, 7, 7], nodes, [weights('w', [4, 2, 3, 3])]);
      expect(await compareWithOrt(`softmax opset ${opset} axis ${axis}`, graph, chain)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  test('Gemm with transB=0 (weights transposed on the way in), a [1, units] bias and Flatten; opsets 7 and 11', async () => {
    for (const opset of [7, 11]) {
      const attrs = { alpha: { float: 1.5 } };
      const nodes: BNode[] = [
        { op: 'Flatten', name: 'f', inputs: ['x'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Gemm', name: 'g', inputs: ['f', 'w', 'b'], outputs: ['y'], attrs },
      ];
      const { graph, chain } = chainGraph(opset, [2, 3, 5], nodes, [weights('w', [30, 9]), weights('b', [1, 9])]);
      expect(await compareWithOrt(`gemm transB=0 opset ${opset}`, graph, chain)).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('older and rarer forms', () => {
  test('Reshape with a shape attribute (opset < 5), Constant value_ints, MatMul without Add, Softmax on opset 1', async () => {
    const r = new Rng(8);
    const w = r.uniform(4 * 2 * 3 * 3, 0.3);
    const m = r.uniform(100 * 6, 0.1);
    const graph = (opset: number, reshape: BNode): BGraph => ({
      opset, inputs: [{ name: 'x', dims: [1, 2, 7, 7] }], outputs: [{ name: 'y' }],
      initializers: [{ name: 'w', dims: [4, 2, 3, 3], data: w }, { name: 'm', dims: [100, 6], data: m }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } },
        ...(opset >= 12 ? [{ op: 'Constant', inputs: [], outputs: ['s'], attrs: { value_ints: [-1, 100] } }] : []),
        reshape,
        { op: 'MatMul', inputs: ['f', 'm'], outputs: ['mm'] },
        { op: 'Softmax', inputs: ['mm'], outputs: ['y'] },
      ],
    });
    const old = readOnnx(buildOnnx(graph(4, { op: 'Reshape', inputs: ['c'], outputs: ['f'], attrs: { shape: [1, 100], consumed_inputs: [0] } })));
    const now = readOnnx(buildOnnx(graph(13, { op: 'Reshape', inputs: ['c', 's'], outputs: ['f'] })));
    expect(old.network.ops.map((op) => op.kind)).toEqual(['conv', 'flatten', 'dense', 'softmax']);
    expect(now.network.ops).toEqual(old.network.ops);
    const input = seededInput([2, 2, 7, 7], 1);
    const a = (await old.createModel()).forwardSync(input).output().data;
    const b = (await now.createModel()).forwardSync(input).output().data;
    expect(a).toEqual(b);
    // onnxruntime on the opset-13 form.
    const session = await ort.InferenceSession.create(buildOnnx(graph(13, { op: 'Reshape', inputs: ['c', 's'], outputs: ['f'] })));
    const one = { shape: [1, 2, 7, 7], data: input.data.subarray(0, 98) };
    const ref = (await session.run({ x: new ort.Tensor('float32', one.data, one.shape) })).y.data as Float32Array;
    await session.release();
    const d = relDiff(a.subarray(0, 6), ref);
    console.log(`reshape/matmul/softmax (opset 13): max rel diff ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('loadModel sources and options', () => {
  const s = bvlcAlexnet(21, 12);
  const bytes = buildOnnx(s.graph);
  const path = join(tmp, 'bvlcalexnet-12.onnx');
  writeFileSync(path, bytes);

  test('bytes, ArrayBuffer, Blob, a path and a file: URL give the same model; progress ends at 1', async () => {
    const input = seededInput([1, 3, 224, 224], 6);
    const outputs: Float32Array[] = [];
    const copy = bytes.slice();
    for (const source of [bytes, copy.buffer, new Blob([copy]), path, pathToFileURL(path)]) {
      const fractions: number[] = [];
      const model = await loadModel(source as never, { onProgress: (f) => fractions.push(f) });
      outputs.push(model.forwardSync(input).output().data);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]))).toBe(true);
    }
    for (const o of outputs.slice(1)) expect(o).toEqual(outputs[0]);
    const fromPath = await loadModel(path);
    expect(fromPath.network.name).toBe('bvlcalexnet-12');
  });

  test('preset and labels can be overridden; bad overrides are refused', async () => {
    const model = await loadModel(bytes, { preprocess: 'torchvision', labels: Array.from({ length: 1000 }, (_, i) => `c${i}`) });
    expect(model.network.preprocess).toBe('torchvision');
    expect(model.network.labels![7]).toBe('c7');
    await expect(loadModel(bytes, { labels: ['a'] })).rejects.toThrow(/labels must be 1000 strings/);
    await expect(loadModel(bytes, { preprocess: 'bgr' as never })).rejects.toThrow(/preprocess must be one of/);
  });

  test('an aborted signal cancels; unknown names and missing files are ArgumentErrors', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(loadModel(bytes, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await expect(loadModel('zfnett')).rejects.toThrow(/unknown model 'zfnett'/);
    await expect(loadModel(join(tmp, 'missing.onnx'))).rejects.toThrow(ArgumentError);
    await expect(loadModel(tmp)).rejects.toThrow(/not a file/);
  });

  test('symbolic input sizes take options.inputSize (default 224 x 224)', async () => {
    const rng = new Rng(3);
    const graph = (dims: (number | string)[]): BGraph => ({
      opset: 13, inputs: [{ name: 'x', dims }], outputs: [{ name: 'y' }],
      initializers: [{ name: 'w', dims: [4, 3, 3, 3], data: rng.uniform(108, 0.3) }, { name: 'f', dims: [5, 4], data: rng.uniform(20, 0.5) }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['g'] },
        { op: 'Flatten', inputs: ['g'], outputs: ['f1'] },
        { op: 'Gemm', inputs: ['f1', 'f'], outputs: ['y'], attrs: { transB: 1 } },
      ],
    });
    const file = buildOnnx(graph(['N', 3, 'H', 'W']));
    expect(readOnnx(file).network.input).toEqual([3, 224, 224]);
    expect(readOnnx(file, { inputSize: [64, 48] }).network.input).toEqual([3, 64, 48]);
    const model = await loadModel(file, { inputSize: [40, 30] });
    expect(model.forwardSync(seededInput([2, 3, 40, 30], 1)).output().shape).toEqual([2, 5]);
    expect(() => readOnnx(buildOnnx(graph(['N', 'C', 'H', 'W'])))).toThrow(/channel count must be fixed/);
  });
});
