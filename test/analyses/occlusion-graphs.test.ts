// The occlusion fast path on graph models (residual Adds, Concat branches, depthwise convs,
// batch norm, SE blocks, channel shuffle): the op table's region rules must give the naive
// path's maps (one full forward pass per position) at every position, within 1e-5; the top class
// exactly. The committed torchvision exports, with the map in a middle block and in the last one.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadModel, occlusion, type OcclusionOptions, type OcclusionResult } from '../../src/index.js';
import { sections } from '../../src/analyses/occlusion-engine.js';
import { seededInput } from '../onnx/builder.js';

const FIXTURES = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'densenet121', 'vgg11_bn', 'efficientnet_b0',
  'shufflenet_v2_x0_5'];
const TOLERANCE = 1e-5;

function worst(fast: OcclusionResult, naive: OcclusionResult): { probability: number; activation: number; topDiffer: number } {
  let probability = 0, activation = 0, topDiffer = 0, scale = 0;
  for (let i = 0; i < naive.activation.length; i++) scale = Math.max(scale, Math.abs(naive.activation[i]));
  for (let i = 0; i < naive.probability.length; i++) {
    probability = Math.max(probability, Math.abs(fast.probability[i] - naive.probability[i]));
    activation = Math.max(activation, Math.abs(fast.activation[i] - naive.activation[i]) / Math.max(1, scale));
    if (fast.top[i] !== naive.top[i]) topDiffer++;
  }
  return { probability, activation, topDiffer };
}

describe.each(FIXTURES)('%s', (name) => {
  test('fast path = naive path, a middle tensor and the last conv layer', async () => {
    const model = await loadModel(new Uint8Array(readFileSync(`test/fixtures/torchvision/${name}.onnx`)));
    const [c, h, w] = model.network.input;
    const input = seededInput([1, c, h, w], 5);
    const spatial = model.tensors.filter((t) => t.shape.length === 3 && t.shape[1] > 1 && t.op >= 0);
    const middle = spatial[Math.floor(spatial.length / 2)].name;
    const { spatialOps, denseOps, boundary } = sections(model);
    for (const layer of [middle, undefined]) {
      const options: OcclusionOptions = { size: 12, stride: 9, layer, workers: 0, batch: 4 };
      const t0 = performance.now();
      const fast = await occlusion(model, input, options);
      const t1 = performance.now();
      const naive = await occlusion(model, input, { ...options, naive: true });
      const t2 = performance.now();
      const d = worst(fast, naive);
      console.log(`${name} ${fast.layer} map ${fast.map}: ${fast.probability.length} positions, fast ${(t1 - t0).toFixed(0)} ms, ` +
        `naive ${(t2 - t1).toFixed(0)} ms; ${spatialOps.length} spatial / ${denseOps.length} dense ops, boundary [${boundary}]; ` +
        `max |dP| ${d.probability.toExponential(2)}, max |dA|/scale ${d.activation.toExponential(2)}, top differs at ${d.topDiffer}`);
      expect(fast.path).toBe('fast');
      expect(d.probability).toBeLessThanOrEqual(TOLERANCE);
      expect(d.activation).toBeLessThanOrEqual(TOLERANCE);
      expect(d.topDiffer).toBe(0);
    }
  });
});

test('the default map is in the last conv block\'s output (ResNet: its last ReLU, not the conv before the Add)', async () => {
  const model = await loadModel(new Uint8Array(readFileSync('test/fixtures/torchvision/resnet18.onnx')));
  const o = await occlusion(model, seededInput([1, 3, 64, 64], 5), { size: 32, stride: 32, workers: 0 });
  expect([o.layer, o.point]).toEqual(['/layer4/layer4.0/relu_1/Relu_output_0', 'tensor']);
});
