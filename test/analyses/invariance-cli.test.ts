// zf-vis invariance, in process, on a tiny ONNX model: files written, JSON shape, table, bad usage.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectUsageError, workspace, zfVis } from './analysis-cli-helpers.js';

let ws: Awaited<ReturnType<typeof workspace>>;
beforeAll(async () => { ws = await workspace(1); });
afterAll(() => ws?.cleanup());

describe('zf-vis invariance', () => {
  test('--help and the command list', async () => {
    const r = await zfVis('invariance', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: zf-vis invariance --model M/);
    const all = await zfVis('--help');
    expect(all.stdout).toMatch(/invariance\s+feature distances/);
  });

  test('all kinds: JSON, three SVGs per kind plus the combined chart', async () => {
    const out = join(ws.dir, 'inv');
    const r = await zfVis('invariance', '--model', join(ws.dir, 'tiny.onnx'), '--image', ws.images[0], '--out', out,
      '--class', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.classIndex).toBe(3);
    expect(info.layers.map((l: { layer: string }) => l.layer)).toEqual(['conv1', 'fc3']);
    expect(info.sweeps.map((s: { kind: string }) => s.kind)).toEqual(['translate', 'scale', 'rotate']);
    // The paper's translation range scaled to 32 px: steps of 1, -6..6.
    expect(info.sweeps[0].amounts).toEqual([-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6]);
    expect(info.sweeps[0].distances[0][6]).toBe(0);
    for (const f of ['invariance.json', 'invariance.svg', 'invariance-translate.svg', 'invariance-scale.svg', 'invariance-rotate.svg']) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    expect(readFileSync(join(out, 'invariance.svg'), 'utf8')).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(join(out, 'invariance.json'), 'utf8')).sweeps).toHaveLength(3);
  });

  test('one kind with amounts, layers by name: the printed table', async () => {
    const r = await zfVis('invariance', '--model', join(ws.dir, 'tiny.onnx'), '--image', ws.images[0], '--out', join(ws.dir, 'inv2'),
      '--kind', 'rotate', '--amounts', '0,90,180', '--layers', 'conv2:pool,fc4:conv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rotation \(degrees\):/);
    expect(r.stdout).toMatch(/d\(conv2 pool\)\s+d\(fc4 conv\)\s+P\(class\)\s+top/);
    expect(r.stdout.split('\n').filter((l) => /^\s+(0|90|180)\s/.test(l))).toHaveLength(3);
  });

  test('bad usage: exit 2, one line', async () => {
    const model = join(ws.dir, 'tiny.onnx');
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0]), /needs --out/);
    expectUsageError(await zfVis('invariance', '--model', model, '--out', 'x'), /needs one of --image/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0], '--out', 'x', '--kind', 'shear'), /--kind must be one of/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0], '--out', 'x', '--amounts', '1,2'), /single --kind/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0], '--out', 'x', '--kind', 'scale', '--amounts', '1,0'), /> 0/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0], '--out', 'x', '--layers', 'conv9'), /unknown layer 'conv9'/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', ws.images[0], '--out', 'x', '--class', '10'), /--class must be an integer from 0 to 9/);
    expectUsageError(await zfVis('invariance', '--model', model, '--image', join(ws.dir, 'missing.png'), '--out', 'x'), /cannot read/);
    expectUsageError(await zfVis('invariance', '--model', 'nonet', '--image', ws.images[0], '--out', 'x'), /unknown model 'nonet'/);
  });
});
