// zf-vis correspondence, in process, on a tiny ONNX model: the table, JSON, the file, bad usage.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectUsageError, workspace, zfVis } from './analysis-cli-helpers.js';
import { encodeNpy } from '../../src/io/npy.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => { ws = await workspace(3); });
afterAll(() => ws?.cleanup());

const boxes = '4,4,12,12;5,4,13,12;4,6,12,14';

describe('zf-vis correspondence', () => {
  test('--help', async () => {
    const r = await zfVis('correspondence', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis correspondence --model M --images/);
    expect(r.stdout).toMatch(/sign\(0\) = 0/);
  });

  test('a list of images: the table (layers x part, random) and the JSON file', async () => {
    const out = join(ws.dir, 'corr.json');
    const r = await zfVis('correspondence', '--model', join(ws.dir, 'tiny.onnx'), '--images', ws.images.join(','),
      '--boxes', boxes, '--random', '2', '--seed', '3', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/3 images, 6 ordered pairs, 2 random trial\(s\) \(seed 3\)/);
    expect(r.stdout).toMatch(/layer\s+features\s+part: Delta \(mean ± std\)\s+random x2: Delta/);
    // Default layers: the last conv and the last hidden fc layer.
    expect(lines.some((l) => /^conv2 relu\s+512\s+\d+ \(/.test(l))).toBe(true);
    expect(lines.some((l) => /^fc3 relu\s+16\s+\d+ \(/.test(l))).toBe(true);
    const saved = JSON.parse(readFileSync(out, 'utf8'));
    expect(saved.rows).toHaveLength(2);
    expect(saved.randomBoxes).toHaveLength(2);
    expect(saved.boxes[1]).toEqual({ y0: 5, x0: 4, y1: 13, x1: 12 });
  });

  test('a folder, a .npy batch, --json, chosen layers and fill', async () => {
    const r = await zfVis('correspondence', '--model', join(ws.dir, 'tiny.onnx'), '--images', join(ws.dir, 'images'),
      '--boxes', boxes, '--layers', 'conv1,conv2:pool', '--fill', 'mean', '--random', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.rows.map((row: { layer: string; point: string }) => `${row.layer} ${row.point}`)).toEqual(['conv1 relu', 'conv2 pool']);
    expect(info.rows[0].random).toBeNull();
    expect(info.fill).toBe('mean');
    const x = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.05) * 50);
    writeFileSync(join(ws.dir, 'x.npy'), encodeNpy({ shape: [2, 3, 32, 32], data: x }));
    const t = await zfVis('correspondence', '--model', join(ws.dir, 'tiny.onnx'), '--images', join(ws.dir, 'x.npy'),
      '--boxes', '0,0,8,8;2,2,10,10', '--json');
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).images).toBe(2);
  });

  test('bad usage: exit 2, one line', async () => {
    const model = join(ws.dir, 'tiny.onnx');
    const images = ws.images.join(',');
    expectUsageError(await zfVis('correspondence', '--model', model, '--boxes', boxes), /needs --images/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images), /needs --boxes/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', '1,2,3,4;5,6,7,8'), /2 box\(es\) for 3 image\(s\)/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', '1,2,3;4,5,6,7'), /not y0,x0,y1,x1/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', '0,0,8,8;0,0,8,8;0,0,40,8'), /box 3 .* inside the 32 x 32 input/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', ws.images[0], '--boxes', '0,0,8,8'), /at least 2 images/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', boxes, '--fill', 'grey'), /--fill must be zero, mean or a number/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', boxes, '--layers', 'fc3:pool'), /has no point 'pool'/);
    expectUsageError(await zfVis('correspondence', '--model', model, '--images', images, '--boxes', boxes, '--random=-1'), /--random must be an integer/);
  });
});
