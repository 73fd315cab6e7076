// AveragePool with ceil_mode = 1 against onnxruntime-web (wasm backend, one thread). With
// count_include_pad = 1, onnxruntime (like PyTorch) divides by the window clipped to the padded
// input, hstart .. min(hstart + k, H + pad_end): a window that ceil mode pushes past the end
// pad counts the pad it covers, not the cells beyond it. With count_include_pad = 0 it divides
// by the in-image cells. Each graph is one AveragePool written by networkToOnnx; the same bytes
// run in onnxruntime and, through readOnnx, in our engine (the importer's attributes included).
import * as ort from 'onnxruntime-web';
import { describe, expect, test } from 'vitest';
import { relDiff } from '../helpers/compare.js';
import { seededInput } from './builder.js';
import { Model, readOnnx, type Network, type Pads } from '../../src/index.js';
import { networkToOnnx } from '../../src/onnx/write.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** f32 sums of at most 16 terms and one division. */
const TOLERANCE = 1e-6;

interface PoolSpec {
  name: string;
  /** [C, H, W] */
  input: [number, number, number];
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  ceil: boolean;
  countIncludePad: boolean;
}

function spec(name: string, input: [number, number, number], k: number | [number, number],
              s: number | [number, number], pads: Pads, ceil: boolean, countIncludePad: boolean): PoolSpec {
  const kernel: [number, number] = typeof k === 'number' ? [k, k] : k;
  const stride: [number, number] = typeof s === 'number' ? [s, s] : s;
  return { name, input, kernel, stride, pads, ceil, countIncludePad };
}

const CASES: PoolSpec[] = [];
for (const cip of [true, false]) {
  const t = `count_include_pad ${+cip}`;
  // The brief's 5x5 cases: (5 + 2 - 3) / 2 and (5 - 3) / 2 are exact, so ceil mode adds no
  // window and none passes the end pad.
  CASES.push(spec(`5x5 k3 s2 pads 1 ceil, ${t}`, [2, 5, 5], 3, 2, [1, 1, 1, 1], true, cip));
  CASES.push(spec(`5x5 k3 s2 pads 0 ceil, ${t}`, [2, 5, 5], 3, 2, [0, 0, 0, 0], true, cip));
  // 6x6: ceil mode adds a last window that runs one cell past the end pad.
  CASES.push(spec(`6x6 k3 s2 pads 1 ceil, ${t}`, [2, 6, 6], 3, 2, [1, 1, 1, 1], true, cip));
  CASES.push(spec(`6x6 k3 s2 pads 0 ceil, ${t}`, [2, 6, 6], 3, 2, [0, 0, 0, 0], true, cip));
  // One pad at a time (which end pad bounds which axis), and non-square everything.
  for (const pads of [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] as Pads[]) {
    CASES.push(spec(`6x6 k3 s2 pads [${pads}] ceil, ${t}`, [1, 6, 6], 3, 2, pads, true, cip));
  }
  CASES.push(spec(`7x7 k4 s3 pads [1,2,0,1] ceil, ${t}`, [2, 7, 7], 4, 3, [1, 2, 0, 1], true, cip));
  CASES.push(spec(`9x8 k[3,4] s[2,3] pads [1,0,0,1] ceil, ${t}`, [3, 9, 8], [3, 4], [2, 3], [1, 0, 0, 1], true, cip));
  CASES.push(spec(`10x11 k[2,3] s[3,2] pads [0,1,0,0] ceil, ${t}`, [2, 10, 11], [2, 3], [3, 2], [0, 1, 0, 0], true, cip));
  // Not here: ceil-mode geometries whose extra window would start inside the end pad (e.g. 9 rows,
  // k3 s2 pads 1/2). We drop that window, as onnxruntime's kernel and PyTorch do, but the ONNX
  // shape inference in onnxruntime 1.30 keeps it and refuses the output shape networkToOnnx
  // declares (ShapeInferenceError: Inferred=6 Declared=5).
  // A floor-mode control.
  CASES.push(spec(`6x6 k3 s2 pads 1 floor, ${t}`, [2, 6, 6], 3, 2, [1, 1, 1, 1], false, cip));
}

function network(c: PoolSpec): Network {
  return {
    name: 'avgpool', input: c.input, preprocess: 'none',
    ops: [{ kind: 'avgpool', kernel: c.kernel, stride: c.stride, pads: c.pads, ceil: c.ceil, countIncludePad: c.countIncludePad }],
  };
}

/** onnxruntime's output and ours (through readOnnx) for the same bytes. */
async function both(bytes: Uint8Array, input: { shape: number[]; data: Float32Array }) {
  const session = await ort.InferenceSession.create(bytes);
  let theirs: { shape: number[]; data: Float32Array };
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input.data, input.shape) });
    theirs = { shape: [...out.output.dims], data: out.output.data as Float32Array };
  } finally {
    await session.release();
  }
  const model = await readOnnx(bytes).createModel();
  const ours = model.forwardSync(input).output();
  return { ours, theirs };
}

describe('AveragePool ceil_mode = 1 against onnxruntime-web', () => {
  for (const opset of [10, 13, 19]) {
    test(`${CASES.length} pools, random input, batch 2, opset ${opset}`, async () => {
      let worst = 0, at = '';
      const failures: string[] = [];
      for (const [i, c] of CASES.entries()) {
        const net = network(c);
        const input = seededInput([2, ...c.input], 40 + i);
        const { ours, theirs } = await both(networkToOnnx(net, new Map(), { opset }), input);
        expect(ours.shape, c.name).toEqual(theirs.shape);
        // The engine built from the Network directly agrees with the imported one.
        const direct = (await Model.create(net)).forwardSync(input).output();
        expect(Array.from(direct.data), c.name).toEqual(Array.from(ours.data));
        const d = relDiff(ours.data, theirs.data);
        if (d > worst || !at) { worst = d; at = c.name; }
        if (!(d <= TOLERANCE)) failures.push(`${c.name}: max rel diff ${d.toExponential(2)}`);
      }
      console.log(`AveragePool opset ${opset}, ${CASES.length} cases vs onnxruntime: largest rel diff ` +
        `${worst.toExponential(2)} (${at})`);
      expect(failures).toEqual([]);
    });
  }

  test('the divisor by hand, all-ones 6x6, k3 s2 pads 1 ceil (both engines)', async () => {
    // Windows start at -1, 1, 3, 5 on each axis; the last covers 5..7, of which 5 is in the
    // image, 6 is the end pad and 7 lies past it. count_include_pad = 1 divides the last
    // window by 2 rows (or columns), not 3: edges 3/6 = 0.5, the corner 1/4. With
    // count_include_pad = 0 every window averages ones to 1.
    const ones = { shape: [1, 1, 6, 6], data: new Float32Array(36).fill(1) };
    const cip = spec('ones', [1, 6, 6], 3, 2, [1, 1, 1, 1], true, true);
    const { ours, theirs } = await both(networkToOnnx(network(cip), new Map()), ones);
    const f = Math.fround;
    const want = [
      f(4 / 9), f(6 / 9), f(6 / 9), f(2 / 6),
      f(6 / 9), 1, 1, f(3 / 6),
      f(6 / 9), 1, 1, f(3 / 6),
      f(2 / 6), f(3 / 6), f(3 / 6), f(1 / 4),
    ];
    expect(Array.from(theirs.data)).toEqual(want);
    expect(Array.from(ours.data)).toEqual(want);
    const excl = await both(networkToOnnx(network({ ...cip, countIncludePad: false }), new Map()), ones);
    expect(Array.from(excl.theirs.data)).toEqual(Array(16).fill(1));
    expect(Array.from(excl.ours.data)).toEqual(Array(16).fill(1));
  });
});
