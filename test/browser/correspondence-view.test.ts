// <zf-correspondence-view> in real Chromium, standalone, with the real engine worker on zfnet-mini:
// the test plays the host (previews on `zf-analysis-previews`, runs on `zf-analysis-run`, cancel).
// Images are chosen with the toggles, boxes set by dragging on the previews and from the keyboard,
// the run's table is checked against the worker's result and against Delta computed here on the
// page's own copy of the model (decode, mask by hand, forward, compare signs), exports read back,
// and a screenshot saved (test-results/correspondence-view.png).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { EngineClient } from '../../src/worker/client.js';
import { defaultWorker } from '../../components/shared/engine-controller.js';
import { defaultSamples } from '../../components/zf-visualizer/samples.js';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/engine/model.js';
import type { Box } from '../../src/graph/shapes.js';
import type { Pixels } from '../../src/io/preprocess.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import type { CorrespondenceRequest, CorrespondenceResultMessage } from '../../src/worker/handlers/correspondence.js';
import type { ZfExportDetail } from '../../components/export-buttons/zf-export-buttons.js';
import type { ZfAnalysisPreviewsDetail, ZfAnalysisRunDetail } from '../../components/shared/analysis-view.js';
import { correspondenceCsv, type ZfCorrespondenceView } from '../../components/correspondence-view/zf-correspondence-view.js';
import '../../components/correspondence-view/zf-correspondence-view.js';

const client = new EngineClient(defaultWorker());
let info: ModelInfo;
beforeAll(async () => { info = await client.request({ type: 'load', source: 'zfnet-mini' }); });
afterAll(() => {
  document.querySelectorAll('zf-correspondence-view').forEach((e) => e.remove());
  client.terminate();
});

/** Mount the view as <zf-visualizer> would host it. */
function mountView(samples = defaultSamples()) {
  const view = document.createElement('zf-correspondence-view');
  const asked: ZfAnalysisPreviewsDetail[] = [];
  const runs: ZfAnalysisRunDetail<'correspondence'>[] = [];
  const progress: number[] = [];
  const errors: Error[] = [];
  let stop: AbortController | undefined;
  view.addEventListener('zf-analysis-previews', async (e) => {
    asked.push(e.detail);
    view.previews = await client.request({ type: 'previews', images: e.detail.images });
  });
  view.addEventListener('zf-analysis-run', async (e) => {
    const detail = e.detail as ZfAnalysisRunDetail<'correspondence'>;
    runs.push(detail);
    stop = new AbortController();
    view.running = true;
    view.progress = 0;
    try {
      view.result = await client.request({ type: 'correspondence', ...detail.request } as CorrespondenceRequest, {
        signal: stop.signal, onProgress: (f) => { progress.push(f); view.progress = f; },
      });
    } catch (err) {
      errors.push(err as Error);
    } finally {
      view.running = false;
    }
  });
  view.addEventListener('zf-analysis-cancel', () => stop?.abort());
  view.info = info;
  view.samples = samples;
  view.ready = true;
  document.body.append(view);
  return { view, asked, runs, progress, errors };
}

const root = (view: ZfCorrespondenceView) => view.shadowRoot!;
const toggle = (view: ZfCorrespondenceView, name: string) => root(view).querySelector<HTMLButtonElement>(`button[part="choice"][aria-label="${name}"]`)!;
const pressed = (view: ZfCorrespondenceView) => [...root(view).querySelectorAll('button[part="choice"][aria-pressed="true"]')].map((b) => b.getAttribute('aria-label'));
const figure = (view: ZfCorrespondenceView, name: string) => [...root(view).querySelectorAll<HTMLElement>('figure[part="image"]')]
  .find((f) => f.querySelector('figcaption span')!.textContent === name)!;
const edges = (view: ZfCorrespondenceView, name: string): Box => Object.fromEntries([...figure(view, name).querySelectorAll<HTMLInputElement>('input[data-edge]')]
  .map((i) => [i.dataset.edge, i.valueAsNumber])) as unknown as Box;

/** A pointer drag on a preview from input pixel `from` to `to` ([y, x]), at the pixels' centres. */
function drag(view: ZfCorrespondenceView, name: string, from: [number, number], to: [number, number]): void {
  const canvas = figure(view, name).querySelector('canvas')!;
  const rect = canvas.getBoundingClientRect();
  const at = ([y, x]: [number, number]) => ({ clientX: rect.left + ((x + 0.5) / 28) * rect.width, clientY: rect.top + ((y + 0.5) / 28) * rect.height });
  const fire = (type: string, p: [number, number]) => canvas.dispatchEvent(new PointerEvent(type, {
    ...at(p), pointerId: 7, button: type === 'pointermove' ? -1 : 0, bubbles: true, composed: true, cancelable: true,
  }));
  fire('pointerdown', from);
  fire('pointermove', [(from[0] + to[0]) >> 1, (from[1] + to[1]) >> 1]);
  fire('pointermove', to);
  fire('pointerup', to);
}

async function setNumber(input: HTMLInputElement, value: string): Promise<void> {
  await userEvent.fill(input, value);
  input.dispatchEvent(new Event('change'));
}

async function decodeUrl(url: string): Promise<Pixels> {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  return { width: bitmap.width, height: bitmap.height, data: context.getImageData(0, 0, bitmap.width, bitmap.height).data };
}

/** Delta by hand: mask each image's box with 0 (tensor units), forward each alone, sum Hamming over ordered pairs. */
function directDelta(model: Model, images: Pixels[], boxes: Box[], layer: string, point: string): number {
  const [c, h, w] = model.network.input;
  const e = images.map((pixels, i) => {
    const x = model.preprocess(pixels);
    const original = model.forwardSync(x).activation(layer, point).data.slice();
    const masked = x.data.slice();
    for (let ch = 0; ch < c; ch++) for (let y = boxes[i].y0; y < boxes[i].y1; y++) {
      masked.fill(0, (ch * h + y) * w + boxes[i].x0, (ch * h + y) * w + boxes[i].x1);
    }
    const occluded = model.forwardSync({ shape: [1, c, h, w], data: masked }).activation(layer, point).data;
    return original.map((v, k) => Math.sign(v - occluded[k]));
  });
  let delta = 0;
  for (let i = 0; i < e.length; i++) for (let j = 0; j < e.length; j++) {
    if (i !== j) for (let k = 0; k < e[i].length; k++) if (e[i][k] !== e[j][k]) delta++;
  }
  return delta;
}

test('choose images, drag boxes, run: the table is the worker\'s result and Delta matches a direct computation', async () => {
  const { view, asked, runs, progress, errors } = mountView();
  await view.updateComplete;

  // Default: the six footwear samples, their previews asked for once, painted as the worker drew them.
  const shoes = ['Ankle boot 1', 'Ankle boot 2', 'Sandal 1', 'Sandal 2', 'Sneaker 1', 'Sneaker 2'];
  expect(pressed(view)).toEqual(shoes);
  await expect.poll(() => asked.length).toBe(1);
  expect(asked[0].analysis).toBe('correspondence');
  expect(asked[0].images.map((i) => i.name)).toEqual(shoes);
  await expect.poll(() => view.previews?.pictures.length, { timeout: 30_000 }).toBe(6);
  await view.updateComplete;
  const sandal = figure(view, 'Sandal 1').querySelector('canvas')!;
  expect([sandal.width, sandal.height]).toEqual([28, 28]);
  expect(sandal.getContext('2d')!.getImageData(0, 0, 28, 28).data).toEqual(view.previews!.pictures[2]!.data);
  expect(view.previews!.pictures[2]!.data.some((v, i) => i % 4 !== 3 && v > 0)).toBe(true);

  // Down to three images; back on with one already fetched (no new request), one new (one request).
  for (const name of ['Ankle boot 2', 'Sandal 2', 'Sneaker 2']) await userEvent.click(toggle(view, name));
  expect(pressed(view)).toEqual(['Ankle boot 1', 'Sandal 1', 'Sneaker 1']);
  await userEvent.click(toggle(view, 'Sandal 2'));
  await userEvent.click(toggle(view, 'Bag 1'));
  await view.updateComplete;
  await expect.poll(() => asked.length).toBe(2);
  expect(asked[1].images.map((i) => i.name)).toEqual(['Bag 1']);
  await userEvent.click(toggle(view, 'Sandal 2'));
  await userEvent.click(toggle(view, 'Bag 1'));
  await view.updateComplete;
  expect(root(view).querySelectorAll('figure[part="image"]')).toHaveLength(3);

  // The default box is the centre; a drag sets it (either direction), the overlay follows.
  expect(edges(view, 'Sandal 1')).toEqual({ y0: 7, x0: 7, y1: 21, x1: 21 });
  drag(view, 'Sandal 1', [5, 3], [12, 10]);
  await view.updateComplete;
  expect(edges(view, 'Sandal 1')).toEqual({ y0: 5, x0: 3, y1: 13, x1: 11 });
  const overlay = figure(view, 'Sandal 1').querySelector<HTMLElement>('[part="box"]')!;
  expect(parseFloat(overlay.style.left)).toBeCloseTo((100 * 3) / 28, 3);
  expect(parseFloat(overlay.style.height)).toBeCloseTo((100 * 8) / 28, 3);
  expect(figure(view, 'Sandal 1').querySelector('[part="stage"]')!.getAttribute('aria-label')).toMatch(/rows 5 to 12, columns 3 to 10/);
  drag(view, 'Ankle boot 1', [20, 25], [14, 18]);
  await view.updateComplete;
  expect(edges(view, 'Ankle boot 1')).toEqual({ y0: 14, x0: 18, y1: 21, x1: 26 });

  // Keyboard: typed edges, then arrows move and Shift+arrows resize.
  const sneaker = figure(view, 'Sneaker 1');
  for (const [edge, value] of [['y0', '8'], ['x0', '2'], ['y1', '15'], ['x1', '9']]) {
    await setNumber(sneaker.querySelector<HTMLInputElement>(`input[data-edge="${edge}"]`)!, value);
  }
  await view.updateComplete;
  sneaker.querySelector<HTMLElement>('[part="stage"]')!.focus();
  await userEvent.keyboard('{ArrowRight}{ArrowRight}{ArrowUp}');
  await userEvent.keyboard('{Shift>}{ArrowDown}{/Shift}');
  await view.updateComplete;
  expect(edges(view, 'Sneaker 1')).toEqual({ y0: 7, x0: 4, y1: 15, x1: 11 });

  // Settings: conv1 besides the default conv5 and fc7; 2 random trials.
  const checked = () => [...root(view).querySelectorAll<HTMLInputElement>('input[data-layer]')].filter((c) => c.checked).map((c) => c.dataset.layer);
  expect(checked()).toEqual(['conv5', 'fc7']);
  await userEvent.click(root(view).querySelector<HTMLInputElement>('input[data-layer="conv1"]')!);
  await setNumber(root(view).querySelector<HTMLInputElement>('input[aria-label^="Random-box trials"]')!, '2');
  await view.updateComplete;

  const boxes = [edges(view, 'Ankle boot 1'), edges(view, 'Sandal 1'), edges(view, 'Sneaker 1')];
  await userEvent.click(root(view).querySelector('button[data-role="run"]')!);
  await expect.poll(() => view.result, { timeout: 60_000 }).toBeDefined();
  await expect.poll(() => view.running, { timeout: 60_000 }).toBe(false);
  await view.updateComplete;
  expect(errors).toEqual([]);
  expect(runs).toHaveLength(1);
  expect(runs[0].request).toMatchObject({ boxes, layers: ['conv1', 'conv5', 'fc7'], random: 2, seed: 1, fill: 'zero' });
  expect(runs[0].request.images.map((i) => i.name)).toEqual(['Ankle boot 1', 'Sandal 1', 'Sneaker 1']);
  expect(progress.at(-1)).toBe(1);
  const r = view.result!;
  expect(r.result.boxes).toEqual(boxes);
  expect(r.names).toEqual(['Ankle boot 1', 'Sandal 1', 'Sneaker 1']);

  // The table: a row per layer, the worker's numbers.
  const rows = [...root(view).querySelectorAll<HTMLTableRowElement>('table[part="table"] tbody tr')];
  expect(rows.map((row) => row.dataset.layer)).toEqual(['conv1', 'conv5', 'fc7']);
  const cell = (row: HTMLTableRowElement, col: string) => row.querySelector(`[data-col="${col}"]`)!.textContent!.trim();
  r.result.rows.forEach((want, i) => {
    expect(cell(rows[i], 'dims')).toBe(String(want.dims));
    expect(cell(rows[i], 'part-delta')).toBe(String(want.part.delta));
    expect(cell(rows[i], 'part-mean')).toBe(`${want.part.mean.toFixed(4)} ± ${want.part.std.toFixed(4)}`);
    const rd = want.random!.delta;
    expect(cell(rows[i], 'random-delta')).toBe(`${Number.isInteger(rd) ? rd : rd.toFixed(1)} ± ${Number.isInteger(want.random!.deltaStd) ? want.random!.deltaStd : want.random!.deltaStd.toFixed(1)}`);
    expect(cell(rows[i], 'random-mean')).toBe(`${want.random!.mean.toFixed(4)} ± ${want.random!.std.toFixed(4)}`);
  });
  const caption = root(view).querySelector('caption')!.textContent!;
  expect(caption).toMatch(/Lower is more consistent/);
  expect(caption).toMatch(/6\s+ordered pairs/);
  expect(root(view).querySelector('.results-bar .note')!.textContent).toMatch(/sign\(0\) = 0/);

  // An independent Delta: the page's own model, the same PNGs decoded here, masked and forwarded by hand.
  const model = await loadModel('zfnet-mini');
  const pixels = await Promise.all(runs[0].request.images.map((i) => decodeUrl(i.source as string)));
  for (const row of r.result.rows) {
    const direct = directDelta(model, pixels, boxes, row.layer, row.point);
    expect(row.part.delta, `${row.layer} ${row.point}`).toBe(direct);
    expect(direct).toBeGreaterThan(0);
  }
  console.log(`correspondence view: 3 images, 3 layers, 2 random trials: ${r.ms.toFixed(0)} ms in the worker\n${r.table}`);

  // The screenshot: three boxes as drawn, and the table.
  view.scrollIntoView();
  await page.screenshot({ element: view, path: '../../test-results/correspondence-view.png' });

  // Exports: JSON of the result and CSV of the table, read back.
  const files: ZfExportDetail[] = [];
  view.addEventListener('zf-export', (e) => { e.preventDefault(); files.push(e.detail); });
  const buttons = root(view).querySelector('zf-export-buttons')!.shadowRoot!;
  await userEvent.click(buttons.querySelector('button[data-export="json"]')!);
  await userEvent.click(buttons.querySelector('button[data-export="csv"]')!);
  await expect.poll(() => files.length, { timeout: 10_000 }).toBe(2);
  expect(files.map((f) => f.filename)).toEqual(['zf-correspondence-zfnet-mini-3-images.json', 'zf-correspondence-zfnet-mini-3-images.csv']);
  const json = JSON.parse(await files[0].blob.text());
  expect(json.names).toEqual(r.names);
  expect(json.rows).toEqual(r.result.rows);
  expect(json.randomBoxes).toEqual(r.result.randomBoxes);
  expect(json.table).toBe(r.table);
  const csv = (await files[1].blob.text()).trim().split('\n').map((line) => line.split(','));
  expect(csv[0].slice(0, 4)).toEqual(['layer', 'point', 'features', 'part_delta']);
  expect(csv.slice(1).map((c) => [c[0], Number(c[3]), Number(c[4]), Number(c[7])]))
    .toEqual(r.result.rows.map((row) => [row.layer, row.part.delta, row.part.mean, row.random!.delta]));
  expect(await files[1].blob.text()).toBe(correspondenceCsv(r));

  // "All" copies one box to every image.
  await userEvent.click(figure(view, 'Sandal 1').querySelector('figcaption button')!);
  await view.updateComplete;
  expect([edges(view, 'Ankle boot 1'), edges(view, 'Sneaker 1')]).toEqual([boxes[1], boxes[1]]);

  view.remove();
});

test('refusals in the view and in the worker; Cancel stops a run and the worker goes on', async () => {
  const { view, runs, errors } = mountView();
  await view.updateComplete;
  const run = () => root(view).querySelector<HTMLButtonElement>('button[data-role="run"]')!;

  // A box past the edge: the view names the image and sends nothing.
  await setNumber(figure(view, 'Sandal 2').querySelector<HTMLInputElement>('input[data-edge="y1"]')!, '40');
  await view.updateComplete;
  expect(figure(view, 'Sandal 2').querySelector('input[data-edge="y1"]')!.getAttribute('aria-invalid')).toBe('true');
  await userEvent.click(run());
  await view.updateComplete;
  expect(root(view).querySelector('[role="alert"]')!.textContent).toMatch(/The box on Sandal 2: .*0 ≤ y0 < y1 ≤ 28.*y1 40/);
  expect(runs).toEqual([]);

  // The worker refuses the same, naming the image.
  const bad = client.request({
    type: 'correspondence', images: [{ source: defaultSamples()[0].url, name: 'a.png' }, { source: defaultSamples()[1].url, name: 'b.png' }],
    boxes: [{ y0: 0, x0: 0, y1: 4, x1: 4 }, { y0: 0, x0: 0, y1: 29, x1: 4 }],
  });
  await expect(bad).rejects.toThrow(/the box of image 1 \(b\.png\).*28 x 28 input/);
  await expect(bad).rejects.toMatchObject({ name: 'ArgumentError' });

  // One image left: Run is disabled.
  for (const name of ['Ankle boot 2', 'Sandal 1', 'Sandal 2', 'Sneaker 1', 'Sneaker 2']) await userEvent.click(toggle(view, name));
  await view.updateComplete;
  expect(run().disabled).toBe(true);

  // Six images, many trials: Cancel mid-way.
  for (const name of ['Ankle boot 2', 'Sandal 1', 'Sandal 2', 'Sneaker 1', 'Sneaker 2']) await userEvent.click(toggle(view, name));
  await setNumber(figure(view, 'Sandal 2').querySelector<HTMLInputElement>('input[data-edge="y1"]')!, '20');
  await setNumber(root(view).querySelector<HTMLInputElement>('input[aria-label^="Random-box trials"]')!, '100');
  await view.updateComplete;
  await userEvent.click(run());
  await expect.poll(() => view.progress, { timeout: 30_000 }).toBeGreaterThan(0.1);
  const t0 = performance.now();
  await userEvent.click(root(view).querySelector<HTMLButtonElement>('button[data-role="cancel"]')!);
  await expect.poll(() => view.running, { timeout: 30_000 }).toBe(false);
  expect(errors.map((e) => e.name)).toEqual(['AbortError']);
  expect(view.result).toBeUndefined();
  const previews = await client.request({ type: 'previews', images: [{ source: defaultSamples()[0].url, name: 'after' }] });
  console.log(`cancel: worker free again ${(performance.now() - t0).toFixed(0)} ms after Cancel`);
  expect(previews.names).toEqual(['after']);
  view.remove();
});

test('an image the worker cannot read is named, the others still show, and it is asked for again only when chosen again', async () => {
  const good = [defaultSamples()[2], defaultSamples()[4]]; // a bag and a coat: no footwear, so all three are chosen
  const missing = { url: new URL('/models/samples/no-such-image.png', location.href).href, label: 'Missing' };
  const { view, asked } = mountView([good[0], missing, good[1]]);
  await expect.poll(() => root(view).querySelector('[data-role="unreadable"]')?.textContent ?? '', { timeout: 30_000 }).toContain('Missing');
  expect(view.previews!.failures.map((f) => f.name)).toEqual(['Missing']);
  expect(view.previews!.pictures.filter((p) => p !== null)).toHaveLength(2);
  const before = asked.length;
  await view.updateComplete;
  await new Promise((r) => setTimeout(r, 200));
  expect(asked.length).toBe(before); // no loop of requests for the unreadable one
  toggle(view, 'Missing').click(); // off
  await view.updateComplete;
  expect(root(view).querySelector('[data-role="unreadable"]')).toBeNull();
  toggle(view, 'Missing').click(); // on again: asked again
  await expect.poll(() => asked.length).toBe(before + 1);
  expect(asked.at(-1)!.images.map((i) => i.name)).toEqual(['Missing']);
  await expect.poll(() => root(view).querySelector('[data-role="unreadable"]')?.textContent ?? '', { timeout: 30_000 }).toContain('Missing');
  view.remove();
});
