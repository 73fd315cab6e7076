// zf-vis on a user's own graph model (a width-reduced torchvision ResNet-18 export, as users
// export it): any tensor name as --layer for forward / project, the three projection modes, and
// gradcam; the numbers match the API's. Needs `npm run build`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, expectUsageError, root } from '../helpers/cli.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { decodeImage } from '../../src/io/image-node.js';
import { loadModel } from '../../src/index.js';
import { seededInput } from '../onnx/builder.js';

const model = join(root, 'test/fixtures/torchvision/resnet18.onnx');
const block = '/layer4/layer4.0/relu_1/Relu_output_0';
const mid = '/layer2/layer2.0/relu_1/Relu_output_0';
let dir = '';
const zfVis = (...args: string[]) => runCli(dir, ...args);
const input = seededInput([1, 3, 64, 64], 7);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-graph-'));
  writeFileSync(join(dir, 'x.npy'), encodeNpy(input));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('zf-vis on a ResNet-18 export', () => {
  test('forward --layer <tensor name> writes that tensor, as run.activation() gives it', async () => {
    const r = await zfVis('forward', '--model', model, '--input', 'x.npy', '--layer', mid, '--out', 'a.npy');
    expect(r.code, r.stderr).toBe(0);
    const got = parseNpy(readFileSync(join(dir, 'a.npy')), 'a.npy');
    const want = (await loadModel(new Uint8Array(readFileSync(model)))).forwardSync(input).activation(mid);
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  test.each(['deconvnet', 'guided', 'gradient'])('project --layer <tensor name> --mode %s', async (mode) => {
    const r = await zfVis('project', '--model', model, '--input', 'x.npy', '--layer', mid, '--map', '3', '--mode', mode,
      '--out', `p-${mode}.npy`, '--png', `p-${mode}.png`, '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ layer: mid, point: 'tensor', map: 3, mode });
    const got = parseNpy(readFileSync(join(dir, `p-${mode}.npy`)), 'p.npy');
    const run = (await loadModel(new Uint8Array(readFileSync(model)))).forwardSync(input);
    const want = run.projectSync({ layer: mid, map: 3, mode: mode as 'deconvnet' });
    expect(got.shape).toEqual([1, 3, 64, 64]);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    expect(got.data.some((v) => v !== 0)).toBe(true);
    expect(decodeImage(readFileSync(join(dir, `p-${mode}.png`)), 'p.png')).toMatchObject({ width: 64, height: 64 });
  });

  test('gradcam writes the cam at the layer\'s resolution, an overlay and guided Grad-CAM', async () => {
    const r = await zfVis('gradcam', '--model', model, '--input', 'x.npy', '--layer', block, '--class', '4',
      '--out', 'cam.npy', '--png', 'cam.png', '--guided', 'guided.png', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    const cam = parseNpy(readFileSync(join(dir, 'cam.npy')), 'cam.npy');
    const run = (await loadModel(new Uint8Array(readFileSync(model)))).forwardSync(input);
    const want = run.gradcamSync({ layer: block, class: 4 });
    expect(json).toMatchObject({ layer: block, class: 4, shape: want.shape });
    expect(cam.shape).toEqual(want.shape);
    expect(Array.from(cam.data)).toEqual(Array.from(want.data));
    expect(json.weights).toHaveLength(want.weights.length);
    for (const file of ['cam.png', 'guided.png']) {
      expect(decodeImage(readFileSync(join(dir, file)), file)).toMatchObject({ width: 64, height: 64 });
    }
  });

  test('bad usage: an unknown tensor, a class out of range, a map out of range', async () => {
    expectUsageError(await zfVis('gradcam', '--model', model, '--input', 'x.npy', '--layer', '/nope', '--out', 'c.npy'),
      /unknown layer '\/nope'/);
    expectUsageError(await zfVis('gradcam', '--model', model, '--input', 'x.npy', '--layer', block, '--class', '10', '--out', 'c.npy'),
      /--class 10 is out of range: the model has 10 classes/);
    expectUsageError(await zfVis('project', '--model', model, '--input', 'x.npy', '--layer', mid, '--map', '999', '--out', 'c.npy'),
      /map 999 is out of range/);
  });
});
