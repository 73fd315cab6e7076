// ONNX models in a real browser (Chromium): loaded from a URL served by the test server (streamed,
// with progress), kept in Cache Storage, and loaded again with the network off (fetch failing);
// and loaded from a File the way a page's file picker gives it.
import { afterEach, expect, test } from 'vitest';
import { clearModelCache, FetchError, loadModel, MODEL_CACHE, type Model } from '../../src/index.js';

const url = new URL('../fixtures/tiny-caffe.onnx', import.meta.url).href;
const input = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i * 0.05)) };
const realFetch = globalThis.fetch;

afterEach(async () => {
  globalThis.fetch = realFetch;
  await clearModelCache();
});

const output = (m: Model) => m.forwardSync(input).output().data;

test('a model loaded once from a URL loads again with the network off', async () => {
  await clearModelCache();
  let fetches = 0;
  globalThis.fetch = (...args: Parameters<typeof fetch>) => { fetches += 1; return realFetch(...args); };
  const fractions: number[] = [];
  const first = await loadModel(url, { onProgress: (f) => fractions.push(f) });
  expect(fetches).toBe(1);
  expect(fractions.at(-1)).toBe(1);
  expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1])).toBe(true);
  expect(first.network.name).toBe('tiny-caffe');
  expect(first.network.preprocess).toBe('caffe');
  const cached = await (await caches.open(MODEL_CACHE)).match(url);
  expect(cached?.ok).toBe(true);

  // The network is off: every fetch fails.
  globalThis.fetch = () => Promise.reject(new TypeError('Failed to fetch (the network is off in this test)'));
  const second = await loadModel(url);
  expect(output(second)).toEqual(output(first));
  // Without the cache the same load fails, naming the URL.
  await expect(loadModel(url, { cache: false })).rejects.toThrow(FetchError);
  await expect(loadModel(url, { cache: false })).rejects.toThrow(/cannot download .*tiny-caffe\.onnx: Failed to fetch/);
  // Cleared from the cache: the network is needed again.
  await clearModelCache(url);
  await expect(loadModel(url)).rejects.toThrow(/not in the offline cache/);
});

test('a File from a file picker, and a cancelled download', async () => {
  const bytes = new Uint8Array(await (await realFetch(url)).arrayBuffer());
  const file = new File([bytes], 'my-model.onnx');
  const model = await loadModel(file);
  expect(model.network.name).toBe('my-model');
  const controller = new AbortController();
  controller.abort();
  await expect(loadModel(url, { signal: controller.signal })).rejects.toThrow(/cancelled/);
  const http404 = new URL('../fixtures/no-such-model.onnx', import.meta.url).href;
  await expect(loadModel(http404)).rejects.toThrow(/HTTP 404/);
  // A file that is not a model is not kept in the cache.
  const notModel = new URL('./onnx-cache.test.ts', import.meta.url).href;
  await expect(loadModel(notModel)).rejects.toThrow(/ModelProto|corrupt|not an ONNX/);
  expect(await (await caches.open(MODEL_CACHE)).match(notModel)).toBeUndefined();
});
