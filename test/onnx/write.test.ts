// networkToOnnx: the protobuf encoding, and the written graphs running in onnxruntime-web (its
// wasm backend, one thread, in Node) with the same weights as our engine. Outputs (and, through
// graphs truncated after each op, intermediate tensors) must agree to 1e-4 of the tensor's
// largest magnitude; a correct f32 implementation lands near 1e-6.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, test } from 'vitest';
import { relDiff } from '../helpers/compare.js';
import { seededInput } from './builder.js';
import { ArgumentError, Model, alexnetBvlc, alexnetTorchvision, caffenet, zfnet, type Network, type Op } from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { ProtoWriter } from '../../src/onnx/protobuf-writer.js';
import { networkToOnnx, type OnnxWriteOptions } from '../../src/onnx/write.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'warning';

const TOLERANCE = 1e-4;
const relu: Op = { kind: 'relu' };

/** Groups 2, LRN with non-default constants, ceil-mode pools (one padded), dropout, softmax. */
const groupsNet: Network = {
  name: 'groups-lrn-ceil', input: [4, 23, 23], preprocess: 'none',
  ops: [
    conv(8, 5, 2, 1), relu, maxpool(3, 2, { ceil: true }), lrn(),
    conv(12, 3, 1, 1, 2), relu, lrn(5, 2e-3, 0.75, 2), maxpool(3, 2, { ceil: true, pads: [1, 1, 0, 0] }),
    conv(6, 1, 1, 0, 3), relu,
    { kind: 'flatten' }, dense(10), relu, { kind: 'dropout', rate: 0.3 }, dense(7), { kind: 'softmax' },
  ],
};

/** Non-square everything, asymmetric conv and pool pads, average pools, implicit flatten, logits. */
const asymmetricNet: Network = {
  name: 'asymmetric', input: [3, 20, 17], preprocess: 'none',
  ops: [
    { kind: 'conv', filters: 6, kernel: [3, 5], stride: [1, 2], pads: [0, 1, 2, 3], groups: 1, bias: true }, relu,
    maxpool(3, 2, { pads: [0, 0, 1, 1] }),
    { kind: 'conv', filters: 8, kernel: [3, 3], stride: [2, 1], pads: [1, 0, 0, 1], groups: 2, bias: true }, relu,
    { kind: 'avgpool', kernel: [3, 2], stride: [1, 1], pads: [1, 0, 1, 1], ceil: false, countIncludePad: false },
    { kind: 'avgpool', kernel: [2, 2], stride: [1, 2], pads: [1, 1, 0, 0], ceil: false, countIncludePad: true },
    { kind: 'maxpool', kernel: [2, 3], stride: [2, 2], pads: [0, 1, 0, 0], ceil: true },
    dense(9), relu, dense(5),
  ],
};

/** A softmax over a spatial map (exported as Flatten-Softmax-Reshape from opset 13). */
const spatialSoftmaxNet: Network = {
  name: 'spatial-softmax', input: [2, 9, 9], preprocess: 'none',
  ops: [conv(3, 3, 2, 1), relu, { kind: 'softmax' }],
};

const tmp = mkdtempSync(join(tmpdir(), 'zf-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function runOnnx(bytes: Uint8Array, input: { shape: number[]; data: Float32Array }): Promise<{ shape: number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['output']);
    const out = await session.run({ input: new ort.Tensor('float32', input.data, input.shape) });
    const t = out.output;
    return { shape: [...t.dims], data: t.data as Float32Array };
  } finally {
    await session.release();
  }
}

async function seededModel(net: Network, seed: number): Promise<Model> {
  const model = await Model.create(net);
  model.initWeights(seed);
  return model;
}

/** Our output and onnxruntime's for `net`; returns the relative difference (printed). */
async function compare(net: Network, batch: number, options: OnnxWriteOptions = {}, seed = 3): Promise<number> {
  const model = await seededModel(net, seed);
  const input = seededInput([batch, ...net.input], seed + 100);
  const ours = model.forwardSync(input).output();
  const theirs = await runOnnx(networkToOnnx(net, (n) => model.getWeights(n), options), input);
  expect(theirs.shape).toEqual(ours.shape);
  const d = relDiff(ours.data, theirs.data);
  console.log(`${net.name} batch ${batch} opset ${options.opset ?? 13}: max rel diff ${d.toExponential(2)}`);
  return d;
}

/**
 * Every op's output against onnxruntime, by writing the network truncated after that op.
 * Returns the differences in op order, and prints the worst.
 */
async function compareEveryOp(net: Network, batch: number, seed: number, upTo = net.ops.length): Promise<number[]> {
  const model = await seededModel(net, seed);
  const input = seededInput([batch, ...net.input], seed + 100);
  const run = model.forwardSync(input);
  const diffs: number[] = [];
  for (let k = 0; k < upTo; k++) {
    const prefix: Network = { ...net, ops: net.ops.slice(0, k + 1) };
    const ours = run.opOutput(k);
    const theirs = await runOnnx(networkToOnnx(prefix, (n) => model.getWeights(n)), input);
    // ONNX keeps [N, C, H, W] through Dropout after a spatial op; we report the same shape.
    expect(theirs.shape).toEqual(ours.shape);
    diffs.push(relDiff(ours.data, theirs.data));
  }
  const worst = diffs.reduce((a, b, k) => (b > diffs[a] ? k : a), 0);
  console.log(`${net.name} batch ${batch}, every op: worst ${diffs[worst].toExponential(2)} at op ${worst} ` +
    `(${net.ops[worst].kind}); ${diffs.map((d, k) => `${k}:${net.ops[k].kind}=${d.toExponential(1)}`).join(' ')}`);
  return diffs;
}

describe('ProtoWriter', () => {
  const hex = (w: ProtoWriter) => Buffer.from(w.finish()).toString('hex');

  test('varints, including 64-bit and negative int64', () => {
    expect(hex(new ProtoWriter().int(1, 0))).toBe('0800');
    expect(hex(new ProtoWriter().int(1, 150))).toBe('089601');
    expect(hex(new ProtoWriter().int(1, 2 ** 35 + 1))).toBe('088180808080' + '01');
    expect(hex(new ProtoWriter().int(1, -1))).toBe('08' + 'ff'.repeat(9) + '01');
    expect(hex(new ProtoWriter().int(2, -2))).toBe('10' + 'fe' + 'ff'.repeat(8) + '01');
    expect(hex(new ProtoWriter().int(16, 1))).toBe('800101');
    expect(() => new ProtoWriter().int(1, 2 ** 53)).toThrow(RangeError);
    expect(() => new ProtoWriter().int(0, 1)).toThrow(RangeError);
  });

  test('strings, floats, nested messages and packed fields (the protobuf guide\'s examples)', () => {
    expect(hex(new ProtoWriter().string(2, 'testing'))).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().string(1, 'é'))).toBe('0a02c3a9');
    expect(hex(new ProtoWriter().float(1, 1.5))).toBe('0d0000c03f');
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().int(1, 150)))).toBe('1a03089601');
    expect(hex(new ProtoWriter().packedInts(4, [3, 270, 86942]))).toBe('2206038e029ea705');
    expect(hex(new ProtoWriter().packedFloats(4, new Float32Array([1, -2])))).toBe('22080000803f000000c0');
    expect(hex(new ProtoWriter().repeatedInts(1, [1, 2]).repeatedFloats(7, [0.5]))).toBe('080108023d0000003f');
    const big = new Uint8Array(200).fill(7);
    const w = new ProtoWriter().int(1, 1).bytes(9, big).int(2, 2);
    expect(w.length).toBe(2 + 3 + 200 + 2);
    const out = w.finish();
    expect(Array.from(out.subarray(0, 5))).toEqual([0x08, 1, 0x4a, 0xc8, 0x01]);
    expect(out.subarray(5, 205).every((b) => b === 7)).toBe(true);
    expect(Array.from(out.subarray(205))).toEqual([0x10, 2]);
  });
});

describe('networkToOnnx: arguments', () => {
  test('refuses missing or misshapen weights and unsupported opsets, naming the layer', async () => {
    const model = await seededModel(groupsNet, 1);
    expect(() => networkToOnnx(groupsNet, new Map())).toThrow(/no weights for layer conv1/);
    const bad = new Map([['conv1', { weight: new Float32Array(3) }]]);
    expect(() => networkToOnnx(groupsNet, bad)).toThrow(ArgumentError);
    expect(() => networkToOnnx(groupsNet, bad)).toThrow(/conv1: weight must be a Float32Array of 800 values \[8, 4, 5, 5\]/);
    expect(() => networkToOnnx(groupsNet, (n) => model.getWeights(n), { opset: 6 })).toThrow(/opset must be/);
    expect(() => networkToOnnx(groupsNet, (n) => model.getWeights(n), { inputName: 'x', outputName: 'x' })).toThrow(ArgumentError);
    const ceilAvg: Network = { ...spatialSoftmaxNet, ops: [{ kind: 'avgpool', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true, countIncludePad: false }] };
    expect(() => networkToOnnx(ceilAvg, new Map(), { opset: 9 })).toThrow(/needs opset 10/);
  });

  test('a map of weights and the model\'s getter give the same bytes', async () => {
    const model = await seededModel(groupsNet, 1);
    const map = new Map(model.layers.map((l) => [l.name, model.getWeights(l.name)]));
    expect(networkToOnnx(groupsNet, map)).toEqual(networkToOnnx(groupsNet, (n) => model.getWeights(n)));
  });
});

describe('onnxruntime parses the written models without warnings', () => {
  // onnxruntime-web writes its log from inside its wasm module with fs.writeSync(2) and only
  // flushes a line when the next one starts or the process exits, so a child process is the
  // reliable way to see every warning.
  const child = `
    import * as ort from 'onnxruntime-web';
    import { readFileSync } from 'node:fs';
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'warning';
    for (const file of process.argv.slice(1)) {
      const s = await ort.InferenceSession.create(readFileSync(file), { logSeverityLevel: 2 });
      const [c, h, w] = JSON.parse(readFileSync(file + '.shape', 'utf8'));
      await s.run({ input: new ort.Tensor('float32', new Float32Array(2 * c * h * w).fill(0.5), [2, c, h, w]) });
      await s.release();
    }
    console.log('ok');`;
  const parse = (files: string[]) => spawnSync(process.execPath, ['--input-type=module', '-e', child, ...files],
    { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
  const write = (name: string, bytes: Uint8Array, input: number[]) => {
    const file = join(tmp, `${name}.onnx`);
    writeFileSync(file, bytes);
    writeFileSync(`${file}.shape`, JSON.stringify(input));
    return file;
  };

  test('the harness sees onnxruntime\'s warnings (an unused initializer)', () => {
    // A hand-built Relu graph with an initializer no node reads: onnxruntime warns and removes it.
    const valueInfo = (name: string) => {
      const dim = (v: number | string) => (typeof v === 'string' ? new ProtoWriter().string(2, v) : new ProtoWriter().int(1, v));
      const shape = new ProtoWriter().message(1, dim('N')).message(1, dim(1)).message(1, dim(2)).message(1, dim(2));
      const tensorType = new ProtoWriter().int(1, 1).message(2, shape);
      return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    };
    const graph = new ProtoWriter()
      .message(1, new ProtoWriter().string(1, 'input').string(2, 'output').string(3, 'relu').string(4, 'Relu'))
      .string(2, 'g')
      .message(5, new ProtoWriter().int(1, 2).int(2, 1).string(8, 'unused').bytes(9, new Uint8Array(8)))
      .message(11, valueInfo('input')).message(12, valueInfo('output'));
    const model = new ProtoWriter().int(1, 7).message(7, graph)
      .message(8, new ProtoWriter().string(1, '').int(2, 13)).finish();
    const r = parse([write('unused-initializer', model, [1, 2, 2])]);
    expect(r.status).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/\[W:onnxruntime.*Removing initializer 'unused'/);
  });

  test('the small networks, at opsets 9, 11, 13 and 21', async () => {
    const files: string[] = [];
    for (const net of [groupsNet, asymmetricNet, spatialSoftmaxNet]) {
      const model = await seededModel(net, 5);
      for (const opset of [9, 11, 13, 21]) {
        files.push(write(`${net.name}-${opset}`, networkToOnnx(net, (n) => model.getWeights(n), { opset }), net.input));
      }
    }
    const r = parse(files);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
    expect(r.status).toBe(0);
  });
});

describe('networkToOnnx against onnxruntime-web', () => {
  test('groups 2, LRN, ceil-mode pools, dropout, softmax; batch 1 and 2', async () => {
    expect(await compare(groupsNet, 1)).toBeLessThanOrEqual(TOLERANCE);
    expect(await compare(groupsNet, 2)).toBeLessThanOrEqual(TOLERANCE);
  });

  test('asymmetric conv and pool pads, non-square kernels and strides, average pools, logits; batch 2', async () => {
    expect(await compare(asymmetricNet, 2)).toBeLessThanOrEqual(TOLERANCE);
  });

  test('older and newer opsets: ceil mode as end pads (9), softmax axis 1 (11), 21', async () => {
    for (const opset of [9, 11, 21]) {
      expect(await compare(groupsNet, 2, { opset })).toBeLessThanOrEqual(TOLERANCE);
      expect(await compare(asymmetricNet, 2, { opset })).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  test('softmax over a spatial map (opset 11: axis 1; opset 13: flatten, softmax, reshape)', async () => {
    for (const opset of [11, 13]) expect(await compare(spatialSoftmaxNet, 2, { opset })).toBeLessThanOrEqual(TOLERANCE);
  });

  test('every intermediate tensor of the small networks (graphs truncated after each op)', async () => {
    for (const net of [groupsNet, asymmetricNet]) {
      const diffs = await compareEveryOp(net, 2, 11);
      diffs.forEach((d, k) => expect(d, `${net.name} op ${k} (${net.ops[k].kind})`).toBeLessThanOrEqual(TOLERANCE));
    }
  });

  test('input and output names are configurable', async () => {
    const model = await seededModel(spatialSoftmaxNet, 2);
    const session = await ort.InferenceSession.create(
      networkToOnnx(spatialSoftmaxNet, (n) => model.getWeights(n), { inputName: 'data_0', outputName: 'prob_1' }));
    expect(session.inputNames).toEqual(['data_0']);
    expect(session.outputNames).toEqual(['prob_1']);
    await session.release();
  });
});

describe('the real architectures at 224x224, seeded weights', () => {
  test('ZFNet (paper): output, batch 1 and 2 (softmax ending)', async () => {
    expect(await compare(zfnet(), 1, {}, 1)).toBeLessThanOrEqual(TOLERANCE);
    expect(await compare(zfnet(), 2, {}, 2)).toBeLessThanOrEqual(TOLERANCE);
  });

  test('ZFNet (paper): every op up to pool5', async () => {
    const net = zfnet();
    const diffs = await compareEveryOp(net, 1, 1, net.ops.findIndex((op) => op.kind === 'flatten'));
    diffs.forEach((d, k) => expect(d, `zfnet op ${k} (${net.ops[k].kind})`).toBeLessThanOrEqual(TOLERANCE));
  });

  test('AlexNet (torchvision): output, batch 1 (logits ending)', async () => {
    expect(await compare(alexnetTorchvision(), 1, {}, 1)).toBeLessThanOrEqual(TOLERANCE);
  });

  test('AlexNet (BVLC: groups 2, pool5 pads [0,0,1,1]) and CaffeNet (pool then LRN, end pads)', async () => {
    expect(await compare(alexnetBvlc(), 1, {}, 1)).toBeLessThanOrEqual(TOLERANCE);
    expect(await compare(caffenet(), 1, {}, 1)).toBeLessThanOrEqual(TOLERANCE);
  });
});
