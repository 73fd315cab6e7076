// zf-vis project, run as users run it: `node cli/zf-vis.js project ...` (needs `npm run build`).
// Three runs load a model (alexnet, the fastest), in parallel; every bad-usage case fails before
// the weights load.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, expectUsageError } from '../helpers/cli.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { decodeImage, encodePng } from '../../src/io/image-node.js';
import type { Box } from '../../src/graph/shapes.js';

let dir = '';

const zfVis = (...args: string[]) => runCli(dir, ...args);


function png(name: string): { width: number; height: number } {
  const { width, height } = decodeImage(readFileSync(join(dir, name)), name);
  return { width, height };
}

function npy(name: string) {
  const t = parseNpy(readFileSync(join(dir, name)), name);
  for (const v of t.data) if (!Number.isFinite(v)) throw new Error(`${name} holds ${v}`);
  return t;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-project-'));
  const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
  writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: [1, 3, 224, 224], data: x }));
  const w = 160, h = 120, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i % 251, (i >> 3) % 256, (i * 7) % 256, 255], i * 4);
  writeFileSync(join(dir, 'img.png'), encodePng({ width: w, height: h, data: rgba }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('runs that load a model (alexnet)', () => {
  test('keep max: .npy [1, 3, 224, 224], a 224 x 224 PNG and patch, the unit in JSON', async () => {
    const r = await zfVis('project', '--model', 'alexnet', '--input', 'x.npy', '--layer', 'conv5', '--map', '12',
      '--out', 'r.npy', '--png', 'r.png', '--patch', 'p.png', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ model: 'alexnet', layer: 'conv5', point: 'relu', map: 12, keep: 'max',
      mode: 'deconvnet', image: 0, shape: [1, 3, 224, 224], out: 'r.npy', png: 'r.png', patch: 'p.png' });
    expect(info.units).toHaveLength(1);
    const u = info.units[0];
    expect(u.map).toBe(12);
    expect(u.y >= 0 && u.y < 13 && u.x >= 0 && u.x < 13).toBe(true);
    expect(u.value).toBeGreaterThan(0);
    expect(info.boxes).toEqual([u.box]);
    const t = npy('r.npy');
    expect(t.shape).toEqual([1, 3, 224, 224]);
    // The projection is non-zero, and only inside the unit's receptive box.
    const { y0, x0, y1, x1 } = u.box as Box;
    let inside = 0, outside = 0;
    t.data.forEach((v, i) => {
      const y = Math.floor(i / 224) % 224, x = i % 224;
      if (v !== 0) (y >= y0 && y < y1 && x >= x0 && x < x1 ? inside++ : outside++);
    });
    expect(inside).toBeGreaterThan(0);
    expect(outside).toBe(0);
    expect(png('r.png')).toEqual({ width: 224, height: 224 });
    expect(png('p.png')).toEqual({ width: 224, height: 224 });
  });

  test('top-3 with --crop: .npy [3, 3, 224, 224] and a sheet of (projection | patch) pairs', async () => {
    const r = await zfVis('project', '--model', 'alexnet', '--image', 'img.png', '--layer', 'conv2', '--map', '7',
      '--keep', 'top-3', '--crop', '--out', 'r3.npy', '--png', 'sheet.png', '--patch', 'patches.png', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.keep).toBe('top-3');
    expect(info.units).toHaveLength(3);
    expect(info.boxes).toEqual(info.units.map((u: { box: Box }) => u.box));
    const values = info.units.map((u: { value: number }) => u.value);
    expect(values[0]).toBeGreaterThanOrEqual(values[1]);
    expect(values[1]).toBeGreaterThanOrEqual(values[2]);
    expect(npy('r3.npy').shape).toEqual([3, 3, 224, 224]);
    // Pairs: box width + 2 + box width by box height; cells as large as the largest pair,
    // 2 columns (ceil(sqrt(3))), 8 px between cells.
    const boxes = info.boxes as Box[];
    const cellW = Math.max(...boxes.map((b) => 2 * (b.x1 - b.x0) + 2));
    const cellH = Math.max(...boxes.map((b) => b.y1 - b.y0));
    expect(png('sheet.png')).toEqual({ width: 2 * cellW + 8, height: 2 * cellH + 8 });
    const patchW = Math.max(...boxes.map((b) => b.x1 - b.x0));
    expect(png('patches.png')).toEqual({ width: 2 * patchW + 8, height: 2 * cellH + 8 });
  });

  test('one position, guided, heatmap: human output lists the unit and its box', async () => {
    const r = await zfVis('project', '--model', 'alexnet', '--image', 'img.png', '--layer', 'conv1', '--map', '3',
      '--keep', '20,30', '--mode', 'guided', '--heatmap', '--crop', '--out', 'g.npy', '--png', 'g.png');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('conv1 relu map 3 of alexnet (guided, keep 20,30): shape [1, 3, 224, 224] -> g.npy');
    // alexnet conv1: 11 x 11, stride 4, pad 2, so unit (20, 30) sees rows 78-88, columns 118-128.
    expect(lines[1]).toMatch(/^ {2}unit 20,30 {2}value -?[\d.e+-]+ {2}box rows 78-88, columns 118-128$/);
    expect(lines[2]).toBe('picture -> g.png');
    expect(npy('g.npy').shape).toEqual([1, 3, 224, 224]);
    expect(png('g.png')).toEqual({ width: 11, height: 11 });
  });
});

describe('help', () => {
  test('project --help and zf-vis --help mention the command', async () => {
    const [cmd, global] = await Promise.all([zfVis('project', '--help'), zfVis('--help')]);
    expect(cmd.code).toBe(0);
    for (const option of ['--map', '--keep', '--mode', '--png', '--patch', '--crop', '--heatmap', '--image-index']) {
      expect(cmd.stdout).toContain(option);
    }
    expect(global.stdout).toMatch(/^ {2}project /m);
  });
});

describe.concurrent('bad usage: exit 2, one line, no stack trace, before the model loads', () => {
  const base = ['project', '--model', 'alexnet', '--input', 'x.npy', '--layer', 'conv5', '--out', 'o.npy'];
  const cases: [string, string[], RegExp][] = [
    ['map out of range', [...base, '--map', '256'], /map 256 is out of range: conv5 relu has 256 maps \(0-255\)/],
    ['negative map', [...base, '--map=-1'], /--map must be an integer from 0/],
    ['no --map', base, /project needs --map/],
    ['bad --keep', [...base, '--map', '1', '--keep', 'sideways'], /keep 'sideways' is not one of max, all, Y,X/],
    ['position outside the map', [...base, '--map', '1', '--keep', '13,0'], /position 13,0 is outside map 1 of conv5 relu, which is 13x13/],
    ['top-K larger than the map', [...base, '--map', '1', '--keep', 'top-170'], /top-170 is out of range for map 1 of conv5 relu: it has 169/],
    ['unknown mode', [...base, '--map', '1', '--mode', 'dream'], /--mode must be one of deconvnet, guided, gradient; got 'dream'/],
    ['--heatmap without --png', [...base, '--map', '1', '--heatmap'], /--heatmap draws the --png picture/],
    ['--crop without a picture', [...base, '--map', '1', '--crop'], /--crop crops the pictures/],
    ['--image-index past the batch', [...base, '--map', '1', '--image-index', '1'], /--image-index 1 is out of range: x\.npy holds 1 image/],
    ['unknown layer', ['project', '--input', 'x.npy', '--layer', 'conv9', '--map', '0', '--out', 'o.npy'], /unknown layer 'conv9'/],
    ['unwritable --png', [...base, '--map', '1', '--png', 'no/such/dir/r.png'], /cannot write no\/such\/dir\/r\.png/],
  ];
  test.each(cases)('%s', async (_, args, message) => {
    expectUsageError(await zfVis(...args), message);
  });
});
