// The deconvnet worked out on paper, on a network small enough to follow every number.
//
// Network A: conv1 (2 filters 2x2, stride 1, no pad, no bias), ReLU, max-pool 3x3/2, on 1x8x8.
//   filter 0 = w = [[1, -2], [3, 4]], filter 1 = -w.
//   Input: three pixels set to 1, at (2,3), (5,6) and (7,5); every other pixel is 0.
//   conv(y, x) = sum w[ky][kx] X(y+ky, x+kx), so each input pixel at (p, q) adds the flipped filter
//   [[4, 3], [-2, 1]] with its top left at (p-1, q-1) (rows/columns outside 0..6 dropped):
//     map 0 (7x7): (1,2)=4 (1,3)=3 (2,2)=-2 (2,3)=1 | (4,5)=4 (4,6)=3 (5,5)=-2 (5,6)=1 | (6,4)=4 (6,5)=3
//     map 1 = -map 0; after ReLU it keeps only (2,2)=2 and (5,5)=2.
//   Pool windows start at rows/columns 0, 2, 4 and overlap on row/column 2 and 4:
//     map 0: (0,0) and (0,1) both take (1,2)=4: a shared switch.
//            (2,2) sees 4 at (4,5) and at (6,4): a tie, the first in row-major order, (4,5), wins;
//            window (1,2) also takes (4,5): shared again. Windows that are all 0 after ReLU
//            ((0,2), (1,0), (2,0)) are ties at 0 and switch to their first cell.
//     map 1: (0,0), (0,1), (1,0) and (1,1) all take (2,2)=2: one pixel shared by four windows.
//   The transposed conv sends a signal s at conv position (y, x) of map m to the input as
//   filter_m * s placed with its top left at (y, x): X(y,x) += f00 s, X(y,x+1) += f01 s, ...
//
// Network B: A, then conv2 (1 filter 1x1 over the 2 pooled maps, weights [-1, +1], bias 5) and ReLU.
//   conv2 = 5 - pool0 + pool1 = [[3,3,5],[7,6,1],[5,1,3]], all positive. Going down, map 0 gets
//   -s and map 1 +s: negative signals on map 0 (on units whose forward activation is > 0) and
//   positive ones on map 1 (some on units whose forward activation is 0): the three modes differ.
import { describe, expect, test } from 'vitest';
import { Model, type Network, type Projection } from '../../src/index.js';
import { conv, maxpool } from '../../src/models/architectures.js';
import { refProject, type RefKeep, type RefMode, type RefPoint } from '../reference/deconvnet.js';

const relu = { kind: 'relu' } as const;
const netA: Network = { name: 'by-hand-a', input: [1, 8, 8], preprocess: 'none', ops: [conv(2, 2, 1, 0), relu, maxpool(3, 2)] };
const netB: Network = {
  name: 'by-hand-b', input: [1, 8, 8], preprocess: 'none',
  ops: [conv(2, 2, 1, 0), relu, maxpool(3, 2), conv(1, 1, 1, 0), relu],
};

const W1 = new Float32Array([1, -2, 3, 4, -1, 2, -3, -4]);
const W2 = new Float32Array([-1, 1]);
const weightsOf = (layer: string) => (layer === 'conv1'
  ? { weight: W1, bias: new Float32Array(2) }
  : { weight: W2, bias: new Float32Array([5]) });

const image = new Float32Array(64);
image[2 * 8 + 3] = 1;
image[5 * 8 + 6] = 1;
image[7 * 8 + 5] = 1;

const flat = (rows: number[][]) => rows.flat();
const Z = [0, 0, 0, 0, 0, 0, 0, 0];

async function build(net: Network, backend: 'simd' | 'scalar') {
  const model = await Model.create(net, { backend });
  model.setWeights('conv1', weightsOf('conv1'));
  if (net === netB) model.setWeights('conv2', weightsOf('conv2'));
  return model.forwardSync({ shape: [1, 1, 8, 8], data: image });
}

interface Case {
  name: string;
  net: Network;
  layer: string;
  point: RefPoint;
  map: number;
  keep: RefKeep;
  units: { y: number; x: number; value: number; box: [number, number, number, number] }[];
  /** Per mode the expected [K, 1, 8, 8] projection as 8x8 grids (one per K). */
  expected: Record<RefMode, number[][][]>;
}

// Box: [y0, x0, y1, x1]. conv1 units see 2x2 pixels; pool units 4x4 (extent 2 + 2*1, jump 2).
const cases: Case[] = [
  {
    // The strongest pool unit of map 0 is 4, first at (0,0); its switch is (1,2).
    name: 'A: pool, max (unpool to the switch)', net: netA, layer: 'conv1', point: 'pool', map: 0, keep: 'max',
    units: [{ y: 0, x: 0, value: 4, box: [0, 0, 4, 4] }],
    expected: {
      // seed 4 -> conv position (1,2) -> 4 * w at rows 1-2, columns 2-3
      deconvnet: [[Z, [0, 0, 4, -8, 0, 0, 0, 0], [0, 0, 12, 16, 0, 0, 0, 0], Z, Z, Z, Z, Z]],
      gradient: [[Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z, Z]],
      guided: [[Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z, Z]],
    },
  },
  {
    // Non-zero pool units: (0,0)=4 (0,1)=4 (1,1)=1 (1,2)=4 (2,1)=4 (2,2)=4. Unpooled (deconvnet):
    // (1,2) = 4+4 = 8 (shared), (2,3) = 1, (4,5) = 4+4 = 8 (shared, and won by the tie), (6,4) = 4.
    // Gradient: 1 per unit, so (1,2) = 2, (2,3) = 1, (4,5) = 2, (6,4) = 1.
    name: 'A: pool, all (shared switches sum; the tie goes to the first max)', net: netA, layer: 'conv1', point: 'pool', map: 0, keep: 'all',
    units: [
      { y: 0, x: 0, value: 4, box: [0, 0, 4, 4] }, { y: 0, x: 1, value: 4, box: [0, 2, 4, 6] },
      { y: 1, x: 1, value: 1, box: [2, 2, 6, 6] }, { y: 1, x: 2, value: 4, box: [2, 4, 6, 8] },
      { y: 2, x: 1, value: 4, box: [4, 2, 8, 6] }, { y: 2, x: 2, value: 4, box: [4, 4, 8, 8] },
    ],
    expected: {
      deconvnet: [[
        Z,
        [0, 0, 8, -16, 0, 0, 0, 0],
        [0, 0, 24, 33, -2, 0, 0, 0],
        [0, 0, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 0, 0, 8, -16, 0],
        [0, 0, 0, 0, 0, 24, 32, 0],
        [0, 0, 0, 0, 4, -8, 0, 0],
        [0, 0, 0, 0, 12, 16, 0, 0],
      ]],
      gradient: [[
        Z,
        [0, 0, 2, -4, 0, 0, 0, 0],
        [0, 0, 6, 9, -2, 0, 0, 0],
        [0, 0, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 0, 0, 2, -4, 0],
        [0, 0, 0, 0, 0, 6, 8, 0],
        [0, 0, 0, 0, 1, -2, 0, 0],
        [0, 0, 0, 0, 3, 4, 0, 0],
      ]],
      guided: [[
        Z,
        [0, 0, 2, -4, 0, 0, 0, 0],
        [0, 0, 6, 9, -2, 0, 0, 0],
        [0, 0, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 0, 0, 2, -4, 0],
        [0, 0, 0, 0, 0, 6, 8, 0],
        [0, 0, 0, 0, 1, -2, 0, 0],
        [0, 0, 0, 0, 3, 4, 0, 0],
      ]],
    },
  },
  {
    // Map 1: four windows share the switch (2,2): unpooled 2+2+2+2 = 8 there, and 2 at (5,5).
    // Filter 1 = -w = [[-1, 2], [-3, -4]].
    name: 'A: pool, all on map 1 (four windows share one switch)', net: netA, layer: 'conv1', point: 'pool', map: 1, keep: 'all',
    units: [
      { y: 0, x: 0, value: 2, box: [0, 0, 4, 4] }, { y: 0, x: 1, value: 2, box: [0, 2, 4, 6] },
      { y: 1, x: 0, value: 2, box: [2, 0, 6, 4] }, { y: 1, x: 1, value: 2, box: [2, 2, 6, 6] },
      { y: 2, x: 2, value: 2, box: [4, 4, 8, 8] },
    ],
    expected: {
      deconvnet: [[Z, Z, [0, 0, -8, 16, 0, 0, 0, 0], [0, 0, -24, -32, 0, 0, 0, 0], Z,
        [0, 0, 0, 0, 0, -2, 4, 0], [0, 0, 0, 0, 0, -6, -8, 0], Z]],
      gradient: [[Z, Z, [0, 0, -4, 8, 0, 0, 0, 0], [0, 0, -12, -16, 0, 0, 0, 0], Z,
        [0, 0, 0, 0, 0, -1, 2, 0], [0, 0, 0, 0, 0, -3, -4, 0], Z]],
      guided: [[Z, Z, [0, 0, -4, 8, 0, 0, 0, 0], [0, 0, -12, -16, 0, 0, 0, 0], Z,
        [0, 0, 0, 0, 0, -1, 2, 0], [0, 0, 0, 0, 0, -3, -4, 0], Z]],
    },
  },
  {
    // Before ReLU, (2,2) of map 0 is -2: the deconvnet feeds -2 straight into the transposed conv.
    name: 'A: conv point, a negative position', net: netA, layer: 'conv1', point: 'conv', map: 0, keep: { y: 2, x: 2 },
    units: [{ y: 2, x: 2, value: -2, box: [2, 2, 4, 4] }],
    expected: {
      deconvnet: [[Z, Z, [0, 0, -2, 4, 0, 0, 0, 0], [0, 0, -6, -8, 0, 0, 0, 0], Z, Z, Z, Z]],
      gradient: [[Z, Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z]],
      guided: [[Z, Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z]],
    },
  },
  {
    // After ReLU, (5,5) of map 0 is 0: deconvnet's seed is 0; gradient's seed 1 is stopped by
    // the forward mask of that very ReLU.
    name: 'A: relu point, a position whose activation is 0', net: netA, layer: 'conv1', point: 'relu', map: 0, keep: { y: 5, x: 5 },
    units: [{ y: 5, x: 5, value: 0, box: [5, 5, 7, 7] }],
    expected: { deconvnet: [[Z, Z, Z, Z, Z, Z, Z, Z]], gradient: [[Z, Z, Z, Z, Z, Z, Z, Z]], guided: [[Z, Z, Z, Z, Z, Z, Z, Z]] },
  },
  {
    // Three 4s tie on the ReLU map: top-3 lists them in row-major order, each projected alone.
    name: 'A: relu point, top-3 of three tied units', net: netA, layer: 'conv1', point: 'relu', map: 0, keep: { top: 3 },
    units: [
      { y: 1, x: 2, value: 4, box: [1, 2, 3, 4] }, { y: 4, x: 5, value: 4, box: [4, 5, 6, 7] },
      { y: 6, x: 4, value: 4, box: [6, 4, 8, 6] },
    ],
    expected: {
      deconvnet: [
        [Z, [0, 0, 4, -8, 0, 0, 0, 0], [0, 0, 12, 16, 0, 0, 0, 0], Z, Z, Z, Z, Z],
        [Z, Z, Z, Z, [0, 0, 0, 0, 0, 4, -8, 0], [0, 0, 0, 0, 0, 12, 16, 0], Z, Z],
        [Z, Z, Z, Z, Z, Z, [0, 0, 0, 0, 4, -8, 0, 0], [0, 0, 0, 0, 12, 16, 0, 0]],
      ],
      gradient: [
        [Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z, Z],
        [Z, Z, Z, Z, [0, 0, 0, 0, 0, 1, -2, 0], [0, 0, 0, 0, 0, 3, 4, 0], Z, Z],
        [Z, Z, Z, Z, Z, Z, [0, 0, 0, 0, 1, -2, 0, 0], [0, 0, 0, 0, 3, 4, 0, 0]],
      ],
      guided: [
        [Z, [0, 0, 1, -2, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0], Z, Z, Z, Z, Z],
        [Z, Z, Z, Z, [0, 0, 0, 0, 0, 1, -2, 0], [0, 0, 0, 0, 0, 3, 4, 0], Z, Z],
        [Z, Z, Z, Z, Z, Z, [0, 0, 0, 0, 1, -2, 0, 0], [0, 0, 0, 0, 3, 4, 0, 0]],
      ],
    },
  },
  {
    // conv2 keep all (every unit is positive). Going down: map 0 gets -v, map 1 gets +v.
    //  map 1 unpooled: (2,2) = 3+3+7+6 = 19, (0,4) = 5, (2,4) = 1, (4,0) = 5, (4,2) = 1, (5,5) = 3;
    //    only (2,2) and (5,5) have a forward activation > 0.
    //  map 0 unpooled: (1,2) = -6, (0,4) = -5, (2,0) = -7, (2,3) = -6, (4,5) = -4, (4,0) = -5, (6,4) = -1;
    //    (1,2), (2,3), (4,5), (6,4) have a forward activation > 0.
    // deconvnet: rectify -> all of map 0 is dropped, all of map 1 passes (also where forward is 0).
    // gradient (seeds 1): map 0 -2 at (1,2), -1 at (2,3), -2 at (4,5), -1 at (6,4); map 1 4 at (2,2),
    //   1 at (5,5); the rest is stopped by the forward mask.
    // guided: the gradient's map 1 part only (its map 0 signals are negative).
    name: 'B: conv2 relu, all (the three modes differ)', net: netB, layer: 'conv2', point: 'relu', map: 0, keep: 'all',
    units: [
      { y: 0, x: 0, value: 3, box: [0, 0, 4, 4] }, { y: 0, x: 1, value: 3, box: [0, 2, 4, 6] },
      { y: 0, x: 2, value: 5, box: [0, 4, 4, 8] }, { y: 1, x: 0, value: 7, box: [2, 0, 6, 4] },
      { y: 1, x: 1, value: 6, box: [2, 2, 6, 6] }, { y: 1, x: 2, value: 1, box: [2, 4, 6, 8] },
      { y: 2, x: 0, value: 5, box: [4, 0, 8, 4] }, { y: 2, x: 1, value: 1, box: [4, 2, 8, 6] },
      { y: 2, x: 2, value: 3, box: [4, 4, 8, 8] },
    ],
    expected: {
      deconvnet: [[
        [0, 0, 0, 0, -5, 10, 0, 0],
        [0, 0, 0, 0, -15, -20, 0, 0],
        [0, 0, -19, 38, -1, 2, 0, 0],
        [0, 0, -57, -76, -3, -4, 0, 0],
        [-5, 10, -1, 2, 0, 0, 0, 0],
        [-15, -20, -3, -4, 0, -3, 6, 0],
        [0, 0, 0, 0, 0, -9, -12, 0],
        Z,
      ]],
      gradient: [[
        Z,
        [0, 0, -2, 4, 0, 0, 0, 0],
        [0, 0, -10, -1, 2, 0, 0, 0],
        [0, 0, -12, -19, -4, 0, 0, 0],
        [0, 0, 0, 0, 0, -2, 4, 0],
        [0, 0, 0, 0, 0, -7, -6, 0],
        [0, 0, 0, 0, -1, -1, -4, 0],
        [0, 0, 0, 0, -3, -4, 0, 0],
      ]],
      guided: [[Z, Z, [0, 0, -4, 8, 0, 0, 0, 0], [0, 0, -12, -16, 0, 0, 0, 0], Z,
        [0, 0, 0, 0, 0, -1, 2, 0], [0, 0, 0, 0, 0, -3, -4, 0], Z]],
    },
  },
  {
    // conv2 max: 7 at (1,0). Map 0 gets -7 at its switch (2,0), whose forward activation is 0:
    // dropped by every mode. Map 1 gets +7 (deconvnet) / +1 at (2,2), forward 2 > 0: passes.
    name: 'B: conv2 relu, max', net: netB, layer: 'conv2', point: 'relu', map: 0, keep: 'max',
    units: [{ y: 1, x: 0, value: 7, box: [2, 0, 6, 4] }],
    expected: {
      deconvnet: [[Z, Z, [0, 0, -7, 14, 0, 0, 0, 0], [0, 0, -21, -28, 0, 0, 0, 0], Z, Z, Z, Z]],
      gradient: [[Z, Z, [0, 0, -1, 2, 0, 0, 0, 0], [0, 0, -3, -4, 0, 0, 0, 0], Z, Z, Z, Z]],
      guided: [[Z, Z, [0, 0, -1, 2, 0, 0, 0, 0], [0, 0, -3, -4, 0, 0, 0, 0], Z, Z, Z, Z]],
    },
  },
];

const MODES: RefMode[] = ['deconvnet', 'gradient', 'guided'];

function checkProjection(p: Projection, c: Case, mode: RefMode) {
  const want = c.expected[mode];
  expect(p.shape).toEqual([want.length, 1, 8, 8]);
  expect(Array.from(p.data, (v) => v + 0)).toEqual(want.flatMap(flat)); // + 0: -0 -> 0
  expect(p.units.map((u) => ({ y: u.y, x: u.x, value: u.value, box: [u.box.y0, u.box.x0, u.box.y1, u.box.x1] })))
    .toEqual(c.units);
}

describe.each(['simd', 'scalar'] as const)('by hand (%s)', (backend) => {
  test('forward: conv maps, switches (first max on ties) and pooled maps', async () => {
    const run = await build(netB, backend);
    const map0 = [
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 4, 3, 0, 0, 0],
      [0, 0, -2, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 4, 3],
      [0, 0, 0, 0, 0, -2, 1],
      [0, 0, 0, 0, 4, 3, 0],
    ].flat();
    expect(Array.from(run.activation('conv1', 'conv').data)).toEqual([...map0, ...map0.map((v) => (v === 0 ? 0 : -v))]);
    expect(Array.from(run.activation('conv1', 'pool').data)).toEqual([4, 4, 0, 0, 1, 4, 0, 4, 4, 2, 2, 0, 2, 2, 0, 0, 0, 2]);
    // Flat indices y*7 + x: map 0 (1,2)=9 twice, (0,4)=4, (2,0)=14, (2,3)=17, (4,5)=33, (4,0)=28,
    // (6,4)=46, (4,5)=33 (the tie with (6,4)); map 1 (2,2)=16 four times, (0,4), (2,4), (4,0), (4,2), (5,5).
    expect(Array.from(run.switches('conv1').data)).toEqual([9, 9, 4, 14, 17, 33, 28, 46, 33, 16, 16, 4, 16, 16, 18, 28, 30, 40]);
    expect(Array.from(run.activation('conv2').data)).toEqual([3, 3, 5, 7, 6, 1, 5, 1, 3]);
  });

  for (const c of cases) {
    test.each(MODES)(`${c.name}: %s`, async (mode) => {
      const run = await build(c.net, backend);
      const options = { layer: c.layer, point: c.point, map: c.map, keep: c.keep, mode };
      checkProjection(run.projectSync(options), c, mode);
      checkProjection(run.projectSync({ ...options, fullMaps: true }), c, mode);
    });
  }
});

// The hand-worked numbers also pin down the reference the other tests rely on.
describe('the reference deconvnet agrees with the hand-worked cases', () => {
  for (const c of cases) {
    test.each(MODES)(`${c.name}: %s`, (mode) => {
      const p = refProject(c.net, weightsOf, image, { layer: c.layer, point: c.point, map: c.map, keep: c.keep, mode });
      expect(p.shape).toEqual([c.expected[mode].length, 1, 8, 8]);
      expect(Array.from(p.data, (v) => v + 0)).toEqual(c.expected[mode].flatMap(flat));
      expect(p.units.map((u) => ({ y: u.y, x: u.x, value: u.value, box: [u.box.y0, u.box.x0, u.box.y1, u.box.x1] })))
        .toEqual(c.units);
    });
  }
});

describe.each(['simd', 'scalar'] as const)('edge cases by hand (%s)', (backend) => {
  test('an all-zero image: keep all keeps nothing; max keeps the first unit, value 0', async () => {
    const model = await Model.create(netA, { backend });
    model.setWeights('conv1', weightsOf('conv1'));
    const run = model.forwardSync({ shape: [1, 1, 8, 8], data: new Float32Array(64) });
    const zeros = new Array(64).fill(0);
    for (const mode of MODES) {
      const all = run.projectSync({ layer: 'conv1', map: 0, keep: 'all', mode });
      expect(all.units).toEqual([]);
      expect(all.boxes).toEqual([{ y0: 0, x0: 0, y1: 8, x1: 8 }]);
      expect(all.shape).toEqual([1, 1, 8, 8]);
      expect(Array.from(all.data, (v) => v + 0)).toEqual(zeros);
      // relu (0,0) is 0: deconvnet seeds 0; gradient and guided seed 1, stopped by the ReLU mask.
      const max = run.projectSync({ layer: 'conv1', map: 0, keep: 'max', mode });
      expect(max.units).toEqual([{ map: 0, y: 0, x: 0, value: 0, box: { y0: 0, x0: 0, y1: 2, x1: 2 } }]);
      expect(Array.from(max.data, (v) => v + 0)).toEqual(zeros);
      // pool (0,0): its all-zero window switches to its first cell (0,0), whose forward is 0.
      const pool = run.projectSync({ layer: 'conv1', point: 'pool', map: 1, keep: 'max', mode });
      expect(pool.units[0]).toMatchObject({ y: 0, x: 0, value: 0 });
      expect(Array.from(pool.data, (v) => v + 0)).toEqual(zeros);
      // Before ReLU nothing masks: the gradient of conv (0,0) is the filter itself, at (0..1, 0..1).
      const pre = run.projectSync({ layer: 'conv1', point: 'conv', map: 1, keep: 'max', mode });
      const expected = mode === 'deconvnet' ? zeros : flat([[-1, 2, 0, 0, 0, 0, 0, 0], [-3, -4, 0, 0, 0, 0, 0, 0], Z, Z, Z, Z, Z, Z]);
      expect(Array.from(pre.data, (v) => v + 0)).toEqual(expected);
    }
    expect(Array.from(run.switches('conv1').data)).toEqual([0, 2, 4, 14, 16, 18, 28, 30, 32, 0, 2, 4, 14, 16, 18, 28, 30, 32]);
  });

  test('new weights are used after setWeights, even once the old ones were used to project', async () => {
    const model = await Model.create(netA, { backend });
    model.setWeights('conv1', { weight: new Float32Array([5, 6, 7, 8, -5, -6, -7, -8]), bias: new Float32Array([1, 1]) });
    model.forwardSync({ shape: [1, 1, 8, 8], data: image }).projectSync({ layer: 'conv1', point: 'pool', map: 0, mode: 'gradient' });
    model.setWeights('conv1', weightsOf('conv1'));
    const run = model.forwardSync({ shape: [1, 1, 8, 8], data: image });
    for (const c of cases.filter((k) => k.net === netA)) {
      for (const mode of MODES) checkProjection(run.projectSync({ layer: c.layer, point: c.point, map: c.map, keep: c.keep, mode }), c, mode);
    }
  });
});
