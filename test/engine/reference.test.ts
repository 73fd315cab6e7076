// A whole network through the engine against a naive float64 reference, at every op.
import { expect, test } from 'vitest';
import { Model, type Network } from '../../src/index.js';
import { conv, dense, lrn, maxpool } from '../../src/models/architectures.js';
import { Mulberry32 } from '../../src/models/init.js';
import { referenceForward } from '../reference/network.js';

// Every op kind, with the awkward geometry: asymmetric pads, groups, ceil and end-padded pools,
// a 1x1 average pool (torchvision's export), LRN with size 3 and bias 2, batch 2.
const net: Network = {
  name: 'every-op', input: [3, 37, 33], preprocess: 'none',
  ops: [
    conv(8, 7, 2, [1, 0, 2, 1]), { kind: 'relu' }, maxpool(3, 2, { ceil: true }), lrn(3, 5e-4, 0.75, 2),
    conv(12, 5, 1, 2, 2), { kind: 'relu' }, lrn(), maxpool(3, 2, { pads: [0, 0, 1, 1] }),
    conv(9, 3, 1, 1, 3), { kind: 'relu' },
    { kind: 'avgpool', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false, countIncludePad: false },
    { kind: 'avgpool', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 1, 1], ceil: false, countIncludePad: false },
    { kind: 'flatten' }, dense(13), { kind: 'relu' }, { kind: 'dropout', rate: 0.5 }, dense(5), { kind: 'softmax' },
  ],
};

test.each(['simd', 'scalar'] as const)('every op of a small network matches the naive reference (%s)', async (backend) => {
  const model = await Model.create(net, { backend });
  model.initWeights(11);
  const input = new Mulberry32(4).fillUniform(new Float32Array(2 * 3 * 37 * 33), 2);
  const run = await model.forward({ shape: [2, 3, 37, 33], data: input });
  const expected = referenceForward(net, (layer) => model.getWeights(layer), input, 2);
  net.ops.forEach((op, i) => {
    const got = run.opOutput(i).data;
    const want = expected[i];
    expect(got.length).toBe(want.length);
    let maxAbs = 0, maxDiff = 0;
    for (let j = 0; j < got.length; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(want[j]));
      maxDiff = Math.max(maxDiff, Math.abs(got[j] - want[j]));
    }
    console.log(`${backend} op ${i} ${op.kind.padEnd(8)} [${model.shapes[i].join('x')}] max diff ${maxDiff.toExponential(2)} of max |y| ${maxAbs.toExponential(2)}`);
    expect(maxDiff).toBeLessThanOrEqual(2e-6 * Math.max(maxAbs, 1e-3));
  });
});
