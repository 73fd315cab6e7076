// The paper-geometry ZFNet at full size (62.4 M parameters, a 238 MB ONNX file), imported once
// from disk and once from bytes, each in a fresh process (bench/onnx-load.mjs, on the built
// dist/): peak memory must stay near the model's memory (from disk: the weights go from the file
// straight into it) or the file plus the model's memory (from bytes), and the output must equal
// the original model's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const MB = 2 ** 20;
const script = fileURLToPath(new URL('../../bench/onnx-load.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

test('full-size ZFNet from ONNX: peak RSS near the arena (path) or file + arena (bytes)', () => {
  expect(existsSync(dist), 'run npm run build first').toBe(true);
  const r = spawnSync(process.execPath, [script, '--json'], { encoding: 'utf8', timeout: 230_000 });
  expect(r.status, r.stderr).toBe(0);
  const rows = JSON.parse(r.stdout.trim().split('\n').pop()!) as
    { mode: string; file: number; idle: number; peakRss: number; arena: number; seconds: number; same: boolean }[];
  for (const row of rows) {
    const grew = row.peakRss - row.idle;
    console.log(`full-size ZFNet, ${row.mode}: file ${(row.file / MB).toFixed(0)} MB, arena ${(row.arena / MB).toFixed(0)} MB, ` +
      `peak RSS ${(row.peakRss / MB).toFixed(0)} MB (${(grew / MB).toFixed(0)} MB above a process that only imported the engine), ` +
      `${row.seconds.toFixed(2)} s`);
    expect(row.same).toBe(true);
    expect(row.file).toBeGreaterThan(230 * MB);
    const bound = row.mode === 'path' ? row.arena : row.arena + row.file;
    expect(grew).toBeLessThan(bound + 48 * MB);
  }
}, 240_000);
