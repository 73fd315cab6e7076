// Receptive-field boxes of projected units, against values worked out by hand from the layer
// geometry, and the support of projections against those boxes.
//
// A unit (y, x) of a layer sees input rows [offset + y*jump, offset + y*jump + extent) (clipped),
// where going up through a window op (kernel k, stride s, top pad p):
//   offset += -p * jump, extent += (k - 1) * jump, jump *= s.
//
// ZFNet (conv1 7/2 pad 1, pool 3/2, conv2 5/2, pool 3/2, conv3-5 3/1 pad 1):
//   conv1: offset -1,  jump 2,  extent 7
//   pool1: offset -1,  jump 4,  extent 7 + 2*2 = 11
//   conv2: offset -1,  jump 8,  extent 11 + 4*4 = 27
//   pool2: offset -1,  jump 16, extent 27 + 2*8 = 43
//   conv3: offset -17, jump 16, extent 43 + 2*16 = 75
//   conv4: offset -33, jump 16, extent 107
//   conv5: offset -49, jump 16, extent 139
//   pool5: offset -49, jump 32, extent 139 + 2*16 = 171
// torchvision AlexNet (conv1 11/4 pad 2, pool 3/2, conv2 5/1 pad 2, pool 3/2, conv3-5 3/1 pad 1):
//   conv1: offset -2, jump 4, extent 11;  pool1: -2, 8, 19;  conv2: -18, 8, 51;  pool2: -18, 16, 67
//   conv3: -34, 16, 99;  conv4: -50, 16, 131;  conv5: -66, 16, 163
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModel, type Box, type Projection, type Run } from '../../src/index.js';
import { Mulberry32 } from '../../src/models/init.js';

const box = (y0: number, x0: number, y1: number, x1: number): Box => ({ y0, x0, y1, x1 });

/** Every non-zero pixel of projection k lies inside `b`; and there is at least one (if `nonEmpty`). */
function expectSupportInside(p: Projection, k: number, b: Box, label: string, nonEmpty = true): void {
  const [, C, H, W] = p.shape;
  let inside = 0, outside = 0;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (p.data[((k * C + c) * H + y) * W + x] === 0) continue;
        if (y >= b.y0 && y < b.y1 && x >= b.x0 && x < b.x1) inside++; else outside++;
      }
    }
  }
  expect(outside, `${label}: non-zero pixels outside the box`).toBe(0);
  if (nonEmpty) expect(inside, `${label}: non-zero pixels inside the box`).toBeGreaterThan(0);
}

/** A map (fc: unit) with at least `count` positive activations, searching from `start`. */
function liveMap(run: Run, layer: string, point: string, start: number, count = 1): number {
  const a = run.activation(layer, point);
  const [, maps, h = 1, w = 1] = a.shape;
  for (let k = 0; k < maps; k++) {
    const m = (start + k) % maps;
    if (a.data.subarray(m * h * w, (m + 1) * h * w).filter((v) => v > 0).length >= count) return m;
  }
  throw new Error(`no live map at ${layer} ${point}`);
}

describe('zfnet', () => {
  let run: Run;
  beforeAll(async () => {
    const model = await loadModel('zfnet');
    run = model.forwardSync({ shape: [1, 3, 224, 224], data: new Mulberry32(3).fillUniform(new Float32Array(3 * 224 * 224), 128) });
  });

  test('conv5 unit boxes are 139 px wide before clipping', () => {
    const at = (y: number, x: number, point = 'conv') => run.projectSync({ layer: 'conv5', point, map: 0, keep: { y, x } }).units[0].box;
    // (6,6): rows/columns -49 + 6*16 = 47 to 47 + 139 = 186: the whole field, inside the image.
    expect(at(6, 6)).toEqual(box(47, 47, 186, 186));
    expect(at(6, 6).y1 - at(6, 6).y0).toBe(139);
    // (0,0): -49 .. 90, clipped at 0. (12,12): 143 .. 282, clipped at 224. (0,12): mixed.
    expect(at(0, 0)).toEqual(box(0, 0, 90, 90));
    expect(at(12, 12)).toEqual(box(143, 143, 224, 224));
    expect(at(0, 12)).toEqual(box(0, 143, 90, 224));
    // (3,5): rows -49 + 48 = -1 .. 138 (clipped at 0), columns -49 + 80 = 31 .. 170.
    expect(at(3, 5, 'relu')).toEqual(box(0, 31, 138, 170));
    // pool5 (0,0): -49 .. 122; (5,2): -49 + 160 = 111 .. 282 -> 224, columns 15 .. 186.
    expect(at(0, 0, 'pool')).toEqual(box(0, 0, 122, 122));
    expect(at(5, 2, 'pool')).toEqual(box(111, 15, 224, 186));
  });

  test('boxes of lower layers', () => {
    const at = (layer: string, point: string, y: number, x: number) =>
      run.projectSync({ layer, point, map: 0, keep: { y, x } }).units[0].box;
    expect(at('conv1', 'conv', 0, 0)).toEqual(box(0, 0, 6, 6)); // -1 .. 6
    expect(at('conv1', 'conv', 10, 20)).toEqual(box(19, 39, 26, 46));
    expect(at('conv1', 'pool', 54, 54)).toEqual(box(215, 215, 224, 224)); // -1 + 216 = 215 .. 226
    expect(at('conv2', 'norm', 1, 2)).toEqual(box(15, 31, 15 + 43, 31 + 43)); // pool2: -1 + 16y
    expect(at('conv3', 'relu', 12, 0)).toEqual(box(175, 0, 224, 58)); // -17 + 192 = 175; -17 + 75 = 58
    expect(at('conv4', 'conv', 7, 7)).toEqual(box(79, 79, 186, 186)); // -33 + 112 = 79, + 107
  });

  test('fc units see the whole image', () => {
    const p = run.projectSync({ layer: 'fc7', map: liveMap(run, 'fc7', 'relu', 0), mode: 'gradient' });
    expect(p.units[0].box).toEqual(box(0, 0, 224, 224));
    expect(p.boxes).toEqual([box(0, 0, 224, 224)]);
  });

  test('the support of max and top-3 projections lies inside the unit boxes', () => {
    for (const [layer, point] of [['conv1', 'pool'], ['conv2', 'relu'], ['conv2', 'norm'], ['conv3', 'conv'], ['conv4', 'relu'], ['conv5', 'relu'], ['conv5', 'pool']]) {
      const map = liveMap(run, layer, point, 17, 3);
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        const p = run.projectSync({ layer, point, map, mode });
        expect(p.boxes[0], `${layer}/${point}`).toEqual(p.units[0].box);
        expectSupportInside(p, 0, p.boxes[0], `${layer}/${point} map ${map} ${mode}`);
      }
      const top = run.projectSync({ layer, point, map, mode: 'gradient', keep: 'top-3' });
      top.units.forEach((u, k) => {
        expect(top.boxes[k]).toEqual(u.box);
        expectSupportInside(top, k, u.box, `${layer}/${point} map ${map} top-3 #${k}`);
      });
    }
  });

  test('keep all: the box is the union of the units\' boxes and holds the support', () => {
    const map = liveMap(run, 'conv5', 'pool', 40);
    const p = run.projectSync({ layer: 'conv5', point: 'pool', map, keep: 'all', mode: 'deconvnet' });
    const u = p.units;
    expect(u.length).toBeGreaterThan(0);
    expect(p.boxes[0]).toEqual(box(Math.min(...u.map((b) => b.box.y0)), Math.min(...u.map((b) => b.box.x0)),
      Math.max(...u.map((b) => b.box.y1)), Math.max(...u.map((b) => b.box.x1))));
    expectSupportInside(p, 0, p.boxes[0], 'conv5/pool all');
  });
});

describe('alexnet (torchvision)', () => {
  let run: Run;
  beforeAll(async () => {
    const model = await loadModel('alexnet');
    run = model.forwardSync({ shape: [1, 3, 224, 224], data: new Mulberry32(4).fillUniform(new Float32Array(3 * 224 * 224), 2) });
  });

  test('conv5 unit boxes are 163 px wide before clipping', () => {
    const at = (y: number, x: number) => run.projectSync({ layer: 'conv5', point: 'conv', map: 1, keep: { y, x } }).units[0].box;
    expect(run.activation('conv5').shape).toEqual([1, 256, 13, 13]);
    // (6,6): -66 + 96 = 30 .. 193.
    expect(at(6, 6)).toEqual(box(30, 30, 193, 193));
    expect(at(6, 6).x1 - at(6, 6).x0).toBe(163);
    // (0,0): -66 .. 97 clipped at 0; (12,12): 126 .. 289 clipped at 224.
    expect(at(0, 0)).toEqual(box(0, 0, 97, 97));
    expect(at(12, 12)).toEqual(box(126, 126, 224, 224));
    // conv1 (0,0): -2 .. 9; pool1 (26,0): -2 + 208 = 206 .. 225 -> 224.
    expect(run.projectSync({ layer: 'conv1', point: 'conv', map: 0, keep: '0,0' }).units[0].box).toEqual(box(0, 0, 9, 9));
    expect(run.projectSync({ layer: 'conv1', point: 'pool', map: 0, keep: '26,0' }).units[0].box).toEqual(box(206, 0, 224, 17));
  });

  test('the support of max projections lies inside the unit box', () => {
    for (const [layer, point] of [['conv1', 'pool'], ['conv2', 'relu'], ['conv3', 'relu'], ['conv5', 'relu'], ['conv5', 'pool']]) {
      const map = liveMap(run, layer, point, 9);
      for (const mode of ['deconvnet', 'guided', 'gradient'] as const) {
        const p = run.projectSync({ layer, point, map, mode });
        expectSupportInside(p, 0, p.boxes[0], `${layer}/${point} map ${map} ${mode}`);
      }
    }
  });
});
