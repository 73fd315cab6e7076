// The zf-vis command, run as users run it: `node cli/zf-vis.js ...` (needs `npm run build`, which
// `npm test` does first). Model loads cost seconds, so only three runs load one, in parallel;
// every bad-usage case fails before the weights load.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, expectUsageError, root } from '../helpers/cli.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { encodePng } from '../../src/io/image-node.js';

let dir = '';

const zfVis = (...args: string[]) => runCli(dir, ...args);


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-cli-'));
  const n = 3 * 224 * 224;
  const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.01));
  writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: [1, 3, 224, 224], data: x }));
  writeFileSync(join(dir, 'small.npy'), encodeNpy({ shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) }));
  const nan = x.slice();
  nan[1234] = NaN;
  writeFileSync(join(dir, 'nan.npy'), encodeNpy({ shape: [1, 3, 224, 224], data: nan }));
  writeFileSync(join(dir, 'corrupt.npy'), encodeNpy({ shape: [1, 3, 224, 224], data: x }).subarray(0, 5000));
  const w = 160, h = 120, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i % 251, (i >> 3) % 256, (i * 7) % 256, 255], i * 4);
  writeFileSync(join(dir, 'img.png'), encodePng({ width: w, height: h, data: rgba }));
  writeFileSync(join(dir, 'notes.txt'), 'not an image\n');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('runs that load a model', () => {
  test('classify --json on a .npy input (alexnet)', async () => {
    const r = await zfVis('classify', '--model', 'alexnet', '--input', 'x.npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe('alexnet');
    expect(['simd', 'scalar']).toContain(out.backend);
    expect(out.top).toHaveLength(5);
    const p = out.top.map((c: { probability: number }) => c.probability);
    for (let i = 1; i < p.length; i++) expect(p[i]).toBeLessThanOrEqual(p[i - 1]);
    expect(p.reduce((a: number, b: number) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    for (const c of out.top) {
      expect(Number.isInteger(c.index) && c.index >= 0 && c.index < 1000).toBe(true);
      expect(typeof c.label).toBe('string');
    }
  });

  test('classify a PNG with --top 3 (human output)', async () => {
    const r = await zfVis('classify', '--model', 'alexnet', '--image', 'img.png', '--top', '3', '--seed', '2');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^\s*\d+\.\d\d%\s+\d+\s+class \d+$/);
  });

  test('forward writes a .npy of the activation (alexnet conv5 relu -> [1, 256, 13, 13])', async () => {
    const r = await zfVis('forward', '--model', 'alexnet', '--input', 'x.npy', '--layer', 'conv5', '--out', 'a.npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.shape).toEqual([1, 256, 13, 13]);
    expect(info.point).toBe('relu');
    const t = parseNpy(readFileSync(join(dir, 'a.npy')), 'a.npy');
    expect(t.shape).toEqual([1, 256, 13, 13]);
    let min = Infinity, max = -Infinity, nonzero = 0;
    for (const v of t.data) { min = Math.min(min, v); max = Math.max(max, v); if (v !== 0) nonzero++; }
    expect(min).toBeGreaterThanOrEqual(0); // after ReLU
    expect(info.stats).toMatchObject({ min, max, nonzero, count: 256 * 13 * 13 });
  });
});

describe('help and version', () => {
  test('--help, <command> --help and --version print to stdout and exit 0', async () => {
    const [global, cmd, version] = await Promise.all([zfVis('--help'), zfVis('forward', '--help'), zfVis('--version')]);
    expect(global.code).toBe(0);
    expect(global.stdout).toMatch(/classify/);
    expect(global.stdout).toMatch(/forward/);
    expect(cmd.code).toBe(0);
    expect(cmd.stdout).toMatch(/--layer/);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(version.stdout.trim()).toBe(pkg.version);
  });
});

describe.concurrent('bad usage and bad input: exit 2, one line, no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /missing command/],
    ['unknown command', ['clasify'], /unknown command 'clasify'/],
    ['unknown option', ['classify', '--input', 'x.npy', '--frobnicate'], /unknown option --frobnicate/],
    ['option without its value', ['classify', '--input', 'x.npy', '--top'], /--top needs a value/],
    ['bad --top', ['classify', '--input', 'x.npy', '--top', 'five'], /--top must be an integer/],
    ['neither --image nor --input', ['classify'], /needs --image FILE or --input/],
    ['missing --image file', ['classify', '--image', 'missing.png'], /cannot read missing\.png: no such file/],
    ['a text file as --image', ['classify', '--image', 'notes.txt'], /notes\.txt is not a PNG or JPEG image/],
    ['corrupt .npy', ['classify', '--input', 'corrupt.npy'], /corrupt\.npy is not a valid \.npy file: the data is truncated/],
    ['wrong input shape', ['classify', '--model', 'alexnet', '--input', 'small.npy'], /small\.npy has shape \[1, 3, 32, 32\] but alexnet takes \[N, 3, 224, 224\]/],
    ['NaN in the input', ['classify', '--model', 'alexnet', '--input', 'nan.npy'], /nan\.npy holds NaN at flat index 1234/],
    ['unknown layer', ['forward', '--model', 'alexnet', '--input', 'x.npy', '--layer', 'conv9', '--out', 'o.npy'], /unknown layer 'conv9'.*conv5/],
    ['unknown point', ['forward', '--input', 'x.npy', '--layer', 'conv5', '--point', 'top', '--out', 'o.npy'], /--point must be one of conv, relu, pool, norm/],
    ['point a layer lacks', ['forward', '--model', 'alexnet', '--input', 'x.npy', '--layer', 'conv3', '--point', 'pool', '--out', 'o.npy'], /layer conv3 has no point 'pool'/],
    ['forward without --out', ['forward', '--input', 'x.npy', '--layer', 'conv5'], /forward needs --out/],
    ['unwritable --out', ['forward', '--input', 'x.npy', '--layer', 'conv5', '--out', 'no/such/dir/a.npy'], /cannot write no\/such\/dir\/a\.npy/],
    ['unknown model', ['classify', '--model', 'resnet', '--input', 'x.npy'], /unknown model 'resnet'/],
    ['bad --backend', ['classify', '--backend', 'gpu', '--input', 'x.npy'], /--backend must be one of simd, scalar/],
  ];
  test.each(cases)('%s', async (_, args, message) => {
    expectUsageError(await zfVis(...args), message);
  });
});
