// The built-in architectures have the published geometry, parameter counts and receptive fields.
import { describe, expect, test } from 'vitest';
import { ARCHITECTURES, inferShapes, namedLayers, receptiveFields, size, type Network } from '../../src/index.js';

/** Spatial size at every named layer's points, e.g. { conv1: 110, 'conv1/pool': 55 }. */
function layerSizes(net: Network): Record<string, number> {
  const shapes = inferShapes(net);
  const out: Record<string, number> = {};
  for (const layer of namedLayers(net)) {
    if (layer.kind !== 'conv') continue;
    out[layer.name] = shapes[layer.op][1];
    if (layer.points.pool !== undefined) out[`${layer.name}/pool`] = shapes[layer.points.pool][1];
  }
  return out;
}

function params(net: Network): number {
  const shapes = inferShapes(net);
  return net.ops.reduce((sum, op, i) => {
    const input = i === 0 ? net.input : shapes[i - 1];
    if (op.kind === 'conv') return sum + op.filters * (input[0] / op.groups) * op.kernel[0] * op.kernel[1] + op.filters;
    if (op.kind === 'dense') return sum + op.units * size(input) + op.units;
    return sum;
  }, 0);
}

describe('published layer sizes at 224x224 input', () => {
  test('ZFNet (paper, Fig. 3): 110, 55, 26, 13, 13, 13, 13, 6', () => {
    expect(layerSizes(ARCHITECTURES.zfnet())).toEqual({
      conv1: 110, 'conv1/pool': 55, conv2: 26, 'conv2/pool': 13, conv3: 13, conv4: 13, conv5: 13, 'conv5/pool': 6,
    });
  });
  test('AlexNet (torchvision): 55, 27, 27, 13, 13, 13, 13, 6', () => {
    expect(layerSizes(ARCHITECTURES.alexnet())).toEqual({
      conv1: 55, 'conv1/pool': 27, conv2: 27, 'conv2/pool': 13, conv3: 13, conv4: 13, conv5: 13, 'conv5/pool': 6,
    });
  });
  test('AlexNet (BVLC, ONNX zoo geometry): 54, 26, 26, 12, 12, 6 with pool5 end pads', () => {
    expect(layerSizes(ARCHITECTURES['alexnet-bvlc']())).toEqual({
      conv1: 54, 'conv1/pool': 26, conv2: 26, 'conv2/pool': 12, conv3: 12, conv4: 12, conv5: 12, 'conv5/pool': 6,
    });
  });
  test('CaffeNet: pool before LRN, 54, 27, 27, 13, 13, 6', () => {
    const net = ARCHITECTURES.caffenet();
    expect(layerSizes(net)).toEqual({
      conv1: 54, 'conv1/pool': 27, conv2: 27, 'conv2/pool': 13, conv3: 13, conv4: 13, conv5: 13, 'conv5/pool': 6,
    });
    const conv1 = namedLayers(net)[0];
    expect(conv1.points.pool!).toBeLessThan(conv1.points.norm!);
    const bvlc = namedLayers(ARCHITECTURES['alexnet-bvlc']())[0];
    expect(bvlc.points.norm!).toBeLessThan(bvlc.points.pool!);
  });
});

test('parameter counts: ZFNet 62.4 M, AlexNet torchvision 61.1 M, BVLC AlexNet and CaffeNet 61.0 M', () => {
  const counts = Object.fromEntries(Object.entries(ARCHITECTURES).map(([name, build]) => [name, params(build())]));
  console.log('parameters:', counts);
  expect(counts.zfnet).toBe(62_357_608);
  expect(counts.alexnet).toBe(61_100_840);
  expect(counts['alexnet-bvlc']).toBe(60_965_224);
  expect(counts.caffenet).toBe(60_965_224);
});

test('layer names: conv1..conv5 then fc6..fc8, each with its points', () => {
  const layers = namedLayers(ARCHITECTURES.zfnet());
  expect(layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
  expect(Object.keys(layers[0].points).sort()).toEqual(['conv', 'norm', 'pool', 'relu']);
  expect(Object.keys(layers[2].points).sort()).toEqual(['conv', 'relu']);
  expect(Object.keys(layers[7].points)).toEqual(['conv']);
});

describe('receptive fields (worked by hand from kernel, stride and padding)', () => {
  function extents(net: Network): Record<string, number> {
    const rf = receptiveFields(net);
    const out: Record<string, number> = {};
    for (const layer of namedLayers(net)) {
      if (layer.kind !== 'conv') continue;
      out[layer.name] = rf[layer.op].extent[0];
      if (layer.points.pool !== undefined) out[`${layer.name}/pool`] = rf[layer.points.pool].extent[0];
    }
    return out;
  }
  test('ZFNet: conv1 7, pool1 11, conv2 27, pool2 43, conv3 75, conv4 107, conv5 139, pool5 171', () => {
    expect(extents(ARCHITECTURES.zfnet())).toEqual({
      conv1: 7, 'conv1/pool': 11, conv2: 27, 'conv2/pool': 43, conv3: 75, conv4: 107, conv5: 139, 'conv5/pool': 171,
    });
    const conv5 = receptiveFields(ARCHITECTURES.zfnet())[namedLayers(ARCHITECTURES.zfnet())[4].op];
    // unit (0,0) of conv5 starts at -1 (conv1 pad) - 16 (conv3 pad) - 16 (conv4) - 16 (conv5) = -49
    expect(conv5.offset).toEqual([-49, -49]);
    expect(conv5.jump).toEqual([16, 16]);
  });
  test('AlexNet torchvision: 11, 19, 51, 67, 99, 131, 163, 195', () => {
    expect(extents(ARCHITECTURES.alexnet())).toEqual({
      conv1: 11, 'conv1/pool': 19, conv2: 51, 'conv2/pool': 67, conv3: 99, conv4: 131, conv5: 163, 'conv5/pool': 195,
    });
  });
});
