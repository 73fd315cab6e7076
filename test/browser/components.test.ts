// <zf-visualizer> in real Chromium: the worker-backed flow from model to projection, the
// selection by mouse and keyboard, errors shown in the element, cancellation, long tasks, and a
// screenshot of the main view (test-results/zf-visualizer.png).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { loadModel } from '../../src/index.js';
import { EngineClient } from '../../src/worker/client.js';
import type { ZfFeatureGrid, ZfVisualizer } from '../../components/index.js';
import type { ProjectResult } from '../../src/worker/protocol.js';
import {
  SAMPLES, TEST_MODEL, deep, deepAll, differing, mount, next, nonGrey, pixels, recordMainThread, unmountAll,
  type MainThreadRecord,
} from './fixtures/zf.js';

const describeTasks = (r: MainThreadRecord) => `longest task ${r.longestCpu.toFixed(0)} ms CPU ` +
  `(${r.longestWall.toFixed(0)} ms wall clock); Long Tasks API: ${r.longTasks.length} over 50 ms` +
  (r.longTasks.length ? `, longest ${Math.max(...r.longTasks).toFixed(0)} ms` : '');

/**
 * The main thread's budget for one task: 50 ms of CPU on a machine of this repository's reference
 * speed, in proportion on a slower (or loaded) one. The tasks are JavaScript on this thread, so
 * the speed is a fixed JavaScript workload's time here (the least of seven runs, so a busy moment
 * does not count) against its time in Chromium on the machine the budget was set on (19 ms,
 * 2 cores). Never below 50 ms: a faster machine keeps the 50 ms.
 */
const TASK_BUDGET = (() => {
  const REFERENCE_MS = 19;
  let best = Infinity, sink = 0;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    let s = 0;
    for (let i = 0; i < 5e6; i++) s += Math.sqrt(i + r);
    sink += s;
    best = Math.min(best, performance.now() - t0);
  }
  if (!Number.isFinite(sink)) throw new Error('unreachable');
  return 50 * Math.max(1, best / REFERENCE_MS);
})();

interface Shown { layer: string; map: number; mode: string; units: number; workerMs: number; sinceModelSet?: number }

const projectionCanvas = (el: ZfVisualizer) =>
  deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]');
const selectedOption = (el: ZfVisualizer) => deep(el, 'zf-feature-grid', '[role="option"][aria-selected="true"]');
/** Wait until the feature grid has rendered every thumbnail (it renders a slice per frame). */
async function gridComplete(el: ZfVisualizer) {
  const grid = deep<ZfFeatureGrid>(el, 'zf-feature-grid');
  await expect.poll(() => grid.complete, { timeout: 10_000 }).toBe(true);
  await grid.updateComplete;
}
const topLabel = (el: ZfVisualizer) => deep(el, 'zf-class-bars', 'li:first-child .label').textContent?.trim();

/** Decode a sample as the worker does, and classify it with the engine on this thread. */
async function referenceTop(url: string) {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  const model = await loadModel(TEST_MODEL, { seed: 1 });
  return (await model.forward({ width: bitmap.width, height: bitmap.height, data })).top(5);
}

describe('<zf-visualizer> with a built-in architecture', () => {
  let el: ZfVisualizer;
  let first: Shown;
  let firstPixels: Uint8ClampedArray;
  let load: MainThreadRecord;
  const errors: unknown[] = [];

  beforeAll(async () => {
    const mainThread = await recordMainThread();
    const t0 = performance.now();
    el = mount({ model: TEST_MODEL }, (e) => { e.samples = SAMPLES; });
    el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
    const loaded = next<{ name: string; backend: string; layers: unknown[] }>(el, 'zf-model-loaded');
    first = await next<Shown>(el, 'zf-projection-shown');
    const fromMount = performance.now() - t0;
    load = await mainThread.stop();
    const info = await loaded;
    console.log(`${TEST_MODEL}: model set -> first projection shown ${first.sinceModelSet?.toFixed(0)} ms ` +
      `(${fromMount.toFixed(0)} ms from mount; projection ${first.workerMs.toFixed(0)} ms in the worker); ` +
      `main thread: ${describeTasks(load)}`);
    expect(info.name).toBe(TEST_MODEL);
    firstPixels = pixels(projectionCanvas(el));
  });

  afterAll(() => unmountAll());

  test('the page\'s thread was never blocked over 50 ms from model set to first projection', () => {
    console.log(`main-thread task budget on this machine: ${TASK_BUDGET.toFixed(0)} ms CPU (50 ms at the reference speed)`);
    expect(load.longestCpu).toBeLessThanOrEqual(TASK_BUDGET);
  });

  test('opens on the first sample with classes, the last conv layer, its strongest map and a projection', async () => {
    expect(first).toMatchObject({ layer: 'conv5', mode: 'deconvnet', units: 9 });
    expect(el.modelInfo?.backend).toBe('simd');
    expect(deepAll(el, ['zf-class-bars'], 'li')).toHaveLength(5);
    expect(deep(el, 'zf-image-input', 'button.sample[aria-pressed="true"]').title).toBe(SAMPLES[0].label);
    // The strongest map is selected and first in the grid; every map of conv5 has a thumbnail.
    await gridComplete(el);
    const options = deepAll(el, ['zf-feature-grid'], '[role="option"]');
    expect(options).toHaveLength(256);
    expect(options[0].getAttribute('aria-selected')).toBe('true');
    expect(Number(options[0].dataset.map)).toBe(first.map);
    expect(el.activeMap).toBe(first.map);
    expect(nonGrey(firstPixels)).toBeGreaterThan(0);
    // Nine projection / patch pairs, every picture painted.
    const pairs = deepAll<HTMLImageElement>(el, ['zf-projection-view'], 'img[data-unit]');
    expect(pairs).toHaveLength(18);
    for (const img of pairs) {
      expect(img.complete).toBe(true);
      expect(img.naturalWidth).toBeGreaterThan(0);
      expect(img.naturalWidth).toBe(Number(img.getAttribute('width'))); // the receptive field's width, decoded
    }
    expect(deepAll(el, ['zf-filter-grid'], 'canvas')).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  test('choosing a sample classifies it: the rendered class is the engine\'s own answer', async () => {
    const sample = SAMPLES.find((s) => s.label === 'Bag 1')!;
    const changed = next<{ name: string; top: { label: string }[] }>(el, 'zf-image-changed');
    const shown = next<Shown>(el, 'zf-projection-shown');
    await userEvent.click(deep(el, 'zf-image-input', `button.sample[title="${sample.label}"]`));
    const detail = await changed;
    await shown;
    await el.updateComplete;
    const expected = await referenceTop(sample.url);
    expect(detail.name).toBe('Bag 1');
    expect(detail.top.map((t) => t.label)).toEqual(expected.map((t) => t.label));
    expect(topLabel(el)).toBe(expected[0].label);
    expect(deep(el, 'zf-image-input', 'button.sample[aria-pressed="true"]').title).toBe('Bag 1');
  });

  test('clicking a feature map projects it: non-blank, and different from another map', async () => {
    await gridComplete(el);
    const options = deepAll(el, ['zf-feature-grid'], '[role="option"]');
    const target = Number(options[3].dataset.map);
    const selection = next<{ layer: string; map: number; mode: string }>(el, 'zf-selection-changed');
    const shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === target);
    const mainThread = await recordMainThread();
    await userEvent.click(options[3]);
    expect(await selection).toEqual({ layer: 'conv5', map: target, mode: 'deconvnet' });
    await shown;
    const a = pixels(projectionCanvas(el));
    expect(el.getAttribute('map')).toBe(String(target));
    expect(Number(selectedOption(el).dataset.map)).toBe(target);

    const other = Number(options[1].dataset.map);
    const shown2 = next<Shown>(el, 'zf-projection-shown', (d) => d.map === other);
    await userEvent.click(options[1]);
    await shown2;
    const b = pixels(projectionCanvas(el));
    const record = await mainThread.stop();
    console.log(`projections of maps ${target} and ${other}: ${nonGrey(a)} and ${nonGrey(b)} non-grey pixels, ` +
      `${differing(a, b)} differ; main thread: ${describeTasks(record)}`);
    expect(nonGrey(a)).toBeGreaterThan(50);
    expect(nonGrey(b)).toBeGreaterThan(50);
    expect(differing(a, b)).toBeGreaterThan(50);
    expect(record.longestCpu).toBeLessThanOrEqual(TASK_BUDGET);
  });

  test('keyboard: arrows move through the maps, the layers and the modes', async () => {
    await gridComplete(el);
    const options = deepAll(el, ['zf-feature-grid'], '[role="option"]');
    const at = options.findIndex((o) => o.getAttribute('aria-selected') === 'true');
    options[at].focus();
    const nextMap = Number(options[at + 1].dataset.map);
    let shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === nextMap);
    await userEvent.keyboard('{ArrowRight}');
    await shown;
    expect(Number(selectedOption(el).dataset.map)).toBe(nextMap);
    expect(selectedOption(el).matches(':focus')).toBe(true);

    // Down moves by a whole row of the grid.
    const columns = options.findIndex((o) => o.offsetTop !== options[0].offsetTop);
    const below = Number(options[at + 1 + columns].dataset.map);
    shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === below);
    await userEvent.keyboard('{ArrowDown}');
    await shown;
    expect(Number(selectedOption(el).dataset.map)).toBe(below);

    const last = Number(options[options.length - 1].dataset.map);
    shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === last);
    await userEvent.keyboard('{End}');
    await shown;
    expect(Number(selectedOption(el).dataset.map)).toBe(last);

    // The mode radio group: arrow to "guided".
    deep<HTMLInputElement>(el, 'zf-projection-view', 'input[type="radio"]:checked').focus();
    shown = next<Shown>(el, 'zf-projection-shown', (d) => d.mode === 'guided');
    await userEvent.keyboard('{ArrowRight}');
    expect((await shown).map).toBe(last);
    expect(el.mode).toBe('guided');
    expect(el.getAttribute('mode')).toBe('guided');

    // The layer radio group: arrow back to conv4; its strongest map is projected.
    deep<HTMLInputElement>(el, 'zf-layer-picker', 'input[type="radio"]:checked').focus();
    shown = next<Shown>(el, 'zf-projection-shown', (d) => d.layer === 'conv4');
    await userEvent.keyboard('{ArrowLeft}');
    const conv4 = await shown;
    expect(el.layer).toBe('conv4');
    await gridComplete(el);
    expect(deepAll(el, ['zf-feature-grid'], '[role="option"]')).toHaveLength(256);
    expect(conv4.map).toBe(Number(selectedOption(el).dataset.map));
    expect(conv4.mode).toBe('guided');

    // Tab order reaches the controls: from the drop zone onwards, each stop is labelled.
    const zone = deep(el, 'zf-image-input', '[part="dropzone"]');
    zone.focus();
    await userEvent.tab();
    expect(deep(el, 'zf-image-input', 'button.choose').matches(':focus')).toBe(true);
  });

  test('a new selection cancels the outdated one: only the last projection is shown', async () => {
    const options = deepAll(el, ['zf-feature-grid'], '[role="option"]');
    const maps = [5, 6, 7, 8].map((i) => Number(options[i].dataset.map));
    const seen: number[] = [];
    const listener = (e: Event) => seen.push((e as CustomEvent<Shown>).detail.map);
    el.addEventListener('zf-projection-shown', listener);
    const shown = next<Shown>(el, 'zf-projection-shown', (d) => d.map === maps[3]);
    for (const i of [5, 6, 7, 8]) options[i].click();
    await shown;
    el.removeEventListener('zf-projection-shown', listener);
    expect(seen).toEqual([maps[3]]);
    expect(errors).toEqual([]);
  });

  test('the main view, as a screenshot (test-results/zf-visualizer.png)', async () => {
    el.layer = 'conv5';
    el.mode = 'deconvnet';
    el.map = -1;
    await next<Shown>(el, 'zf-projection-shown', (d) => d.layer === 'conv5' && d.mode === 'deconvnet');
    el.scrollIntoView();
    const path = await page.screenshot({ element: el, path: '../../test-results/zf-visualizer.png' });
    expect(String(path)).toMatch(/zf-visualizer\.png$/);
  });

  test('a corrupt image dropped on the element shows a readable error', async () => {
    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7, 8])], 'corrupt.png', { type: 'image/png' });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    const failed = next<{ stage: string; name: string; message: string }>(el, 'zf-error');
    deep(el, 'zf-image-input', '[part="dropzone"]').dispatchEvent(
      new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true, composed: true }));
    const error = await failed;
    expect(error).toMatchObject({ stage: 'image', name: 'ImageDecodeError' });
    await el.updateComplete;
    const alert = deep(el, '[role="alert"]');
    expect(alert.textContent).toContain('Could not use this image');
    expect(alert.textContent).toContain('corrupt.png is not an image this browser can decode');
    errors.length = 0;

    // A good image afterwards clears it.
    const shown = next<Shown>(el, 'zf-projection-shown');
    await userEvent.click(deep(el, 'zf-image-input', `button.sample[title="${SAMPLES[1].label}"]`));
    await shown;
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).toBeNull();
  });
});

test('an unknown model is reported in the element, readably', async () => {
  const el = mount({ model: 'no-such-net' });
  const error = await next<{ stage: string; message: string }>(el, 'zf-error');
  expect(error.stage).toBe('model');
  await el.updateComplete;
  expect(deep(el, '[role="alert"]').textContent).toMatch(/Could not load the model “no-such-net”.*no-such-net/s);
  el.remove();

  // A file that is not a model: an image given as the model's URL.
  const bad = mount({ model: '/models/samples/bag-1.png' });
  const failed = await next<{ stage: string; name: string; message: string }>(bad, 'zf-error');
  expect(failed).toMatchObject({ stage: 'model', name: 'ModelFormatError' });
  await bad.updateComplete;
  expect(deep(bad, '[role="alert"]').textContent).toContain('Could not load the model “/models/samples/bag-1.png”');
  bad.remove();
});

test('the worker protocol: one reply per request, transfers, cancellation mid-projection', async () => {
  const worker = new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module' });
  const client = new EngineClient(worker);
  try {
    const progress: number[] = [];
    const info = await client.request({ type: 'load', source: TEST_MODEL }, { onProgress: (f) => progress.push(f) });
    expect(progress.at(-1)).toBe(1);
    expect(info.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    const pixelsIn = { width: 64, height: 48, data: new Uint8ClampedArray(64 * 48 * 4).map((_, i) => (i * 37) % 251) };
    const image = await client.request({ type: 'image', image: pixelsIn });
    expect(pixelsIn.data.byteLength).toBe(0); // transferred, not copied
    expect(image.input.width).toBe(224);
    const maps = await client.request({ type: 'maps', run: image.run, layer: 'conv2' });
    expect(maps.shape).toEqual([192, 27, 27]);
    expect(maps.sheet.type).toBe('image/png');
    const sheet = await createImageBitmap(maps.sheet);
    expect([sheet.width, sheet.height]).toEqual([maps.columns * 28 - 1, Math.ceil(192 / maps.columns) * 28 - 1]);

    // Cancelled once it is observably in flight (its first unit's progress), not after a time:
    // 15 units are left, and the worker looks at the cancel after each one.
    const controller = new AbortController();
    let t0 = 0;
    const cancelled = client.request({ type: 'project', run: image.run, layer: 'conv5', map: maps.order[0], mode: 'deconvnet', top: 16 },
      {
        signal: controller.signal,
        onProgress: () => {
          if (t0 !== 0) return;
          t0 = performance.now();
          controller.abort();
        },
      });
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(t0, 'the projection reported its first unit').toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(1000);
    // The worker stopped that job and goes on with the next one.
    const result: ProjectResult = await client.request({ type: 'project', run: image.run, layer: 'conv1', map: 0, mode: 'gradient', top: 2 });
    expect(result.units.length).toBeGreaterThanOrEqual(1);
    expect(client.inFlight).toBe(0);
    // Errors come back typed, one per request.
    await expect(client.request({ type: 'maps', run: image.run, layer: 'conv9' })).rejects.toMatchObject({ name: 'ArgumentError' });
    await expect(client.request({ type: 'maps', run: image.run + 1, layer: 'conv1' })).rejects.toMatchObject({ name: 'StaleRunError' });
  } finally {
    client.terminate();
  }
});
