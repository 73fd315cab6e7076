// zf-vis on ONNX files (`--model path.onnx`), run as users run it (needs `npm run build`):
// classify and forward agree with the engine in this process, the preset comes from the model,
// and broken files are a one-line error with exit status 2.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { encodePng } from '../../src/io/image-node.js';
import { IMAGENET_LABELS, loadModel } from '../../src/index.js';
import { buildOnnx, bvlcAlexnet, seededInput, torchvisionAlexnet, zfnet512 } from '../onnx/builder.js';

let dir = '';

const zfVis = (...args: string[]) => runCli(dir, ...args);

const x = seededInput([2, 3, 224, 224], 4);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-onnx-'));
  writeFileSync(join(dir, 'zfnet512.onnx'), buildOnnx(zfnet512(31).graph));
  writeFileSync(join(dir, 'alexnet-tv.onnx'), buildOnnx(torchvisionAlexnet(32).graph));
  writeFileSync(join(dir, 'bvlc.onnx'), buildOnnx(bvlcAlexnet(33, 12).graph));
  writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
  writeFileSync(join(dir, 'broken.onnx'), buildOnnx(zfnet512(31).graph).subarray(0, 5000));
  const w = 64, h = 48, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i % 251, (i >> 2) % 256, (i * 5) % 256, 255], i * 4);
  writeFileSync(join(dir, 'img.png'), encodePng({ width: w, height: h, data: rgba }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('zf-vis --model FILE.onnx', () => {
  test('classify --json: ImageNet labels, the same classes as the engine', async () => {
    const r = await zfVis('classify', '--model', 'zfnet512.onnx', '--input', 'x.npy', '--json', '--top', '3');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe('zfnet512.onnx');
    const model = await loadModel(join(dir, 'zfnet512.onnx'));
    const run = model.forwardSync(x);
    expect(out.images).toHaveLength(2);
    for (const i of [0, 1]) {
      const want = run.top(3, i);
      expect(out.images[i].map((c: { index: number }) => c.index)).toEqual(want.map((c) => c.index));
      expect(out.images[i][0].label).toBe(IMAGENET_LABELS[want[0].index]);
      expect(out.images[i][0].probability).toBeCloseTo(want[0].probability, 6);
    }
  });

  test('forward writes the activation of a layer of the imported graph', async () => {
    const r = await zfVis('forward', '--model', 'bvlc.onnx', '--input', 'x.npy', '--layer', 'conv5', '--point', 'pool', '--out', 'a.npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.shape).toEqual([2, 12, 6, 6]);
    const a = parseNpy(readFileSync(join(dir, 'a.npy')), 'a.npy');
    const model = await loadModel(join(dir, 'bvlc.onnx'));
    expect(a.data).toEqual(model.forwardSync(x).activation('conv5', 'pool').data);
  });

  test('an image goes through the preset chosen from the model (caffe for the zoo, torchvision for PyTorch)', async () => {
    for (const [file, preset] of [['bvlc.onnx', 'caffe'], ['alexnet-tv.onnx', 'torchvision']] as const) {
      const r = await zfVis('classify', '--model', file, '--image', 'img.png', '--json');
      const o = await zfVis('classify', '--model', file, '--image', 'img.png', '--json', '--preprocess', preset);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).top).toEqual(JSON.parse(o.stdout).top);
      const other = await zfVis('classify', '--model', file, '--image', 'img.png', '--json', '--preprocess', preset === 'caffe' ? 'torchvision' : 'caffe');
      expect(JSON.parse(other.stdout).top).not.toEqual(JSON.parse(r.stdout).top);
    }
  });

  test('bad layers are refused before loading; broken and missing files are one-line errors', async () => {
    const layer = await zfVis('forward', '--model', 'zfnet512.onnx', '--input', 'x.npy', '--layer', 'fc9', '--out', 'b.npy');
    expect(layer.code).toBe(2);
    expect(layer.stderr).toMatch(/^zf-vis: unknown layer 'fc9'; this model has conv1, conv2, conv3, conv4, conv5, fc6, fc7, fc8 \(or any tensor name of an imported graph\)\n$/);
    const broken = await zfVis('classify', '--model', 'broken.onnx', '--input', 'x.npy');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^zf-vis: .*truncated or corrupt\n$/);
    const missing = await zfVis('classify', '--model', 'nope.onnx', '--input', 'x.npy');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^zf-vis: unknown model 'nope.onnx'; built-in models: .*or the path of an .onnx file\n$/);
    const small = await zfVis('classify', '--model', 'zfnet512.onnx', '--input', 'x.npy', '--top', '2');
    expect(small.code, small.stderr).toBe(0);
    expect(small.stdout).not.toMatch(/class \d+/);
  });
});
