// <zf-layer-picker> on its own with a graph's tensors (no worker, no model): a ResNet-50-sized
// list (174 tensors, batch norms kept) grouped by module scope; the keyboard (typing filters,
// up/down move, right/left open and close groups and go to the parent, Enter picks, Escape
// clears); ARIA (combobox + tree, levels, expanded, selected); the main thread's time to show it,
// and to show every row (a search that matches all of a 600-tensor graph: a slice per frame).
import { afterEach, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import '../../components/index.js';
import type { ZfLayerPicker } from '../../components/index.js';
import type { TensorInfo } from '../../src/worker/protocol.js';
import { deep, deepAll, next, recordMainThread } from './fixtures/zf.js';

afterEach(() => document.body.replaceChildren());

const scopeOf = (name: string) => name.slice(0, name.lastIndexOf('/') + 1);

/** torchvision's ResNet-50 tensor names, batch norms kept: 174 tensors. */
function resnet50(): TensorInfo[] {
  const t: TensorInfo[] = [];
  const add = (name: string, kind: TensorInfo['kind'], shape: number[], extra: Partial<TensorInfo> = {}) =>
    t.push({ name, kind, shape, scope: scopeOf(name), projectable: true, ...extra });
  t.push({ name: 'input', kind: 'input', shape: [3, 224, 224], scope: '', projectable: false });
  add('/conv1/Conv_output_0', 'conv', [64, 112, 112], { layer: 'conv1', point: 'conv' });
  add('/bn1/BatchNormalization_output_0', 'batchnorm', [64, 112, 112]);
  add('/relu/Relu_output_0', 'relu', [64, 112, 112]);
  add('/maxpool/MaxPool_output_0', 'maxpool', [64, 56, 56]);
  let conv = 1;
  [3, 4, 6, 3].forEach((blocks, s) => {
    const side = 56 >> s, width = 64 << s;
    for (let b = 0; b < blocks; b++) {
      const p = `/layer${s + 1}/layer${s + 1}.${b}/`;
      for (const [i, relu] of [[1, 'relu'], [2, 'relu_1'], [3, '']] as const) {
        add(`${p}conv${i}/Conv_output_0`, 'conv', [i === 3 ? 4 * width : width, side, side], { layer: `conv${++conv}`, point: 'conv' });
        add(`${p}bn${i}/BatchNormalization_output_0`, 'batchnorm', [i === 3 ? 4 * width : width, side, side]);
        if (relu) add(`${p}${relu}/Relu_output_0`, 'relu', [width, side, side]);
      }
      if (b === 0) {
        add(`${p}downsample/downsample.0/Conv_output_0`, 'conv', [4 * width, side, side], { layer: `conv${++conv}`, point: 'conv' });
        add(`${p}downsample/downsample.1/BatchNormalization_output_0`, 'batchnorm', [4 * width, side, side]);
      }
      add(`${p}Add_output_0`, 'binary', [4 * width, side, side], { fn: 'add' });
      add(`${p}relu_2/Relu_output_0`, 'relu', [4 * width, side, side]);
    }
  });
  add('/avgpool/GlobalAveragePool_output_0', 'avgpool', [2048, 1, 1]);
  t.push({ name: '/Flatten_output_0', kind: 'flatten', shape: [2048], scope: '', projectable: false });
  add('logits', 'dense', [1000], { layer: 'fc54', point: 'conv' });
  return t;
}

const LAST = '/layer4/layer4.2/relu_2/Relu_output_0';

function place(tensors: TensorInfo[], value: string): ZfLayerPicker {
  const el = document.createElement('zf-layer-picker');
  el.tensors = tensors;
  el.value = value;
  document.body.append(el);
  return el;
}

const rows = (el: ZfLayerPicker) => deepAll(el, [], '[role="treeitem"]');
const input = (el: ZfLayerPicker) => deep<HTMLInputElement>(el, 'input[type="search"]');
const active = (el: ZfLayerPicker) => {
  const id = input(el).getAttribute('aria-activedescendant');
  return id ? deep(el, `#${CSS.escape(id)}`) : undefined;
};

test('a ResNet-50 list: stages and blocks as groups, the picked tensor\'s open, shown without a long task', async () => {
  const tensors = resnet50();
  expect(tensors.filter((t) => t.projectable)).toHaveLength(174);
  const mainThread = await recordMainThread();
  const t0 = performance.now();
  const el = place(tensors, LAST);
  await el.updateComplete;
  const ms = performance.now() - t0;
  const record = await mainThread.stop();
  console.log(`ResNet-50 picker (174 tensors): first render ${ms.toFixed(1)} ms, ${rows(el).length} rows; ` +
    `longest main-thread task ${record.longestCpu.toFixed(0)} ms CPU (${record.longestWall.toFixed(0)} ms wall)`);
  expect(record.longestCpu).toBeLessThanOrEqual(50);
  // ARIA: a combobox driving a tree.
  const box = input(el);
  expect(box.getAttribute('role')).toBe('combobox');
  expect(box.getAttribute('aria-label')).toBe("Layer: search the model's 174 tensors; arrow keys move, Enter picks");
  const tree = deep(el, '[role="tree"]');
  expect(box.getAttribute('aria-controls')).toBe(tree.id);
  expect(tree.getAttribute('aria-label')).toBe("Layer: the model's tensors by module");
  // The top level: the stem's tensors, the four stages, the head; layer4 and its last block open.
  const top = rows(el).filter((r) => r.getAttribute('aria-level') === '1').map((r) => r.querySelector('.name')!.textContent);
  expect(top).toEqual(['/conv1/Conv_output_0', '/bn1/BatchNormalization_output_0', '/relu/Relu_output_0', '/maxpool/MaxPool_output_0',
    '/layer1/', '/layer2/', '/layer3/', '/layer4/', '/avgpool/GlobalAveragePool_output_0', 'logits']);
  const open = rows(el).filter((r) => r.getAttribute('aria-expanded') === 'true').map((r) => r.getAttribute('aria-label'));
  expect(open).toEqual(['/layer4/, 32 tensors', '/layer4/layer4.2/, 10 tensors']);
  const selected = deep(el, '[aria-selected="true"]');
  expect(selected.getAttribute('aria-label')).toBe(`${LAST}, relu, 2048 maps of 7 by 7`);
  expect(selected.getAttribute('aria-level')).toBe('3');
  expect(selected.getAttribute('part')).toBe('tensor tensor-selected');
  expect(active(el)).toBe(selected);
  expect(deep(el, '.count').textContent).toBe('174 tensors in 24 groups');
});

test('the keyboard: arrows move, right and left open and close and go up, Enter picks, typing filters, Escape clears', async () => {
  const el = place(resnet50(), LAST);
  await el.updateComplete;
  input(el).focus();
  // Up from the picked tensor: its siblings, then its block's row; left closes the block.
  await userEvent.keyboard('{ArrowUp}');
  expect(active(el)!.getAttribute('aria-label')).toMatch(/^\/layer4\/layer4\.2\/Add_output_0, binary add/);
  await userEvent.keyboard('{ArrowLeft}');
  expect(active(el)!.getAttribute('aria-label')).toBe('/layer4/layer4.2/, 10 tensors');
  await userEvent.keyboard('{ArrowLeft}');
  expect(active(el)!.getAttribute('aria-expanded')).toBe('false');
  // Left again goes to the parent group; up to the previous block, right opens it, right again enters it.
  await userEvent.keyboard('{ArrowLeft}');
  expect(active(el)!.getAttribute('aria-label')).toBe('/layer4/, 32 tensors');
  await userEvent.keyboard('{ArrowDown}{ArrowDown}');
  expect(active(el)!.getAttribute('aria-label')).toBe('/layer4/layer4.1/, 10 tensors');
  await userEvent.keyboard('{ArrowRight}');
  expect(active(el)!.getAttribute('aria-expanded')).toBe('true');
  await userEvent.keyboard('{ArrowRight}');
  expect(active(el)!.getAttribute('aria-label')).toMatch(/^\/layer4\/layer4\.1\/conv1\/Conv_output_0, conv, 512 maps of 7 by 7 \(conv\d+ conv\)$/);
  let picked = next<{ layer: string }>(el, 'zf-layer-change');
  await userEvent.keyboard('{Enter}');
  expect(await picked).toEqual({ layer: '/layer4/layer4.1/conv1/Conv_output_0' });
  expect(el.value).toBe('/layer4/layer4.1/conv1/Conv_output_0');
  await el.updateComplete;
  expect(deep(el, '.current').textContent).toContain('/layer4/layer4.1/conv1/Conv_output_0');

  // Typing filters (a substring anywhere in the name), the first match is active; arrows skip the headings.
  await userEvent.keyboard('downsample.0');
  await el.updateComplete;
  const tensors = rows(el).filter((r) => !r.hasAttribute('aria-expanded'));
  expect(tensors.map((r) => r.getAttribute('aria-label')!.split(',')[0])).toEqual(
    [1, 2, 3, 4].map((s) => `/layer${s}/layer${s}.0/downsample/downsample.0/Conv_output_0`));
  expect(deep(el, '.count').textContent).toBe('4 of 174 tensors match');
  expect(active(el)).toBe(tensors[0]);
  await userEvent.keyboard('{ArrowDown}{ArrowDown}');
  expect(active(el)).toBe(tensors[2]);
  picked = next<{ layer: string }>(el, 'zf-layer-change');
  await userEvent.keyboard('{Enter}');
  expect((await picked).layer).toBe('/layer3/layer3.0/downsample/downsample.0/Conv_output_0');
  // A short layer name finds its tensor.
  await userEvent.clear(input(el));
  await userEvent.keyboard('fc54');
  await el.updateComplete;
  expect(rows(el).map((r) => r.getAttribute('aria-label'))).toEqual(['logits, dense, 1000 units (fc54 conv)']);
  // Escape: the search is cleared, the tree is back with the picked tensor's groups open.
  await userEvent.keyboard('{Escape}');
  await el.updateComplete;
  expect(input(el).value).toBe('');
  expect(active(el)!.getAttribute('aria-selected')).toBe('true');
  // (layer4.2 was closed above; the groups opened before stay open.)
  expect(rows(el).filter((r) => r.getAttribute('aria-expanded') === 'true').map((r) => r.getAttribute('aria-label'))).toEqual([
    '/layer3/, 62 tensors', '/layer3/layer3.0/, 12 tensors', '/layer3/layer3.0/downsample/, 2 tensors',
    '/layer4/, 32 tensors', '/layer4/layer4.1/, 10 tensors',
  ]);
});

test('the mouse: a group\'s row opens and closes it, a tensor\'s row picks it', async () => {
  const el = place(resnet50(), LAST);
  await el.updateComplete;
  const layer1 = () => rows(el).find((r) => r.getAttribute('aria-label') === '/layer1/, 32 tensors')!;
  expect(layer1().getAttribute('aria-expanded')).toBe('false');
  await userEvent.click(layer1());
  expect(layer1().getAttribute('aria-expanded')).toBe('true');
  const block = rows(el).find((r) => r.getAttribute('aria-label') === '/layer1/layer1.1/, 10 tensors')!;
  expect(block.querySelector('.name')!.textContent).toBe('layer1.1/');
  await userEvent.click(block);
  const conv = rows(el).find((r) => r.getAttribute('aria-label')!.startsWith('/layer1/layer1.1/conv2/Conv_output_0,'))!;
  expect(conv.querySelector('.name')!.textContent).toBe('conv2/Conv_output_0');
  expect(conv.querySelector('.badge')!.textContent).toMatch(/^conv\d+$/);
  expect(conv.querySelector('.meta')!.textContent).toBe('64×56×56');
  const picked = next<{ layer: string }>(el, 'zf-layer-change');
  await userEvent.click(conv);
  expect((await picked).layer).toBe('/layer1/layer1.1/conv2/Conv_output_0');
  await userEvent.click(layer1());
  expect(layer1().getAttribute('aria-expanded')).toBe('false');
});

test('600 tensors all shown (a search matching every one): a slice per frame, no long task', async () => {
  // A DenseNet-sized graph: 4 blocks x 6-48 layers, 5 tensors per layer.
  const tensors: TensorInfo[] = [];
  [6, 12, 48, 32].forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      for (const part of ['norm1/BatchNormalization', 'relu1/Relu', 'conv1/Conv', 'norm2/BatchNormalization', 'conv2/Conv']) {
        const name = `/features/denseblock${b + 1}/denselayer${l}/${part}_output_0`;
        tensors.push({ name, kind: 'conv', shape: [32, 8, 8], scope: scopeOf(name), projectable: true });
      }
    }
  });
  expect(tensors.length).toBe(490);
  for (let i = 0; i < 110; i++) {
    const name = `/features/transition/extra${i}/Relu_output_0`;
    tensors.push({ name, kind: 'relu', shape: [32, 8, 8], scope: scopeOf(name), projectable: true });
  }
  const el = place(tensors, tensors[tensors.length - 1].name);
  await el.updateComplete;
  input(el).focus();
  const mainThread = await recordMainThread();
  const t0 = performance.now();
  await userEvent.keyboard('_output_0');
  // The matches come a slice per frame.
  await expect.poll(() => el.complete).toBe(true);
  await el.updateComplete;
  const ms = performance.now() - t0;
  const record = await mainThread.stop();
  const shown = rows(el).filter((r) => !r.hasAttribute('aria-expanded')).length;
  console.log(`600-tensor search showing ${shown} tensors (${rows(el).length} rows): ${ms.toFixed(0)} ms for 9 keystrokes; ` +
    `longest main-thread task ${record.longestCpu.toFixed(0)} ms CPU (${record.longestWall.toFixed(0)} ms wall)`);
  expect(shown).toBe(600);
  expect(record.longestCpu).toBeLessThanOrEqual(50);
});
