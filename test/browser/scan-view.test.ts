// <zf-scan-view> on its own in real Chromium, wired to the engine's real worker as a host would:
// the 20 zfnet-mini samples scanned from the Run button must give, for every map, the top-9 a
// brute-force answer gives (each sample run alone, each map's strongest activation from the
// 'maps' request, sorted: stronger first, then the earlier image); canvases hold exactly the
// worker's pictures; the PNG and JSON exports are the sheet and the index; a bad maps text is
// refused inline without running; files chosen, dropped or non-images skipped; Cancel.
// Screenshot: test-results/scan-view.png.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type { EngineClient } from '../../src/worker/client.js';
import type { ScanResultMessage } from '../../src/worker/handlers/scan.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { viewHost } from './fixtures/view-host.js';
import { defaultSamples } from '../../components/zf-visualizer/samples.js';
import type { ZfExportDetail } from '../../components/export-buttons/zf-export-buttons.js';
import '../../components/scan-view/zf-scan-view.js';
import type { ZfScanView } from '../../components/scan-view/zf-scan-view.js';

const SAMPLES = defaultSamples();
let client: EngineClient;
let info: ModelInfo;
let view: ZfScanView;
const host = viewHost('scan');
const { requests, failures, progress } = host;

beforeAll(async () => { ({ client, info, view } = await host.mount('zf-scan-view', SAMPLES)); });
afterAll(() => host.unmount());

const $ = <E extends Element = HTMLElement>(s: string) => view.shadowRoot!.querySelector<E>(s)!;
const $$ = <E extends Element = HTMLElement>(s: string) => [...view.shadowRoot!.querySelectorAll<E>(s)];
const mapsInput = () => $<HTMLInputElement>('input.maps');
const summary = () => $('.summary').textContent!.replace(/\s+/g, ' ').trim();

/** Press Run and wait until the host has set the result (or failed). */
async function run(): Promise<ScanResultMessage> {
  const before = requests.length, failed = failures.length;
  await userEvent.click($('button[data-role="run"]'));
  await expect.poll(() => requests.length > before && !view.running, { timeout: 60_000 }).toBe(true);
  if (failures.length > failed) throw failures.at(-1);
  await view.updateComplete;
  return view.result!;
}

/**
 * The top-k of each map the slow way: every sample alone through the network ('image'), each
 * map's strongest activation ('maps' strengths), sorted stronger first, then the earlier image.
 */
async function bruteForce(layer: string, maps: number[], top: number): Promise<{ value: number; image: number }[][]> {
  const strengths: Float32Array[] = [];
  for (const s of SAMPLES) {
    const { run: id } = await client.request({ type: 'image', image: s.url, name: s.label });
    strengths.push((await client.request({ type: 'maps', run: id, layer })).strengths);
  }
  return maps.map((m) => strengths.map((s, image) => ({ value: s[m], image }))
    .sort((a, b) => b.value - a.value || a.image - b.image).slice(0, top));
}

function expectBruteForce(r: ScanResultMessage, want: { value: number; image: number }[][]): void {
  r.maps.forEach((m, k) => {
    expect(m.units.map((u) => ({ value: u.value, image: u.image })), `${r.layer} map ${m.map}`).toEqual(want[k]);
    for (const u of m.units) expect(u.name).toBe(SAMPLES[u.image].label);
  });
}

/** How many distinct colours a canvas has (a blank or flat one has 1). */
function colours(canvas: HTMLCanvasElement): number {
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}

test('Run scans the 20 samples: each map\'s top 9 is the brute-force answer, painted and exportable', async () => {
  expect(summary()).toBe('20 images: the sample images');
  expect($$<HTMLOptionElement>('select option').map((o) => o.value)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
  expect($<HTMLSelectElement>('select').value).toBe('conv5');
  expect(mapsInput().value).toBe('0-15');

  const r = await run();
  expect(requests.at(-1)).toEqual({
    images: SAMPLES.map((s) => ({ source: s.url, name: s.label })), layer: 'conv5', maps: Array.from({ length: 16 }, (_, i) => i), top: 9,
  });
  expect([r.layer, r.point, r.shape, r.images, r.top, r.mode]).toEqual(['conv5', 'relu', [48, 7, 7], 20, 9, 'deconvnet']);
  expect(progress.length).toBeGreaterThan(2);
  expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
  expect(progress.at(-1)).toBeCloseTo(1, 3);
  expectBruteForce(r, await bruteForce('conv5', r.maps.map((m) => m.map), 9));

  // One canvas per map, holding exactly the worker's block, with a label and a caption.
  const canvases = $$<HTMLCanvasElement>('canvas[part="block"]');
  expect(canvases.map((c) => Number(c.dataset.map))).toEqual(r.maps.map((m) => m.map));
  canvases.forEach((c, k) => {
    const block = r.maps[k].block;
    expect([c.width, c.height]).toEqual([block.width, block.height]);
    const painted = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    expect(painted.every((v, i) => v === block.data[i]), `map ${r.maps[k].map}'s canvas`).toBe(true);
    expect(colours(c)).toBeGreaterThan(8);
    // Enlarged by whole multiples (28 px patches are tiny at 1:1), never squeezed below 1:1.
    expect(c.getBoundingClientRect().width / block.width).toBe(Math.max(1, Math.floor(view.blockWidth / block.width)));
    expect(c.getAttribute('aria-label')).toMatch(new RegExp(`^conv5 map ${r.maps[k].map}: its 9 strongest activations over 20 images`));
  });
  const captions = $$('figcaption').map((f) => f.textContent!.replace(/\s+/g, ' ').trim());
  expect(captions[0]).toMatch(new RegExp(`^map 0 strongest ${r.maps[0].units[0].value.toFixed(2)}`));
  expect($('.results-bar .note').textContent).toMatch(/20 images scanned; conv5 relu, top 9 per map,\s+deconvnet; \d+ ms in the worker/);

  // Exports: the sheet as PNG, the index as JSON (the downloads themselves skipped).
  const files: ZfExportDetail[] = [];
  const keep = (e: CustomEvent<ZfExportDetail>) => { e.preventDefault(); files.push(e.detail); };
  view.addEventListener('zf-export', keep);
  const buttons = $('zf-export-buttons').shadowRoot!;
  await userEvent.click(buttons.querySelector<HTMLElement>('button[data-export="png"]')!);
  await userEvent.click(buttons.querySelector<HTMLElement>('button[data-export="json"]')!);
  await expect.poll(() => files.length).toBe(2);
  view.removeEventListener('zf-export', keep);
  const [png, json] = files;
  expect([png.filename, png.blob.type]).toEqual(['zf-scan-zfnet-mini-conv5.png', 'image/png']);
  const bitmap = await createImageBitmap(png.blob);
  expect([bitmap.width, bitmap.height]).toEqual([r.sheet.width, r.sheet.height]);
  expect(r.sheet.width).toBeGreaterThan(r.maps[0].block.width * 3);
  expect([json.filename, json.blob.type]).toEqual(['zf-scan-zfnet-mini-conv5.json', 'application/json']);
  const index = JSON.parse(await json.blob.text());
  expect(index).toEqual(JSON.parse(JSON.stringify(r.index)));
  expect(index.layers[0].maps[3].units.map((u: { image: number }) => u.image)).toEqual(r.maps[3].units.map((u) => u.image));

  // At 1:1 the 16 maps, the note and the save buttons fit the test's frame in one picture.
  view.blockWidth = 180;
  await view.updateComplete;
  view.scrollIntoView();
  await page.screenshot({ element: view, path: '../../test-results/scan-view.png' });
  view.blockWidth = 360;
});

test('another layer from the select, chosen maps and top; timings of every layer', async () => {
  await userEvent.selectOptions($<HTMLSelectElement>('select'), 'conv2');
  await view.updateComplete;
  await userEvent.fill(mapsInput(), '60-63, 2');
  const top = $<HTMLInputElement>('input[type="number"]');
  await userEvent.fill(top, '4');
  top.dispatchEvent(new Event('change'));
  await view.updateComplete;
  expect($$('.error')).toEqual([]);
  const r = await run();
  expect(requests.at(-1)!.maps).toEqual([60, 61, 62, 63, 2]);
  expect([r.layer, r.shape, r.top]).toEqual(['conv2', [64, 14, 14], 4]);
  expectBruteForce(r, await bruteForce('conv2', [60, 61, 62, 63, 2], 4));
  expect($$('canvas[part="block"]').map((c) => c.dataset.map)).toEqual(['60', '61', '62', '63', '2']);

  // The 20-sample scan of each layer's first 16 maps, straight from the worker, for the record.
  const images = SAMPLES.map((s) => ({ source: s.url, name: s.label }));
  const times: string[] = [];
  for (const layer of info.layers.filter((l) => l.kind === 'conv').map((l) => l.name)) {
    const t = await client.request({ type: 'scan', images, layer });
    times.push(`${layer} ${Math.round(t.ms)} ms (sheet ${t.sheet.width}x${t.sheet.height})`);
  }
  console.log(`zfnet-mini, 20 samples, 16 maps, top 9, in the worker: ${times.join('; ')}`);
});

test('a bad maps text or top is refused inline and does not run', async () => {
  await userEvent.selectOptions($<HTMLSelectElement>('select'), 'conv5');
  const before = requests.length;
  const cases: [string, string][] = [
    ['0-99', 'Map 99 is out of range: conv5 has 48 maps (0-47).'],
    ['3,x', '"x" is not a map number or a range like 0-15.'],
    ['7-2', 'The range 7-2 runs backwards; write it as 2-7.'],
    ['1,2,1', 'Map 1 is listed twice.'],
    ['', 'List at least one map of conv5, e.g. 0-15 or 0,3,7.'],
  ];
  for (const [text, message] of cases) {
    await userEvent.fill(mapsInput(), text);
    await view.updateComplete;
    expect($('.error[role="alert"]').textContent).toBe(message);
    expect(mapsInput().getAttribute('aria-invalid')).toBe('true');
    expect(mapsInput().getAttribute('aria-describedby')).toBe($('.error').id);
    await userEvent.click($('button[data-role="run"]'));
    await mapsInput().focus();
    await userEvent.keyboard('{Enter}');
  }
  // A range past the layer's maps becomes wrong when the layer changes, and right again.
  await userEvent.fill(mapsInput(), '40-47');
  await view.updateComplete;
  expect($$('.error')).toEqual([]);
  await userEvent.selectOptions($<HTMLSelectElement>('select'), 'conv1');
  await view.updateComplete;
  expect($('.error').textContent).toBe('Map 47 is out of range: conv1 has 32 maps (0-31).');
  await userEvent.selectOptions($<HTMLSelectElement>('select'), 'conv5');
  await view.updateComplete;
  expect($$('.error')).toEqual([]);

  const top = $<HTMLInputElement>('input[type="number"]');
  await userEvent.fill(top, '17');
  top.dispatchEvent(new Event('change'));
  await userEvent.click($('button[data-role="run"]'));
  await view.updateComplete;
  expect($('.error[role="alert"]').textContent).toBe('Top must be a whole number from 1 to 16.');
  expect(top.getAttribute('aria-invalid')).toBe('true');
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(requests.length).toBe(before);
  await userEvent.fill(top, '9');
  top.dispatchEvent(new Event('change'));
  await userEvent.fill(mapsInput(), '0-15');
  await view.updateComplete;
  expect($$('.error')).toEqual([]);
});

/** The samples as files, `copies` times each under different names. */
async function sampleFiles(copies = 1): Promise<File[]> {
  const blobs = await Promise.all(SAMPLES.map(async (s) => (await fetch(s.url)).blob()));
  return Array.from({ length: copies }, (_, c) => blobs.map((b, i) => new File([b], `copy-${c}/${SAMPLES[i].label}.png`, { type: 'image/png' }))).flat();
}

test('chosen files (non-images skipped), dropped files, and back to the samples', async () => {
  const [a, b, c] = (await sampleFiles()).slice(0, 3);
  const notes = new File(['not a picture'], 'notes.txt', { type: 'text/plain' });
  await userEvent.upload($<HTMLInputElement>('input[type="file"][data-kind="files"]'), [c, notes, a, b]);
  await view.updateComplete;
  expect(summary()).toBe('3 images: 3 chosen images (skipped 1 file that is not an image)');
  await userEvent.fill(mapsInput(), '0,5');
  const r = await run();
  expect(requests.at(-1)!.images.map((i) => i.name)).toEqual([a.name, b.name, c.name]);
  expect(requests.at(-1)!.images.every((i) => i.source instanceof File)).toBe(true);
  expect(r.images).toBe(3);
  expect(r.maps.map((m) => m.units.length)).toEqual([3, 3]);
  expect(new Set(r.maps[0].units.map((u) => u.name))).toEqual(new Set([a.name, b.name, c.name]));

  // Dropped on the view: files become the set as well (here one image and one stray file).
  const data = new DataTransfer();
  data.items.add(a);
  data.items.add(new File(['x'], '.DS_Store'));
  view.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  await expect.poll(() => summary()).toBe('1 image: 1 chosen image (skipped 1 file that is not an image)');

  await userEvent.click($('button[data-role="samples"]'));
  await view.updateComplete;
  expect(summary()).toBe('20 images: the sample images');
  expect($$('button[data-role="samples"]')).toEqual([]);
});

test('Cancel stops a long scan; the last result stays and the worker scans again afterwards', async () => {
  await userEvent.fill(mapsInput(), '0-15');
  const first = await run();
  // 400 images: long enough to cancel part way.
  view.chooseFiles(await sampleFiles(20));
  await view.updateComplete;
  expect(summary()).toBe('400 images: 400 chosen images');
  const failed = failures.length;
  await userEvent.click($('button[data-role="run"]'));
  await expect.poll(() => progress.length > 0).toBe(true);
  await userEvent.click($('button[data-role="cancel"]'));
  await expect.poll(() => failures.length).toBe(failed + 1);
  expect(failures.at(-1)!.name).toBe('AbortError');
  expect(progress.at(-1)!).toBeLessThan(0.9);
  await view.updateComplete;
  expect(view.running).toBe(false);
  expect(view.result).toBe(first);
  expect($('button[data-role="run"]')).not.toBeNull();
  expect($$('canvas[part="block"]').length).toBe(16);

  view.useSamples();
  await userEvent.fill(mapsInput(), '0');
  await view.updateComplete;
  const again = await run();
  expect(again.maps.map((m) => m.map)).toEqual([0]);
  expect(again.maps[0].units).toEqual(first.maps[0].units);
});
