// zf-vis scan: in process on a tiny ONNX model and a folder of PNGs (no build needed), and once
// as users run it (`node cli/zf-vis.js`, needs `npm run build`) on two worker threads.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectUsageError, workspace, zfVis } from './analysis-cli-helpers.js';
import { decodeImage } from '../../src/io/image-node.js';
import { preprocessImage } from '../../src/io/preprocess.js';
import { loadModel, scanDataset, scanIndex } from '../../src/index.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => { ws = await workspace(7); });
afterAll(() => ws?.cleanup());

const png = (path: string) => decodeImage(readFileSync(path), path);

/** The engine's scan of the same images, for comparison. */
async function reference(layers: string[], maps: number[] | undefined, top: number) {
  const model = await loadModel(join(ws.dir, 'tiny.onnx'));
  const images = ws.images.map((path) => ({
    name: path, tensor: preprocessImage(png(path), model.network.input, 'caffe'),
  }));
  return JSON.parse(JSON.stringify(scanIndex(await scanDataset(model, images, { layers, maps, top, workers: 0, project: false }))));
}

describe('zf-vis scan', () => {
  test('--help', async () => {
    const r = await zfVis('scan', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis scan --model M --images DIR --layer conv5 --out DIR/);
  });

  test('sheets of --per-sheet maps and index.json equal to the engine\'s scan', async () => {
    const out = join(ws.dir, 'scan');
    const r = await zfVis('scan', '--model', join(ws.dir, 'tiny.onnx'), '--images', join(ws.dir, 'images'), '--layer', 'conv2',
      '--maps', '0-5', '--per-sheet', '4', '--workers', '1', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.images).toBe(7);
    expect(info.sheets).toEqual([
      { layer: 'conv2', maps: [0, 1, 2, 3], file: join(out, 'conv2-maps-000-003.png') },
      { layer: 'conv2', maps: [4, 5], file: join(out, 'conv2-maps-004-005.png') },
    ]);
    const ref = await reference(['conv2'], [0, 1, 2, 3, 4, 5], 9);
    expect(info.layers).toEqual(ref.layers);
    expect(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).layers).toEqual(ref.layers);
    // 7 images: each map keeps 7 units (one per image), drawn as a 3-column block.
    expect(info.layers[0].maps.every((m: { units: unknown[] }) => m.units.length === 7)).toBe(true);
    const first = png(info.sheets[0].file), second = png(info.sheets[1].file);
    expect(first.width).toBeGreaterThan(0);
    expect(second.width).toBeLessThanOrEqual(first.width);
  });

  test('the human summary', async () => {
    const r = await zfVis('scan', '--model', join(ws.dir, 'tiny.onnx'), '--images', ws.images.slice(0, 3).join(','),
      '--layer', 'conv1', '--top', '2', '--all-positions', '--workers', '1', '--out', join(ws.dir, 's2'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^scan of .*tiny\.onnx: 3 images, top 2 per map \(every position\), deconvnet/);
    expect(r.stdout).toMatch(/conv1 relu: 6 maps; strongest: map \d+ = [\d.e+-]+ at \d+,\d+ of /);
    expect(r.stdout).toMatch(/sheets -> .*s2\/conv1\.png/);
  });

  test('bad usage fails before loading the model, in one line', async () => {
    const m = join(ws.dir, 'tiny.onnx');
    const dir = join(ws.dir, 'images');
    const cases: [string[], RegExp][] = [
      [['--layer', 'conv2', '--out', 'o'], /scan needs --images/],
      [['--images', dir, '--out', 'o'], /scan needs --layer/],
      [['--images', dir, '--layer', 'conv2'], /scan needs --out/],
      [['--images', dir, '--layer', 'conv2', '--maps', '2-9', '--out', 'o'], /map 8 is out of range: conv2 relu has 8 maps/],
      [['--images', dir, '--layer', 'conv3', '--out', 'o'], /unknown layer 'conv3'/],
      [['--images', dir, '--layer', 'conv2', '--mode', 'magic', '--out', 'o'], /--mode must be one of deconvnet, guided, gradient/],
      [['--images', join(ws.dir, 'nowhere'), '--layer', 'conv2', '--out', 'o'], /cannot read .*nowhere/],
    ];
    for (const [args, message] of cases) expectUsageError(await zfVis('scan', '--model', m, ...args), message);
  });
});

describe('zf-vis scan as a process, on 2 workers', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  test('two layers: a sheet each, the same kept units as in process', async () => {
    const out = join(ws.dir, 'w');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'cli', 'zf-vis.js'), 'scan', '--model', join(ws.dir, 'tiny.onnx'),
        '--images', join(ws.dir, 'images'), '--layer', 'conv1,conv2', '--top', '4', '--batch', '3', '--workers', '2',
        '--out', out, '--json'],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout);
    expect(info.sheets.map((s: { file: string }) => s.file)).toEqual([join(out, 'conv1.png'), join(out, 'conv2.png')]);
    expect(info.layers).toEqual((await reference(['conv1', 'conv2'], undefined, 4)).layers);
    for (const s of info.sheets) expect(png(s.file).width).toBeGreaterThan(0);
  });
});
