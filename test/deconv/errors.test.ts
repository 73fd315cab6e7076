// Bad arguments to project: an ArgumentError whose message names what is wrong (the layer, the
// point, the value, what would be valid). A run overwritten by a later forward: StaleRunError.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  AbortError, ArgumentError, Model, StaleRunError, zfnet, type Network, type ProjectOptions, type Run,
} from '../../src/index.js';
import { Mulberry32 } from '../../src/models/init.js';

// ZFNet's graph with few maps: conv5 relu is 8 maps of 5x6, fc8 10 units.
const base = zfnet(10);
let c = 0, d = 0;
const widths = [8, 12, 12, 12, 8], units = [24, 16, 10];
const net: Network = {
  ...base, name: 'zfnet-small', input: [3, 99, 115],
  ops: base.ops.map((op) => (op.kind === 'conv' ? { ...op, filters: widths[c++] } : op.kind === 'dense' ? { ...op, units: units[d++] } : op)),
};

let model: Model;
let run: Run;

beforeAll(async () => {
  model = await Model.create(net);
  model.initWeights(5);
  run = model.forwardSync(input(1));
});

function input(seed: number) {
  return { shape: [1, 3, 99, 115], data: new Mulberry32(seed).fillUniform(new Float32Array(3 * 99 * 115), 128) };
}

/** project must throw an ArgumentError whose message matches every pattern. */
function refuses(options: ProjectOptions, ...patterns: RegExp[]): void {
  let error: unknown;
  try {
    run.projectSync(options);
  } catch (e) {
    error = e;
  }
  expect(error, JSON.stringify(options)).toBeInstanceOf(ArgumentError);
  const message = (error as Error).message;
  for (const p of patterns) expect(message, JSON.stringify(options)).toMatch(p);
}

describe('project refuses bad arguments with a clear ArgumentError', () => {
  test('the geometry the messages below rely on', () => {
    expect(run.activation('conv5').shape).toEqual([1, 8, 5, 6]);
    expect(run.activation('conv1', 'pool').shape).toEqual([1, 8, 24, 28]);
    expect(run.activation('fc8', 'conv').shape).toEqual([1, 10]);
  });

  test('map out of range names the layer, the point and the count', () => {
    refuses({ layer: 'conv5', map: 8 }, /map 8/, /conv5 relu/, /8 maps/, /0-7/);
    refuses({ layer: 'conv5', point: 'pool', map: 100 }, /map 100/, /conv5 pool/, /8 maps/);
    refuses({ layer: 'conv1', point: 'norm', map: -1 }, /map -1/, /conv1 norm/, /8 maps/);
    refuses({ layer: 'conv2', point: 'conv', map: 1.5 }, /map 1.5/, /conv2 conv/, /12 maps/);
    refuses({ layer: 'conv2', map: Number.NaN }, /map NaN/, /conv2 relu/);
    refuses({ layer: 'fc8', point: 'conv', map: 10 }, /map 10/, /fc8 conv/, /10 maps/);
    refuses({ layer: 'conv3', map: '2' as unknown as number }, /map 2/, /conv3 relu/);
  });

  test('a position outside the map names the position and the map size', () => {
    refuses({ layer: 'conv5', map: 0, keep: { y: 5, x: 0 } }, /position 5,0/, /conv5 relu/, /5x6/);
    refuses({ layer: 'conv5', map: 0, keep: { y: 0, x: 6 } }, /position 0,6/, /5x6/);
    refuses({ layer: 'conv5', map: 0, keep: '4,6' }, /position 4,6/, /5x6/);
    refuses({ layer: 'conv5', map: 0, keep: { y: -1, x: 2 } }, /position -1,2/);
    refuses({ layer: 'conv5', map: 0, keep: { y: 1.5, x: 2 } }, /position 1.5,2/);
    refuses({ layer: 'conv1', point: 'pool', map: 3, keep: '24,0' }, /position 24,0/, /conv1 pool/, /24x28/);
    refuses({ layer: 'fc6', map: 0, keep: { y: 0, x: 1 } }, /position 0,1/, /fc6 relu/, /1x1/);
  });

  test('top-0 and top-k beyond the map are refused', () => {
    refuses({ layer: 'conv5', map: 0, keep: 'top-0' }, /top-0/, /conv5 relu/, /30 position/);
    refuses({ layer: 'conv5', map: 0, keep: { top: 0 } }, /top-0/);
    refuses({ layer: 'conv5', map: 0, keep: 'top-31' }, /top-31/, /30 position/);
    refuses({ layer: 'conv5', map: 0, keep: { top: -2 } }, /top--2/);
    refuses({ layer: 'conv5', map: 0, keep: { top: 2.5 } }, /top-2.5/);
    refuses({ layer: 'fc7', map: 0, keep: 'top-3' }, /top-3/, /fc7 relu/, /1 position/);
    // The largest valid k works.
    expect(run.projectSync({ layer: 'conv5', map: 0, keep: 'top-30' }).shape).toEqual([30, 3, 99, 115]);
  });

  test('unknown mode and unknown keep strings list what is valid', () => {
    refuses({ layer: 'conv5', map: 0, mode: 'saliency' as never }, /saliency/, /deconvnet/, /guided/, /gradient/);
    refuses({ layer: 'conv5', map: 0, mode: '' as never }, /deconvnet, guided, gradient/);
    refuses({ layer: 'conv5', map: 0, keep: 'maximum' }, /maximum/, /max, all/, /top-K/);
    refuses({ layer: 'conv5', map: 0, keep: '3;4' }, /3;4/, /Y,X/);
    refuses({ layer: 'conv5', map: 0, keep: 'top' }, /'top'/);
    refuses({ layer: 'conv5', map: 0, keep: '-1,2' }, /-1,2/);
  });

  test('image out of range names the batch size', () => {
    refuses({ layer: 'conv5', map: 0, image: 1 }, /image 1/, /1 image/);
    refuses({ layer: 'conv5', map: 0, image: -1 }, /image -1/);
    refuses({ layer: 'conv5', map: 0, image: 0.5 }, /image 0.5/);
  });

  test('unknown layer or point lists what exists', () => {
    refuses({ layer: 'conv6', map: 0 }, /conv6/, /conv1, conv2, conv3, conv4, conv5, fc6, fc7, fc8/);
    refuses({ layer: 'pool1', map: 0 }, /pool1/);
    refuses({ layer: 'conv3', point: 'pool', map: 0 }, /conv3/, /'pool'/, /conv, relu/);
    refuses({ layer: 'conv5', point: 'norm', map: 0 }, /conv5/, /'norm'/, /conv, relu, pool/);
    refuses({ layer: 'fc8', point: 'relu', map: 0 }, /fc8/, /'relu'/);
    refuses({ layer: 'conv1', point: 'softmax' as never, map: 0 }, /softmax/);
  });

  test('async project rejects the same way', async () => {
    await expect(run.project({ layer: 'conv5', map: 99 })).rejects.toThrow(ArgumentError);
  });

  test('an aborted signal gives AbortError', () => {
    const controller = new AbortController();
    controller.abort();
    expect(() => run.projectSync({ layer: 'conv5', map: 0, signal: controller.signal })).toThrow(AbortError);
  });
});

describe('stale runs', () => {
  test('a run overwritten by a later forward pass throws StaleRunError, the new one works', async () => {
    const other = await Model.create(net);
    other.initWeights(5);
    const first = other.forwardSync(input(2));
    const p = first.projectSync({ layer: 'conv5', map: 1 });
    const second = other.forwardSync(input(3));
    expect(() => first.projectSync({ layer: 'conv5', map: 1 })).toThrow(StaleRunError);
    expect(() => first.projectSync({ layer: 'conv5', map: 1 })).toThrow(/later forward pass/);
    await expect(first.project({ layer: 'conv5', map: 1 })).rejects.toThrow(StaleRunError);
    // Staleness is checked before the arguments.
    expect(() => first.projectSync({ layer: 'nope', map: -1 })).toThrow(StaleRunError);
    expect(second.projectSync({ layer: 'conv5', map: 1 }).shape).toEqual(p.shape);
  });
});
