// Deep graph models in the worker and the layer picker's tree, in Node: ModelInfo.tensors (name,
// shape, op kind, scope, short-named points, what a projection can start from) and the default
// layer for the torchvision fixtures; the picker's grouping by scope (folding, relative labels,
// search, keyboard rows) on the fixtures and on ResNet-50-sized name lists; the host's `gradcam`
// request (against run.gradcamSync on the same weights) and its layer checks.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/engine/model.js';
import { EngineHost } from '../../src/worker/host.js';
import { defaultGraphLayer, scopeOf, tensorInfos } from '../../src/worker/tensors.js';
import type { GradcamResultMessage, ImageResult, ModelInfo, ResponseMessage, TensorInfo } from '../../src/worker/protocol.js';
import {
  groupsOf, matches, offeredTensors, tensorTree, visibleRows, type TreeGroup,
} from '../../components/layer-picker/tensor-tree.js';

const FIXTURES = ['resnet18', 'googlenet', 'densenet121', 'mobilenet_v2', 'squeezenet1_1', 'vgg11_bn', 'efficientnet_b0', 'shufflenet_v2_x0_5'];
const bytes = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/torchvision/${name}.onnx`, import.meta.url)));

/** Deterministic RGBA pixels (any size: the preset resizes). */
function pixels(width = 64, height = 64) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i % 4 === 3) ? 255 : (i * 37 + (i >> 7) * 11) % 251;
  return { width, height, data };
}

const models = new Map<string, Model>();
const infos = new Map<string, TensorInfo[]>();
beforeAll(async () => {
  for (const name of FIXTURES) {
    const model = await loadModel(bytes(name));
    models.set(name, model);
    infos.set(name, tensorInfos(model)!);
  }
});

test('scopeOf: the module path up to the last /', () => {
  expect(scopeOf('/layer3/layer3.1/relu_1/Relu_output_0')).toBe('/layer3/layer3.1/relu_1/');
  expect(scopeOf('/layer1/layer1.0/Add_output_0')).toBe('/layer1/layer1.0/');
  expect(scopeOf('gpu_0/conv5_1')).toBe('gpu_0/');
  expect(scopeOf('logits')).toBe('');
  expect(scopeOf('123')).toBe('');
});

describe('ModelInfo.tensors', () => {
  test('resnet18: every tensor, topological, with shape, kind, scope and short-named points', () => {
    const t = infos.get('resnet18')!;
    const model = models.get('resnet18')!;
    expect(t).toHaveLength(model.network.tensors!.size);
    const ops = t.map((x) => model.network.tensors!.get(x.name)!);
    expect(ops).toEqual([...ops].sort((a, b) => a - b));
    expect(t[0]).toMatchObject({ name: 'input', kind: 'input', shape: [3, 64, 64], scope: '', projectable: false });
    expect(t.find((x) => x.name === '/conv1/Conv_output_0')).toMatchObject({ kind: 'conv', layer: 'conv1', point: 'conv', shape: [8, 32, 32], projectable: true });
    expect(t.find((x) => x.name === '/relu/Relu_output_0')).toMatchObject({ kind: 'relu', layer: 'conv1', point: 'relu' });
    expect(t.find((x) => x.name === '/maxpool/MaxPool_output_0')).toMatchObject({ kind: 'maxpool', layer: 'conv1', point: 'pool' });
    // After a residual Add, a ReLU is no layer's point: a tensor of its own.
    const last = t.find((x) => x.name === '/layer4/layer4.0/relu_1/Relu_output_0')!;
    expect(last).toMatchObject({ kind: 'relu', scope: '/layer4/layer4.0/relu_1/', shape: [64, 2, 2], projectable: true });
    expect(last.layer).toBeUndefined();
    expect(t.find((x) => x.name === '/layer2/layer2.0/Add_output_0')).toMatchObject({ kind: 'binary', fn: 'add' });
    // Dense outputs are offered (units as 1 x 1 maps), a flatten's is not.
    expect(t.find((x) => x.name === 'logits')).toMatchObject({ kind: 'dense', shape: [10], projectable: true, layer: 'fc15' });
    expect(t.find((x) => x.name === '/Flatten_output_0')).toMatchObject({ kind: 'flatten', projectable: false });
    expect(defaultGraphLayer(t)).toBe('/layer4/layer4.0/relu_1/Relu_output_0');
  });

  test.each([
    ['resnet18', '/layer4/layer4.0/relu_1/Relu_output_0'],
    ['googlenet', '/inception5b/Concat_output_0'],
    ['densenet121', '/Relu_output_0'],
    ['mobilenet_v2', '/features/features.8/features.8.2/Clip_output_0'],
    ['vgg11_bn', '/avgpool/AveragePool_output_0'],
    ['shufflenet_v2_x0_5', '/conv5/conv5.2/Relu_output_0'],
  ])('%s: the default layer is the last conv block\'s output, %s', (name, expected) => {
    const t = infos.get(name)!;
    const chosen = defaultGraphLayer(t)!;
    expect(chosen).toBe(expected);
    // The rule: nothing later in topological order is a projectable [C, H, W] with H * W > 1.
    const at = t.findIndex((x) => x.name === chosen);
    const [, h, w] = t[at].shape;
    expect(h * w).toBeGreaterThan(1);
    expect(t.slice(at + 1).filter((x) => x.projectable && x.shape.length === 3 && x.shape[1] * x.shape[2] > 1)).toEqual([]);
  });

  test('every fixture: what is offered is [C, H, W] or a dense layer\'s units, never the input or a constant', () => {
    for (const name of FIXTURES) {
      for (const x of infos.get(name)!.filter((t) => t.projectable)) {
        expect(x.kind).not.toBe('input');
        expect(x.kind).not.toBe('constant');
        if (x.shape.length !== 3) expect([x.kind === 'dense' || x.layer?.startsWith('fc'), x.shape.length]).toEqual([true, 1]);
      }
    }
  });

  test('the built-in models have no tensor list', async () => {
    const model = await loadModel('zfnet-mini');
    expect(tensorInfos(model)).toBeUndefined();
  });
});

/** The tree as text, every group open: "  [label] (count)" / "  label". */
function outline(root: TreeGroup, query = ''): string[] {
  const all = new Set<string>();
  const walk = (g: TreeGroup) => { for (const c of g.children) if (c.type === 'group') { all.add(c.scope); walk(c); } };
  walk(root);
  return visibleRows(root, all, query).map((r) => '  '.repeat(r.depth) +
    (r.type === 'group' ? `[${r.group.label}] (${r.group.count})` : r.item.label));
}

describe('the layer picker\'s tree', () => {
  test('resnet18: blocks as groups, single-tensor modules folded, one-child groups merged, relative labels', () => {
    const root = tensorTree(offeredTensors(infos.get('resnet18')!));
    const lines = outline(root);
    expect(lines.slice(0, 9)).toEqual([
      '/conv1/Conv_output_0',
      '/relu/Relu_output_0',
      '/maxpool/MaxPool_output_0',
      '[/layer1/] (10)',
      '  [layer1.0/] (5)',
      '    conv1/Conv_output_0',
      '    relu/Relu_output_0',
      '    conv2/Conv_output_0',
      '    Add_output_0',
    ]);
    // layer4 has one block in this small export: one group /layer4/layer4.0/.
    expect(lines).toContain('[/layer4/layer4.0/] (6)');
    expect(lines).toContain('  downsample/downsample.0/Conv_output_0');
    expect(lines.slice(-2)).toEqual(['/avgpool/GlobalAveragePool_output_0', 'logits']);
    expect(root.count).toBe(33);
    expect(groupsOf(root, '/layer1/layer1.1/relu_1/Relu_output_0')).toEqual(['/layer1/', '/layer1/layer1.1/']);
    expect(groupsOf(root, 'logits')).toEqual([]);
  });

  test('closed groups hide their rows; a search opens every group that holds a match, and only matches show', () => {
    const root = tensorTree(offeredTensors(infos.get('googlenet')!));
    const closed = visibleRows(root, new Set());
    expect(closed.every((r) => r.depth === 0)).toBe(true);
    expect(closed.length).toBeLessThan(40);
    const found = visibleRows(root, new Set(), 'inception4c/branch2');
    expect(found.filter((r) => r.type === 'tensor').map((r) => r.type === 'tensor' && r.item.tensor.name)).toEqual([
      '/inception4c/branch2/branch2.0/conv/Conv_output_0', '/inception4c/branch2/branch2.0/Relu_output_0',
      '/inception4c/branch2/branch2.1/conv/Conv_output_0', '/inception4c/branch2/branch2.1/Relu_output_0',
    ]);
    expect(found.filter((r) => r.type === 'group').every((r) => r.type === 'group' && r.expanded)).toBe(true);
    // A short layer name and an op kind find tensors too; case does not matter.
    const t = infos.get('resnet18')!;
    expect(t.filter((x) => x.projectable && matches(x, 'CONV11')).map((x) => x.name)).toEqual(['/layer3/layer3.0/downsample/downsample.0/Conv_output_0']);
    expect(t.filter((x) => x.projectable && matches(x, 'add')).length).toBe(5);
    expect(visibleRows(root, new Set(), 'no-such-tensor')).toEqual([]);
  });

  test('a ResNet-50-sized graph (~170 tensors): the stages, their blocks and relative labels; built in a few ms', () => {
    // torchvision's ResNet-50 exported with its batch norms kept (53 convolutions, each with its BN).
    const names: string[] = ['/conv1/Conv_output_0', '/bn1/BatchNormalization_output_0', '/relu/Relu_output_0', '/maxpool/MaxPool_output_0'];
    [3, 4, 6, 3].forEach((blocks, s) => {
      for (let b = 0; b < blocks; b++) {
        const p = `/layer${s + 1}/layer${s + 1}.${b}/`;
        names.push(`${p}conv1/Conv_output_0`, `${p}bn1/BatchNormalization_output_0`, `${p}relu/Relu_output_0`,
          `${p}conv2/Conv_output_0`, `${p}bn2/BatchNormalization_output_0`, `${p}relu_1/Relu_output_0`,
          `${p}conv3/Conv_output_0`, `${p}bn3/BatchNormalization_output_0`);
        if (b === 0) names.push(`${p}downsample/downsample.0/Conv_output_0`, `${p}downsample/downsample.1/BatchNormalization_output_0`);
        names.push(`${p}Add_output_0`, `${p}relu_2/Relu_output_0`);
      }
    });
    names.push('/avgpool/GlobalAveragePool_output_0', 'logits');
    const tensors: TensorInfo[] = names.map((name) => ({
      name, scope: scopeOf(name), kind: name === 'logits' ? 'dense' : 'conv', shape: name === 'logits' ? [1000] : [256, 14, 14], projectable: true,
    }));
    expect(tensors.length).toBe(174);
    expect(tensors.filter((t) => t.name.endsWith('Conv_output_0'))).toHaveLength(53);
    const t0 = performance.now();
    const root = tensorTree(tensors);
    const rows = visibleRows(root, new Set(groupsOf(root, '/layer4/layer4.2/relu_2/Relu_output_0')));
    const ms = performance.now() - t0;
    console.log(`ResNet-50-like tree: ${tensors.length} tensors -> ${rows.length} rows shown, ${ms.toFixed(2)} ms`);
    const top = root.children.filter((c) => c.type === 'group').map((c) => c.type === 'group' && `${c.label} (${c.count})`);
    expect(top).toEqual(['/layer1/ (32)', '/layer2/ (42)', '/layer3/ (62)', '/layer4/ (32)']);
    // The downsample's two modules form a group of their own inside the first block.
    const block = (root.children.find((c) => c.type === 'group' && c.scope === '/layer2/') as TreeGroup).children[0] as TreeGroup;
    expect(block.children.map((c) => (c.type === 'group' ? `[${c.label}]` : c.label))).toEqual([
      'conv1/Conv_output_0', 'bn1/BatchNormalization_output_0', 'relu/Relu_output_0', 'conv2/Conv_output_0',
      'bn2/BatchNormalization_output_0', 'relu_1/Relu_output_0', 'conv3/Conv_output_0', 'bn3/BatchNormalization_output_0',
      '[downsample/]', 'Add_output_0', 'relu_2/Relu_output_0',
    ]);
    const layer3 = root.children.find((c) => c.type === 'group' && c.scope === '/layer3/') as TreeGroup;
    expect(layer3.children.map((c) => c.type === 'group' && c.label)).toEqual(['layer3.0/', 'layer3.1/', 'layer3.2/', 'layer3.3/', 'layer3.4/', 'layer3.5/']);
    // Only the picked tensor's stage and block are open.
    expect(rows.filter((r) => r.type === 'group' && r.expanded).map((r) => r.type === 'group' && r.group.scope)).toEqual(['/layer4/', '/layer4/layer4.2/']);
    expect(ms).toBeLessThan(50);
  });
});

describe('the worker host', () => {
  const replies = new Map<number, ResponseMessage>();
  const host = new EngineHost((m) => { if (m.kind !== 'progress') replies.set(m.id, m); });
  let nextId = 1;
  async function ask<T>(request: Record<string, unknown>): Promise<T> {
    const id = nextId++;
    host.receive({ id, ...request } as never);
    while (!replies.has(id)) await new Promise((r) => setTimeout(r, 2));
    const reply = replies.get(id)!;
    if (reply.kind === 'error') throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
    return (reply as unknown as { result: T }).result;
  }
  let info: ModelInfo;
  let image: ImageResult;

  beforeAll(async () => {
    info = await ask<ModelInfo>({ type: 'load', source: new Blob([bytes('resnet18')]) });
    image = await ask<ImageResult>({ type: 'image', image: pixels(), name: 'test' });
  });

  test('load: an imported graph\'s info lists its tensors and its default layer', () => {
    expect(info.tensors).toEqual(infos.get('resnet18'));
    expect(info.defaultLayer).toBe('/layer4/layer4.0/relu_1/Relu_output_0');
    expect(info.layers.length).toBe(15);
  });

  test('gradcam: the cam of the top class (or another), its overlay and guided Grad-CAM, as run.gradcamSync computes', async () => {
    const model = models.get('resnet18')!;
    const run = model.forwardSync(model.preprocess(pixels()));
    for (const [layer, c] of [['/layer4/layer4.0/relu_1/Relu_output_0', undefined], ['/layer3/layer3.0/Add_output_0', 3], ['conv9', 7]] as const) {
      const r = await ask<GradcamResultMessage>({ type: 'gradcam', run: image.run, layer, class: c, guided: true });
      const expected = run.gradcamSync({ layer, class: c, guided: true });
      let diff = 0;
      for (let i = 0; i < expected.data.length; i++) diff = Math.max(diff, Math.abs(r.data[i] - expected.data[i]));
      console.log(`gradcam at ${layer}, class ${r.class}: ${r.shape.join('x')}, largest difference from run.gradcamSync ${diff}`);
      expect(diff).toBe(0);
      expect(r).toMatchObject({ run: image.run, layer, class: expected.class, label: expected.label, shape: expected.shape });
      expect(r.class).toBe(c ?? image.top[0].index);
      expect(r.probability).toBeCloseTo(expected.probability, 6);
      expect([r.overlay.width, r.overlay.height, r.overlay.data.length]).toEqual([64, 64, 64 * 64 * 4]);
      expect([r.guided!.width, r.guided!.height]).toEqual([64, 64]);
      expect(r.weights.length).toBe(model.tensorShape(model.resolve(layer).op)[0]);
    }
    const plain = await ask<GradcamResultMessage>({ type: 'gradcam', run: image.run, layer: 'conv14' });
    expect(plain.guided).toBeUndefined();
  });

  test('gradcam refuses what it cannot explain, with an ArgumentError saying why', async () => {
    const fails = (request: Record<string, unknown>) => ask({ type: 'gradcam', run: image.run, ...request });
    await expect(fails({ layer: 'logits' })).rejects.toThrow(/not below the logits/);
    await expect(fails({ layer: '/nope' })).rejects.toThrow(/unknown layer|unknown tensor/);
    await expect(fails({ layer: '/layer1/layer1.0/relu/Relu_output_0', class: 10 })).rejects.toThrow(/class 10 is out of range/);
    await expect(fails({ layer: 'conv14', class: 1.5 })).rejects.toThrow(/whole number/);
    await expect(fails({ layer: 'conv14', opacity: 2 })).rejects.toThrow(/opacity/);
    await expect(fails({ run: image.run + 1, layer: 'conv14' })).rejects.toMatchObject({ name: 'StaleRunError' });
  });

  test('filters: a conv output\'s tensor name gives its layer\'s filters; other tensors have none', async () => {
    const byTensor = await ask<{ layer: string; shape: number[] }>({ type: 'filters', layer: '/conv1/Conv_output_0' });
    expect(byTensor).toMatchObject({ layer: 'conv1', shape: [8, 3, 7, 7] });
    await expect(ask({ type: 'filters', layer: '/layer1/layer1.0/Add_output_0' })).rejects.toThrow(/not a convolution's output/);
  });

  test('a tensor name takes no other point than the one it is (a maps result\'s point may come back)', async () => {
    // /relu/Relu_output_0 is conv1's relu point: 'relu' and 'tensor' are accepted, 'pool' is not.
    const ok = await ask<GradcamResultMessage>({ type: 'gradcam', run: image.run, layer: '/relu/Relu_output_0', point: 'relu' });
    expect(ok.point).toBe('relu');
    await ask<GradcamResultMessage>({ type: 'gradcam', run: image.run, layer: '/relu/Relu_output_0', point: 'tensor' });
    await expect(ask({ type: 'gradcam', run: image.run, layer: '/relu/Relu_output_0', point: 'pool' }))
      .rejects.toThrow(/the relu point of conv1\); it has no point 'pool'/);
  });
});
