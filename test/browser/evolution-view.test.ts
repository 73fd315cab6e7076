// <zf-evolution-view> on its own in real Chromium, wired to the engine's real worker as a host
// would: zfnet-mini's epochs 1 and 8 and its final weights, two features (conv1, conv5 pool) (a grid of 2 x 3 with
// its headings, canvases holding exactly the worker's pictures, cells that change with training,
// labels naming the value and the image, PNG/JSON exports), feature text the view refuses
// inline without running, Cancel, and another model's snapshots picked as files.
// Screenshot: test-results/evolution-view.png.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type { EngineClient } from '../../src/worker/client.js';
import type { EvolutionRequest, EvolutionResultMessage } from '../../src/worker/handlers/evolution.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { viewHost } from './fixtures/view-host.js';
import { defaultSamples } from '../../components/zf-visualizer/samples.js';
import type { ZfExportDetail } from '../../components/export-buttons/zf-export-buttons.js';
import '../../components/evolution-view/zf-evolution-view.js';
import type { ZfEvolutionView } from '../../components/evolution-view/zf-evolution-view.js';

let client: EngineClient;
let info: ModelInfo;
let view: ZfEvolutionView;
const host = viewHost('evolution');
const { requests, failures, progress } = host;

beforeAll(async () => { ({ client, info, view } = await host.mount('zf-evolution-view')); });
afterAll(() => host.unmount());

const $ = <E extends Element = HTMLElement>(s: string) => view.shadowRoot!.querySelector<E>(s)!;
const $$ = <E extends Element = HTMLElement>(s: string) => [...view.shadowRoot!.querySelectorAll<E>(s)];
const featuresInput = () => $<HTMLInputElement>('input[type="text"]');
const texts = (s: string) => $$(s).map((e) => e.textContent!.trim());

async function setFeatures(text: string): Promise<void> {
  await userEvent.fill(featuresInput(), text);
  featuresInput().dispatchEvent(new Event('change'));
  await view.updateComplete;
}

/** Press Run and wait until the host has set the result (or failed). */
async function run(): Promise<number> {
  const before = requests.length, failed = failures.length, t0 = performance.now();
  await userEvent.click($('button[data-role="run"]'));
  await view.updateComplete;
  expect($('[role="alert"]')?.textContent ?? '').toBe('');
  await expect.poll(() => requests.length > before && !view.running, { timeout: 60_000 }).toBe(true);
  await view.updateComplete;
  expect(failures.slice(failed)).toEqual([]);
  return performance.now() - t0;
}

function pixels(canvas: HTMLCanvasElement): Uint8ClampedArray {
  return canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
}

function colours(data: Uint8ClampedArray): number {
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}

test('epochs 1 and 8 and final, two features: the grid, its pictures and exports', async () => {
  // Before any result the view offers zfnet-mini's saved epochs and the final weights, all chosen.
  expect($$<HTMLInputElement>('input[type="checkbox"]').map((c) => c.dataset.epoch)).toEqual(['1', '2', '3', '5', '8', 'final']);
  expect(featuresInput().value).toBe('conv1:0, conv1:1, conv3:0, conv3:1, conv5:0, conv5:1');
  for (const e of ['2', '3', '5']) await userEvent.click($(`input[data-epoch="${e}"]`));
  await setFeatures('conv1:3, conv5:pool:5');
  const ms = await run();
  const r = view.result as EvolutionResultMessage;
  console.log(`evolution, ${r.images.length} images x 2 features x 3 snapshots: ${ms.toFixed(0)} ms from Run, ` +
    `${r.ms.toFixed(0)} ms in the worker`);

  const asked = requests.at(-1)!;
  expect(asked.epochs).toEqual([1, 8, 'final']);
  expect(asked.features).toEqual([{ layer: 'conv1', map: 3 }, { layer: 'conv5', point: 'pool', map: 5 }]);
  expect(asked.images.map((i) => i.name)).toEqual(defaultSamples().map((s) => s.label));
  expect(progress.at(-1)).toBe(1);

  // 2 rows x 3 columns, with headings.
  expect(texts('thead th[part="heading"]')).toEqual(['epoch 1', 'epoch 8', 'final']);
  expect(texts('tbody th[part="heading"]')).toEqual(['conv1 map 3', 'conv5 pool map 5']);
  expect($$('tbody tr').map((tr) => tr.querySelectorAll('canvas[part="cell"]').length)).toEqual([3, 3]);

  const cell = (k: number, s: number) => $<HTMLCanvasElement>(`canvas[data-feature="${k}"][data-snapshot="${s}"]`);
  for (let k = 0; k < 2; k++) {
    for (let s = 0; s < 3; s++) {
      const canvas = cell(k, s), picture = r.rows[k][s], c = r.cells[k][s];
      // Exactly the worker's picture, and not blank.
      expect([canvas.width, canvas.height]).toEqual([picture.width, picture.height]);
      expect(pixels(canvas)).toEqual(picture.data);
      expect(colours(pixels(canvas))).toBeGreaterThan(8);
      // Its label: the feature, the snapshot, the value and the image it came from.
      const label = canvas.getAttribute('aria-label')!;
      expect(label).toContain(`${['conv1 map 3', 'conv5 pool map 5'][k]}, ${r.snapshots[s]}: strongest activation`);
      expect(label).toContain(` in ${r.images[c.image]} at (${c.y}, ${c.x})`);
      expect(canvas.title).toBe(label);
      expect(c.value).toBeGreaterThan(0);
    }
    // Training changed each feature: epoch 1's picture and strength are not the final ones.
    expect(pixels(cell(k, 0))).not.toEqual(pixels(cell(k, 2)));
    expect(r.cells[k][0].value).not.toBeCloseTo(r.cells[k][2].value, 3);
  }
  // The epochs offered now are the ones the worker listed.
  expect($$<HTMLInputElement>('input[type="checkbox"]').map((c) => c.dataset.epoch))
    .toEqual([...r.available!.map(String), 'final']);

  // Exports: the whole grid as PNG, the numbers as JSON.
  const saved: ZfExportDetail[] = [];
  const keep = (e: Event) => { e.preventDefault(); saved.push((e as CustomEvent<ZfExportDetail>).detail); };
  view.addEventListener('zf-export', keep);
  await userEvent.click($('zf-export-buttons').shadowRoot!.querySelector<HTMLElement>('button[data-export="png"]')!);
  await userEvent.click($('zf-export-buttons').shadowRoot!.querySelector<HTMLElement>('button[data-export="json"]')!);
  await expect.poll(() => saved.length).toBe(2);
  view.removeEventListener('zf-export', keep);
  expect(saved.map((s) => s.filename)).toEqual(['zf-evolution-zfnet-mini-2x3.png', 'zf-evolution-zfnet-mini-2x3.json']);
  expect(saved[0].blob.type).toBe('image/png');
  const bitmap = await createImageBitmap(saved[0].blob);
  expect([bitmap.width, bitmap.height]).toEqual([r.grid.width, r.grid.height]);
  const json = JSON.parse(await saved[1].blob.text());
  expect(json.snapshots).toEqual(['epoch 1', 'epoch 8', 'final']);
  expect(json.features).toEqual(r.features);
  expect(json.cells[1][2]).toEqual(r.cells[1][2]);
  expect(json.images[r.cells[0][0].image]).toBe(r.images[r.cells[0][0].image]);

  view.scrollIntoView();
  await page.screenshot({ element: view, path: '../../test-results/evolution-view.png' });
});

test('feature text the model cannot have is refused inline, and nothing runs', async () => {
  const before = requests.length;
  for (const [text, message] of [
    ['conv1:3, conv2', `'conv2' is not LAYER:MAP`],
    ['conv2:64', `'conv2:64': conv2 has 64 maps (0-63)`],
    ['conv9:0', `'conv9:0': this model has no layer conv9`],
    ['conv1:relu6:0', `'conv1:relu6:0': conv1 has no point relu6`],
    [' , ', 'Give at least one feature'],
  ] as const) {
    await setFeatures(text);
    await userEvent.click($('button[data-role="run"]'));
    await view.updateComplete;
    expect($('[role="alert"]').textContent).toContain(message);
    expect(featuresInput().getAttribute('aria-invalid')).toBe('true');
    expect(featuresInput().getAttribute('aria-describedby')).toBe($('[role="alert"]').id);
  }
  expect(requests.length).toBe(before);
  // Emptied, the input shows the defaults again, and the error is gone.
  await setFeatures('');
  expect(featuresInput().value).toBe('conv1:0, conv1:1, conv3:0, conv3:1, conv5:0, conv5:1');
  expect($('[role="alert"]')).toBeNull();
  expect(featuresInput().getAttribute('aria-invalid')).toBe('false');
});

test('Cancel stops the run and keeps the last result', async () => {
  const last = view.result;
  const failed = failures.length;
  await setFeatures('conv1:0, conv2:0, conv3:0, conv4:0, conv5:0, fc6:0');
  // Every snapshot again (the first test left out 2, 3 and 5): work enough to cancel.
  for (const e of ['2', '3', '5']) await userEvent.click($(`input[data-epoch="${e}"]`));
  expect($$<HTMLInputElement>('input[type="checkbox"]').every((c) => c.checked)).toBe(true);
  await userEvent.click($('button[data-role="run"]'));
  await expect.poll(() => progress.length > 0).toBe(true);
  await userEvent.click($('button[data-role="cancel"]'));
  await expect.poll(() => view.running).toBe(false);
  expect(failures.slice(failed).map((e) => e.name)).toEqual(['AbortError']);
  expect(view.result).toBe(last);
  // The worker is free again: the next request is answered.
  await expect(client.request({ type: 'previews', images: requests[0].images.slice(0, 1) })).resolves.toBeTruthy();
});

test('another model: its snapshots are files the user picks, in name order', async () => {
  const bytes = await (await fetch(new URL('../fixtures/tiny-caffe.onnx', import.meta.url))).arrayBuffer();
  const other = await client.request({ type: 'load', source: new File([bytes], 'tiny-caffe.onnx') });
  view.info = other;
  view.features = '';
  await view.updateComplete;
  expect($('input[type="checkbox"]')).toBeNull();
  expect($<HTMLButtonElement>('button[data-role="run"]').disabled).toBe(true);
  const files = new DataTransfer();
  files.items.add(new File([bytes], 'run-10.onnx'));
  files.items.add(new File([bytes], 'run-2.onnx'));
  const input = $<HTMLInputElement>('input[type="file"]');
  input.files = files.files;
  input.dispatchEvent(new Event('change'));
  await view.updateComplete;
  const conv = other.layers.find((l) => l.kind === 'conv')!;
  await setFeatures(`${conv.name}:0`);
  await run();
  const asked = requests.at(-1)!;
  expect(asked.epochs).toBeUndefined();
  expect(asked.snapshots!.map((s) => [s.label, s.source instanceof File])).toEqual([['run-2', true], ['run-10', true]]);
  expect(texts('thead th[part="heading"]')).toEqual(['run-2', 'run-10']);
  expect(texts('tbody th[part="heading"]')).toEqual([`${conv.name} map 0`]);
  // The same file twice: the same strongest activation in both columns.
  expect(view.result!.cells[0][0]).toEqual(view.result!.cells[0][1]);
});
