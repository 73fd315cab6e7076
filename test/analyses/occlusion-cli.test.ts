// zf-vis occlude: in process on a tiny ONNX model (no build needed), and once as users run it
// (`node cli/zf-vis.js`, which needs `npm run build`) on two worker threads.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectUsageError, workspace, zfVis } from './analysis-cli-helpers.js';
import { decodeImage } from '../../src/io/image-node.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { preprocessImage } from '../../src/io/preprocess.js';
import { loadModel, occlusion } from '../../src/index.js';
import { Mulberry32 } from '../../src/models/init.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => {
  ws = await workspace(2);
  writeFileSync(join(ws.dir, 'x.npy'), encodeNpy({
    shape: [2, 3, 32, 32], data: new Mulberry32(3).fillUniform(new Float32Array(2 * 3 * 32 * 32), 100),
  }));
});
afterAll(() => ws?.cleanup());

const npy = (path: string) => parseNpy(readFileSync(path), path);

describe('zf-vis occlude', () => {
  test('--help', async () => {
    const r = await zfVis('occlude', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis occlude --model M \(--image I \| --input X\.npy\) --size 32 --stride 16 --out P\.npy/);
  });

  test('an image: the three maps as .npy equal the engine\'s, the picture, the JSON summary', async () => {
    const model = join(ws.dir, 'tiny.onnx');
    const out = join(ws.dir, 'p.npy');
    const r = await zfVis('occlude', '--model', model, '--image', ws.images[0], '--size', '8', '--stride', '5',
      '--out', out, '--png', join(ws.dir, 'p.png'), '--workers', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.grid).toMatchObject({ rows: 6, cols: 6, ys: [0, 5, 10, 15, 20, 25], height: 32, width: 32 });
    expect(info.files).toEqual({ probability: out, activation: join(ws.dir, 'p.activation.npy'), top: join(ws.dir, 'p.top.npy'), png: join(ws.dir, 'p.png') });
    expect(info.layer).toBe('conv2');
    expect(info.workers).toBe(0);
    const [p, a, t] = [npy(out), npy(info.files.activation), npy(info.files.top)];
    for (const m of [p, a, t]) expect(m.shape).toEqual([6, 6]);

    const engine = await loadModel(model);
    const input = preprocessImage(decodeImage(readFileSync(ws.images[0]), 'img'), engine.network.input, 'caffe');
    const ref = await occlusion(engine, input, { size: 8, stride: 5, naive: true });
    expect(info.classIndex).toBe(ref.classIndex);
    expect(info.map).toBe(ref.map);
    for (let i = 0; i < 36; i++) {
      expect(Math.abs(p.data[i] - ref.probability[i])).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(a.data[i] - ref.activation[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref.activation[i])));
      expect(t.data[i]).toBe(ref.top[i]);
    }
    // The picture: the image and the three maps over it, 32 px each, gap 4.
    const png = decodeImage(readFileSync(join(ws.dir, 'p.png')), 'p.png');
    expect([png.width, png.height]).toEqual([4 * 32 + 3 * 4, 32]);
    // Lowest probability position is reported with its box.
    let lowest = 0;
    ref.probability.forEach((v, i) => { if (v < ref.probability[lowest]) lowest = i; });
    expect([info.lowest.row, info.lowest.col]).toEqual([Math.floor(lowest / 6), lowest % 6]);
  });

  test('the human summary', async () => {
    const r = await zfVis('occlude', '--model', join(ws.dir, 'tiny.onnx'), '--input', join(ws.dir, 'x.npy'), '--image-index', '1',
      '--size', '12', '--stride', '10', '--fill', 'mean', '--class', '2', '--layer', 'conv1', '--point', 'pool', '--map', '4',
      '--out', join(ws.dir, 'q.npy'), '--workers', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^occlusion of .*tiny\.onnx: 3 x 3 positions of a 12 px square, stride 10/);
    expect(r.stdout).toMatch(/\(a\) class 2: probability [\d.e+-]+ unoccluded; lowest/);
    expect(r.stdout).toMatch(/\(b\) conv1 pool map 4: total/);
    expect(existsSync(join(ws.dir, 'q.top.npy'))).toBe(true);
  });

  test('bad usage fails before loading the model, in one line', async () => {
    const m = join(ws.dir, 'tiny.onnx');
    const img = ws.images[0];
    const cases: [string[], RegExp][] = [
      [['--image', img, '--stride', '4', '--out', 'p.npy'], /occlude needs --size/],
      [['--image', img, '--size', '4', '--stride', '0', '--out', 'p.npy'], /--stride must be an integer from 1 to 32/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.png'], /--out must name a \.npy file/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.npy', '--fill', 'grey'], /--fill must be zero, mean, a number or 3/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.npy', '--map', '3'], /--map needs --layer/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.npy', '--layer', 'conv2', '--map', '8'], /--map must be an integer from 0 to 7/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.npy', '--layer', 'conv7'], /unknown layer 'conv7'/],
      [['--image', img, '--size', '4', '--stride', '4', '--out', 'p.npy', '--class', '10'], /--class must be an integer from 0 to 9/],
      [['--size', '4', '--stride', '4', '--out', 'p.npy'], /occlude needs one of --image FILE or --input FILE\.npy/],
      [['--input', join(ws.dir, 'x.npy'), '--image-index', '2', '--size', '4', '--stride', '4', '--out', join(ws.dir, 'r.npy')],
        /--image-index 2 is out of range/],
    ];
    for (const [args, message] of cases) expectUsageError(await zfVis('occlude', '--model', m, ...args), message);
  });
});

// The real command, as users run it: needs dist/cli.js and dist/index.js (`npm run build`).
describe('zf-vis occlude as a process, on 2 workers', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  test('same maps as in process', async () => {
    const out = join(ws.dir, 'w.npy');
    const t0 = performance.now();
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'cli', 'zf-vis.js'), 'occlude', '--model', join(ws.dir, 'tiny.onnx'),
        '--input', join(ws.dir, 'x.npy'), '--size', '7', '--stride', '3', '--out', out, '--workers', '2', '--json'],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // Not a speed test: the process must end when the work is done. A pool worker's start that
    // was cancelled once kept it open for the 60 s ready timeout.
    expect(performance.now() - t0).toBeLessThan(30_000);
    const info = JSON.parse(r.stdout);
    // The pool workers that computed: 1 asked for beside this thread, 0 when this thread
    // finished the tiny model before the pool had started.
    expect(info.workers).toBeGreaterThanOrEqual(0);
    expect(info.workers).toBeLessThanOrEqual(1);
    const engine = await loadModel(join(ws.dir, 'tiny.onnx'));
    const x = npy(join(ws.dir, 'x.npy'));
    const ref = await occlusion(engine, x, { size: 7, stride: 3, naive: true });
    const p = npy(out);
    expect(p.shape).toEqual([ref.grid.rows, ref.grid.cols]);
    for (let i = 0; i < p.data.length; i++) expect(Math.abs(p.data[i] - ref.probability[i])).toBeLessThanOrEqual(1e-5);
  });
});
