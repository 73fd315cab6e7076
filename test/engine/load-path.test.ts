// loadModel(path) in Node refuses what is not a regular file by stat, before opening it: a FIFO
// (which an open would block on for ever), a device, a directory; each an ArgumentError naming the path.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ArgumentError, loadModel } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'zf-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a FIFO, /dev/zero and a directory are refused by name, at once', async () => {
  const fifo = join(dir, 'model.onnx');
  execFileSync('mkfifo', [fifo]);
  for (const [path, why] of [[fifo, /a FIFO|a named pipe|fifo/i], ['/dev/zero', /character device/], [dir, /directory/]] as const) {
    const t0 = performance.now();
    const e = await loadModel(path).catch((x: unknown) => x);
    expect(e, path).toBeInstanceOf(ArgumentError);
    expect((e as Error).message).toContain(path);
    expect((e as Error).message).toMatch(why);
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}, 10_000);

test('an unknown name without a path is still "not a built-in architecture"', async () => {
  await expect(loadModel('resnet9000')).rejects.toThrow(/unknown model 'resnet9000': not a built-in architecture/);
});
