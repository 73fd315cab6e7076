// The parts of <zf-visualizer> on their own, fed plain data: no worker, no model.
import { afterEach, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import '../../components/index.js';
import type { MapsResult } from '../../src/worker/protocol.js';
import { deep, deepAll, next } from './fixtures/zf.js';

afterEach(() => document.body.replaceChildren());

function place<K extends keyof HTMLElementTagNameMap>(tag: K, setup: (el: HTMLElementTagNameMap[K]) => void) {
  const el = document.createElement(tag);
  setup(el);
  document.body.append(el);
  return el;
}

async function png(width: number, height: number, fill = '#3060c0'): Promise<Blob> {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.fillStyle = fill;
  context.fillRect(0, 0, width, height);
  return canvas.convertToBlob({ type: 'image/png' });
}

test('<zf-class-bars>: one labelled meter per class, most probable first', async () => {
  const el = place('zf-class-bars', (e) => {
    e.scores = [{ index: 3, label: 'Dress', probability: 0.9 }, { index: 1, label: 'Trouser', probability: 0.0004 }];
  });
  await el.updateComplete;
  const meters = deepAll(el, [], '[role="meter"]');
  expect(meters.map((m) => m.getAttribute('aria-label'))).toEqual(['Dress', 'Trouser']);
  expect(meters.map((m) => m.getAttribute('aria-valuetext'))).toEqual(['90.0%', '<0.1%']);
  expect(deep(el, '[part="fill"]').style.width).toBe('90%');
});

test('<zf-layer-picker>: offers layers with maps only; arrow keys pick', async () => {
  const el = place('zf-layer-picker', (e) => {
    e.layers = [
      { name: 'conv1', kind: 'conv', points: ['conv', 'relu'], defaultPoint: 'relu', shape: [8, 12, 12] },
      { name: 'conv2', kind: 'conv', points: ['conv', 'relu'], defaultPoint: 'relu', shape: [16, 4, 4] },
      { name: 'fc3', kind: 'dense', points: ['conv'], defaultPoint: 'conv', shape: [10] },
    ];
    e.value = 'conv1';
  });
  await el.updateComplete;
  const radios = deepAll<HTMLInputElement>(el, [], 'input[type="radio"]');
  expect(radios.map((r) => r.getAttribute('aria-label'))).toEqual(['conv1, 8 maps of 12 by 12', 'conv2, 16 maps of 4 by 4']);
  radios[0].focus();
  const picked = next<{ layer: string }>(el, 'zf-layer-change');
  await userEvent.keyboard('{ArrowRight}');
  expect(await picked).toEqual({ layer: 'conv2' });
  expect(el.getAttribute('value')).toBe('conv2');
});

test('<zf-feature-grid>: every map from one sprite sheet, ordered by strength or number, selectable', async () => {
  const c = 10;
  const maps: MapsResult = {
    run: 1, layer: 'conv2', point: 'relu', shape: [c, 4, 4], scale: 9,
    strengths: Float32Array.from({ length: c }, (_, i) => (i * 7) % 10),
    order: Array.from({ length: c }, (_, i) => i).sort((a, b) => ((b * 7) % 10) - ((a * 7) % 10) || a - b),
    sheet: await png(4 * 5 - 1, 4 * 2 - 1), columns: 4, gap: 1,
  };
  const el = place('zf-feature-grid', (e) => { e.maps = maps; e.selected = maps.order[0]; });
  await el.updateComplete;
  await expect.poll(() => el.complete).toBe(true);
  const options = () => deepAll(el, [], '[role="option"]');
  expect(options().map((o) => Number(o.dataset.map))).toEqual(maps.order);
  expect(options()[0].getAttribute('aria-selected')).toBe('true');
  expect(options()[0].getAttribute('aria-label')).toBe(`map ${maps.order[0]}, strongest activation 9.00, rank 1 of ${c}`);
  expect(getComputedStyle(deep(el, '.thumb')).backgroundImage).toMatch(/^url\("blob:/);

  const selected = next<{ map: number }>(el, 'zf-map-select');
  await userEvent.click(options()[2]);
  expect(await selected).toEqual({ map: maps.order[2] });
  expect(el.selected).toBe(maps.order[2]);

  el.order = 'index';
  await el.updateComplete;
  expect(options().map((o) => Number(o.dataset.map))).toEqual([...Array(c).keys()]);
  const home = next<{ map: number }>(el, 'zf-map-select');
  options().find((o) => o.tabIndex === 0)!.focus();
  await userEvent.keyboard('{Home}');
  expect(await home).toEqual({ map: 0 });
  expect(deep(el, '[role="option"]:focus').dataset.map).toBe('0');
});

test('<zf-filter-grid>: one sheet of filters, labelled', async () => {
  const sheet = { width: 7, height: 3, data: new Uint8ClampedArray(7 * 3 * 4).fill(200) };
  const el = place('zf-filter-grid', (e) => { e.filters = { layer: 'conv1', shape: [2, 1, 3, 3], sheet, columns: 2 }; });
  await el.updateComplete;
  const canvas = deep<HTMLCanvasElement>(el, 'canvas');
  expect([canvas.width, canvas.height]).toEqual([7, 3]);
  expect(canvas.getAttribute('aria-label')).toBe('2 filters of conv1, 1 channel(s) of 3 by 3');
});

test('<zf-image-input>: samples, the file picker, paste and drop all give an image', async () => {
  const el = place('zf-image-input', (e) => {
    e.samples = [{ url: '/models/samples/bag-1.png', label: 'Bag 1' }, { url: '/models/samples/coat-1.png', label: 'Coat 1' }];
  });
  await el.updateComplete;
  let chosen = next<{ source: Blob | string; name: string }>(el, 'zf-image-select');
  await userEvent.click(deep(el, 'button.sample[title="Coat 1"]'));
  expect(await chosen).toEqual({ source: '/models/samples/coat-1.png', name: 'Coat 1' });

  const file = new File([await png(5, 5)], 'blue.png', { type: 'image/png' });
  const files = new DataTransfer();
  files.items.add(file);
  chosen = next(el, 'zf-image-select');
  const input = deep<HTMLInputElement>(el, 'input[type="file"]');
  input.files = files.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
  expect(await chosen).toMatchObject({ name: 'blue.png' });

  chosen = next(el, 'zf-image-select');
  const zone = deep(el, '[part="dropzone"]');
  zone.dispatchEvent(new ClipboardEvent('paste', { clipboardData: files, bubbles: true, cancelable: true, composed: true }));
  const pasted = await chosen;
  expect(pasted.source).toBeInstanceOf(Blob);

  chosen = next(el, 'zf-image-select');
  const link = new DataTransfer();
  link.setData('text/uri-list', '# a comment\nhttps://example.org/cat.jpg');
  zone.dispatchEvent(new DragEvent('drop', { dataTransfer: link, bubbles: true, cancelable: true, composed: true }));
  expect(await chosen).toEqual({ source: 'https://example.org/cat.jpg', name: 'cat.jpg' });

  el.disabled = true;
  await el.updateComplete;
  expect(deep<HTMLButtonElement>(el, 'button.choose').disabled).toBe(true);
});

test('<zf-occlusion-view>: with ImageNet\'s 1000 classes the class is typed (name or number), checked before Run', async () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i === 1 ? 'goldfish' : `class ${i}`));
  const el = place('zf-occlusion-view', (e) => {
    e.info = {
      source: 'test', name: 'test', backend: 'simd', input: [3, 224, 224], preprocess: 'imagenet', classes: 1000, labels,
      layers: [{ name: 'conv1', kind: 'conv', points: ['conv', 'relu'], defaultPoint: 'relu', shape: [96, 55, 55] }],
      memoryBytes: 0, ms: 0,
    } as never;
    e.ready = true;
  });
  await el.updateComplete;
  const field = deep<HTMLInputElement>(el, 'input.class');
  // No thousand suggestions until the field is used.
  expect(deepAll(el, [], 'datalist option')).toHaveLength(0);
  const runs: { classIndex?: number }[] = [];
  el.addEventListener('zf-analysis-run', (e) => runs.push(e.detail.request as { classIndex?: number }));
  const run = async (text: string) => {
    await userEvent.clear(field);
    if (text) await userEvent.type(field, text);
    field.dispatchEvent(new Event('change'));
    await el.updateComplete;
    await userEvent.click(deep(el, 'button[data-role="run"]'));
    await el.updateComplete;
  };
  await run('Goldfish');
  expect(deepAll(el, [], 'datalist option')).toHaveLength(1000);
  await run('999');
  await run('');
  expect(runs.map((r) => r.classIndex)).toEqual([1, 999, undefined]);
  await run('1000');
  expect(deep(el, '[role="alert"]').textContent).toContain('a number from 0 to 999');
  await run('no such thing');
  expect(deep(el, '[role="alert"]').textContent).toContain("No class 'no such thing'");
  expect(runs).toHaveLength(3);
});
