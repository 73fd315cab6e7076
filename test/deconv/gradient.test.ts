// `gradient` is the true gradient of the kept activations' sum with respect to the input, and
// `guided` is that gradient with every ReLU on the way down also stopping negative signals.
// Both are checked against central finite differences of the naive float64 forward pass
// (test/reference/network.ts), which shares no code with the deconvnet walk nor with
// test/reference/deconvnet.ts.
//
// Tolerance. The engine computes in float32: its gradients carry a relative rounding error of a
// few 1e-7 (the sums here have at most a few hundred terms). The finite differences run in
// float64 with step h = 1e-5 on inputs of magnitude ~1: truncation is O(h^2 f''') ~ 1e-10 (LRN
// is the only curved op; ReLU and max-pool are piecewise linear), and cancellation is
// ~1e-16 * |f| / h ~ 1e-11. A kink (a ReLU input or a pool runner-up within ~h of switching)
// would spoil one derivative by O(1); the fixed seeds have none, which the chain vs whole-net
// agreement (1e-7) below confirms. So 1e-4 of the largest gradient component is a wide bound
// for the float32 engine, and far below any real mistake (a missing mask or LRN term is O(1)).
import { beforeAll, describe, expect, test } from 'vitest';
import { Model, type Network, type Run } from '../../src/index.js';
import type { LayerWeights } from '../../src/engine/model.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { Mulberry32 } from '../../src/models/init.js';
import { referenceForward } from '../reference/network.js';

const relu = { kind: 'relu' } as const;
// conv 17x15 -> 9x8 (stride 2, pad 1), ceil pool -> 4x4, LRN (size 3, alpha 2: it really
// normalises at activations ~1), conv 3x3 pad 1 -> 5x4x4, ReLU, dense 3.
const net: Network = {
  name: 'tiny', input: [2, 17, 15], preprocess: 'none',
  ops: [conv(4, 3, 2, 1), relu, maxpool(3, 2, { ceil: true }), lrn(3, 2, 0.75, 1), conv(5, 3, 1, 1), relu, dense(3)],
};
const H = 1e-5;
const TOLERANCE = 1e-4;
const INPUT = net.input[0] * net.input[1] * net.input[2];

let model: Model;
let run: Run;
let image: Float32Array;
let weights: (layer: string) => LayerWeights;
let outputs: Float64Array[];

beforeAll(async () => {
  model = await Model.create(net);
  model.initWeights(21);
  image = new Mulberry32(22).fillUniform(new Float32Array(INPUT), 1);
  run = model.forwardSync({ shape: [1, ...net.input], data: image });
  const cache = new Map<string, LayerWeights>();
  weights = (layer) => cache.get(layer) ?? cache.set(layer, model.getWeights(layer)).get(layer)!;
  outputs = referenceForward(net, weights, image, 1);
});

/**
 * The sub-network of ops [from, to] (its input: op from-1's output, or the image), with its
 * weights read from the whole network's layers.
 */
function segment(from: number, to: number): { net: Network; weights: (layer: string) => LayerWeights } {
  const input = (from === 0 ? [...net.input] : shapeOf(from - 1)) as [number, number, number];
  // Layers with weights are named by their count in graph order: the segment's k-th is the
  // whole network's (before + k)-th.
  const before = net.ops.slice(0, from).filter((op) => op.kind === 'conv' || op.kind === 'dense').length;
  const withWeights = net.ops.flatMap((op, i) => (op.kind === 'conv' || op.kind === 'dense' ? [i] : []));
  return {
    net: { name: `ops ${from}-${to}`, input, preprocess: 'none', ops: net.ops.slice(from, to + 1) },
    weights: (layer) => {
      const n = before + Number(layer.replace(/^\D+/, ''));
      return weights(`${net.ops[withWeights[n - 1]].kind === 'conv' ? 'conv' : 'fc'}${n}`);
    },
  };
}

function shapeOf(op: number): number[] {
  return model.shapes[op];
}

/**
 * g^T J of the segment [from, to] at input x, by central differences: for each input element
 * (only those `where` allows; the others are left 0), perturb it by +-H and dot the change of
 * the segment's output with g.
 */
function vjp(from: number, to: number, x: Float64Array, g: Float64Array, where?: (i: number) => boolean): Float64Array {
  const seg = segment(from, to);
  const out = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  const f = (): Float64Array => {
    // referenceForward reads its input with Float64Array.from: it takes float64 values as they are.
    const outs = referenceForward(seg.net, seg.weights, probe as unknown as Float32Array, 1);
    return outs[outs.length - 1];
  };
  for (let i = 0; i < x.length; i++) {
    if (where && !where(i)) continue;
    probe[i] = x[i] + H;
    const up = f();
    probe[i] = x[i] - H;
    const down = f();
    probe[i] = x[i];
    let s = 0;
    for (let k = 0; k < g.length; k++) if (g[k] !== 0) s += g[k] * (up[k] - down[k]);
    out[i] = s / (2 * H);
  }
  return out;
}

/**
 * Walk `seed` (at op `top`'s output) down to the input, taking every stretch between ReLUs as
 * a black box differentiated numerically, and applying at each ReLU the mask of the mode:
 * gradient passes where the forward activation is > 0, guided also needs the signal > 0.
 */
function chain(top: number, seed: Float64Array, mode: 'gradient' | 'guided'): Float64Array {
  let g = seed;
  for (;;) {
    let r = top;
    while (r >= 0 && net.ops[r].kind !== 'relu') r--;
    const from = r + 1;
    if (from <= top) {
      const x = from === 0 ? Float64Array.from(image) : outputs[from - 1];
      // Below a ReLU, only units with a positive forward activation can pass anything on: the
      // others are masked next, so their (kinked) derivatives are never needed.
      g = vjp(from, top, x, g, from === 0 ? undefined : (i) => x[i] > 0);
    }
    if (r < 0) return g;
    const f = outputs[r];
    g = g.map((d, i) => (f[i] > 0 && (mode === 'gradient' || d > 0) ? d : 0));
    top = r - 1;
  }
}

/** Finite-difference gradient of the sum of out[op][at] over the kept flat indices, over the whole net. */
function wholeGradient(op: number, at: number[]): Float64Array {
  const seed = new Float64Array(outputs[op].length);
  for (const i of at) seed[i] = 1;
  return vjp(0, op, Float64Array.from(image), seed);
}

function relDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0, ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    ref = Math.max(ref, Math.abs(want[i]));
  }
  expect(ref, 'the gradient is not all zero').toBeGreaterThan(0);
  return diff / ref;
}

const CASES = [
  { layer: 'fc3', point: 'conv', map: 1, keep: 'max' },
  { layer: 'fc3', point: 'conv', map: 2, keep: 'all' },
  { layer: 'conv2', point: 'relu', map: 0, keep: 'all' },
  { layer: 'conv2', point: 'relu', map: 1, keep: 'max' },
  { layer: 'conv2', point: 'conv', map: 4, keep: '2,1' },
  { layer: 'conv1', point: 'norm', map: 1, keep: 'all' },
  { layer: 'conv1', point: 'norm', map: 2, keep: 'max' },
  { layer: 'conv1', point: 'pool', map: 3, keep: 'all' },
  { layer: 'conv1', point: 'relu', map: 0, keep: 'max' },
  { layer: 'conv1', point: 'conv', map: 2, keep: '4,7' },
] as const;

describe('tiny network (conv, relu, pool, LRN, conv, relu, dense)', () => {
  for (const c of CASES) {
    const label = `${c.layer}/${c.point} map ${c.map} keep ${c.keep}`;
    test(`${label}: gradient = finite differences; guided = the gradient masked by the signal`, () => {
      const gradient = run.projectSync({ ...c, mode: 'gradient' });
      const guided = run.projectSync({ ...c, mode: 'guided' });
      const { op } = model.resolve(c.layer, c.point);
      const shape = shapeOf(op);
      const plane = shape.length === 3 ? shape[1] * shape[2] : 1;
      const w = shape.length === 3 ? shape[2] : 1;
      const at = gradient.units.map((u) => c.map * plane + u.y * w + u.x);
      expect(at.length).toBeGreaterThan(0);

      const fd = wholeGradient(op, at);
      const seed = new Float64Array(outputs[op].length);
      for (const i of at) seed[i] = 1;
      const chainGradient = chain(op, seed, 'gradient');
      const chainGuided = chain(op, seed, 'guided');

      const sanity = relDiff(chainGradient, fd);
      const eGradient = relDiff(gradient.data, fd);
      const eGuided = relDiff(guided.data, chainGuided);
      let differs = 0;
      for (let i = 0; i < INPUT; i++) differs = Math.max(differs, Math.abs(chainGuided[i] - fd[i]));
      console.log(`${label.padEnd(34)} gradient vs FD ${eGradient.toExponential(2)}, guided vs masked FD chain ${eGuided.toExponential(2)} ` +
        `(chain vs whole-net FD ${sanity.toExponential(2)}; guided differs from gradient by ${differs.toExponential(2)})`);
      expect(sanity, 'the numerical chain is itself the gradient').toBeLessThanOrEqual(1e-6);
      expect(eGradient, `${label}: gradient`).toBeLessThanOrEqual(TOLERANCE);
      expect(eGuided, `${label}: guided`).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  test('the cases are not degenerate: guided differs from the gradient wherever a ReLU sits below a signed signal', () => {
    // For seeds above conv2 the signal reaching relu1 has both signs, so guided must differ.
    for (const c of CASES.filter((k) => k.layer !== 'conv1')) {
      const a = run.projectSync({ ...c, mode: 'gradient' }).data;
      const b = run.projectSync({ ...c, mode: 'guided' }).data;
      let diff = 0, ref = 0;
      for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); ref = Math.max(ref, Math.abs(a[i])); }
      expect(diff / ref, `${c.layer}/${c.point}`).toBeGreaterThan(1e-2);
    }
  });
});
