// <zf-visualizer> with no attributes: the shipped default model (zfnet-mini, Fashion-MNIST) and
// its samples. Skipped while the model's files are not in models/zfnet-mini/ (before training).
import { afterAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { deep, deepAll, mount, next, nonGrey, pixels, recordMainThread, unmountAll } from './fixtures/zf.js';

const available = (await fetch('/models/zfnet-mini/manifest.json').catch(() => undefined))?.ok ?? false;

interface Shown { layer: string; map: number; mode: string; units: number; workerMs: number; sinceModelSet?: number }

afterAll(() => unmountAll());

test.runIf(available)('the default model opens on a sample, classifies it right and shows its projection', async () => {
  const mainThread = await recordMainThread();
  const el = mount();
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  const changed = next<{ name: string; top: { label: string; probability: number }[] }>(el, 'zf-image-changed');
  const shown = await next<Shown>(el, 'zf-projection-shown');
  const record = await mainThread.stop();
  const first = await changed;
  console.log(`zfnet-mini: model set -> first projection shown ${shown.sinceModelSet?.toFixed(0)} ms ` +
    `(projection ${shown.workerMs.toFixed(0)} ms in the worker); longest main-thread task ${record.longestCpu.toFixed(0)} ms CPU (${record.longestWall.toFixed(0)} ms wall); ` +
    `${first.name}: ${first.top[0].label} ${(first.top[0].probability * 100).toFixed(1)}%`);
  expect(el.model).toBe('zfnet-mini');
  expect(el.modelInfo?.input).toEqual([1, 28, 28]);
  expect(first.name).toBe('Ankle boot 1');
  expect(first.top[0].label).toMatch(/ankle.?boot/i);
  expect(deep(el, 'zf-class-bars', 'li:first-child .label').textContent).toMatch(/ankle.?boot/i);
  expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(10);
  expect(record.longestCpu).toBeLessThanOrEqual(50);

  // Another known sample.
  const trouser = next<{ top: { label: string }[] }>(el, 'zf-image-changed');
  await userEvent.click(deep(el, 'zf-image-input', 'button.sample[title="Trouser 1"]'));
  expect((await trouser).top[0].label).toMatch(/trouser/i);
  await next<Shown>(el, 'zf-projection-shown');
  // Back to the ankle boot for the picture.
  const back = next<Shown>(el, 'zf-projection-shown');
  await userEvent.click(deepAll(el, ['zf-image-input'], 'button.sample')[0]);
  await back;
  expect(errors).toEqual([]);
  el.scrollIntoView();
  await page.screenshot({ element: el, path: '../../test-results/zf-visualizer-zfnet-mini.png' });
});
