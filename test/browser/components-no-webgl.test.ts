// The whole <zf-visualizer> flow in a Chromium started with --disable-webgl --disable-webgl2
// (the `browser-no-webgl` project), with every request outside the page's own origin blocked:
// the element needs neither, and never asks for a WebGL context, in the page or in its worker.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { commands, userEvent } from 'vitest/browser';
import {
  SAMPLES, TEST_MODEL, deep, deepAll, mount, next, nonGrey, pixels, recordContexts, unmountAll,
} from './fixtures/zf.js';
import { spyWorker } from './fixtures/spy.js';

declare module 'vitest/browser' {
  interface BrowserCommands {
    blockNetwork(): Promise<void>;
    blockedRequests(): Promise<string[]>;
    pageOrigin(): Promise<string>;
  }
}

interface Shown { layer: string; map: number; mode: string; units: number }

const contexts = recordContexts();

beforeAll(async () => {
  await commands.blockNetwork();
});

afterAll(() => {
  contexts.restore();
  unmountAll();
});

test('this browser really has no WebGL', () => {
  const canvas = document.createElement('canvas');
  expect(canvas.getContext('webgl')).toBeNull();
  expect(canvas.getContext('webgl2')).toBeNull();
  contexts.types.length = 0; // those two were the test's own
});

test('the blocker works: a request to another origin is refused and recorded', async () => {
  await commands.blockedRequests();
  await expect(fetch('https://example.com/zf-visualizer-probe.png')).rejects.toThrow();
  expect(await commands.blockedRequests()).toEqual(['https://example.com/zf-visualizer-probe.png']);
});

test('load, classify, browse maps and project with no WebGL and no network beyond the page', async () => {
  const spy = spyWorker();
  const el = mount({ model: TEST_MODEL }, (e) => {
    e.samples = SAMPLES;
    e.workerFactory = spy.factory;
  });
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  const first = await next<Shown>(el, 'zf-projection-shown');
  expect(first.units).toBeGreaterThan(0);
  const canvas = deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]');
  expect(nonGrey(pixels(canvas))).toBeGreaterThan(50);

  // Another sample, another layer, another map, another mode.
  let shown = next<Shown>(el, 'zf-projection-shown');
  await userEvent.click(deep(el, 'zf-image-input', `button.sample[title="${SAMPLES[5].label}"]`));
  await shown;
  shown = next<Shown>(el, 'zf-projection-shown', (d) => d.layer === 'conv2');
  await userEvent.click(deepAll(el, ['zf-layer-picker'], 'label')[1]);
  await shown;
  const option = deepAll(el, ['zf-feature-grid'], '[role="option"]')[2];
  shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === Number(option.dataset.map) && d.mode === 'gradient');
  await userEvent.click(option);
  await userEvent.click(deepAll(el, ['zf-projection-view'], 'label')[2]);
  await shown;
  expect(nonGrey(pixels(canvas))).toBeGreaterThan(50);
  expect(errors).toEqual([]);

  // What was asked for: 2D contexts only, in the page and in the worker.
  const inWorker = await spy.contexts();
  console.log(`canvas contexts requested: page ${JSON.stringify([...new Set(contexts.types)])}, worker ${JSON.stringify([...new Set(inWorker)])}`);
  expect(contexts.types.length).toBeGreaterThan(0);
  expect(inWorker.length).toBeGreaterThan(0);
  for (const type of [...contexts.types, ...inWorker]) expect(type).toMatch(/^(offscreen:)?2d$/);

  // Nothing left the page's origin.
  expect(await commands.blockedRequests()).toEqual([]);
});

test('an image on another origin is refused by the network, and the element says so', async () => {
  const el = mount({ model: TEST_MODEL, src: 'https://example.com/cat.png' }, (e) => { e.samples = []; });
  const error = await next<{ stage: string; message: string }>(el, 'zf-error');
  expect(error.stage).toBe('image');
  expect(error.message).toMatch(/could not download cat\.png/);
  await el.updateComplete;
  expect(deep(el, '[role="alert"]').textContent).toContain('could not download cat.png');
  // The worker's request went through the same blocker.
  expect(await commands.blockedRequests()).toEqual(['https://example.com/cat.png']);
  el.remove();
});
