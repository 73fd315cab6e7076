// test/fixtures/tiny-caffe.onnx (served to the browser tests) is exactly tinyCaffe() from
// test/onnx/builder.ts. Regenerate after changing either: UPDATE_FIXTURES=1 npx vitest run test/onnx/fixtures.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { readOnnx } from '../../src/index.js';
import { buildOnnx, tinyCaffe } from './builder.js';

const file = fileURLToPath(new URL('../fixtures/tiny-caffe.onnx', import.meta.url));

test('test/fixtures/tiny-caffe.onnx is tinyCaffe()', async () => {
  const bytes = buildOnnx(tinyCaffe());
  if (process.env.UPDATE_FIXTURES) writeFileSync(file, bytes);
  expect(Buffer.from(readFileSync(file)).equals(Buffer.from(bytes)), 'regenerate with UPDATE_FIXTURES=1').toBe(true);
  const imported = readOnnx(bytes);
  expect(imported.network.preprocess).toBe('caffe');
  expect(imported.network.ops.map((op) => op.kind)).toEqual(['conv', 'relu', 'lrn', 'maxpool', 'flatten', 'dense', 'softmax']);
});
