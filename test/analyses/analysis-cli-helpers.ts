// Shared by the analysis commands' CLI tests: run `main` in process (no build needed), capturing
// stdout, stderr and the exit status; tiny networks written as ONNX files; small PNG images.
import { vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.js';
import { Model, networkToOnnx, type Network } from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import { encodePng } from '../../src/io/image-node.js';

import type { Result } from '../helpers/cli.js';

/** The CLI's usage-error check, shared with the process-level CLI tests. */
export { expectUsageError } from '../helpers/cli.js';

export async function zfVis(...args: string[]): Promise<Result> {
  let stdout = '', stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true; });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const relu = { kind: 'relu' } as const;

/** A small RGB network (caffe preset, 32 x 32): conv1 5x5 with `stride`, conv2, fc3 (hidden), fc4. */
export function tinyNet(stride = 2, name = `tiny-s${stride}`): Network {
  return {
    name, input: [3, 32, 32], preprocess: 'caffe',
    ops: [conv(6, 5, stride, 2), relu, maxpool(2, 2), conv(8, 3, 1, 1), relu, maxpool(2, 2),
      { kind: 'flatten' }, dense(16), relu, dense(10), { kind: 'softmax' }],
  };
}

export async function writeOnnx(path: string, network: Network, seed: number): Promise<void> {
  const model = await Model.create(network);
  model.initWeights(seed);
  writeFileSync(path, networkToOnnx(network, (layer) => model.getWeights(layer)));
}

/** A w x h RGBA test picture, different per `k`. */
export function picture(k: number, w = 40, h = 36): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (x * 6 + k * 40) % 256;
      data[i + 1] = (y * 7 + ((x * k) % 50)) % 256;
      data[i + 2] = (128 + 100 * Math.sin((x + y * k) * 0.3)) | 0;
      data[i + 3] = 255;
    }
  }
  return { width: w, height: h, data };
}

/** A temporary folder with images/img-K.png (count of them) and tiny.onnx (+ tiny-s1.onnx). */
export async function workspace(count = 3): Promise<{ dir: string; images: string[]; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'zf-vis-analyses-'));
  const images: string[] = [];
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'images'));
  for (let k = 0; k < count; k++) {
    const path = join(dir, 'images', `img-${k}.png`);
    writeFileSync(path, encodePng(picture(k + 1)));
    images.push(path);
  }
  await writeOnnx(join(dir, 'tiny.onnx'), tinyNet(2, 'tiny'), 7);
  await writeOnnx(join(dir, 'tiny-s1.onnx'), tinyNet(1, 'tiny-s1'), 7);
  return { dir, images, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
