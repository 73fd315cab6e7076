// <zf-visualizer>'s analysis views in real Chromium, on the default model (zfnet-mini, 28x28, or
// alexnet when its files are missing): occlusion from the element's Run button gives non-blank
// heatmaps over the image; invariance gives SVG charts; a screenshot of both
// (test-results/zf-visualizer-analyses.png).
import { afterAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { SAMPLES, TEST_MODEL, deep, deepAll, mount, next, pixels, unmountAll } from './fixtures/zf.js';
import type { ZfAnalysisDoneDetail, ZfInvarianceView, ZfOcclusionView } from '../../components/index.js';

const mini = (await fetch('/models/zfnet-mini/manifest.json').catch(() => undefined))?.ok ?? false;
const MODEL = mini ? 'zfnet-mini' : TEST_MODEL;

afterAll(() => unmountAll());

/** How many distinct colours a canvas has (a blank or flat one has 1). */
function colours(canvas: HTMLCanvasElement): number {
  const data = pixels(canvas);
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}

test(`occlusion and invariance run from the element (${MODEL})`, async () => {
  const el = mount({ model: MODEL }, (e) => { if (!mini) e.samples = SAMPLES; });
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  await next(el, 'zf-projection-shown');
  await el.updateComplete;

  // Occlusion: the tab is open by default; a small stride from the keyboard-reachable inputs.
  const tab = deep(el, 'zf-analyses-panel', '#tab-occlusion');
  expect(tab.getAttribute('aria-selected')).toBe('true');
  const view = deep<ZfOcclusionView>(el, 'zf-analyses-panel', 'zf-occlusion-view');
  const stride = deep<HTMLInputElement>(view, 'input[aria-label="Occluder stride in input pixels"]');
  await userEvent.fill(stride, mini ? '2' : '16');
  stride.dispatchEvent(new Event('change'));
  const occluded = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === 'occlusion');
  const progress: number[] = [];
  await userEvent.click(deep(view, 'button[data-role="run"]'));
  await expect.poll(() => { const p = view.shadowRoot!.querySelector('progress'); if (p) progress.push(p.value); return !!p || progress.length > 0; }).toBe(true);
  const occ = await occluded;
  await view.updateComplete;
  const maps = deepAll<HTMLCanvasElement>(el, ['zf-analyses-panel', 'zf-occlusion-view'], 'canvas[part="heatmap"]');
  expect(maps.map((c) => c.dataset.map)).toEqual(['probability', 'activation', 'top']);
  for (const c of maps) {
    expect(c.width).toBe(el.modelInfo!.input[2]);
    expect(c.getAttribute('aria-label')).toMatch(/positions/);
    expect(colours(c)).toBeGreaterThan(4);
  }
  expect(deepAll(el, ['zf-analyses-panel', 'zf-occlusion-view'], '[part="legend"] li').length).toBeGreaterThan(0);
  console.log(`${MODEL}: occlusion in ${occ.workerMs.toFixed(0)} ms in the worker`);

  // The projection still works afterwards (the worker recomputed the current run).
  const shown = next(el, 'zf-projection-shown');
  const options = deepAll(el, ['zf-feature-grid'], '[role="option"]');
  await userEvent.click(options[1]);
  await shown;

  // Invariance: switch tabs with the keyboard.
  tab.focus();
  await userEvent.keyboard('{ArrowRight}');
  await el.updateComplete;
  expect(deep(el, 'zf-analyses-panel', '#tab-invariance').getAttribute('aria-selected')).toBe('true');
  expect(deep(el, 'zf-analyses-panel', '#tabpanel-occlusion').hidden).toBe(true);
  const inv = deep<ZfInvarianceView>(el, 'zf-analyses-panel', 'zf-invariance-view');
  const swept = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === 'invariance', 120_000);
  await userEvent.click(deep(inv, 'button[data-role="run"]'));
  const r = await swept;
  await inv.updateComplete;
  const charts = deepAll(el, ['zf-analyses-panel', 'zf-invariance-view'], '[part="chart"]');
  expect(charts.map((c) => c.dataset.kind)).toEqual(['translate', 'scale', 'rotate']);
  for (const c of charts) {
    const svg = c.querySelector('svg');
    expect(svg).not.toBeNull();
    expect(svg!.querySelectorAll('polyline, path').length).toBeGreaterThan(0);
  }
  console.log(`${MODEL}: invariance in ${r.workerMs.toFixed(0)} ms in the worker`);
  expect(errors).toEqual([]);

  // The screenshot: both views' results (occlusion's panel shown again beside).
  deep(el, 'zf-analyses-panel', '#tabpanel-occlusion').hidden = false;
  const panel = deep(el, '.analyses');
  panel.scrollIntoView();
  await page.screenshot({ element: panel, path: '../../test-results/zf-visualizer-analyses.png' });
});

test('a new image cancels a running occlusion', async () => {
  unmountAll();
  const el = mount({ model: MODEL }, (e) => { if (!mini) e.samples = SAMPLES; });
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  await next(el, 'zf-projection-shown');
  await el.updateComplete;
  const view = deep<ZfOcclusionView>(el, 'zf-analyses-panel', 'zf-occlusion-view');
  const size = deep<HTMLInputElement>(view, 'input[aria-label="Occluder size in input pixels"]');
  const stride = deep<HTMLInputElement>(view, 'input[aria-label="Occluder stride in input pixels"]');
  await userEvent.fill(size, '2');
  size.dispatchEvent(new Event('change'));
  await userEvent.fill(stride, '1');
  stride.dispatchEvent(new Event('change'));
  let finished = false;
  el.addEventListener('zf-analysis-done', () => { finished = true; });
  await userEvent.click(deep(view, 'button[data-role="run"]'));
  await expect.poll(() => view.shadowRoot!.querySelector('button[data-role="cancel"]')).not.toBeNull();
  const changed = next(el, 'zf-image-changed');
  await userEvent.click(deepAll(el, ['zf-image-input'], 'button.sample')[1]);
  await changed;
  await el.updateComplete;
  await view.updateComplete;
  expect(view.shadowRoot!.querySelector('button[data-role="run"]')).not.toBeNull();
  expect(view.shadowRoot!.querySelector('canvas')).toBeNull();
  expect(finished).toBe(false);
  expect(errors).toEqual([]);
});

test('occlusion of a chosen class, layer and map, saved as PNG and JSON', async () => {
  unmountAll();
  const el = mount({ model: MODEL }, (e) => { if (!mini) e.samples = SAMPLES; });
  await next(el, 'zf-projection-shown');
  await el.updateComplete;
  const info = el.modelInfo!;
  const view = deep<ZfOcclusionView>(el, 'zf-analyses-panel', 'zf-occlusion-view');
  await view.updateComplete;
  const classSelect = deep<HTMLSelectElement>(view, 'select[aria-label="Class whose probability map (a) shows"]');
  const layerSelect = deep<HTMLSelectElement>(view, 'select[aria-label="Layer of the feature map (b) shows"]');
  const mapInput = deep<HTMLInputElement>(view, 'input[aria-label="Feature map (b) shows; empty for the strongest"]');
  // Every class, the top class first; every conv layer, the last one chosen.
  expect(classSelect.options.length).toBe(info.classes + 1);
  const convs = info.layers.filter((l) => l.kind === 'conv');
  expect([...layerSelect.options].map((o) => o.value)).toEqual(convs.map((l) => l.name));
  expect(layerSelect.value).toBe(convs[convs.length - 1].name);

  // A map past the layer's last is refused in the view, with the layer's count named.
  await userEvent.selectOptions(layerSelect, convs[0].name);
  await userEvent.fill(mapInput, String(convs[0].shape[0]));
  mapInput.dispatchEvent(new Event('change'));
  let asked = 0;
  el.addEventListener('zf-analysis-done', () => { asked++; });
  await userEvent.click(deep(view, 'button[data-role="run"]'));
  await view.updateComplete;
  expect(deep(view, '[role="alert"]').textContent).toContain(`${convs[0].name} has ${convs[0].shape[0]} maps`);

  const wantedClass = info.classes - 1;
  await userEvent.selectOptions(classSelect, String(wantedClass));
  await userEvent.fill(mapInput, '3');
  mapInput.dispatchEvent(new Event('change'));
  const doneEvent = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === 'occlusion');
  await userEvent.click(deep(view, 'button[data-role="run"]'));
  await doneEvent;
  expect(asked).toBe(1);
  const r = view.result!;
  expect([r.classIndex, r.layer, r.map]).toEqual([wantedClass, convs[0].name, 3]);
  expect(deepAll(view, [], 'figcaption strong')[1].textContent).toContain(`${convs[0].name} map 3`);

  // Saving: the files are made from the result (the download itself is cancelled).
  const saved: { filename: string; blob: Blob }[] = [];
  el.addEventListener('zf-export', (e) => { e.preventDefault(); saved.push(e.detail); });
  const buttons = deep(view, 'zf-export-buttons');
  await userEvent.click(deep(buttons, 'button[data-export="png"]'));
  await userEvent.click(deep(buttons, 'button[data-export="json"]'));
  await expect.poll(() => saved.length).toBe(2);
  const [png, json] = saved;
  expect(png.filename).toMatch(/^zf-occlusion-.*\.png$/);
  expect(png.blob.type).toBe('image/png');
  const bitmap = await createImageBitmap(png.blob);
  expect([bitmap.width, bitmap.height]).toEqual([3 * info.input[2] + 2 * 4, info.input[1]]);
  const data = JSON.parse(await json.blob.text());
  expect(json.filename).toMatch(/\.json$/);
  expect([data.classIndex, data.layer, data.map, data.rows, data.cols]).toEqual([wantedClass, convs[0].name, 3, r.rows, r.cols]);
  expect(data.probability).toEqual(Array.from(r.probability));
  expect(data.top).toEqual(Array.from(r.top));
});
