// <zf-visualizer> opens an ONNX model from the user's disk ("Open model…"): the file is loaded in
// the worker, the element shows it and projects with it; a broken file is refused with the
// file's name; naming a model again replaces the file.
import { afterAll, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { deep, mount, next, unmountAll } from './fixtures/zf.js';
import type { ModelInfo } from '../../src/worker/protocol.js';

afterAll(() => unmountAll());

test('a model file picked with "Open model…" replaces the named model, and a name replaces the file', async () => {
  const el = mount({ model: 'zfnet-mini' });
  await next(el, 'zf-projection-shown');
  const errors: { stage: string; name: string; message: string }[] = [];
  el.addEventListener('zf-error', (e) => errors.push(e.detail));

  const bytes = await (await fetch('/test/fixtures/tiny-caffe.onnx')).arrayBuffer();
  const input = deep<HTMLInputElement>(el, 'input[data-role="model-file"]');
  expect(deep(el, 'button[part="open-model"]').getAttribute('aria-label')).toBe('Open an ONNX model file');
  let loaded = next<ModelInfo>(el, 'zf-model-loaded');
  let shown = next(el, 'zf-projection-shown');
  await userEvent.upload(input, new File([bytes], 'tiny-caffe.onnx'));
  const info = await loaded;
  await shown;
  expect(info.source).toBe('file');
  expect(el.modelInfo).toBe(info);
  expect(el.model).toBe('zfnet-mini'); // the attribute is left as it was; the file wins while set
  expect(deep(el, '[data-role="model"]').textContent).toContain(info.name);
  expect(errors).toEqual([]);

  // A broken file: a typed error naming the file, shown in the element.
  const failed = next<{ stage: string; name: string; message: string }>(el, 'zf-error');
  await userEvent.upload(input, new File([new Uint8Array([8, 1, 18, 3, 1, 2])], 'broken.onnx'));
  const error = await failed;
  expect(error.stage).toBe('model');
  expect(error.name).toBe('ModelFormatError');
  await el.updateComplete;
  expect(deep(el, '[role="alert"]').textContent).toContain('Could not load the model “broken.onnx”');

  // Naming a model again: the file is dropped and the named model loads.
  loaded = next<ModelInfo>(el, 'zf-model-loaded');
  shown = next(el, 'zf-projection-shown');
  el.model = 'alexnet';
  expect((await loaded).name).toMatch(/alexnet/i);
  await shown;
  expect(el.modelFile).toBeUndefined();
});
