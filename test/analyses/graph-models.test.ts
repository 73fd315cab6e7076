// The paper's analyses (invariance, the data-set top-9, correspondence, architecture diagnosis,
// feature evolution; occlusion has occlusion-graphs.test.ts) on users' own graph models: the
// torchvision exports in test/fixtures/torchvision/ (ResNet-18, GoogLeNet, MobileNet-v2; the
// default layers on all eight). Each with its default layers and with a tensor name as a layer;
// the results are checked against brute force over run.activation() (not only "it ran"), and
// two runs give the same numbers.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ArgumentError, correspondence, diagnoseArchitecture, diagnosisCharts, evolutionGrid, featureEvolution, filterGrid,
  invariance, invarianceCharts, lastConvLayer, lastHiddenLayer, layer2Grid, loadModel, lowAndHighLayers, scanDataset,
  scanIndex, scanSheet, sideBySide, type Model, type Tensor,
} from '../../src/index.js';
import { euclidean } from '../../src/analyses/invariance.js';
import { transformTensor } from '../../src/analyses/transform.js';
import { maskBox, pairDistances, signs } from '../../src/analyses/correspondence.js';
import { namedLayers } from '../../src/graph/names.js';
import { networkOf } from '../../cli/input.js';
import { defaultPoint } from '../../src/graph/names.js';
import { tensorInfos } from '../../src/worker/tensors.js';
import { defaultLayers, findLayer, layerChoices } from '../../components/analyses-panel/graph-layers.js';
import type {
  ImageResult, InvarianceResultMessage, LayerInfo, ModelInfo, OcclusionResultMessage, ResponseMessage,
} from '../../src/worker/protocol.js';
import { EngineHost } from '../../src/worker/host.js';
import type { ScanResultMessage } from '../../src/worker/handlers/scan.js';
import type { CorrespondenceResultMessage } from '../../src/worker/handlers/correspondence.js';
import type { DiagnosisResultMessage } from '../../src/worker/handlers/diagnosis.js';
import type { EvolutionResultMessage } from '../../src/worker/handlers/evolution.js';
import { seededInput } from '../onnx/builder.js';

const ALL = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'googlenet', 'densenet121', 'vgg11_bn', 'efficientnet_b0',
  'shufflenet_v2_x0_5'];
const bytes = (name: string) => new Uint8Array(readFileSync(`test/fixtures/torchvision/${name}.onnx`));
const open = (name: string) => loadModel(bytes(name));

/**
 * The analyses' defaults on each export: the paper's layer 5 (the last conv block's output), the
 * last hidden layer (fc7; here the features the classifier reads), and how each resolves.
 */
const DEFAULTS: Record<string, { block: string; blockAs: string; hidden: string; hiddenAs: string }> = {
  resnet18: {
    block: '/layer4/layer4.0/relu_1/Relu_output_0', blockAs: '/layer4/layer4.0/relu_1/Relu_output_0 tensor',
    hidden: '/avgpool/GlobalAveragePool_output_0', hiddenAs: '/avgpool/GlobalAveragePool_output_0 tensor',
  },
  googlenet: {
    block: '/inception5b/Concat_output_0', blockAs: '/inception5b/Concat_output_0 tensor',
    hidden: '/avgpool/GlobalAveragePool_output_0', hiddenAs: '/avgpool/GlobalAveragePool_output_0 tensor',
  },
  mobilenet_v2: {
    block: 'conv22', blockAs: 'conv22 relu', hidden: '/GlobalAveragePool_output_0', hiddenAs: '/GlobalAveragePool_output_0 tensor',
  },
  squeezenet1_1: {
    block: 'conv26', blockAs: 'conv26 relu', hidden: '/features/features.12/Concat_output_0',
    hiddenAs: '/features/features.12/Concat_output_0 tensor',
  },
  densenet121: {
    block: '/Relu_output_0', blockAs: '/Relu_output_0 tensor', hidden: '/GlobalAveragePool_output_0',
    hiddenAs: '/GlobalAveragePool_output_0 tensor',
  },
  vgg11_bn: { block: 'conv8', blockAs: 'conv8 relu', hidden: 'fc10', hiddenAs: 'fc10 relu' },
  efficientnet_b0: {
    block: '/features/features.5/features.5.2/Mul_output_0', blockAs: '/features/features.5/features.5.2/Mul_output_0 tensor',
    hidden: '/avgpool/GlobalAveragePool_output_0', hiddenAs: '/avgpool/GlobalAveragePool_output_0 tensor',
  },
  shufflenet_v2_x0_5: { block: 'conv26', blockAs: 'conv26 relu', hidden: '/ReduceMean_output_0', hiddenAs: '/ReduceMean_output_0 tensor' },
};

/** A tensor in the middle of each network, by its graph name. */
const MIDDLE: Record<string, string> = {
  resnet18: '/layer3/layer3.0/relu_1/Relu_output_0',
  googlenet: '/inception4a/Concat_output_0',
  // A conv without a rectifier (MobileNet's linear bottleneck): the tensor is conv12's `conv` point.
  mobilenet_v2: '/features/features.4/conv/conv.2/Conv_output_0',
};

const resolved = (model: Model, name: string) => {
  const r = model.resolve(name);
  return `${r.layer.name} ${r.point}`;
};

describe('default layers on graphs', () => {
  test.each(ALL)('%s: the last conv block\'s output and the classifier\'s input, the same from the network alone (CLI)', async (name) => {
    const model = await open(name);
    const want = DEFAULTS[name];
    expect(lastConvLayer(model)).toBe(want.block);
    expect(lastHiddenLayer(model)).toBe(want.hidden);
    expect(resolved(model, want.block)).toBe(want.blockAs);
    expect(resolved(model, want.hidden)).toBe(want.hiddenAs);
    // The block output has maps larger than 1 x 1; the hidden layer is what the classifier reads.
    const block = model.tensorShape(model.resolve(want.block).op);
    expect(block.length === 3 && block[1] * block[2] > 1).toBe(true);
    expect(lowAndHighLayers(model)).toEqual([{ layer: 'conv1' }, { layer: want.hidden }]);
    // What the CLI computes before it reads any weights.
    const network = networkOf(`test/fixtures/torchvision/${name}.onnx`);
    const cheap = { layers: namedLayers(network), network };
    expect(lastConvLayer(cheap)).toBe(want.block);
    expect(lastHiddenLayer(cheap)).toBe(want.hidden);
    // What the element's views compute from the worker's ModelInfo (components/analyses-panel/graph-layers.ts).
    const info = modelInfo(model);
    expect(defaultLayers(info)).toEqual({ block: want.block, hidden: want.hidden });
    const choices = layerChoices(info, { spatial: true }).map((c) => c.name);
    expect(choices).toContain(want.block);
    expect(new Set(choices).size).toBe(choices.length);
    expect(findLayer(info, want.block, { spatial: true })).toMatchObject({ name: want.block });
    expect(findLayer(info, 'input')).toMatch(/network's input/);
    expect(findLayer(info, 'logits', { spatial: true })).toMatch(/no feature maps/);
  });
});

/** The parts of the worker's ModelInfo the views read (as src/worker/host.ts makes it). */
function modelInfo(model: Model): ModelInfo {
  const layers: LayerInfo[] = model.layers.map((l) => {
    const point = defaultPoint(l);
    return { name: l.name, kind: l.kind, points: Object.keys(l.points) as LayerInfo['points'], defaultPoint: point, shape: [...model.shapes[l.points[point]!]] };
  });
  return { layers, tensors: tensorInfos(model) } as ModelInfo;
}

/** Images for the analyses: seeded tensors in the preset's range. */
function imagesFor(model: Model, count: number, seed = 1): Tensor[] {
  const [c, h, w] = model.network.input;
  return Array.from({ length: count }, (_, i) => seededInput([1, c, h, w], seed + 17 * i));
}

/** Per image, the activation at a layer (one forward pass per image). */
function activations(model: Model, images: readonly Tensor[], layer: string): Float32Array[] {
  return images.map((img) => model.forwardSync(img).activation(layer).data);
}

describe.each(['resnet18', 'googlenet', 'mobilenet_v2'])('%s', (name) => {
  let model: Model;
  let images: Tensor[];
  const middle = MIDDLE[name];
  beforeAll(async () => {
    model = await open(name);
    images = imagesFor(model, 12);
  });

  test('invariance: default layers (conv1, the classifier\'s input) and a tensor; identity exactly 0; deterministic', async () => {
    const amounts = { translate: [-4, 0, 4], scale: [1, 1.3], rotate: [0, 25] };
    const t0 = performance.now();
    const r = await invariance(model, images[0], { amounts });
    const ms = performance.now() - t0;
    expect(r.layers.map((l) => `${l.layer} ${l.point}`)).toEqual([resolved(model, 'conv1'), DEFAULTS[name].hiddenAs]);
    expect(r.layers[1].size).toBe(model.tensorShape(model.resolve(DEFAULTS[name].hidden).op).reduce((a, b) => a * b, 1));
    for (const s of r.sweeps) {
      s.amounts.forEach((a, k) => {
        const identity = (s.kind === 'scale' && a === 1) || (s.kind !== 'scale' && a === 0);
        for (const d of s.distances) {
          if (identity) expect(d[k]).toBe(0);
          else expect(d[k]).toBeGreaterThan(0);
        }
      });
    }
    // A distance is the Euclidean distance of the flattened activations, as a direct computation gives.
    const base = model.forwardSync(images[0]);
    const p0 = base.probabilities(0)[r.classIndex];
    const f0 = base.activation(DEFAULTS[name].hidden).data;
    const moved = model.forwardSync(transformTensor(images[0], { kind: 'translate', amount: 4 }, { fill: 0 }));
    const direct = euclidean(f0, moved.activation(DEFAULTS[name].hidden).data);
    expect(r.sweeps[0].distances[1][2]).toBeCloseTo(direct, 4);
    expect(r.probability).toBeCloseTo(p0, 6);
    expect(r.sweeps[0].probability[1]).toBe(r.probability);
    const again = await invariance(model, images[0], { amounts });
    expect(again).toEqual(r);
    const charts = invarianceCharts(r);
    expect(charts.all).toMatch(/^<svg/);
    expect(charts.all).toContain(DEFAULTS[name].hidden);
    expect(charts.all).not.toContain(' tensor:');

    // A tensor of the graph as a layer.
    const t = await invariance(model, images[0], { kinds: ['rotate'], amounts, layers: [middle] });
    expect(t.layers.map((l) => `${l.layer} ${l.point}`)).toEqual([resolved(model, middle)]);
    expect(t.sweeps[0].distances[0][0]).toBe(0);
    expect(t.sweeps[0].distances[0][1]).toBeGreaterThan(0);
    console.log(`${name} invariance: ${r.sweeps.reduce((n, s) => n + s.amounts.length, 0)} amounts in ${ms.toFixed(0)} ms, ` +
      `layers ${r.layers.map((l) => `${l.layer} (${l.size})`).join(', ')}`);
  });

  test('scan (top 9): the default block output and a tensor; the kept units are the true maxima over the set', async () => {
    for (const layer of [undefined, middle]) {
      const target = layer ?? DEFAULTS[name].block;
      const count = model.tensorShape(model.resolve(target).op)[0];
      const maps = [0, 1, count - 1];
      const t0 = performance.now();
      const r = await scanDataset(model, images.map((tensor, i) => ({ name: `img-${i}`, tensor })),
        { layers: layer ? [layer] : undefined, maps, top: 9, workers: 0, batch: 5 });
      const ms = performance.now() - t0;
      expect(r.images).toBe(12);
      const l = r.layers[0];
      expect(`${l.layer} ${l.point}`).toBe(resolved(model, target));
      const [c, h, w] = model.tensorShape(model.resolve(target).op);
      expect(l.shape).toEqual([c, h, w]);
      // Brute force: each image's strongest position per map, ranked (ties: earlier image).
      const acts = activations(model, images, target);
      for (const m of l.maps) {
        const best = acts.map((a, image) => {
          let at = 0;
          for (let p = 1; p < h * w; p++) if (a[m.map * h * w + p] > a[m.map * h * w + at]) at = p;
          return { image, value: a[m.map * h * w + at], y: Math.floor(at / w), x: at % w };
        }).sort((a, b) => b.value - a.value || a.image - b.image).slice(0, 9);
        expect(m.units.map((u) => [u.image, u.y, u.x])).toEqual(best.map((b) => [b.image, b.y, b.x]));
        m.units.forEach((u, k) => {
          expect(u.value).toBeCloseTo(best[k].value, 5);
          expect(u.name).toBe(`img-${u.image}`);
          const bh = u.box.y1 - u.box.y0, bw = u.box.x1 - u.box.x0;
          expect(bh).toBeGreaterThan(0);
          expect(u.projection).toHaveLength(3 * bh * bw);
          expect(u.patch).toHaveLength(3 * bh * bw);
          // A positive activation projects to something (a dead map's 0 to nothing).
          if (u.value > 0) expect(u.projection!.some((v) => v !== 0)).toBe(true);
        });
      }
      const sheet = scanSheet(r, l.layer);
      expect(sheet.width * sheet.height).toBeGreaterThan(0);
      const again = await scanDataset(model, images.map((tensor, i) => ({ name: `img-${i}`, tensor })),
        { layers: layer ? [layer] : undefined, maps, top: 9, workers: 0, batch: 3 });
      expect(scanIndex(again)).toEqual(scanIndex(r));
      console.log(`${name} scan of ${l.layer} ${l.point} [${l.shape}]: 12 images, 3 maps in ${ms.toFixed(0)} ms`);
    }
  });

  test('correspondence: default rows (block output, classifier input) and a tensor; Delta is a sum over pairs, symmetric', async () => {
    const list = images.slice(0, 4);
    const boxes = [{ y0: 8, x0: 8, y1: 24, x1: 24 }, { y0: 10, x0: 6, y1: 26, x1: 22 }, { y0: 30, x0: 30, y1: 46, x1: 46 },
      { y0: 0, x0: 40, y1: 16, x1: 56 }];
    const r = await correspondence(model, list, boxes, { random: 2, seed: 3 });
    expect(r.rows.map((row) => `${row.layer} ${row.point}`)).toEqual([DEFAULTS[name].blockAs, DEFAULTS[name].hiddenAs]);
    for (const row of r.rows) {
      expect(row.dims).toBe(model.tensorShape(model.resolve(row.layer, row.point).op).reduce((a, b) => a * b, 1));
      for (const s of [row.part, row.random!]) {
        expect(s.pairs).toBe(12);
        expect(s.delta).toBeGreaterThanOrEqual(0);
        expect(s.delta).toBeLessThanOrEqual(s.pairs * s.dims);
        expect(s.mean).toBeGreaterThanOrEqual(0);
        expect(s.mean).toBeLessThanOrEqual(1);
      }
      expect(Number.isInteger(row.part.delta) && row.part.delta % 2 === 0).toBe(true);
      // The part's Delta recomputed from sign vectors of e_i = x_i - x~_i (one batch, as the analysis).
      const op = model.resolve(row.layer, row.point).op;
      const stack = (xs: Float32Array[]) => ({ shape: [xs.length, ...model.network.input], data: concat(xs) });
      const orig = model.forwardSync(stack(list.map((x) => x.data))).opOutput(op).data.slice();
      const masked = model.forwardSync(stack(list.map((x, i) => maskBox(x.data, model.network.input, boxes[i])))).opOutput(op).data;
      const e = list.map((_, i) => {
        const d = new Float32Array(row.dims);
        for (let k = 0; k < row.dims; k++) d[k] = orig[i * row.dims + k] - masked[i * row.dims + k];
        return signs(d);
      });
      expect(row.part.delta).toBe(2 * pairDistances(e).reduce((a, b) => a + b, 0));
    }
    // The same images in another order: the same Delta (a sum over pairs), and the same again.
    const order = [2, 0, 3, 1];
    const shuffled = await correspondence(model, order.map((i) => list[i]), order.map((i) => boxes[i]), { random: 0 });
    expect(shuffled.rows.map((row) => row.part.delta)).toEqual(r.rows.map((row) => row.part.delta));
    expect(await correspondence(model, list, boxes, { random: 2, seed: 3 })).toEqual(r);

    const t = await correspondence(model, list, boxes, { layers: [middle, 'conv1'], random: 0 });
    expect(t.rows.map((row) => `${row.layer} ${row.point}`)).toEqual([resolved(model, middle), resolved(model, 'conv1')]);
    expect(t.rows[0].part.delta).toBeGreaterThan(0);
    expect(t.rows[0].random).toBeNull();
  });

  test('diagnosis: conv1\'s filters are its weight\'s first dimension; layer 2 is the next conv (or a tensor); renderers', async () => {
    const weight = model.weightShapes().conv1.weight;
    const d = await diagnoseArchitecture(model, { images: images.slice(0, 6) });
    expect(d.conv1.layer).toBe('conv1');
    expect(d.conv1.filters).toBe(weight[0]);
    expect(d.summary.filters).toBe(weight[0]);
    expect(d.filters).toHaveLength(weight[0]);
    expect(d.weights.shape).toEqual(weight);
    expect(d.conv1.channels).toBe(3);
    expect(d.conv1.kernel).toEqual([weight[2], weight[3]]);
    expect(d.summary.samples).toBe(6);
    const w = model.getWeights('conv1').weight;
    const per = w.length / weight[0];
    let s = 0;
    for (let i = 0; i < per; i++) s += w[i] * w[i];
    expect(d.filters[0].rms).toBeCloseTo(Math.sqrt(s / per), 6);
    for (const f of d.filters) expect(f.bands.low + f.bands.mid + f.bands.high).toBeCloseTo(1, 6);
    // Layer 2: the conv after conv1, its first maps, each unit the brute-force maximum over the samples.
    const second = model.layers.filter((l) => l.kind === 'conv')[1];
    expect(d.layer2!.layer).toBe(second.name);
    const count = model.tensorShape(model.resolve(second.name).op)[0];
    expect(d.layer2!.units).toHaveLength(Math.min(16, count));
    const acts = activations(model, images.slice(0, 6), second.name);
    const [, h, ww] = model.tensorShape(model.resolve(second.name).op);
    for (const u of d.layer2!.units.slice(0, 3)) {
      let max = -Infinity;
      for (const a of acts) for (let p = 0; p < h * ww; p++) max = Math.max(max, a[u.map * h * ww + p]);
      expect(u.value).toBeCloseTo(max, 5);
    }
    const grid = filterGrid(d);
    expect(grid.width).toBeGreaterThan(0);
    const l2 = layer2Grid(d)!;
    expect(l2.width).toBeGreaterThan(0);
    expect(sideBySide([grid, l2]).width).toBeGreaterThan(grid.width);
    expect(diagnosisCharts([d, d]).all).toMatch(/^<svg/);
    const again = await diagnoseArchitecture(model, { images: images.slice(0, 6) });
    expect(again.summary).toEqual(d.summary);

    // Filters named by a tensor of their layer; layer 2 a tensor of the graph.
    const conv1Tensor = model.tensors.find((t) => model.resolve(t.name).layer.name === 'conv1')!.name;
    const t = await diagnoseArchitecture(model, { layer: conv1Tensor, images: images.slice(0, 4), layer2: { layer: middle, maps: [0, 2] } });
    expect(t.conv1.layer).toBe('conv1');
    expect(`${t.layer2!.layer} ${t.layer2!.point}`).toBe(resolved(model, middle));
    expect(t.layer2!.units.map((u) => u.map)).toEqual([0, 2]);
    await expect(diagnoseArchitecture(model, { layer: '/avgpool/GlobalAveragePool_output_0' })).rejects.toThrow(/is not a conv layer/);
  });

  test('evolution: the same file twice gives the same cells; features by short and tensor name; the true maxima', async () => {
    const features = [{ layer: 'conv1', map: 0 }, { layer: middle, map: 1 }, { layer: DEFAULTS[name].block, map: 2 }];
    const snaps = [{ label: 'a', model: () => open(name) }, { label: 'b', model: () => open(name) }];
    const set = images.slice(0, 6);
    const r = await featureEvolution(snaps, set, features);
    expect(r.snapshots).toEqual(['a', 'b']);
    expect(r.features.map((f) => `${f.layer} ${f.point}`)).toEqual(features.map((f) => resolved(model, f.layer)));
    r.cells.forEach((row, k) => {
      const { projection: _a, ...first } = row[0];
      const { projection: _b, ...second } = row[1];
      expect(second).toEqual(first);
      const acts = activations(model, set, features[k].layer);
      const shape = model.tensorShape(model.resolve(features[k].layer).op);
      const plane = shape[1] * shape[2];
      let max = -Infinity;
      for (const a of acts) for (let p = 0; p < plane; p++) max = Math.max(max, a[features[k].map * plane + p]);
      expect(first.value).toBeCloseTo(max, 5);
      expect(row[0].projection.data.some((v) => v !== 0)).toBe(true);
    });
    const grid = evolutionGrid(r);
    expect(grid.width).toBeGreaterThan(0);
  });
});

describe('evolution refuses snapshots of another architecture, naming them', () => {
  test('a feature the other network computes differently, or does not have', async () => {
    const images = imagesFor(await open('resnet18'), 3);
    const snaps = [{ label: 'resnet', model: () => open('resnet18') }, { label: 'googlenet', model: () => open('googlenet') }];
    // conv2 is ResNet's 3x3 layer1 conv but GoogLeNet's 1x1 stem conv.
    const e = await featureEvolution(snaps, images, [{ layer: 'conv2', map: 0 }]).catch((x) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^snapshot 'googlenet' is not the network of 'resnet' up to conv2 map 0: layer 2 is conv2 \[8, 8, 1, 1\] there but conv2 \[8, 8, 3, 3\] in the first/);
    // A tensor the other graph has no such name for.
    const f = await featureEvolution(snaps, images, [{ layer: MIDDLE.resnet18, map: 0 }]).catch((x) => x);
    expect(f).toBeInstanceOf(ArgumentError);
    expect(f.message).toMatch(/^snapshot 'googlenet': unknown (tensor|layer)/);
    // The same first layer (conv1 7x7/2 of 8 filters, then ReLU): that feature is comparable.
    const ok = await featureEvolution(snaps, images, [{ layer: 'conv1', map: 0 }]);
    expect(ok.cells[0]).toHaveLength(2);
    // A tensor of another shape in the other network.
    const mobile = [{ label: 'resnet', model: () => open('resnet18') }, { label: 'mobilenet', model: () => open('mobilenet_v2') }];
    await expect(featureEvolution(mobile, images, [{ layer: 'conv1', map: 0 }])).rejects.toThrow(
      /^snapshot 'mobilenet' is not the network of 'resnet' up to conv1 map 0: layer 1 is conv1 \[16, 3, 3, 3\] there but conv1 \[8, 3, 7, 7\] in the first/);
    // The network input is not a feature.
    await expect(featureEvolution(snaps.slice(0, 1), images, [{ layer: 'input', map: 0 }])).rejects.toThrow(/network input/);
  });
});

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) { out.set(x, at); at += x.length; }
  return out;
}

describe.each(['resnet18', 'googlenet'])('the worker host on %s: every analysis request, with the graph defaults', (name) => {
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
  const want = DEFAULTS[name];
  const middle = MIDDLE[name];
  const images = Array.from({ length: 6 }, (_, k) => ({ source: rgba(k), name: `img-${k}` }));
  let run = 0;
  beforeAll(async () => {
    await ask<ModelInfo>({ type: 'load', source: new Blob([bytes(name)]) });
    run = (await ask<ImageResult>({ type: 'image', image: rgba(9), name: 'test' })).run;
  });

  test('occlusion and invariance of the current image', async () => {
    const o = await ask<OcclusionResultMessage>({ type: 'occlusion', run, size: 16, stride: 16, workers: 1 });
    expect(`${o.layer} ${o.point}`).toBe(want.blockAs);
    const t = await ask<OcclusionResultMessage>({ type: 'occlusion', run, size: 16, stride: 16, workers: 1, layer: middle, map: 2 });
    expect(t).toMatchObject({ layer: middle, map: 2 });
    const inv = await ask<InvarianceResultMessage>({ type: 'invariance', run, kinds: ['scale'] });
    expect(inv.result.layers.map((l) => `${l.layer} ${l.point}`)).toEqual(['conv1 relu', want.hiddenAs]);
    expect(inv.charts.all).toMatch(/^<svg/);
  });

  test('scan, correspondence, diagnosis, evolution', async () => {
    const scan = await ask<ScanResultMessage>({ type: 'scan', images, maps: [0, 1], top: 4, workers: 0 });
    expect(`${scan.layer} ${scan.point}`).toBe(want.blockAs);
    const scanned = await ask<ScanResultMessage>({ type: 'scan', images, layer: middle, maps: [0, 1], top: 4, workers: 0 });
    expect(scanned.layer).toBe(middle);
    expect(scanned.maps.map((m) => m.units.length)).toEqual([4, 4]);
    await expect(ask({ type: 'scan', images, layer: 'logits' })).rejects.toThrow(/fc\d+ conv has no spatial feature maps.*a layer or tensor of \[C, H, W\] maps/);
    await expect(ask({ type: 'scan', images, layer: 'input' })).rejects.toThrow(/input is the network input/);
    const boxes = [0, 1, 2].map(() => ({ y0: 8, x0: 8, y1: 24, x1: 24 }));
    const c = await ask<CorrespondenceResultMessage>({ type: 'correspondence', images: images.slice(0, 3), boxes, random: 1 });
    expect(c.result.rows.map((r) => `${r.layer} ${r.point}`)).toEqual([want.blockAs, want.hiddenAs]);
    expect(c.table).toContain(want.hidden);
    const d = await ask<DiagnosisResultMessage>({ type: 'diagnosis', images: images.slice(0, 3), layer2Maps: 4 });
    expect(d.models[0].summary.conv1.filters).toBe(8);
    expect(d.models[0].summary.layer2!.units).toHaveLength(4);
    const e = await ask<EvolutionResultMessage>({
      type: 'evolution', images, features: [{ layer: 'conv1', map: 0 }, { layer: middle, map: 1 }],
      snapshots: [{ source: new Blob([bytes(name)]), label: 'a' }, { source: new Blob([bytes(name)]), label: 'b' }],
    });
    expect(e.features.map((f) => f.layer)).toEqual(['conv1', middle]);
    for (const row of e.cells) expect(row[1]).toEqual(row[0]);
  });
});

/** Deterministic RGBA pixels, different per k (the preset resizes and crops them). */
function rgba(k: number, width = 72, height = 64) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i % 4 === 3) ? 255 : (i * (37 + k) + (i >> 7) * (11 + 3 * k)) % 251;
  return { width, height, data };
}
