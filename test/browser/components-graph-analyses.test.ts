// Every analysis tab of <zf-visualizer> on users' own graph models (torchvision's ResNet-18 and
// GoogLeNet, small seeded exports): each of the six runs from its tab in the engine's worker and
// shows a result, never a zf-error; the views' layer and feature pickers offer the graph's short
// names and tensors and take a typed tensor name; the page's main thread stays free while an
// analysis runs (its longest task is measured, by CPU time, from Run to the result shown).
// Screenshots: test-results/zf-visualizer-graph-<model>-<tab>.png.
import { afterAll, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type { ZfAnalysisDoneDetail, ZfAnalysesPanel, ZfVisualizer } from '../../components/index.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import { deep, deepAll, mount, next, pixels, recordMainThread, SAMPLES, unmountAll } from './fixtures/zf.js';

afterAll(() => unmountAll());

const fixture = async (name: string) =>
  new File([await (await fetch(`/test/fixtures/torchvision/${name}.onnx`)).arrayBuffer()], `${name}.onnx`);

/** What each tab shows once its analysis is done. */
const SHOWN: Record<string, string> = {
  occlusion: 'canvas[part="heatmap"]',
  invariance: '[part="chart"] svg, [part="chart"]',
  scan: 'canvas[part="block"]',
  correspondence: 'table[part="table"]',
  diagnosis: 'canvas[part="filters"]',
  evolution: 'canvas[part="cell"]',
};

/** Per model: the analyses' graph defaults and a tensor in the middle of the network. */
const MODELS = {
  resnet18: {
    block: '/layer4/layer4.0/relu_1/Relu_output_0', hidden: '/avgpool/GlobalAveragePool_output_0',
    middle: '/layer3/layer3.0/relu_1/Relu_output_0', middleMaps: 32,
  },
  googlenet: {
    block: '/inception5b/Concat_output_0', hidden: '/avgpool/GlobalAveragePool_output_0',
    middle: '/inception4a/Concat_output_0', middleMaps: 64,
  },
} as const;

const summary: string[] = [];
afterAll(() => console.log(summary.join('\n')));

describe.each(Object.keys(MODELS) as (keyof typeof MODELS)[])('%s', (name) => {
  const want = MODELS[name];
  let el: ZfVisualizer;
  let panel: ZfAnalysesPanel;
  let info: ModelInfo;
  const errors: { stage: string; name: string; message: string }[] = [];

  const open = async (tab: string) => {
    await userEvent.click(deep(panel, `#tab-${tab}`));
    await panel.updateComplete;
    expect(deep(panel, `#tabpanel-${tab}`).hidden).toBe(false);
    const view = deep(panel, `zf-${tab}-view`);
    await (view as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    return view;
  };

  /** Press Run and wait for the result; the main thread recorded from the click to the result shown. */
  const run = async (tab: string, view: HTMLElement) => {
    await expect.poll(() => deep<HTMLButtonElement>(view, 'button[data-role="run"]').disabled, { timeout: 30_000 }).toBe(false);
    const finished = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === tab, 120_000);
    const mainThread = await recordMainThread();
    const t0 = performance.now();
    await userEvent.click(deep(view, 'button[data-role="run"]'));
    const detail = await finished;
    const ms = performance.now() - t0;
    await (view as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    const record = await mainThread.stop();
    summary.push(`${name} ${tab}: ${detail.workerMs.toFixed(0)} ms in the worker, ${ms.toFixed(0)} ms from Run to shown; ` +
      `longest main-thread task ${record.longestCpu.toFixed(1)} ms CPU (${record.longestWall.toFixed(1)} ms wall); ` +
      `Long Tasks API: ${record.longTasks.length} over 50 ms`);
    expect(record.longestCpu, `${tab}: the main thread's longest task`).toBeLessThan(30);
    const shown = deepAll<HTMLElement>(view, [], SHOWN[tab]);
    expect(shown.length, `${tab} shows its result`).toBeGreaterThan(0);
    if (shown[0] instanceof HTMLCanvasElement) {
      const data = pixels(shown[0]);
      expect(new Set(Array.from({ length: data.length / 4 }, (_, i) => data[i * 4])).size, `${tab} painted`).toBeGreaterThan(2);
    }
    await page.screenshot({ element: deep(el, '.analyses'), path: `../../test-results/zf-visualizer-graph-${name}-${tab}.png` });
    expect(errors).toEqual([]);
    return detail;
  };

  test('opens the model', async () => {
    unmountAll();
    const file = await fixture(name);
    el = mount({}, (e) => {
      e.modelFile = file;
      e.addEventListener('zf-error', (ev) => errors.push((ev as CustomEvent).detail));
    });
    info = await next<ModelInfo>(el, 'zf-model-loaded');
    await next(el, 'zf-projection-shown');
    await el.updateComplete;
    panel = deep<ZfAnalysesPanel>(el, 'zf-analyses-panel');
    expect(info.tensors!.length).toBeGreaterThan(30);
  });

  test('occlusion: map (b) on the last block\'s output (the field suggests the graph\'s tensors)', async () => {
    const view = await open('occlusion');
    const field = deep<HTMLInputElement>(view, 'input[data-role="layer"]');
    expect(field.value).toBe(want.block);
    expect(deepAll<HTMLOptionElement>(view, [], 'datalist option').map((o) => o.value)).toContain(want.middle);
    await run('occlusion', view);
    expect((view as HTMLElement & { result: { layer: string } }).result.layer).toBe(want.block);
  });

  test('invariance: distances at conv1 and the classifier\'s input', async () => {
    const view = await open('invariance');
    await run('invariance', view);
    const note = deep(view, '.note').textContent!;
    expect(note).toContain(want.hidden);
    expect(note).not.toMatch(/ tensor\b/);
  });

  test('scan: the layer field offers the short names and the graph\'s tensors, starts on the block output, takes a typed name', async () => {
    const view = await open('scan');
    const field = deep<HTMLInputElement>(view, 'input[data-role="layer"]');
    const options = deepAll<HTMLOptionElement>(view, [], 'datalist option').map((o) => o.value);
    expect(options).toContain('conv1');
    expect(options).toContain(want.block);
    expect(options).toContain(want.middle);
    expect(options).not.toContain('input');
    expect(options).not.toContain('logits'); // no maps: [10]
    expect(field.value).toBe(want.block);
    // A name that is not a tensor: said at once, Run refused.
    await userEvent.clear(field);
    await userEvent.type(field, '/nowhere');
    await userEvent.keyboard('{Tab}');
    expect(deep(view, '[role="alert"]').textContent).toMatch(/no layer or tensor/);
    // The middle tensor, typed.
    await userEvent.clear(field);
    await userEvent.type(field, want.middle);
    await userEvent.keyboard('{Tab}');
    expect(deepAll(view, [], '[role="alert"]')).toHaveLength(0);
    const maps = deep<HTMLInputElement>(view, 'input.maps');
    expect(maps.value).toBe('0-15');
    await userEvent.clear(maps);
    await userEvent.type(maps, '0-5');
    await run('scan', view);
    const r = (view as HTMLElement & { result: { layer: string; shape: number[]; maps: unknown[] } }).result;
    expect(r.layer).toBe(want.middle);
    expect(r.shape[0]).toBe(want.middleMaps);
    expect(r.maps).toHaveLength(6);
  });

  test('a long scan (240 images) keeps the main thread free throughout', async () => {
    const view = await open('scan');
    const urls = SAMPLES.map((x) => new URL(x.url, location.href).href);
    expect(urls.length).toBeGreaterThan(3);
    const images = Array.from({ length: 240 }, (_, i) => ({ source: urls[i % urls.length], name: `copy ${i}` }));
    const finished = next<ZfAnalysisDoneDetail>(el, 'zf-analysis-done', (d) => d.analysis === 'scan', 120_000);
    const mainThread = await recordMainThread();
    view.dispatchEvent(new CustomEvent('zf-analysis-run', {
      bubbles: true, composed: true, detail: { analysis: 'scan', request: { images, layer: want.block, maps: [0, 1, 2, 3] } },
    }));
    const detail = await finished;
    const record = await mainThread.stop();
    summary.push(`${name} scan of 240 images: ${detail.workerMs.toFixed(0)} ms in the worker; longest main-thread task ` +
      `${record.longestCpu.toFixed(1)} ms CPU (${record.longestWall.toFixed(1)} ms wall); Long Tasks API: ${record.longTasks.length} over 50 ms`);
    expect(record.longestCpu).toBeLessThan(30);
    expect(errors).toEqual([]);
  });

  test('correspondence: default rows are the block output and the classifier\'s input; a typed tensor adds a row', async () => {
    const view = await open('correspondence');
    const field = deep<HTMLInputElement>(view, 'input[data-role="layers"]');
    expect(field.value).toBe(`${want.block}, ${want.hidden}`);
    await run('correspondence', view);
    const rows = () => deepAll(view, [], 'tbody tr').map((r) => r.getAttribute('data-layer'));
    expect(rows()).toEqual([want.block, want.hidden]);
    await userEvent.clear(field);
    await userEvent.type(field, `conv1, ${want.middle}`);
    await userEvent.keyboard('{Tab}');
    await run('correspondence', view);
    expect(rows()).toEqual(['conv1', want.middle]);
  });

  test('diagnosis: conv1 of this model beside the default comparison', async () => {
    const view = await open('diagnosis');
    await run('diagnosis', view);
    const models = (view as HTMLElement & { result: { models: { summary: { conv1: { layer: string; filters: number } } }[] } }).result.models;
    expect(models[0].summary.conv1).toMatchObject({ layer: 'conv1', filters: info.layers.find((l) => l.name === 'conv1')!.shape[0] });
  });

  test('evolution: default features include the block output; two copies of the file as snapshots give equal columns', async () => {
    const view = await open('evolution');
    const features = deep<HTMLInputElement>(view, 'input[type="text"]');
    expect(features.value).toContain(`${want.block}:0`);
    const bytes = await fixture(name);
    const files = new DataTransfer();
    files.items.add(new File([bytes], 'a.onnx'));
    files.items.add(new File([bytes], 'b.onnx'));
    const input = deep<HTMLInputElement>(view, 'input[type="file"]');
    input.files = files.files;
    input.dispatchEvent(new Event('change'));
    await userEvent.clear(features);
    await userEvent.type(features, `conv1:0, ${want.middle}:3`);
    await userEvent.keyboard('{Tab}');
    await run('evolution', view);
    const r = (view as HTMLElement & { result: { features: { layer: string }[]; cells: unknown[][] } }).result;
    expect(r.features.map((f) => f.layer)).toEqual(['conv1', want.middle]);
    for (const row of r.cells) expect(row[1]).toEqual(row[0]);
  });
});
