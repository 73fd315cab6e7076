// Every analysis tab of <zf-visualizer>, run from the element itself on the default model
// (zfnet-mini): the top-9 scan, correspondence, diagnosis and evolution each go through the
// panel to the engine's worker and back, show their result, and survive a new image (they do
// not depend on it); one screenshot per tab (test-results/zf-visualizer-<tab>.png).
import { afterAll, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { deep, deepAll, mount, next, pixels, unmountAll } from './fixtures/zf.js';
import type { ZfAnalysisDoneDetail, ZfAnalysesPanel } from '../../components/index.js';


afterAll(() => unmountAll());

/** What each tab shows once its analysis is done. */
const SHOWN: Record<string, string> = {
  scan: 'canvas[part="block"]',
  correspondence: 'table[part="table"]',
  diagnosis: 'canvas[part="filters"]',
  evolution: 'canvas[part="cell"]',
};

test('the data-set analyses run from their tabs, and a new image keeps their results', async () => {
  const el = mount({ model: 'zfnet-mini' });
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  await next(el, 'zf-projection-shown');
  await el.updateComplete;
  const panel = deep<ZfAnalysesPanel>(el, 'zf-analyses-panel');
  const tabs = deepAll<HTMLButtonElement>(panel, [], '[role="tab"]');
  expect(tabs.map((t) => t.dataset.analysis)).toEqual(['occlusion', 'invariance', 'scan', 'correspondence', 'diagnosis', 'evolution']);

  for (const name of Object.keys(SHOWN)) {
    await userEvent.click(deep(panel, `#tab-${name}`));
    await panel.updateComplete;
    expect(deep(panel, `#tabpanel-${name}`).hidden).toBe(false);
    const view = deep(panel, `zf-${name}-view`);
    // Correspondence needs its previews before Run is enabled.
    await expect.poll(() => deep<HTMLButtonElement>(view, 'button[data-role="run"]').disabled, { timeout: 30_000 }).toBe(false);
    const finished = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === name, 120_000);
    await userEvent.click(deep(view, 'button[data-role="run"]'));
    const detail = await finished;
    const shown = deepAll<HTMLElement>(view, [], SHOWN[name]);
    expect(shown.length, name).toBeGreaterThan(0);
    if (shown[0] instanceof HTMLCanvasElement) {
      const data = pixels(shown[0]);
      expect(new Set(Array.from({ length: data.length / 4 }, (_, i) => data[i * 4])).size, `${name} painted`).toBeGreaterThan(2);
    }
    console.log(`${name}: ${detail.workerMs.toFixed(0)} ms in the worker`);
    await page.screenshot({ element: deep(el, '.analyses'), path: `../../test-results/zf-visualizer-${name}.png` });
  }
  expect(errors).toEqual([]);

  // A new image: the data-set analyses keep their results (they are not about the image).
  const changed = next(el, 'zf-image-changed');
  await userEvent.click(deepAll(el, ['zf-image-input'], 'button.sample')[3]);
  await changed;
  await el.updateComplete;
  await panel.updateComplete;
  for (const [name, selector] of Object.entries(SHOWN)) {
    expect(deepAll(deep(panel, `zf-${name}-view`), [], selector).length, `${name} kept`).toBeGreaterThan(0);
  }
});

test('an analysis error is shown in its tab and reported as zf-error', async () => {
  unmountAll();
  const el = mount({ model: 'zfnet-mini' });
  await next(el, 'zf-projection-shown');
  const panel = deep<ZfAnalysesPanel>(el, 'zf-analyses-panel');
  await userEvent.click(deep(panel, '#tab-evolution'));
  await panel.updateComplete;
  const view = deep(panel, 'zf-evolution-view');
  // The view checks what it can; the worker checks the rest: a map past the layer's end.
  const failed = next<{ stage: string; name: string; message: string }>(el, 'zf-error');
  view.dispatchEvent(new CustomEvent('zf-analysis-run', {
    bubbles: true, composed: true,
    detail: { analysis: 'evolution', request: { images: [{ source: new URL('/models/samples/bag-1.png', location.href).href, name: 'bag' }], features: [{ layer: 'conv1', map: 999 }], epochs: [1] } },
  }));
  const error = await failed;
  expect(error.stage).toBe('evolution');
  expect(error.name).toBe('ArgumentError');
  expect(error.message).toMatch(/999/);
  await panel.updateComplete;
  expect(deep(panel, '#tabpanel-evolution [role="alert"]').textContent).toContain('999');
});

test('while a data-set analysis keeps the engine busy, a new image says so, and Cancel frees it', async () => {
  unmountAll();
  const el = mount({ model: 'zfnet-mini' });
  await next(el, 'zf-projection-shown');
  const panel = deep<ZfAnalysesPanel>(el, 'zf-analyses-panel');
  await userEvent.click(deep(panel, '#tab-scan'));
  await panel.updateComplete;
  const view = deep(panel, 'zf-scan-view');
  // A long scan: 40 copies of each sample.
  const images = Array.from({ length: 800 }, (_, i) => ({
    source: new URL(`/models/samples/${['bag', 'coat', 'dress', 'shirt'][i % 4]}-${1 + (i % 2)}.png`, location.href).href, name: `copy ${i}`,
  }));
  const busy = next(el, 'zf-analysis-busy', (d: { analyses: { name: string }[] }) => d.analyses.some((a) => a.name === 'scan'));
  view.dispatchEvent(new CustomEvent('zf-analysis-run', { bubbles: true, composed: true, detail: { analysis: 'scan', request: { images, maps: [0, 1] } } }));
  await busy;
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push(e.detail));
  const changed = next(el, 'zf-image-changed');
  await userEvent.click(deepAll(el, ['zf-image-input'], 'button.sample')[5]);
  await expect.poll(() => el.shadowRoot!.querySelector('[part="waiting"]')?.textContent ?? '').toContain('Top-9 of a data set');
  await userEvent.click(deep(el, '[part="waiting"] button'));
  await changed;
  await el.updateComplete;
  expect(el.shadowRoot!.querySelector('[part="waiting"]')).toBeNull();
  expect(errors).toEqual([]);
});
