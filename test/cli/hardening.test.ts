// Issue 14, items 1, 6 and two of 9, on the real zf-vis command (`node cli/zf-vis.js`, needs the
// build) and on the Node file reader under it (src/models/sources.ts):
// - device files, directories and FIFOs are refused by stat before they are opened (a FIFO with
//   no writer must not block: every run here has a hard timeout), files over a kind's size cap
//   too; the memory never grows with what a device would give;
// - a reader that closes stdout early ends the CLI quietly (exit 0, no stack trace);
// - a repeated option is refused, naming it;
// - occlude refuses a grid of more than MAX_POSITIONS positions unless --yes, and prints the count.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectUsageError, root, type Result } from '../helpers/cli.js';
import { encodeNpy } from '../../src/io/npy.js';
import { encodePng } from '../../src/io/image-node.js';
import { ArgumentError } from '../../src/errors.js';
import { LOCAL_FILE_LIMITS, openLocalFile, readLocalFile } from '../../src/models/sources.js';
import { MAX_POSITIONS } from '../../cli/commands/occlude.js';
import { writeOnnx, zfVis as zfVisInProcess } from '../analyses/analysis-cli-helpers.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';

const bin = join(root, 'cli', 'zf-vis.js');
let dir = '';
let fifo = '';

/** The real CLI with a hard timeout: a run that blocks or grows is killed and fails the test. */
function zfVis(...args: string[]): Promise<Result & { ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 15_000, killSignal: 'SIGKILL', maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - t0 });
      });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-hardening-'));
  fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  execFileSync('mkfifo', [join(dir, 'pipe.npy')]);
  execFileSync('mkfifo', [join(dir, 'pipe.onnx')]);
  fs.mkdirSync(join(dir, 'folder.png'));
  const w = 40, h = 30, rgba = new Uint8Array(w * h * 4).fill(200);
  writeFileSync(join(dir, 'img.png'), encodePng({ width: w, height: h, data: rgba }));
  writeFileSync(join(dir, 'x.npy'), encodeNpy({ shape: [1, 1, 28, 28], data: new Float32Array(784) }));
  // Sparse files just over the caps (no disk space used): refused by their size alone.
  writeFileSync(join(dir, 'huge.png'), '');
  truncateSync(join(dir, 'huge.png'), LOCAL_FILE_LIMITS.image + 1);
  writeFileSync(join(dir, 'huge.npy'), '');
  truncateSync(join(dir, 'huge.npy'), LOCAL_FILE_LIMITS.npy + 1);
  writeFileSync(join(dir, 'huge.onnx'), '');
  truncateSync(join(dir, 'huge.onnx'), LOCAL_FILE_LIMITS.model + 1);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('item 1: paths that are not regular files, or too large', () => {
  const cases: [string, string[], RegExp][] = [
    ['classify --image /dev/zero', ['classify', '--image', '/dev/zero'], /cannot read \/dev\/zero: it is a character device, not a file/],
    ['classify --image /dev/urandom', ['classify', '--image', '/dev/urandom'], /cannot read \/dev\/urandom: it is a character device/],
    ['forward --input /dev/zero', ['forward', '--input', '/dev/zero', '--layer', 'conv1', '--out', 'a.npy'], /cannot read \/dev\/zero: it is a character device/],
    ['--model /dev/zero (was "it is a directory")', ['classify', '--model', '/dev/zero', '--image', 'img.png'], /cannot read \/dev\/zero: it is a character device, not a file \(a model/],
    ['classify --image FIFO', ['classify', '--image', 'pipe.png'], /cannot read pipe\.png: it is a FIFO/],
    ['classify --input FIFO', ['classify', '--input', 'pipe.npy'], /cannot read pipe\.npy: it is a FIFO/],
    ['--model FIFO', ['classify', '--model', 'pipe.onnx', '--image', 'img.png'], /cannot read pipe\.onnx: it is a FIFO/],
    ['scan --images FIFO', ['scan', '--images', 'pipe.png', '--layer', 'conv2', '--out', 'o'], /cannot read pipe\.png: it is a FIFO/],
    ['scan --images a list with a FIFO', ['scan', '--images', 'img.png,pipe.png', '--layer', 'conv2', '--out', 'o'], /cannot read pipe\.png: it is a FIFO/],
    ['occlude --image FIFO', ['occlude', '--image', 'pipe.png', '--size', '8', '--stride', '8', '--out', 'o.npy'], /cannot read pipe\.png: it is a FIFO/],
    ['--image a directory', ['classify', '--image', 'folder.png'], /cannot read folder\.png: it is a directory/],
    ['--image over the image cap', ['classify', '--image', 'huge.png'], /cannot read huge\.png: it is 256 MiB, over the 256 MiB limit for an image/],
    ['--input over the .npy cap', ['classify', '--input', 'huge.npy'], /cannot read huge\.npy: it is 1024 MiB, over the 1024 MiB limit for a \.npy tensor/],
    ['--model over the model cap', ['classify', '--model', 'huge.onnx', '--image', 'img.png'], /cannot read huge\.onnx: it is 2048 MiB, over the 2048 MiB limit for a model/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const r = await zfVis(...args);
      expectUsageError(r, message);
      console.log(`${name}: refused in ${r.ms.toFixed(0)} ms`);
      expect(r.ms).toBeLessThan(10_000);
    }, 20_000);
  }
});

describe('item 1: the Node reader (src/models/sources.ts)', () => {
  test('refuses devices, directories and FIFOs with an ArgumentError naming the path, without blocking', () => {
    for (const [path, what] of [['/dev/zero', 'character device'], ['/dev/urandom', 'character device'], [dir, 'directory'],
      [fifo, 'FIFO']] as const) {
      for (const kind of ['image', 'npy', 'model'] as const) {
        let error: unknown;
        try { readLocalFile(fs, path, kind); } catch (e) { error = e; }
        expect(error).toBeInstanceOf(ArgumentError);
        expect((error as Error).message).toContain(`cannot read ${path}: it is a`);
        expect((error as Error).message).toContain(what);
      }
    }
  });

  test('a file over the cap given is refused before any byte is read; under it, read whole', () => {
    const path = join(dir, 'small.bin');
    writeFileSync(path, new Uint8Array(1000).map((_, i) => i & 255));
    expect(() => readLocalFile(fs, path, 'image', 999)).toThrow(/small\.bin: it is 0\.001 MiB, over the 0\.001 MiB limit for an image/);
    expect(Array.from(readLocalFile(fs, path, 'image', 1000).subarray(995))).toEqual([227, 228, 229, 230, 231]);
    const { fd, size } = openLocalFile(fs, path, 'model');
    fs.closeSync(fd);
    expect(size).toBe(1000);
    expect(() => readLocalFile(fs, join(dir, 'missing.png'), 'image')).toThrow(/cannot read .*missing\.png: no such file or directory/);
  });

  test('the caps', () => {
    expect(LOCAL_FILE_LIMITS).toEqual({ image: 256 * 2 ** 20, npy: 2 ** 30, model: 2 ** 31 });
  });
});

describe('item 6: a closed stdout pipe', () => {
  test('classify --top 1000 --json into a reader that closes after 10 bytes: exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [bin, 'classify', '--model', 'zfnet', '--image', 'img.png', '--top', '1000', '--json'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', got = 0;
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.stdout.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 10) child.stdout.destroy(); // as `head -c 10` does
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('exit', (c, s) => resolve([c, s]));
    });
    clearTimeout(timer);
    console.log(`closed pipe: exit ${code}${signal ? ` (${signal})` : ''}, ${got} bytes read, stderr ${JSON.stringify(stderr)}`);
    expect(got).toBeGreaterThanOrEqual(10);
    expect(stderr).not.toMatch(/EPIPE|\n\s+at |Error/);
    expect(stderr).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
  }, 90_000);
});

describe('item 9: a repeated option', () => {
  test.concurrent.each([
    [['classify', '--top', '3', '--top', '4', '--image', 'img.png'], /option --top is given more than once; give it once \(see zf-vis classify --help\)/],
    [['classify', '-m', 'zfnet', '--model', 'alexnet', '--image', 'img.png'], /option --model is given more than once \(as -m and --model\)/],
    [['classify', '--json', '--json', '--image', 'img.png'], /option --json is given more than once/],
    [['forward', '--layer', 'conv1', '--layer=conv2', '--input', 'x.npy', '--out', 'a.npy'], /option --layer is given more than once; give it once \(see zf-vis forward --help\)/],
    [['occlude', '--size', '8', '--size', '4', '--stride', '8', '--image', 'img.png', '--out', 'o.npy'], /option --size is given more than once/],
  ])('%j', async (args, message) => {
    expectUsageError(await zfVis(...(args as string[])), message as RegExp);
  }, 20_000);
});

describe('item 9: occlude with a huge grid', () => {
  test(`zfnet --size 1 --stride 1 (50,176 positions) is refused with the estimate, before the model loads`, async () => {
    const r = await zfVis('occlude', '--model', 'zfnet', '--image', 'img.png', '--size', '1', '--stride', '1', '--out', 'o.npy');
    expectUsageError(r, /--size 1 --stride 1 on zfnet's 224 x 224 input is 224 x 224 = 50,176 positions, .*over 10,000: give --yes to run it/);
    console.log(`occlude 50,176 positions: refused in ${r.ms.toFixed(0)} ms`);
    expect(r.ms).toBeLessThan(10_000);
  }, 20_000);

  test('--yes runs it and prints the count on stderr first; a grid at the bound runs without --yes', async () => {
    // A small network on a 104 x 104 input: --size 1 --stride 1 is 10,816 positions, over the bound.
    const network = {
      name: 'wide', input: [3, 104, 104] as [number, number, number], preprocess: 'caffe' as const,
      ops: [conv(4, 5, 4, 2), { kind: 'relu' } as const, maxpool(2, 2), { kind: 'flatten' } as const, dense(10), { kind: 'softmax' } as const],
    };
    const model = join(dir, 'wide.onnx');
    await writeOnnx(model, network, 3);
    expect(104 * 104).toBeGreaterThan(MAX_POSITIONS);
    const refused = await zfVisInProcess('occlude', '--model', model, '--image', join(dir, 'img.png'), '--size', '1', '--stride', '1',
      '--out', join(dir, 'w.npy'), '--workers', '1');
    expectUsageError(refused, /104 x 104 = 10,816 positions/);
    const r = await zfVisInProcess('occlude', '--model', model, '--image', join(dir, 'img.png'), '--size', '1', '--stride', '1',
      '--out', join(dir, 'w.npy'), '--workers', '1', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("zf-vis: occlude: --size 1 --stride 1 on wide's 104 x 104 input is 104 x 104 = 10,816 positions, " +
      'each an occluded image through the network\n');
    expect(JSON.parse(r.stdout).grid).toMatchObject({ rows: 104, cols: 104 });
    // 100 x 100 = 10,000 positions (stride 1, size 5): at the bound, no --yes needed, nothing on stderr.
    const atBound = await zfVisInProcess('occlude', '--model', model, '--image', join(dir, 'img.png'), '--size', '5', '--stride', '1',
      '--out', join(dir, 'b.npy'), '--workers', '1', '--json');
    expect(atBound.code, atBound.stderr).toBe(0);
    expect(atBound.stderr).toBe('');
    expect(JSON.parse(atBound.stdout).grid).toMatchObject({ rows: 100, cols: 100 });
  }, 120_000);
});
