// zf-vis diagnose, in process, on two tiny ONNX models (conv1 stride 2 and 1) side by side.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectUsageError, workspace, zfVis } from './analysis-cli-helpers.js';
import { decodeImage } from '../../src/io/image-node.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => { ws = await workspace(3); });
afterAll(() => ws?.cleanup());

const size = (path: string) => {
  const { width, height } = decodeImage(readFileSync(path), path);
  return [width, height];
};

describe('zf-vis diagnose', () => {
  test('--help', async () => {
    const r = await zfVis('diagnose', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis diagnose --model M \[--compare M2\]/);
  });

  test('two models with sample images: JSON report, filter and layer-2 grids side by side, charts', async () => {
    const out = join(ws.dir, 'diag');
    const r = await zfVis('diagnose', '--model', join(ws.dir, 'tiny.onnx'), '--compare', join(ws.dir, 'tiny-s1.onnx'),
      '--images', join(ws.dir, 'images'), '--maps', '0-3', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.models.map((m: { model: string }) => m.model)).toEqual(['tiny', 'tiny-s1']);
    expect(info.models[0].conv1).toMatchObject({ filters: 6, kernel: [5, 5], stride: [2, 2] });
    expect(info.models[1].conv1.stride).toEqual([1, 1]);
    expect(info.models[0].summary.samples).toBe(3);
    expect(info.models[0].layer2.units).toHaveLength(4);
    expect(info.models[0].filters[0]).toHaveProperty('bands');
    // 6 filters of 5x5 enlarged 8x (42/5 rounded) in a 3-column grid, gap 2: 124 x 82 each; side by side, gap 16.
    expect(size(join(out, 'filters-tiny.png'))).toEqual([3 * 40 + 4, 2 * 40 + 2]);
    expect(size(join(out, 'filters.png'))).toEqual([2 * 124 + 16, 82]);
    expect(size(join(out, 'layer2.png'))[0]).toBeGreaterThan(size(join(out, 'layer2-tiny.png'))[0]);
    expect(readFileSync(join(out, 'spectrum.svg'), 'utf8')).toMatch(/tiny-s1 \(5x5\/1\)/);
    expect(JSON.parse(readFileSync(join(out, 'diagnosis.json'), 'utf8')).models).toHaveLength(2);
  });

  test('one model without images: the printed summary', async () => {
    const r = await zfVis('diagnose', '--model', join(ws.dir, 'tiny.onnx'), '--out', join(ws.dir, 'd1'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tiny: conv1 6 filters 5x5 stride 2 over 3 channel\(s\)/);
    expect(r.stdout).toMatch(/dead: 0 of 6 \[by weight 0, no sample images\]/);
    expect(r.stdout).toMatch(/spectrum \(mean energy share\): low [\d.]+%, mid [\d.]+%, high [\d.]+%/);
    expect(r.stdout).not.toMatch(/layer2\.png/);
  });

  test('bad usage: exit 2, one line', async () => {
    const model = join(ws.dir, 'tiny.onnx');
    expectUsageError(await zfVis('diagnose', '--model', model), /needs --out/);
    expectUsageError(await zfVis('diagnose', '--model', model, '--compare', 'nonet', '--out', 'x'), /unknown model 'nonet'/);
    expectUsageError(await zfVis('diagnose', '--model', model, '--images', join(ws.dir, 'images'), '--maps', '0-8', '--out', 'x'), /map 8 is out of range: conv2 of .* has 8 maps/);
    expectUsageError(await zfVis('diagnose', '--model', model, '--images', join(ws.dir, 'nothing'), '--out', 'x'), /cannot read/);
    expectUsageError(await zfVis('diagnose', '--model', model, '--dead-ratio=-1', '--out', 'x'), /--dead-ratio must be a number >= 0/);
    expectUsageError(await zfVis('diagnose', '--model', model, '--point', 'top', '--out', 'x'), /--point must be one of/);
  });
});
