// Issue 14 item 4: non-finite weights and out-of-domain attributes are refused at load with a
// ModelFormatError naming the tensor or attribute (they used to load, and every output was NaN).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ModelFormatError, NonFiniteError, readOnnx } from '../../src/index.js';
import { encodeNpy } from '../../src/io/npy.js';
import { expectUsageError, runCli } from '../helpers/cli.js';
import { buildOnnx, Rng, seededInput, type AttrValue, type BGraph, type BNode, type BTensor } from './builder.js';

const rng = new Rng(7);
const floats = (name: string, dims: number[], data?: Float32Array): BTensor =>
  ({ name, dims, data: data ?? rng.uniform(dims.reduce((a, b) => a * b, 1), 0.2) });

/** conv, batch norm (not folded: the conv output has two readers), relu, LRN, clip, pad, leaky relu, pool, gemm. */
function graph(change: (g: BGraph) => void = () => undefined, opset = 13): Uint8Array {
  const g: BGraph = {
    opset, producer: 'tests',
    inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
    outputs: [{ name: 'y' }],
    initializers: [
      floats('conv_w', [4, 3, 3, 3]), floats('conv_b', [4]),
      floats('bn_scale', [4]), floats('bn_b', [4]), floats('bn_mean', [4]), floats('bn_var', [4], Float32Array.of(1, 2, 0.5, 1)),
      floats('clip_min', [], Float32Array.of(0)), floats('clip_max', [], Float32Array.of(6)),
      { name: 'pads', dims: [8], type: 'int64', data: [0, 0, 1, 1, 0, 0, 1, 1] }, floats('pad_value', [], Float32Array.of(0)),
      { name: 'shape', dims: [2], type: 'int64', data: [1, 4 * 5 * 5] },
      floats('fc_w', [5, 100]), floats('fc_b', [5]),
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'conv_w', 'conv_b'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'BatchNormalization', name: 'bn', inputs: ['c', 'bn_scale', 'bn_b', 'bn_mean', 'bn_var'], outputs: ['b0'], attrs: { epsilon: { float: 1e-5 } } },
      { op: 'Add', name: 'add', inputs: ['b0', 'c'], outputs: ['b'] },
      { op: 'Relu', name: 'relu', inputs: ['b'], outputs: ['r'] },
      { op: 'LRN', name: 'lrn', inputs: ['r'], outputs: ['n'], attrs: { size: 3 } },
      { op: 'Clip', name: 'clip', inputs: ['n', 'clip_min', 'clip_max'], outputs: ['cl'] },
      { op: 'Pad', name: 'pad', inputs: ['cl', 'pads', 'pad_value'], outputs: ['pd'] },
      { op: 'LeakyRelu', name: 'leaky', inputs: ['pd'], outputs: ['l'], attrs: { alpha: { float: 0.1 } } },
      { op: 'MaxPool', name: 'pool', inputs: ['l'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Reshape', name: 'flat', inputs: ['p', 'shape'], outputs: ['f'] },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'fc_w', 'fc_b'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  };
  change(g);
  return buildOnnx(g);
}

const node = (g: BGraph, name: string): BNode => g.nodes.find((n) => n.name === name)!;
const init = (g: BGraph, name: string): BTensor => g.initializers.find((t) => t.name === name)!;
const setAttr = (name: string, attr: string, v: AttrValue) => (g: BGraph) => { node(g, name).attrs = { ...node(g, name).attrs, [attr]: v }; };
const setValue = (name: string, i: number, v: number) => (g: BGraph) => {
  const t = init(g, name);
  const d = Float32Array.from(t.data as Float32Array);
  d[i] = v;
  t.data = d;
};

async function failure(bytes: Uint8Array): Promise<Error> {
  try {
    await readOnnx(bytes).createModel();
  } catch (e) {
    return e as Error;
  }
  throw new Error('the file loaded');
}

describe('refused at load', () => {
  test('the valid graph loads and runs', async () => {
    const model = await readOnnx(graph()).createModel();
    expect(model.forwardSync(seededInput([1, 3, 8, 8], 1)).output().data.every(Number.isFinite)).toBe(true);
  });

  const cases: [string, (g: BGraph) => void, RegExp][] = [
    ['NaN in a conv weight', setValue('conv_w', 13, NaN), /initializer 'conv_w' \(conv1 weight\): value 13 of the layer's \[108\] is NaN/],
    ['Infinity in a conv bias', setValue('conv_b', 2, Infinity), /initializer 'conv_b' \(conv1 bias\): value 2 .* is Infinity/],
    ['-Infinity in a gemm weight', setValue('fc_w', 40, -Infinity), /initializer 'fc_w' \(fc2 weight\): value .* is -Infinity/],
    ['NaN in a batch norm mean', setValue('bn_mean', 1, NaN), /bn.*mean 'bn_mean' value 1 is NaN/],
    ['a negative batch norm variance', setValue('bn_var', 3, -2), /bn.*var value 3 is -2: var \+ epsilon .* must be > 0/],
    ['a negative batch norm epsilon', setAttr('bn', 'epsilon', { float: -1 }), /epsilon.*is -1; it must be >= 0/],
    ['LRN beta -1e30', setAttr('lrn', 'beta', { float: -1e30 }), /beta.*it must be > 0/],
    ['LRN beta 0', setAttr('lrn', 'beta', { float: 0 }), /beta.*is 0; it must be > 0/],
    ['LRN alpha -1', setAttr('lrn', 'alpha', { float: -1 }), /alpha.*is -1; it must be >= 0/],
    ['LRN bias 0', setAttr('lrn', 'bias', { float: 0 }), /bias.*is 0; it must be > 0/],
    ['LRN bias -1e30', setAttr('lrn', 'bias', { float: -1e30 }), /bias.*it must be > 0/],
    ['LRN alpha NaN', setAttr('lrn', 'alpha', { float: NaN }), /alpha.*finite/],
    ['LeakyRelu alpha NaN', setAttr('leaky', 'alpha', { float: NaN }), /alpha.*finite/],
    ['Clip min NaN', setValue('clip_min', 0, NaN), /clip.*min is NaN/],
    ['Clip min above max', setValue('clip_min', 0, 7), /clip.*min 7 is above max 6/],
    ['Pad value NaN', setValue('pad_value', 0, NaN), /pad.*value NaN; the constant value must be finite/],
    ['Pad value Infinity', setValue('pad_value', 0, Infinity), /pad.*value Infinity; the constant value must be finite/],
  ];
  for (const [what, change, message] of cases) {
    test(what, async () => {
      const e = await failure(graph(change));
      expect(e).toBeInstanceOf(ModelFormatError);
      expect(e.message).toMatch(message);
    });
  }

  test('Elu alpha NaN (opset 6+) and HardSigmoid beta Infinity', async () => {
    const elu = await failure(graph((g) => { node(g, 'leaky').op = 'Elu'; node(g, 'leaky').attrs = { alpha: { float: NaN } }; }));
    expect(elu).toBeInstanceOf(ModelFormatError);
    const hs = await failure(graph((g) => { node(g, 'leaky').op = 'HardSigmoid'; node(g, 'leaky').attrs = { beta: { float: Infinity } }; }));
    expect(hs).toBeInstanceOf(ModelFormatError);
  });
});

describe('after a forward pass', () => {
  test('finite weights that overflow are a NonFiniteError naming the first op with a non-finite output', async () => {
    const model = await readOnnx(graph((g) => { init(g, 'conv_w').data = new Float32Array(108).fill(3e38); })).createModel();
    let err: unknown;
    try { model.forwardSync(seededInput([1, 3, 8, 8], 2)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NonFiniteError);
    console.log((err as Error).message);
    expect((err as Error).message).toMatch(/the forward pass produced -?Infinity at op 0 \(conv, 'c'\)/);
  });
});

describe('zf-vis (the real CLI, needs npm run build)', () => {
  test('NaN weights and an LRN beta of -1e30 exit 2 with one line (they printed NaN% and exited 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zf-vis-nonfinite-'));
    try {
      writeFileSync(join(dir, 'nan.onnx'), graph(setValue('conv_w', 5, NaN)));
      writeFileSync(join(dir, 'beta.onnx'), graph(setAttr('lrn', 'beta', { float: -1e30 })));
      writeFileSync(join(dir, 'overflow.onnx'), graph((g) => { init(g, 'conv_w').data = new Float32Array(108).fill(3e38); }));
      writeFileSync(join(dir, 'x.npy'), encodeNpy(seededInput([1, 3, 8, 8], 3)));
      const [nan, beta, overflow] = await Promise.all(['nan', 'beta', 'overflow'].map((f) =>
        runCli(dir, 'classify', '--model', `${f}.onnx`, '--input', 'x.npy', '--top', '2')));
      expectUsageError(nan, /initializer 'conv_w' \(conv1 weight\): value 5 .* is NaN/);
      expectUsageError(beta, /beta.*it must be > 0/);
      expectUsageError(overflow, /the forward pass produced -?Infinity at op 0 \(conv, 'c'\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
