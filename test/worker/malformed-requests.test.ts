// What a page sends the worker is not trusted: malformed analysis requests (a null image entry,
// a list that is not one, a null or half-typed `compare`, an epoch that is an inherited key) are
// refused with an ArgumentError naming what is wrong, before any image is decoded or model loaded.
import { beforeAll, expect, test } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import type { Model } from '../../src/engine/model.js';
import { loadModel } from '../../src/models/load.js';
import type { AnalysisContext } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { HANDLERS } from '../../src/worker/handlers/index.js';

let mini: Model;
beforeAll(async () => { mini = await loadModel('zfnet-mini'); });

/** A context that fails the test if anything is decoded or loaded. */
function strictContext(): AnalysisContext & { touched: string[] } {
  const touched: string[] = [];
  return {
    touched, model: mini, info: { name: 'zfnet-mini', source: 'zfnet-mini' } as ModelInfo, signal: new AbortController().signal,
    progress: () => {},
    decode: async (_s, name) => { touched.push(`decode ${name}`); throw new Error('decoded'); },
    loadOther: async (source) => { touched.push(`load ${String(source)}`); throw new Error('loaded'); },
    checkpoint: async () => {},
  };
}

const ok = { source: 'https://example.org/a.png', name: 'a.png' };
const box = { y0: 0, x0: 0, y1: 4, x1: 4 };

test.each([
  ['previews', { images: [ok, null] }, /image 1 has no source/],
  ['previews', { images: 'a.png' }, /images must be a list .*got string/],
  ['scan', { images: [null] }, /image 0 has no source/],
  ['scan', { images: null }, /images must be a list .*got null/],
  ['correspondence', { images: [ok, 7], boxes: [box, box] }, /image 1 has no source/],
  ['evolution', { images: [undefined], features: [{ layer: 'conv1', map: 0 }], epochs: [1] }, /image 0 has no source/],
  ['diagnosis', { images: [{ name: 'x.png' }] }, /image 0 \(x\.png\) has no source/],
  ['diagnosis', { compare: null }, /compare must be \{ source/],
  ['diagnosis', { compare: { source: 'zfnet-mini', epoch: 1, label: 42 } }, /compare\.label must be text, got number/],
  ['diagnosis', { compare: { source: 'zfnet-mini', epoch: 'constructor' } }, /compare\.epoch must be a whole number, got constructor/],
  ['diagnosis', { compare: { source: 'zfnet-mini', epoch: 1.5 } }, /compare\.epoch must be a whole number, got 1\.5/],
] as const)('%s %j is refused', async (type, request, message) => {
  const context = strictContext();
  const handler = HANDLERS[type] as (c: AnalysisContext, r: unknown) => Promise<unknown>;
  const run = handler(context, { type, ...request });
  await expect(run).rejects.toThrow(ArgumentError);
  await expect(run).rejects.toThrow(message);
  expect(context.touched).toEqual([]);
});

test('an epoch that is an inherited key of the manifest is no snapshot', async () => {
  await expect(loadModel('zfnet-mini', { epoch: 'constructor' as unknown as number })).rejects.toThrow(/no snapshot for epoch constructor/);
});
