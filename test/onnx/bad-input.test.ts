// Hostile and broken ONNX files: each must be a ModelFormatError with a message that says what
// is wrong, never a hang, an out-of-memory crash, a wasm trap or another exception. Ends with a
// fuzz test: thousands of seeded mutations of a valid model, each loaded and (where it loads)
// run.
import { describe, expect, test } from 'vitest';
import { ModelFormatError, readOnnx, ZFError } from '../../src/index.js';
import { ProtoReader } from '../../src/onnx/protobuf-reader.js';
import { ProtoWriter } from '../../src/onnx/protobuf-writer.js';
import { buildOnnx, Rng, seededInput, zfnet512, type BGraph, type BNode, type BTensor } from './builder.js';

/** The error readOnnx + createModel raise for `bytes` (failing the test if there is none). */
async function failure(bytes: Uint8Array): Promise<ModelFormatError> {
  try {
    await readOnnx(bytes).createModel();
  } catch (e) {
    expect(e, String((e as Error)?.stack)).toBeInstanceOf(ModelFormatError);
    return e as ModelFormatError;
  }
  throw new Error('the file loaded');
}

const rng = new Rng(5);
const floats = (name: string, dims: number[], extra: Partial<BTensor> = {}): BTensor =>
  ({ name, dims, data: rng.uniform(dims.reduce((a, b) => a * b, 1), 0.2), ...extra });

/** A small valid chain: conv (groups), relu, LRN, max-pool, reshape, gemm, dropout, softmax. */
function small(opset = 13, change: (g: BGraph) => void = () => undefined): Uint8Array {
  const g: BGraph = {
    opset, producer: 'tests',
    inputs: [{ name: 'data_0', dims: [1, 4, 12, 12] }],
    outputs: [{ name: 'prob' }],
    initializers: [
      floats('conv1_w', [6, 2, 3, 3]), floats('conv1_b', [6]),
      { name: 'shape', dims: [2], type: 'int64', data: [1, 6 * 5 * 5] },
      floats('fc_w', [10, 150]), floats('fc_b', [10]),
    ],
    nodes: [
      { op: 'Conv', name: 'conv1', inputs: ['data_0', 'conv1_w', 'conv1_b'], outputs: ['c1'], attrs: { kernel_shape: [3, 3], group: 2, pads: [1, 1, 1, 1] } },
      { op: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
      { op: 'LRN', name: 'norm1', inputs: ['r1'], outputs: ['n1'], attrs: { size: 3 } },
      { op: 'MaxPool', name: 'pool1', inputs: ['n1'], outputs: ['p1'], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
      { op: 'Reshape', name: 'flat', inputs: ['p1', 'shape'], outputs: ['f'] },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'fc_w', 'fc_b'], outputs: ['g'], attrs: { transB: 1 } },
      { op: 'Dropout', name: 'drop', inputs: ['g'], outputs: ['d', 'mask'] },
      { op: 'Softmax', name: 'softmax', inputs: ['d'], outputs: ['prob'], attrs: { axis: 1 } },
    ],
  };
  change(g);
  return buildOnnx(g);
}

const node = (g: BGraph, name: string): BNode => g.nodes.find((n) => n.name === name)!;

describe('ProtoReader', () => {
  test('varints: int64 semantics, 10 bytes at most', () => {
    const read = (bytes: number[]) => ProtoReader.of(Uint8Array.from(bytes), 'test').varint();
    expect(read([0x96, 0x01])).toBe(150);
    expect(read([0xff, 0xff, 0xff, 0xff, 0x0f])).toBe(2 ** 32 - 1);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).toBe(2 ** 60);
    expect(read([...Array(9).fill(0xff), 0x01])).toBe(-1);
    expect(read([0xfe, ...Array(8).fill(0xff), 0x01])).toBe(-2);
    expect(() => read(Array(11).fill(0x80))).toThrow(/longer than 10 bytes/);
    expect(() => read([0x80, 0x80])).toThrow(/truncated/);
  });

  test('nesting deeper than the limit is refused', () => {
    let w = new ProtoWriter().int(1, 1);
    for (let i = 0; i < 40; i++) w = new ProtoWriter().message(1, w);
    let r = ProtoReader.of(w.finish(), 'nest');
    expect(() => {
      for (;;) {
        r.next();
        r = r.message('nest');
      }
    }).toThrow(/nested more than 32 deep/);
  });

  test('lengths are checked against the enclosing message, not just the file', () => {
    // A message of 3 bytes whose inner field claims 5.
    const bytes = Uint8Array.from([0x0a, 0x03, 0x12, 0x05, 0x41, 0x41, 0x41, 0x41, 0x41]);
    const outer = ProtoReader.of(bytes, 'outer');
    outer.next();
    const inner = outer.message('inner');
    inner.next();
    expect(() => inner.range('s')).toThrow(/declares 5 bytes but only 1 remain/);
  });
});

describe('broken files: a ModelFormatError each, saying what is wrong', () => {
  const valid = small();

  test('the valid file loads (the cases below change one thing each)', async () => {
    const model = await readOnnx(valid).createModel();
    expect(model.forwardSync(seededInput([1, 4, 12, 12], 1)).output().shape).toEqual([1, 10]);
  });

  test('empty file', async () => {
    expect((await failure(new Uint8Array(0))).message).toMatch(/empty/);
  });

  test('truncated files, cut anywhere', async () => {
    for (const cut of [1, 2, 7, 50, valid.length >> 1, valid.length - 200, valid.length - 1]) {
      const e = await failure(valid.subarray(0, cut));
      expect(e.message, `cut at ${cut}`).toMatch(/truncated|ends|no graph|opset|byte/);
    }
    expect((await failure(valid.subarray(0, valid.length >> 1))).message).toMatch(/truncated or corrupt/);
  });

  test('random bytes', async () => {
    const r = new Rng(17);
    for (let k = 0; k < 50; k++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(r.next() * 4000) }, () => Math.floor(r.next() * 256));
      await failure(bytes);
    }
    const text = new TextEncoder().encode('<!DOCTYPE html><html><body>Not found</body></html>');
    expect((await failure(text)).message).toMatch(/not an ONNX model|corrupt/);
  });

  test('a huge declared length (2^40 bytes) and an over-long varint', async () => {
    const huge = new ProtoWriter().int(1, 7).finish();
    const bytes = Uint8Array.from([...huge, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2, 3]);
    expect((await failure(bytes)).message).toMatch(/ModelProto.graph declares 1099511627776 bytes but only 3 remain/);
    const long = Uint8Array.from([0x08, ...Array(12).fill(0xff), 0x01]);
    expect((await failure(long)).message).toMatch(/varint longer than 10 bytes/);
  });

  test('a cycle in the graph', async () => {
    const e = await failure(small(13, (g) => {
      node(g, 'relu1').inputs = ['c1', 'd'];
      node(g, 'relu1').op = 'Max';
    }));
    expect(e.message).toMatch(/cycle/);
    expect(e.message).toMatch(/Max node 'relu1'/);
  });

  test('branches: a side branch no output needs is left out; a merging one is computed', async () => {
    const side = readOnnx(small(13, (g) => {
      g.nodes.push({ op: 'Relu', name: 'side', inputs: ['r1'], outputs: ['side'] });
    })).network;
    expect(side.ops.map((op) => op.kind)).toEqual(['conv', 'relu', 'lrn', 'maxpool', 'flatten', 'dense', 'dropout', 'softmax']);
    const merged = await readOnnx(small(13, (g) => {
      g.nodes.push({ op: 'Add', name: 'join', inputs: ['n1', 'r1'], outputs: ['j'] });
      node(g, 'pool1').inputs = ['j'];
    })).createModel();
    const run = merged.forwardSync(seededInput([1, 4, 12, 12], 3));
    const n1 = run.activation('n1').data, r1 = run.activation('r1').data, j = run.activation('j').data;
    expect(Array.from(j)).toEqual(Array.from(n1, (v, i) => Math.fround(v + r1[i])));
  });

  test('an unsupported op names the op type, the node and the opset', async () => {
    const e = await failure(small(11, (g) => { node(g, 'relu1').op = 'Erf'; }));
    expect(e.message).toMatch(/Erf node 'relu1' \(opset 11\): op 'Erf' is not supported; zf-visualizer runs .*BatchNormalization.*Conv/);
    const unnamed = await failure(small(13, (g) => { node(g, 'relu1').op = 'LayerNormalization'; node(g, 'relu1').name = ''; }));
    expect(unnamed.message).toMatch(/LayerNormalization node #1 \(unnamed\) \(opset 13\)/);
    const domain = await failure(small(13, (g) => { node(g, 'relu1').domain = 'com.microsoft'; }));
    expect(domain.message).toMatch(/domain 'com.microsoft'/);
  });

  test('pooling dilations, unknown attributes, unsupported attribute values', async () => {
    const dil = await failure(small(13, (g) => { node(g, 'pool1').attrs!.dilations = [2, 2]; }));
    expect(dil.message).toMatch(/MaxPool node 'pool1' \(opset 13\): attribute 'dilations' \[2,2\] is not supported for pooling/);
    const unknown = await failure(small(13, (g) => { node(g, 'pool1').attrs!.fancy = 1; }));
    expect(unknown.message).toMatch(/MaxPool node 'pool1' \(opset 13\): attribute 'fancy' is not supported/);
    const autoPad = await failure(small(13, (g) => { node(g, 'conv1').attrs!.auto_pad = 'SAME'; }));
    expect(autoPad.message).toMatch(/auto_pad' 'SAME' is not one of/);
    const transA = await failure(small(13, (g) => { node(g, 'fc').attrs!.transA = 1; }));
    // transA=1 transposes the batch axis: the graph runs as one whole tensor, where a Conv cannot.
    expect(transA.message).toMatch(/Conv node 'conv1' .*one whole tensor, without a batch axis, because Gemm node 'fc' \(opset 13\) acts on the batch axis/);
    const reshape = await failure(small(13, (g) => { g.initializers[2].data = [1, 6, 26]; g.initializers[2].dims = [3]; }));
    expect(reshape.message).toMatch(/Reshape node 'flat' \(opset 13\): \[6,26\] holds 156 values, the input \[6,5,5\] has 150/);
    const mask = await failure(small(13, (g) => { g.outputs.push({ name: 'mask' }); }));
    expect(mask.message).toMatch(/output 'mask' of Dropout node 'drop' \(opset 13\) is used/);
  });

  test('a missing initializer; a missing data input', async () => {
    const e = await failure(small(13, (g) => { g.initializers = g.initializers.filter((t) => t.name !== 'conv1_w'); }));
    expect(e.message).toMatch(/input 'conv1_w' of Conv node 'conv1' \(opset 13\) is missing/);
    const noInput = await failure(small(13, (g) => { g.inputs = []; }));
    expect(noInput.message).toMatch(/no data input/);
    const two = await failure(small(13, (g) => { g.inputs.push({ name: 'extra', dims: [1] }); }));
    expect(two.message).toMatch(/2 data inputs/);
    const dangling = await failure(small(13, (g) => { node(g, 'relu1').inputs = ['nowhere']; }));
    expect(dangling.message).toMatch(/input 'nowhere' of Relu node 'relu1' \(opset 13\) is missing/);
  });

  test('a weight shorter than its dims, longer, or of the wrong shape', async () => {
    const short = await failure(small(13, (g) => { g.initializers[0].data = (g.initializers[0].data as Float32Array).subarray(0, 100); }));
    expect(short.message).toMatch(/tensor 'conv1_w' \[6, 2, 3, 3\] needs 108 values but its data holds 100 \(shorter than its dims/);
    const typed = await failure(small(13, (g) => {
      g.initializers[3] = { ...g.initializers[3], encoding: 'typed', data: (g.initializers[3].data as Float32Array).subarray(0, 9) };
    }));
    expect(typed.message).toMatch(/'fc_w' \[10, 150\] needs 1500 values but its data holds 9/);
    const shape = await failure(small(13, (g) => { g.initializers[3].dims = [15, 100]; }));
    expect(shape.message).toMatch(/Gemm node 'fc' \(opset 13\): weight B \[15, 100\] \(transB=1\) takes 100 inputs, but the data has 150/);
    const bias = await failure(small(13, (g) => { g.initializers[1] = floats('conv1_b', [5]); }));
    expect(bias.message).toMatch(/bias 'conv1_b' \[5\] does not fit 6 units/);
    const half = await failure(small(13, (g) => { g.initializers[0].dims = [6, 4, 3, 3]; g.initializers[0].data = rng.uniform(216, 0.1); }));
    expect(half.message).toMatch(/with group=2 does not fit an input of 4 channels/);
    const f16 = await failure(small(13, (g) => { g.initializers[0] = { ...g.initializers[0], type: 'bool', data: Array(108).fill(1) }; }));
    expect(f16.message).toMatch(/BOOL; weights must be FLOAT/);
  });

  test('absurd dims (2^31 x 2^31), negative dims', async () => {
    const e = await failure(small(13, (g) => { g.initializers[3].dims = [2 ** 31, 2 ** 31]; }));
    expect(e.message).toMatch(/declares 4611686018427388000 elements|declares 4\.6\d*e\+18 elements/);
    const neg = await failure(small(13, (g) => { g.initializers[3].dims = [-10, -150]; }));
    expect(neg.message).toMatch(/invalid dimension -10/);
  });

  test('external data is refused with what to do', async () => {
    const e = await failure(small(13, (g) => { g.initializers[3] = { ...g.initializers[3], external: 'weights.bin' }; }));
    expect(e.message).toMatch(/'fc_w' keeps its data in an external file \(weights.bin\).*save_as_external_data=False/);
  });

  test('an input too small for the network; a zero-sized or absurd input shape', async () => {
    const s = zfnet512(1);
    s.graph.inputs[0].dims = [1, 3, 32, 32];
    const e = await failure(buildOnnx(s.graph));
    expect(e.message).toMatch(/MaxPool node #\d+ \(unnamed\) \(opset 9\) cannot apply .* too small/);
    const zero = await failure(small(13, (g) => { g.inputs[0].dims = [1, 4, 0, 12]; }));
    expect(zero.message).toMatch(/zero-sized height/);
    const absurd = await failure(small(13, (g) => { g.inputs[0].dims = [1, 4, 2 ** 31, 2 ** 31]; }));
    expect(absurd.message).toMatch(/not plausible/);
    const rank = await failure(small(13, (g) => { g.inputs[0].dims = [1, 576]; }));
    expect(rank.message).toMatch(/\[N, C, H, W\]/);
  });

  test('an opset from the future; no default opset', async () => {
    expect((await failure(small(99))).message).toMatch(/opset 99, newer than the newest .* knows \(24\)/);
    // A model importing only another domain's opset.
    const other = new ProtoWriter().int(1, 7).message(7, new ProtoWriter().string(2, 'g'))
      .message(8, new ProtoWriter().string(1, 'ai.onnx.ml').int(2, 3)).finish();
    expect((await failure(other)).message).toMatch(/imports no default-domain/);
  });

  test('a graph output that nothing computes, or that does not depend on the input; an identity graph', async () => {
    const e = await failure(small(13, (g) => { g.outputs = [{ name: 'elsewhere' }]; }));
    expect(e.message).toMatch(/graph output 'elsewhere' is computed by no node/);
    const constant = await failure(small(13, (g) => { g.outputs = [{ name: 'conv1_w' }]; }));
    expect(constant.message).toMatch(/graph output 'conv1_w' does not depend on the input 'data_0'/);
    const identity = await readOnnx(small(13, (g) => { g.nodes = []; g.outputs = [{ name: 'data_0' }]; })).createModel();
    const input = seededInput([1, 4, 12, 12], 3);
    expect(Array.from(identity.forwardSync(input).output().data)).toEqual(Array.from(input.data));
  });
});

describe('fuzz: seeded byte mutations of a valid model', () => {
  test('5000 mutations: each loads and runs, or is a ModelFormatError; never anything else', async () => {
    const valid = small();
    const r = new Rng(2024);
    const input = seededInput([1, 4, 12, 12], 3);
    const outcomes = { loaded: 0, refused: 0 };
    const messages = new Map<string, number>();
    const t0 = performance.now();
    for (let k = 0; k < 5000; k++) {
      const bytes = mutate(valid, r);
      try {
        const imported = readOnnx(bytes);
        const model = await imported.createModel();
        const [c, h, w] = model.network.input;
        const x = c * h * w === 4 * 12 * 12 ? input : seededInput([1, c, h, w], k);
        if (c * h * w <= 1e6) model.forwardSync(x);
        outcomes.loaded += 1;
      } catch (e) {
        if (!(e instanceof ModelFormatError)) {
          throw new Error(`mutation ${k} raised ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n` +
            `bytes: ${Buffer.from(bytes).toString('hex')}\n${(e as Error)?.stack}`);
        }
        expect(e).toBeInstanceOf(ZFError);
        outcomes.refused += 1;
        const kind = e.message.replace(/'[^']*'|\d+/g, '_').slice(0, 60);
        messages.set(kind, (messages.get(kind) ?? 0) + 1);
      }
    }
    console.log(`fuzz: 5000 mutations in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${outcomes.loaded} loaded ` +
      `and ran, ${outcomes.refused} refused (${messages.size} kinds of message)`);
    expect(outcomes.refused).toBeGreaterThan(2000);
  }, 300_000);
});

/** One to four random changes: byte flips, 0xff/0x80 runs, truncation, insertion, deletion, a splice. */
function mutate(valid: Uint8Array, r: Rng): Uint8Array {
  let bytes = valid.slice();
  const at = () => Math.floor(r.next() * bytes.length);
  const changes = 1 + Math.floor(r.next() * 4);
  for (let c = 0; c < changes; c++) {
    const kind = Math.floor(r.next() * 7);
    if (kind === 0) bytes[at()] ^= 1 << Math.floor(r.next() * 8);
    else if (kind === 1) bytes[at()] = Math.floor(r.next() * 256);
    else if (kind === 2) { const i = at(); bytes.fill(r.next() < 0.5 ? 0xff : 0x80, i, i + 1 + Math.floor(r.next() * 12)); }
    else if (kind === 3) bytes = bytes.slice(0, at());
    else if (kind === 4) {
      const i = at();
      const extra = Uint8Array.from({ length: 1 + Math.floor(r.next() * 8) }, () => Math.floor(r.next() * 256));
      bytes = Uint8Array.from([...bytes.subarray(0, i), ...extra, ...bytes.subarray(i)]);
    } else if (kind === 5) { const i = at(); bytes = Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1 + Math.floor(r.next() * 16))]); }
    else { const i = at(), j = at(), n = Math.floor(r.next() * 32); bytes.copyWithin(i, j, j + n); }
    if (bytes.length === 0) break;
  }
  return bytes;
}
