// The engine in a real browser: the SIMD build is picked, and it agrees with the scalar build.
import { expect, test } from 'vitest';
import { Model, simdSupported, type Network } from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';

const net: Network = {
  name: 'tiny', input: [3, 32, 32], preprocess: 'none',
  ops: [conv(8, 5, 2, 1), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(),
    conv(16, 3, 1, 1, 2), { kind: 'relu' }, { kind: 'flatten' }, dense(10), { kind: 'softmax' }],
};

test('Chromium runs the SIMD build and it matches the scalar build', async () => {
  expect(simdSupported()).toBe(true);
  const input = { shape: [2, 3, 32, 32], data: new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.cos(i * 0.37)) };
  const outputs = [];
  for (const backend of ['simd', 'scalar'] as const) {
    const model = await Model.create(net, { backend });
    expect(model.backend).toBe(backend);
    model.initWeights(7);
    outputs.push((await model.forward(input)).output().data);
  }
  let maxDiff = 0;
  for (let i = 0; i < outputs[0].length; i++) maxDiff = Math.max(maxDiff, Math.abs(outputs[0][i] - outputs[1][i]));
  console.log(`browser simd vs scalar: max abs diff ${maxDiff.toExponential(2)}`);
  expect(maxDiff).toBeLessThan(1e-6);
});
