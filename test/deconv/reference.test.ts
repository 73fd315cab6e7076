// The engine's projections against the independent float64 deconvnet (test/reference/deconvnet.ts)
// on ZFNet and the three AlexNets with seeded random weights: the paper geometry (every op,
// kernel, stride, pad, group, pool rounding and LRN of zfnet() / alexnetTorchvision() /
// alexnetBvlc() / caffenet()) with few maps per conv, small fc layers and a smaller, non-square
// input, so the naive JS stays fast. Every layer, every point it has, every mode, and keep =
// max, all, one position and top-3.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  Model, alexnetBvlc, alexnetTorchvision, caffenet, zfnet, type Network, type Run,
} from '../../src/index.js';
import { Mulberry32 } from '../../src/models/init.js';
import {
  refForward, refLocate, refProject, type RefForward, type RefKeep, type RefMode, type RefPoint,
} from '../reference/deconvnet.js';

/** The same graph with other widths and input: conv i gets filters[i], dense j gets units[j]. */
function shrink(net: Network, input: [number, number, number], filters: number[], units: number[]): Network {
  let c = 0, d = 0;
  return {
    ...net, name: `${net.name}-small`, input,
    ops: net.ops.map((op) => {
      if (op.kind === 'conv') return { ...op, filters: filters[c++] };
      if (op.kind === 'dense') return { ...op, units: units[d++] };
      return { ...op };
    }),
  };
}

interface Arch {
  net: Network;
  /** Input values are uniform in [-scale, scale]: Caffe-preprocessed pixels are ~±128, which
   *  makes LRN (alpha 1e-4) really normalise, so its backward is put to the test. */
  scale: number;
  seed: number;
  /** The SIMD build unless said otherwise. */
  backend?: 'simd' | 'scalar';
}

const ARCHS: Arch[] = [
  // 99x115: conv1 48x56, ceil pools whose last window hangs past the edge (24x28, 5x6, 2x3).
  { net: shrink(zfnet(10), [3, 99, 115], [8, 12, 12, 12, 8], [24, 16, 10]), scale: 128, seed: 1 },
  // 131x99: 32x24 -> 15x11 -> 7x5 -> 3x2.
  { net: shrink(alexnetTorchvision(10), [3, 131, 99], [8, 12, 16, 12, 8], [24, 16, 10]), scale: 2, seed: 2 },
  // 119x103: 28x24 -> 13x11 -> 6x5 -> pool5 with its end pad 3x2; groups of 2 in conv2/4/5.
  { net: shrink(alexnetBvlc(10), [3, 119, 103], [8, 12, 12, 12, 8], [24, 16, 10]), scale: 128, seed: 3 },
  // 103x103: 24 -> end-padded pools 12 -> 6 -> 2; pool before LRN.
  { net: shrink(caffenet(10), [3, 103, 103], [8, 12, 12, 12, 8], [24, 16, 10]), scale: 128, seed: 4 },
  // Not a paper network: the awkward geometry the engine must also get right. Non-square kernels
  // and strides with remainders (the transposed conv needs output padding), asymmetric pads,
  // groups of 3, 2 and 4, a padded ceil-mode pool and a floor pool with unequal strides, LRN of
  // even size (window c-1..c+2) that really normalises.
  {
    net: {
      name: 'awkward', input: [3, 37, 41], preprocess: 'none',
      ops: [
        { kind: 'conv', filters: 6, kernel: [5, 3], stride: [3, 2], pads: [2, 1, 0, 2], groups: 3, bias: true },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [3, 2], stride: [2, 2], pads: [1, 0, 1, 1], ceil: true },
        { kind: 'lrn', size: 4, alpha: 0.5, beta: 0.75, bias: 2 },
        { kind: 'conv', filters: 8, kernel: [3, 3], stride: [2, 1], pads: [0, 1, 1, 0], groups: 2, bias: true },
        { kind: 'relu' },
        { kind: 'maxpool', kernel: [2, 2], stride: [1, 2], pads: [0, 0, 0, 0], ceil: false },
        { kind: 'conv', filters: 4, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], groups: 4, bias: true },
        { kind: 'relu' },
        { kind: 'flatten' }, { kind: 'dense', units: 7, bias: true }, { kind: 'relu' }, { kind: 'dropout', rate: 0.5 },
        { kind: 'dense', units: 3, bias: true }, { kind: 'softmax' },
      ],
    },
    scale: 2, seed: 5,
  },
];
// The scalar build (browsers without SIMD) on the grouped and the awkward networks.
ARCHS.push(...ARCHS.filter((a) => a.net.name === 'alexnet-bvlc-small' || a.net.name === 'awkward')
  .map((a) => ({ ...a, net: { ...a.net, name: `${a.net.name}-scalar` }, backend: 'scalar' as const })));

const MODES: RefMode[] = ['deconvnet', 'guided', 'gradient'];
const POINTS: RefPoint[] = ['conv', 'relu', 'pool', 'norm'];
const TOLERANCE = 1e-4;

/** Worst case per architecture and mode, printed at the end. */
const worst = new Map<string, number>();

function maxRelDiff(got: ArrayLike<number>, want: ArrayLike<number>): { rel: number; diff: number; ref: number } {
  let diff = 0, ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    ref = Math.max(ref, Math.abs(want[i]));
  }
  return { rel: ref === 0 ? (diff === 0 ? 0 : Infinity) : diff / ref, diff, ref };
}

function keepLabel(keep: RefKeep): string {
  return typeof keep === 'string' ? keep : 'top' in keep ? `top-${keep.top}` : `${keep.y},${keep.x}`;
}

for (const arch of ARCHS) {
  const net = arch.net;
  describe(net.name, () => {
    let model: Model;
    let run: Run;
    const images: Float32Array[] = [];
    const fwds: RefForward[] = [];
    const cache = new Map<string, ReturnType<Model['getWeights']>>();
    const weights = (layer: string) => cache.get(layer) ?? cache.set(layer, model.getWeights(layer)).get(layer)!;
    const per = net.input[0] * net.input[1] * net.input[2];

    beforeAll(async () => {
      model = await Model.create(net, { backend: arch.backend });
      expect(model.backend).toBe(arch.backend ?? 'simd');
      model.initWeights(arch.seed);
      // A batch of two different images: projections are taken of image 1 (and some of image 0).
      const random = new Mulberry32(100 + arch.seed);
      const batch = random.fillUniform(new Float32Array(2 * per), arch.scale);
      images.push(batch.slice(0, per), batch.slice(per));
      run = model.forwardSync({ shape: [2, ...net.input], data: batch });
      for (const image of images) fwds.push(refForward(net, weights, image));
    });

    test('forward pass and switches agree with the reference (the ground the projections stand on)', () => {
      net.ops.forEach((op, i) => {
        const got = run.opOutput(i).data;
        for (let n = 0; n < 2; n++) {
          const want = fwds[n].outputs[i];
          expect(got.length).toBe(2 * want.length);
          const { rel } = maxRelDiff(got.subarray(n * want.length, (n + 1) * want.length), want);
          expect(rel, `op ${i} ${op.kind} image ${n}`).toBeLessThanOrEqual(1e-5);
        }
      });
      for (const layer of model.layers) {
        const op = layer.points.pool;
        if (op === undefined) continue;
        const got = run.switches(layer.name).data;
        for (let n = 0; n < 2; n++) {
          const want = fwds[n].switches[op]!;
          const gaps = fwds[n].gaps[op]!;
          const bad: string[] = [];
          for (let k = 0; k < want.length; k++) {
            if (got[n * want.length + k] !== want[k]) bad.push(`cell ${k}: ${got[n * want.length + k]} vs ${want[k]} (gap ${gaps[k]})`);
          }
          // A mismatch with a gap near float32 rounding would be a near-tie of this seed, not a bug.
          expect(bad, `${layer.name} switches, image ${n}`).toEqual([]);
        }
      }
    });

    for (const named of namedPoints(net)) {
      test(`${named.layer} ${named.point}: every mode and keep`, () => {
        const { op } = refLocate(net, named.layer, named.point);
        const shape = fwds[1].shapes[op];
        const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
        const lines: string[] = [];
        for (const image of [1, 0]) {
          const act = fwds[image].outputs[op];
          const scale = act.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          // A map that is not all zero at this point, chosen differently per layer and point.
          let map = (7 * named.index + 3 * POINTS.indexOf(named.point) + 1) % maps;
          for (let tries = 0; tries < maps && !act.subarray(map * h * w, (map + 1) * h * w).some((v) => v !== 0); tries++) {
            map = (map + 1) % maps;
          }
          const plane = act.subarray(map * h * w, (map + 1) * h * w);
          // One position: the last non-zero unit in row-major order, near the bottom/right edge.
          let last = plane.length - 1;
          while (last > 0 && plane[last] === 0) last--;
          const keeps: RefKeep[] = [{ y: Math.floor(last / w), x: last % w }];
          if (image === 1) keeps.unshift('max', 'all');
          if (image === 1 && h * w >= 3) keeps.push({ top: 3 });
          for (const keep of keeps) {
            for (const mode of image === 1 ? MODES : ['deconvnet', 'gradient'] as RefMode[]) {
              const options = { layer: named.layer, point: named.point, map, keep, mode, image };
              const got = run.projectSync(options);
              const want = refProject(net, weights, images[image], options, fwds[image]);
              const label = `${net.name} img${image} ${named.layer}/${named.point} map ${map} keep ${keepLabel(keep)} ${mode}`;

              expect(got.shape, label).toEqual(want.shape);
              expect(got.units.map((u) => [u.map, u.y, u.x]), label).toEqual(want.units.map((u) => [u.map, u.y, u.x]));
              expect(got.units.map((u) => u.box), label).toEqual(want.units.map((u) => u.box));
              expect(got.boxes, label).toEqual(want.boxes);
              // Unit values: float32 vs float64 activations, relative to the largest at this point.
              const values = maxRelDiff(got.units.map((u) => u.value), want.units.map((u) => u.value));
              expect(values.diff, `${label}: unit values`).toBeLessThanOrEqual(TOLERANCE * scale);

              // The walk itself, from the same seeds: a deconvnet seed is the activation, and a
              // small one (an fc8 logit near 0) carries a float32 relative error far above the
              // walk's; the seeds were checked against the reference's just above.
              const same = mode === 'deconvnet'
                ? refProject(net, weights, images[image], { ...options, seedValues: got.units.map((u) => u.value) }, fwds[image])
                : want;
              const { rel, diff, ref } = maxRelDiff(got.data, same.data);
              lines.push(`${label.padEnd(72)} rel ${rel.toExponential(2)} (|diff| ${diff.toExponential(2)}, max |ref| ${ref.toExponential(2)})`);
              const key = `${net.name} ${mode}`;
              worst.set(key, Math.max(worst.get(key) ?? 0, rel));
              expect(rel, label).toBeLessThanOrEqual(TOLERANCE);
            }
          }
        }
        console.log(lines.join('\n'));
      });
    }
  });
}

describe('summary', () => {
  test('worst relative difference per architecture and mode', () => {
    const lines = [...worst].map(([key, rel]) => `${key.padEnd(32)} ${rel.toExponential(2)}`);
    console.log(`max relative difference, engine vs reference:\n${lines.join('\n')}`);
    expect(worst.size).toBe(ARCHS.length * MODES.length);
  });
});

/** Every (layer, point) of a network, in graph order. */
function namedPoints(net: Network): { layer: string; point: RefPoint; index: number }[] {
  const out: { layer: string; point: RefPoint; index: number }[] = [];
  let count = 0;
  net.ops.forEach((op, i) => {
    if (op.kind !== 'conv' && op.kind !== 'dense') return;
    count += 1;
    const layer = `${op.kind === 'conv' ? 'conv' : 'fc'}${count}`;
    for (const point of POINTS) {
      try {
        if (refLocate(net, layer, point).op >= i) out.push({ layer, point, index: count });
      } catch { /* the layer has no such point */ }
    }
  });
  return out;
}
