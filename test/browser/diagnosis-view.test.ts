// <zf-diagnosis-view> on its own in real Chromium, wired to the engine's real worker as a host
// would: zfnet-mini beside its epoch-1 snapshot (two columns, canvases holding exactly the
// worker's pictures, the numbers shown equal to the result's, per-filter RMS equal to the RMS of
// the conv1 weights loaded independently in this page, one chart series per model, PNG/SVG/JSON
// exports), an ONNX file picked by the user (tiny-caffe.onnx: one conv layer), a corrupt file's
// error naming it, and Cancel. Screenshot: test-results/diagnosis-view.png.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type { EngineClient } from '../../src/worker/client.js';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/engine/model.js';
import type { DiagnosisRequest, DiagnosisResultMessage } from '../../src/worker/handlers/diagnosis.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { viewHost } from './fixtures/view-host.js';
import type { ZfExportDetail } from '../../components/export-buttons/zf-export-buttons.js';
import '../../components/diagnosis-view/zf-diagnosis-view.js';
import type { ZfDiagnosisView } from '../../components/diagnosis-view/zf-diagnosis-view.js';

let client: EngineClient;
let info: ModelInfo;
let view: ZfDiagnosisView;
const host = viewHost('diagnosis');
const { requests, failures, progress } = host;

beforeAll(async () => { ({ client, info, view } = await host.mount('zf-diagnosis-view')); });
afterAll(() => host.unmount());

const $ = <E extends Element = HTMLElement>(s: string) => view.shadowRoot!.querySelector<E>(s)!;
const $$ = <E extends Element = HTMLElement>(s: string) => [...view.shadowRoot!.querySelectorAll<E>(s)];
const compareSelect = () => $<HTMLSelectElement>('select');

/** Press Run and wait until the host has set the result (or failed). */
async function run(): Promise<number> {
  const before = requests.length, failed = failures.length, t0 = performance.now();
  await userEvent.click($('button[data-role="run"]'));
  await expect.poll(() => requests.length > before && !view.running, { timeout: 60_000 }).toBe(true);
  await view.updateComplete;
  expect(failures.slice(failed)).toEqual([]);
  return performance.now() - t0;
}

function rmsOf(model: Model): number[] {
  const [f, ...rest] = model.weightShapes().conv1.weight;
  const per = rest.reduce((a, b) => a * b, 1);
  const w = model.getWeights('conv1').weight;
  return Array.from({ length: f }, (_, k) => Math.sqrt(w.subarray(k * per, (k + 1) * per).reduce((a, v) => a + v * v, 0) / per));
}

/** Where the canvas first differs from the picture's bytes (-1: nowhere); a loop, not a deep equal of 250k elements. */
function firstDifference(c: HTMLCanvasElement, picture: Uint8ClampedArray): number {
  const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  if (data.length !== picture.length) return 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== picture[i]) return i;
  return -1;
}

test('zfnet-mini beside its epoch-1 snapshot: pictures, numbers, charts, exports', async () => {
  expect([...compareSelect().options].map((o) => o.value)).toEqual([
    'none', 'epoch:1', 'epoch:2', 'epoch:3', 'epoch:5', 'epoch:8',
    'arch:zfnet', 'arch:alexnet', 'arch:alexnet-bvlc', 'arch:caffenet', 'onnx',
  ]);
  await userEvent.selectOptions(compareSelect(), 'epoch:1');
  const ms = await run();
  const r = view.result as DiagnosisResultMessage;
  console.log(`zfnet-mini vs epoch 1, 20 sample images: ${ms.toFixed(0)} ms from Run (${r.ms.toFixed(0)} ms in the worker)`);

  // The request: the 20 samples as absolute URLs, the snapshot by epoch, 16 layer-2 maps.
  const asked = requests.at(-1)!;
  expect(asked.compare).toEqual({ source: 'zfnet-mini', epoch: 1, label: 'zfnet-mini epoch 1' });
  expect(asked.images).toHaveLength(20);
  expect(asked.images!.every((im) => typeof im.source === 'string' && im.source.startsWith(location.origin))).toBe(true);
  expect(asked.layer2Maps).toBe(16);
  expect(progress.at(-1)).toBe(1);
  expect(progress.some((p) => p > 0 && p < 1)).toBe(true);

  // Two columns, each painted with exactly the worker's pictures.
  const columns = $$('section[part="model"]');
  expect(columns.map((c) => c.querySelector('[part="title"]')!.textContent)).toEqual(['zfnet-mini', 'zfnet-mini epoch 1']);
  r.models.forEach((m, i) => {
    const filters = $<HTMLCanvasElement>(`canvas[part="filters"][data-model="${i}"]`);
    expect([filters.width, filters.height]).toEqual([m.filters.width, m.filters.height]);
    expect(firstDifference(filters, m.filters.data)).toBe(-1);
    const layer2 = $<HTMLCanvasElement>(`canvas[part="layer2"][data-model="${i}"]`);
    expect([layer2.width, layer2.height]).toEqual([m.layer2!.width, m.layer2!.height]);
    expect(firstDifference(layer2, m.layer2!.data)).toBe(-1);
    expect(m.summary.layer2!.units).toHaveLength(16);
  });

  // The numbers shown are the result's: exact values in <data value>, the text rounded from them.
  r.models.forEach((m, i) => {
    const s = m.summary.summary;
    const dd = (stat: string) => columns[i].querySelector(`dd[data-stat="${stat}"]`)!;
    const values = (stat: string) => [...dd(stat).querySelectorAll('data')].map((d) => [Number(d.value), d.textContent!] as const);
    expect(dd('filters').textContent).toBe('32');
    expect(dd('dead').textContent).toBe(s.dead.length ? `${s.dead.length}: ${s.dead.join(', ')}` : 'none');
    const rms = values('rms');
    expect(rms.map(([v]) => v)).toEqual([s.rms.min, s.rms.median, s.rms.max]);
    for (const [v, text] of [...rms, ...values('ratio')]) expect(Math.abs(Number(text) - v)).toBeLessThanOrEqual(Math.abs(v) * 5e-3);
    expect(values('ratio')[0][0]).toBe(s.rms.maxOverMedian);
    expect(values('bands').map(([v, text]) => [v, text])).toEqual(
      [s.bands.low, s.bands.mid, s.bands.high].map((v) => [v, `${(v * 100).toFixed(0)}%`]));
  });

  // Independently: conv1's per-filter RMS from the weights, loaded here in the page.
  const [trained, early] = await Promise.all([loadModel('zfnet-mini'), loadModel('zfnet-mini', { epoch: 1 })]);
  for (const [m, model] of [[r.models[0], trained], [r.models[1], early]] as const) {
    const want = rmsOf(model);
    m.summary.filters.forEach((f, k) => expect(f.rms).toBeCloseTo(want[k], 6));
  }
  expect(rmsOf(trained)).not.toEqual(rmsOf(early));

  // Charts: inline SVG, one series (a titled group with a line) per model.
  for (const which of ['spectrum', 'rms']) {
    const chart = $(`.chart[data-chart="${which}"]`);
    const series = [...chart.querySelectorAll('svg > g')].filter((g) => g.querySelector('title'));
    expect(series).toHaveLength(2);
    expect(series.every((g) => g.querySelector('polyline'))).toBe(true);
    expect(series[1].querySelector('title')!.textContent).toMatch(/^zfnet-mini epoch 1/);
    expect(chart.getAttribute('aria-label')).toContain('zfnet-mini epoch 1');
  }

  // Exports: made from the result, the download cancelled.
  const saved: ZfExportDetail[] = [];
  const keep = (e: CustomEvent<ZfExportDetail>) => { e.preventDefault(); saved.push(e.detail); };
  view.addEventListener('zf-export', keep);
  const buttons = $$('zf-export-buttons')[0].shadowRoot!.querySelectorAll<HTMLButtonElement>('button');
  expect([...buttons].map((b) => b.textContent)).toEqual(['PNG filters', 'PNG layer 2', 'SVG spectrum', 'SVG RMS', 'JSON']);
  for (const b of buttons) {
    const n = saved.length;
    await userEvent.click(b);
    await expect.poll(() => saved.length).toBe(n + 1);
  }
  view.removeEventListener('zf-export', keep);
  expect(saved.map((s) => s.filename)).toEqual([
    'zf-diagnosis-zfnet-mini-zfnet-mini-epoch-1-conv1.png', 'zf-diagnosis-zfnet-mini-zfnet-mini-epoch-1-layer2.png',
    'zf-diagnosis-zfnet-mini-zfnet-mini-epoch-1-spectrum.svg', 'zf-diagnosis-zfnet-mini-zfnet-mini-epoch-1-rms.svg',
    'zf-diagnosis-zfnet-mini-zfnet-mini-epoch-1.json',
  ]);
  expect(saved.map((s) => s.blob.type)).toEqual(['image/png', 'image/png', 'image/svg+xml', 'image/svg+xml', 'application/json']);
  const png = await createImageBitmap(saved[0].blob);
  expect([png.width, png.height]).toEqual([r.models[0].filters.width + 16 + r.models[1].filters.width, r.models[0].filters.height]);
  expect(await saved[2].blob.text()).toContain(r.charts.spectrum);
  const json = JSON.parse(await saved[4].blob.text());
  expect(json.models.map((m: { label: string }) => m.label)).toEqual(['zfnet-mini', 'zfnet-mini epoch 1']);
  expect(json.models[1].filters[3].rms).toBe(r.models[1].summary.filters[3].rms);

  view.scrollIntoView();
  await page.screenshot({ element: view, path: '../../test-results/diagnosis-view.png' });
});

test('an ONNX file the user picks, fewer layer-2 maps', async () => {
  const bytes = await (await fetch(new URL('../fixtures/tiny-caffe.onnx', import.meta.url))).arrayBuffer();
  const files = new DataTransfer();
  files.items.add(new File([bytes], 'tiny-caffe.onnx'));
  const input = $<HTMLInputElement>('input[type="file"]');
  input.files = files.files;
  input.dispatchEvent(new Event('change'));
  await view.updateComplete;
  expect(compareSelect().value).toBe('onnx');
  const maps = $<HTMLInputElement>('input[aria-label="How many layer-2 maps to project"]');
  await userEvent.fill(maps, '4');
  maps.dispatchEvent(new Event('change'));
  const ms = await run();
  console.log(`zfnet-mini vs tiny-caffe.onnx: ${ms.toFixed(0)} ms from Run`);
  const asked = requests.at(-1)!;
  expect(asked.compare!.source).toBeInstanceOf(File);
  expect(asked.layer2Maps).toBe(4);
  const r = view.result!;
  expect(r.models.map((m) => m.label)).toEqual(['zfnet-mini', 'tiny-caffe.onnx']);
  expect(r.models[0].summary.layer2!.units).toHaveLength(4);
  expect(r.models[1].summary.conv1).toMatchObject({ filters: 8, channels: 3, kernel: [5, 5], stride: [2, 2] });
  // tiny-caffe has no second conv layer: no projections, and the column says why.
  expect(r.models[1].layer2).toBeNull();
  expect($$('canvas[part="layer2"]')).toHaveLength(1);
  expect($$('section[part="model"]')[1].textContent).toContain('conv1 is the only conv layer');
});

test('a corrupt file fails naming it; Cancel stops a run', async () => {
  const files = new DataTransfer();
  files.items.add(new File([new Uint8Array([8, 1, 2, 3])], 'broken.onnx'));
  const input = $<HTMLInputElement>('input[type="file"]');
  input.files = files.files;
  input.dispatchEvent(new Event('change'));
  await view.updateComplete;
  const failed = failures.length;
  await userEvent.click($('button[data-role="run"]'));
  await expect.poll(() => failures.length, { timeout: 30_000 }).toBe(failed + 1);
  expect(failures.at(-1)!.name).toBe('ModelFormatError');
  expect(failures.at(-1)!.message).toContain('the model to compare with (broken.onnx)');

  // Cancel while the samples are decoded: the host aborts, the worker stops, Run comes back.
  await userEvent.selectOptions(compareSelect(), 'epoch:2');
  await userEvent.click($('button[data-role="run"]'));
  await view.updateComplete;
  await userEvent.click($('button[data-role="cancel"]'));
  await expect.poll(() => failures.length, { timeout: 30_000 }).toBe(failed + 2);
  expect(failures.at(-1)!.name).toBe('AbortError');
  await view.updateComplete;
  expect($('button[data-role="run"]')).not.toBeNull();
  // The worker still answers afterwards.
  expect((await client.request({ type: 'filters' })).shape).toEqual([32, 1, 5, 5]);
});

test('a built-in architecture, without samples: the request (stopped before the host runs it)', async () => {
  // A random AlexNet takes ~250 MB and seconds to build: its run is the Node test's; here, what the view asks.
  const seen: Omit<DiagnosisRequest, 'type'>[] = [];
  const stop = (e: Event) => { e.stopImmediatePropagation(); seen.push((e as CustomEvent).detail.request); };
  window.addEventListener('zf-analysis-run', stop, { capture: true });
  try {
    await userEvent.selectOptions(compareSelect(), 'arch:alexnet');
    await userEvent.click($('input[data-role="samples"]'));
    await view.updateComplete;
    expect($<HTMLInputElement>('input[aria-label="How many layer-2 maps to project"]').disabled).toBe(true);
    await userEvent.click($('button[data-role="run"]'));
    expect(seen).toEqual([{ compare: { source: 'alexnet', seed: 1, label: 'alexnet (random)' } }]);
    await userEvent.selectOptions(compareSelect(), 'none');
    await userEvent.click($('button[data-role="run"]'));
    expect(seen[1]).toEqual({});
  } finally {
    window.removeEventListener('zf-analysis-run', stop, { capture: true });
  }
});
