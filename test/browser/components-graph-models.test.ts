// <zf-visualizer> with deep graph models (torchvision's ResNet-18 and GoogLeNet, small seeded
// exports, test/fixtures/torchvision/): the layer picker is a tree of the graph's tensors grouped
// by module scope, with a search box (typing filters, arrows move, Enter picks); the view starts
// on the last conv block's output; picking a tensor shows its maps and a projection (spatial
// tensors and a dense layer's units); Grad-CAM mode shows an overlay and guided Grad-CAM; the
// page's thread stays free while a model of ~150 tensors loads; zf-error never fires. Screenshots:
// test-results/zf-visualizer-graph-{resnet18,googlenet}.png.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type { ZfFeatureGrid, ZfVisualizer } from '../../components/index.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import type { ZfGradcamShownDetail, ZfProjectionShownDetail } from '../../components/zf-visualizer/zf-visualizer.js';
import { deep, deepAll, mount, next, nonGrey, pixels, recordMainThread, unmountAll, type MainThreadRecord } from './fixtures/zf.js';

const fixture = async (name: string) =>
  new File([await (await fetch(`/test/fixtures/torchvision/${name}`)).arrayBuffer()], name);

const picker = ['zf-layer-picker'];
const rows = (el: ZfVisualizer) => deepAll(el, picker, '[role="treeitem"]');
const groupRows = (el: ZfVisualizer) => deepAll(el, picker, '[role="treeitem"][aria-expanded]');
const tensorRows = (el: ZfVisualizer) => deepAll(el, picker, '[role="treeitem"]:not([aria-expanded])');
const search = (el: ZfVisualizer) => deep<HTMLInputElement>(el, 'zf-layer-picker', 'input[type="search"]');
const grid = (el: ZfVisualizer) => deep<ZfFeatureGrid>(el, 'zf-feature-grid');
const describeTasks = (r: MainThreadRecord) => `longest main-thread task ${r.longestCpu.toFixed(0)} ms CPU ` +
  `(${r.longestWall.toFixed(0)} ms wall); Long Tasks API: ${r.longTasks.length} over 50 ms`;

/** Distinct RGB colours of a canvas (a blank or flat one has 1). */
function colours(canvas: HTMLCanvasElement): number {
  const data = pixels(canvas);
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size;
}

/** Mount with a model file, wait for its first projection; the main thread recorded throughout. */
async function open(name: string) {
  const file = await fixture(name);
  const mainThread = await recordMainThread();
  const t0 = performance.now();
  const errors: { stage: string; name: string; message: string }[] = [];
  const el = mount({}, (e) => {
    e.modelFile = file;
    e.addEventListener('zf-error', (ev) => errors.push(ev.detail));
  });
  const loaded = next<ModelInfo>(el, 'zf-model-loaded');
  const shown = await next<ZfProjectionShownDetail>(el, 'zf-projection-shown');
  const ms = performance.now() - t0;
  const load = await mainThread.stop();
  const info = await loaded;
  const offered = info.tensors!.filter((t) => t.projectable).length;
  console.log(`${name}: ${info.tensors!.length} tensors (${offered} offered), first projection ${ms.toFixed(0)} ms from mount ` +
    `at ${shown.layer}; ${describeTasks(load)}`);
  return { el, info, shown, load, errors };
}

describe('ResNet-18 (torchvision export)', () => {
  let el: ZfVisualizer;
  let info: ModelInfo;
  let first: ZfProjectionShownDetail;
  let load: MainThreadRecord;
  let errors: { stage: string; name: string; message: string }[];
  const last = '/layer4/layer4.0/relu_1/Relu_output_0';

  beforeAll(async () => {
    ({ el, info, shown: first, load, errors } = await open('resnet18.onnx'));
  });
  afterAll(() => unmountAll());

  test('the model info lists the graph\'s tensors with shape, op kind, scope and short names', () => {
    const t = info.tensors!;
    expect(t.find((x) => x.name === '/layer3/layer3.0/downsample/downsample.0/Conv_output_0')).toMatchObject({
      kind: 'conv', scope: '/layer3/layer3.0/downsample/downsample.0/', shape: [32, 4, 4], projectable: true, layer: 'conv11', point: 'conv',
    });
    expect(t.find((x) => x.name === '/layer1/layer1.0/Add_output_0')).toMatchObject({ kind: 'binary', fn: 'add', scope: '/layer1/layer1.0/' });
    expect(t.find((x) => x.name === 'logits')).toMatchObject({ kind: 'dense', shape: [10], projectable: true, scope: '' });
    expect(t.find((x) => x.name === 'input')).toMatchObject({ kind: 'input', projectable: false });
    expect(info.defaultLayer).toBe(last);
    expect(info.layers.map((l) => l.name)).toContain('conv14');
  });

  test('opens on the last block\'s output, its maps and a projection; no long task; no error', async () => {
    expect(first).toMatchObject({ layer: last, mode: 'deconvnet' });
    expect(el.activeLayer?.name).toBe(last);
    expect(grid(el).maps).toMatchObject({ layer: last, shape: [64, 2, 2] });
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    expect(load.longestCpu).toBeLessThanOrEqual(50);
    expect(errors).toEqual([]);
  });

  test('the picker groups tensors by module scope, the picked one\'s groups open and it is selected', async () => {
    const groups = groupRows(el).map((r) => r.querySelector('.name')!.textContent!);
    expect(groups.some((g) => g.startsWith('/layer1/'))).toBe(true);
    expect(groups.some((g) => g.startsWith('/layer4/layer4.0/'))).toBe(true);
    // The picked tensor's group is open; the others start closed; nested scopes are relative.
    const open = groupRows(el).filter((r) => r.getAttribute('aria-expanded') === 'true').map((r) => r.getAttribute('aria-label'));
    expect(open).toEqual(['/layer4/layer4.0/, 6 tensors']);
    const selected = deep(el, 'zf-layer-picker', '[role="treeitem"][aria-selected="true"]');
    expect(selected.getAttribute('aria-label')).toBe(`${last}, relu, 64 maps of 2 by 2`);
    expect(selected.querySelector('.name')!.textContent).toBe('relu_1/Relu_output_0');
    expect(selected.getAttribute('aria-level')).toBe('2');
    // Opening /layer1/ shows its blocks, labelled relative to it.
    const layer1 = groupRows(el).find((r) => r.getAttribute('aria-label')!.startsWith('/layer1/,'))!;
    await userEvent.click(layer1);
    await el.updateComplete;
    const inner = groupRows(el).filter((r) => r.getAttribute('aria-level') === '2').map((r) => r.querySelector('.name')!.textContent);
    expect(inner).toEqual(expect.arrayContaining(['layer1.0/', 'layer1.1/']));
    // Only what a projection can start from: no input, and every row's shape is maps or units.
    const shapes = tensorRows(el).map((r) => r.querySelector('.meta')!.textContent!);
    expect(shapes.every((s) => /^\d+(×\d+×\d+)?$/.test(s))).toBe(true);
    expect(tensorRows(el).map((r) => r.getAttribute('aria-label'))).not.toContain(expect.stringMatching(/^input,/));
  });

  test('typing filters, the arrows move, Enter picks: the tensor\'s maps and projection are shown', async () => {
    const box = search(el);
    box.focus();
    await userEvent.keyboard('downsample');
    await el.updateComplete;
    const matches = tensorRows(el).map((r) => r.title || r.getAttribute('aria-label')!);
    expect(matches).toHaveLength(3);
    expect(matches.every((m) => m.includes('downsample'))).toBe(true);
    expect(deep(el, 'zf-layer-picker', '.count').textContent).toContain('3 of 33 tensors match');
    // The first match is active (aria-activedescendant); the down arrow goes to the next match
    // (over the group heading between them), up and down again come back to it.
    const active = () => deep(el, 'zf-layer-picker', `#${CSS.escape(box.getAttribute('aria-activedescendant')!)}`);
    expect(active().getAttribute('aria-label')).toMatch(/^\/layer2\/layer2\.0\/downsample\//);
    const target = '/layer3/layer3.0/downsample/downsample.0/Conv_output_0';
    await userEvent.keyboard('{ArrowDown}{ArrowDown}{ArrowUp}');
    await el.updateComplete;
    expect(active().getAttribute('aria-label')).toMatch(new RegExp(`^${target}, conv`));
    const shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.layer === target);
    const changed = next<{ layer: string }>(el, 'zf-selection-changed');
    await userEvent.keyboard('{Enter}');
    expect((await changed).layer).toBe(target);
    await shown;
    expect(el.layer).toBe(target);
    expect(grid(el).maps).toMatchObject({ layer: target, point: 'conv', shape: [32, 4, 4] });
    await expect.poll(() => grid(el).complete).toBe(true);
    expect(deepAll(el, ['zf-feature-grid'], '[role="option"]')).toHaveLength(32);
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    // Escape clears the search: the tree is back, with the new tensor's group open.
    await userEvent.keyboard('{Escape}');
    await el.updateComplete;
    expect(box.value).toBe('');
    expect(groupRows(el).find((r) => r.getAttribute('aria-label')!.startsWith('/layer3/layer3.0/,'))!.getAttribute('aria-expanded')).toBe('true');
    expect(errors).toEqual([]);
  });

  test('a dense layer\'s output is a layer too: its units as 1 x 1 maps, projected', async () => {
    const shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.layer === 'logits');
    el.layer = 'logits';
    await shown;
    expect(grid(el).maps).toMatchObject({ layer: 'logits', shape: [10, 1, 1] });
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  test('gradcam mode: the overlay and guided Grad-CAM are painted; the class choice is used', async () => {
    // The picked layer (logits) has no "where": Grad-CAM goes to the default layer and says so.
    let cam = next<ZfGradcamShownDetail>(el, 'zf-gradcam-shown');
    await userEvent.click(deepAll(el, ['zf-projection-view'], 'label[part="mode"]').find((l) => l.textContent!.trim() === 'Grad-CAM')!);
    let detail = await cam;
    expect(el.mode).toBe('gradcam');
    expect(el.getAttribute('mode')).toBe('gradcam');
    expect(detail.layer).toBe(last);
    expect(detail.guided).toBe(true);
    expect(detail.class).toBe(el.topClasses[0].index);
    expect(deep(el, 'zf-projection-view', '.note').textContent).toContain(`Grad-CAM is shown at ${last}`);
    const overlay = deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="gradcam"]');
    expect([overlay.width, overlay.height]).toEqual([64, 64]);
    expect(colours(overlay)).toBeGreaterThan(50);
    const guided = deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="guided-gradcam"]');
    expect(nonGrey(pixels(guided))).toBeGreaterThan(0);
    console.log(`resnet18 Grad-CAM at ${detail.layer}: class ${detail.label} (${(100 * detail.probability).toFixed(1)}%), ` +
      `${detail.workerMs.toFixed(0)} ms in the worker; overlay ${colours(overlay)} colours`);

    // Another class from the select; then a spatial layer of its own.
    const other = (el.topClasses[0].index + 1) % 10;
    cam = next<ZfGradcamShownDetail>(el, 'zf-gradcam-shown', (d) => d.class === other);
    const select = deep<HTMLSelectElement>(el, 'zf-projection-view', 'select[part="class"]');
    select.value = String(other);
    select.dispatchEvent(new Event('change'));
    expect((await cam).label).toBe(info.labels[other]);
    expect(el.classIndex).toBe(other);
    const layer = '/layer3/layer3.0/relu_1/Relu_output_0';
    cam = next<ZfGradcamShownDetail>(el, 'zf-gradcam-shown', (d) => d.layer === layer);
    el.layer = layer;
    detail = await cam;
    expect(detail.class).toBe(other);
    expect(deepAll(el, ['zf-projection-view'], '.note')).toHaveLength(0);
    expect(colours(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="gradcam"]'))).toBeGreaterThan(50);
    expect(errors).toEqual([]);
    await page.screenshot({ element: deep(el, '.layout'), path: '../../test-results/zf-visualizer-graph-resnet18.png' });
  });
});

describe('GoogLeNet (torchvision export)', () => {
  let el: ZfVisualizer;
  let info: ModelInfo;
  let first: ZfProjectionShownDetail;
  let load: MainThreadRecord;
  let errors: { stage: string; name: string; message: string }[];

  beforeAll(async () => {
    ({ el, info, shown: first, load, errors } = await open('googlenet.onnx'));
  });
  afterAll(() => unmountAll());

  test('~150 tensors: the page\'s thread was never blocked over 50 ms while the model loaded', () => {
    expect(info.tensors!.filter((t) => t.projectable).length).toBeGreaterThan(140);
    expect(load.longestCpu).toBeLessThanOrEqual(50);
    expect(errors).toEqual([]);
  });

  test('opens on the last Inception block\'s output, with the Inception modules as groups', async () => {
    expect(first.layer).toBe('/inception5b/Concat_output_0');
    expect(grid(el).maps).toMatchObject({ shape: [128, 2, 2] });
    const top = groupRows(el).filter((r) => r.getAttribute('aria-level') === '1').map((r) => r.querySelector('.name')!.textContent);
    expect(top).toEqual(expect.arrayContaining(['/inception3a/', '/inception4c/', '/inception5b/']));
    // Closed groups cost no rows: far fewer rows than tensors.
    expect(rows(el).length).toBeLessThan(60);
  });

  test('search narrows to a branch; Enter picks the first match; maps and projection follow', async () => {
    const box = search(el);
    box.focus();
    await userEvent.keyboard('inception4c/branch2');
    await el.updateComplete;
    const labels = tensorRows(el).map((r) => r.getAttribute('aria-label')!);
    expect(labels).toHaveLength(4);
    expect(labels.every((l) => l.startsWith('/inception4c/branch2/'))).toBe(true);
    const target = '/inception4c/branch2/branch2.0/conv/Conv_output_0';
    const shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.layer === target);
    await userEvent.keyboard('{Enter}');
    await shown;
    expect(grid(el).maps).toMatchObject({ layer: target, shape: [16, 4, 4] });
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    // A search that matches nothing says so.
    await userEvent.clear(box);
    await userEvent.keyboard('no-such-tensor');
    await el.updateComplete;
    expect(deep(el, 'zf-layer-picker', '.none').textContent).toContain('No tensor matches');
    await userEvent.keyboard('{Escape}');
    expect(errors).toEqual([]);
  });

  test('a concat is a layer; guided and gradient projections and Grad-CAM work there', async () => {
    const layer = '/inception4a/Concat_output_0';
    let shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.layer === layer);
    el.layer = layer;
    await shown;
    for (const mode of ['guided', 'gradient'] as const) {
      shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.mode === mode && d.layer === layer);
      el.mode = mode;
      await shown;
      expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    }
    const cam = next<ZfGradcamShownDetail>(el, 'zf-gradcam-shown', (d) => d.layer === layer);
    el.mode = 'gradcam';
    const detail = await cam;
    await page.screenshot({ element: deep(el, '.layout'), path: '../../test-results/zf-visualizer-graph-googlenet.png' });
    expect(colours(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="gradcam"]'))).toBeGreaterThan(50);
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="guided-gradcam"]')))).toBeGreaterThan(0);
    console.log(`googlenet Grad-CAM at ${layer}: ${detail.label}, ${detail.workerMs.toFixed(0)} ms in the worker`);
    // Back to a projection mode: the projection is painted again.
    shown = next<ZfProjectionShownDetail>(el, 'zf-projection-shown', (d) => d.mode === 'deconvnet');
    el.mode = 'deconvnet';
    await shown;
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});

describe('the other torchvision exports', () => {
  afterAll(() => unmountAll());

  test.each([
    ['mobilenet_v2.onnx', '/features/features.8/features.8.2/Clip_output_0'],
    ['squeezenet1_1.onnx', '/classifier/classifier.2/Relu_output_0'],
    ['densenet121.onnx', '/Relu_output_0'],
    ['vgg11_bn.onnx', '/avgpool/AveragePool_output_0'],
    ['efficientnet_b0.onnx', '/features/features.5/features.5.2/Mul_output_0'],
    ['shufflenet_v2_x0_5.onnx', '/conv5/conv5.2/Relu_output_0'],
  ])('%s: opens on %s with its maps and a projection; Grad-CAM is painted', async (name, layer) => {
    const { el, shown, errors } = await open(name);
    expect(shown.layer).toBe(layer);
    expect(grid(el).maps?.layer).toBe(layer);
    expect(groupRows(el).length).toBeGreaterThan(0);
    expect(nonGrey(pixels(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="projection"]')))).toBeGreaterThan(0);
    const cam = next<ZfGradcamShownDetail>(el, 'zf-gradcam-shown');
    el.mode = 'gradcam';
    const detail = await cam;
    expect(detail.layer).toBe(layer);
    expect(colours(deep<HTMLCanvasElement>(el, 'zf-projection-view', 'canvas[data-role="gradcam"]'))).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    el.remove();
  });
});
