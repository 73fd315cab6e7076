/** Running the built zf-vis command in tests, and the shape every usage error must have. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'cli', 'zf-vis.js');

export interface Result { code: number; stdout: string; stderr: string }

/** Run `node cli/zf-vis.js ...args` in `cwd`; never rejects, the exit code is in the result. */
export function runCli(cwd: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Exit 2, exactly one stderr line `zf-vis: ...` matching `message`, no stack trace, nothing on stdout. */
export function expectUsageError(r: Result, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^zf-vis: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}
