// zf-vis evolution, in process: snapshots as a list of tiny ONNX models (and zfnet-mini's saved
// epochs once its training has written them).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectUsageError, tinyNet, workspace, writeOnnx, zfVis } from './analysis-cli-helpers.js';
import { decodeImage } from '../../src/io/image-node.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => {
  ws = await workspace(4);
  await writeOnnx(join(ws.dir, 'snap-b.onnx'), tinyNet(2, 'tiny'), 8);
});
afterAll(() => ws?.cleanup());

const manifest = fileURLToPath(new URL('../../models/zfnet-mini/manifest.json', import.meta.url));
const samples = fileURLToPath(new URL('../../models/samples', import.meta.url));

describe('zf-vis evolution', () => {
  test('--help', async () => {
    const r = await zfVis('evolution', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis evolution --model zfnet-mini \[--epochs 1,2,5,\.\.\.\]/);
  });

  test('two model files as snapshots: a features x snapshots grid and the JSON', async () => {
    const out = join(ws.dir, 'evo');
    const models = [join(ws.dir, 'tiny.onnx'), join(ws.dir, 'snap-b.onnx')].join(',');
    const r = await zfVis('evolution', '--model', models, '--features', 'conv1:2,conv2:pool:5,fc3:1', '--images', join(ws.dir, 'images'),
      '--out', out, '--no-crop', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.snapshots).toEqual(['tiny.onnx', 'snap-b.onnx']);
    expect(info.features).toEqual([
      { layer: 'conv1', point: 'relu', map: 2 }, { layer: 'conv2', point: 'pool', map: 5 }, { layer: 'fc3', point: 'relu', map: 1 }]);
    expect(info.cells).toHaveLength(3);
    expect(info.cells[0]).toHaveLength(2);
    expect(info.images).toHaveLength(4);
    // Uncropped 32 px projections enlarged twice (to >= 48 px): 2 columns x 3 rows, gap 4.
    const png = decodeImage(readFileSync(join(out, 'evolution.png')), 'evolution.png');
    expect([png.width, png.height]).toEqual([2 * 64 + 4, 3 * 64 + 2 * 4]);
    expect(JSON.parse(readFileSync(join(out, 'evolution.json'), 'utf8')).cells[2][1].value).toBe(info.cells[2][1].value);
  });

  test('the printed table', async () => {
    const r = await zfVis('evolution', '--model', join(ws.dir, 'tiny.onnx'), '--features', 'conv1:0', '--images', ws.images.join(','),
      '--out', join(ws.dir, 'evo2'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^feature evolution over 4 image\(s\)/);
    expect(r.stdout).toMatch(/conv1 relu map 0\s+[\d.e+-]+ @\d:\d+,\d+/);
  });

  test.skipIf(!existsSync(manifest))('zfnet-mini: saved epochs as snapshots', async () => {
    const r = await zfVis('evolution', '--features', 'conv1:3,conv5:7', '--images', samples, '--out', join(ws.dir, 'evo-mini'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.snapshots.length).toBeGreaterThan(0);
    expect(info.snapshots[0]).toMatch(/^epoch \d+$/);
  });

  test('bad usage: exit 2, one line', async () => {
    const model = join(ws.dir, 'tiny.onnx');
    const images = join(ws.dir, 'images');
    expectUsageError(await zfVis('evolution', '--model', model, '--images', images, '--out', 'x'), /needs --features/);
    expectUsageError(await zfVis('evolution', '--model', model, '--features', 'conv1:1', '--out', 'x'), /needs --images/);
    expectUsageError(await zfVis('evolution', '--model', model, '--features', 'conv1', '--images', images, '--out', 'x'), /--features: feature 'conv1' is not LAYER:MAP/);
    expectUsageError(await zfVis('evolution', '--model', model, '--features', 'conv1:6', '--images', images, '--out', 'x'), /map 6 is out of range: conv1 relu of .* has 6 maps/);
    expectUsageError(await zfVis('evolution', '--model', model, '--epochs', '1,2', '--features', 'conv1:1', '--images', images, '--out', 'x'), /--epochs selects snapshots of zfnet-mini/);
    expectUsageError(await zfVis('evolution', '--model', `${model},alexnet`, '--features', 'conv1:1', '--images', images, '--out', 'x'), /every snapshot must take the same input/);
    expectUsageError(await zfVis('evolution', '--model', 'zfnet-mini', '--epochs', '1,x', '--features', 'conv1:1', '--images', images, '--out', 'x'), /--epochs must be a comma-separated list/);
  });
});
