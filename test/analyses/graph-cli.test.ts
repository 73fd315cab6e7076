// The analysis commands on a user's own graph model (the torchvision ResNet-18 export; GoogLeNet
// and SqueezeNet where a second architecture matters): a tensor name as --layer / --layers /
// --layer2 / --features, the graph defaults, files named for tensors, and the numbers equal the
// API's. Runs the built command (needs `npm run build`).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectUsageError, root, runCli } from '../helpers/cli.js';
import { correspondence, featureEvolution, invariance, loadModel, scanDataset, scanIndex, type Model } from '../../src/index.js';
import { decodeImage, encodePng } from '../../src/io/image-node.js';
import { preprocessImage } from '../../src/io/preprocess.js';

const fixture = (name: string) => join(root, `test/fixtures/torchvision/${name}.onnx`);
const resnet = fixture('resnet18');
const block = '/layer4/layer4.0/relu_1/Relu_output_0';
const hidden = '/avgpool/GlobalAveragePool_output_0';
const mid = '/layer3/layer3.0/relu_1/Relu_output_0';
let dir = '';
let model: Model;
const zfVis = (...args: string[]) => runCli(dir, ...args);
const files = Array.from({ length: 5 }, (_, k) => `images/img-${k}.png`);

/** An 80 x 72 test picture, different per k (the preset resizes and crops it to 64 x 64). */
function picture(k: number, w = 80, h = 72) {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (x * 5 + k * 47) % 256;
      data[i + 1] = (y * 7 + ((x * (k + 1)) % 60)) % 256;
      data[i + 2] = (128 + 110 * Math.sin((x + y * (k + 2)) * 0.21)) | 0;
      data[i + 3] = 255;
    }
  }
  return { width: w, height: h, data };
}

/** The images as the CLI reads them: decoded, preprocessed by the model's preset. */
const tensors = () => files.map((f) => preprocessImage(decodeImage(readFileSync(join(dir, f)), f), model.network.input,
  model.network.preprocess));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zf-vis-graph-analyses-'));
  mkdirSync(join(dir, 'images'));
  files.forEach((f, k) => writeFileSync(join(dir, f), encodePng(picture(k))));
  model = await loadModel(new Uint8Array(readFileSync(resnet)));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('zf-vis analyses on a ResNet-18 export', () => {
  test('invariance: the graph defaults (conv1, the classifier\'s input), a tensor name as --layers; the API\'s numbers', async () => {
    const r = await zfVis('invariance', '--model', resnet, '--image', files[0], '--out', 'inv', '--kind', 'translate',
      '--amounts=-4,0,4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.layers.map((l: { layer: string; point: string }) => `${l.layer} ${l.point}`)).toEqual(['conv1 relu', `${hidden} tensor`]);
    expect(json.sweeps[0].distances.map((d: number[]) => d[1])).toEqual([0, 0]);
    const api = await invariance(model, tensors()[0], { kinds: ['translate'], amounts: { translate: [-4, 0, 4] } });
    expect(json.sweeps).toEqual(JSON.parse(JSON.stringify(api.sweeps)));
    expect(existsSync(join(dir, 'inv', 'invariance-translate.svg'))).toBe(true);

    const t = await zfVis('invariance', '--model', resnet, '--image', files[0], '--out', 'inv2', '--kind', 'rotate',
      '--amounts', '0,30', '--layers', `${mid},conv1`);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`d\\(${mid.replace(/[/.]/g, '\\$&')}\\)\\s+d\\(conv1 relu\\)\\s+P\\(class\\)`));
    expect(t.stdout.split('\n').filter((l) => /^\s+0\s+0\s+0\s/.test(l))).toHaveLength(1);
  });

  test('scan --layer <tensor name>: a sheet named for the tensor, the kept units as the API keeps them', async () => {
    const r = await zfVis('scan', '--model', resnet, '--images', 'images', '--layer', mid, '--maps', '0-3', '--top', '4',
      '--out', 'scan', '--workers', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.layers[0]).toMatchObject({ layer: mid, point: 'tensor', shape: [32, 4, 4] });
    expect(json.sheets.map((s: { file: string }) => s.file)).toEqual([join('scan', 'layer3_layer3.0_relu_1_Relu_output_0.png')]);
    expect(readdirSync(join(dir, 'scan')).sort()).toEqual(['index.json', 'layer3_layer3.0_relu_1_Relu_output_0.png']);
    const png = decodeImage(readFileSync(join(dir, json.sheets[0].file)), 'sheet.png');
    expect(png.width * png.height).toBeGreaterThan(0);
    const api = await scanDataset(model, tensors().map((tensor, i) => ({ name: files[i], tensor })),
      { layers: [mid], maps: [0, 1, 2, 3], top: 4, workers: 0, project: false });
    const { layers, images, top } = scanIndex(api) as { layers: unknown; images: number; top: number };
    expect({ layers: json.layers, images: json.images, top: json.top }).toEqual(JSON.parse(JSON.stringify({ layers, images, top })));

    // Two layers whose names clean up alike each get a file of their own; the network input is no layer to scan.
    const two = await zfVis('scan', '--model', resnet, '--images', 'images', '--layer', `${block},conv1`, '--maps', '0',
      '--top', '2', '--out', 'scan2', '--workers', '1', '--json');
    expect(two.code, two.stderr).toBe(0);
    expect(readdirSync(join(dir, 'scan2')).sort()).toEqual(['conv1.png', 'index.json', 'layer4_layer4.0_relu_1_Relu_output_0.png']);
    expectUsageError(await zfVis('scan', '--model', resnet, '--images', 'images', '--layer', 'input', '--out', 'x'), /network input/);
  });

  test('correspondence: default rows are the last block\'s output and the classifier\'s input; --layers takes tensor names', async () => {
    const boxes = '8,8,24,24;10,6,26,22;30,30,46,46';
    const list = files.slice(0, 3).join(',');
    const r = await zfVis('correspondence', '--model', resnet, '--images', list, '--boxes', boxes, '--random', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.rows.map((row: { layer: string; point: string }) => `${row.layer} ${row.point}`))
      .toEqual([`${block} tensor`, `${hidden} tensor`]);
    const parsed = boxes.split(';').map((b) => b.split(',').map(Number)).map(([y0, x0, y1, x1]) => ({ y0, x0, y1, x1 }));
    const api = await correspondence(model, tensors().slice(0, 3), parsed, { random: 2, seed: 1 });
    expect(json.rows).toEqual(JSON.parse(JSON.stringify(api.rows)));

    const t = await zfVis('correspondence', '--model', resnet, '--images', list, '--boxes', boxes, '--layers', `${mid},conv2`,
      '--random', '0');
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split('\n');
    expect(lines.some((l) => l.startsWith(`${mid}  `) && /\s512\s/.test(l))).toBe(true);
    expect(lines.some((l) => /^conv2 relu\s+2048\s/.test(l))).toBe(true);
  });

  test('diagnose --layer2 <tensor name>; a compared model without that tensor is named', async () => {
    const r = await zfVis('diagnose', '--model', resnet, '--images', 'images', '--layer2', mid, '--maps', '0-3', '--out', 'diag', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    const m = json.models[0];
    expect(m.conv1).toMatchObject({ layer: 'conv1', filters: model.weightShapes().conv1.weight[0], channels: 3, kernel: [7, 7] });
    expect(m.layer2).toMatchObject({ layer: mid, point: 'tensor' });
    expect(m.layer2.units.map((u: { map: number }) => u.map)).toEqual([0, 1, 2, 3]);
    for (const f of ['diagnosis.json', 'filters.png', 'filters-resnet18.png', 'layer2.png', 'layer2-resnet18.png', 'spectrum.svg']) {
      expect(existsSync(join(dir, 'diag', f)), f).toBe(true);
    }
    // The default layer 2 (the conv after conv1), beside GoogLeNet.
    const two = await zfVis('diagnose', '--model', resnet, '--compare', fixture('googlenet'), '--images', 'images', '--out', 'diag2', '--json');
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout).models.map((x: { layer2: { layer: string } }) => x.layer2.layer)).toEqual(['conv2', 'conv2']);
    expectUsageError(await zfVis('diagnose', '--model', resnet, '--compare', fixture('googlenet'), '--images', 'images',
      '--layer2', mid, '--out', 'x'), /--layer2 in .*googlenet\.onnx: unknown (tensor|layer)/);
  });

  test('evolution: the same file twice as snapshots, features by tensor name; another architecture is refused', async () => {
    const r = await zfVis('evolution', '--model', `${resnet},${resnet}`, '--features', `conv1:0,${mid}:1,${block}:2`,
      '--images', 'images', '--out', 'evo', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.features.map((f: { layer: string; point: string }) => `${f.layer} ${f.point}`))
      .toEqual(['conv1 relu', `${mid} tensor`, `${block} tensor`]);
    for (const row of json.cells) expect(row[1]).toEqual(row[0]);
    const api = await featureEvolution([{ label: 'a', model }], tensors(), [{ layer: mid, map: 1 }]);
    expect(json.cells[1][0].value).toBe(api.cells[0][0].value);
    expect(existsSync(join(dir, 'evo', 'evolution.png'))).toBe(true);

    expectUsageError(await zfVis('evolution', '--model', `${resnet},${fixture('googlenet')}`, '--features', 'conv2:0',
      '--images', 'images', '--out', 'x'), /snapshot 'googlenet\.onnx' is not the network of 'resnet18\.onnx' up to conv2 map 0/);
    expectUsageError(await zfVis('evolution', '--model', `${resnet},${fixture('googlenet')}`, '--features', `${mid}:0`,
      '--images', 'images', '--out', 'x'), /--features in .*googlenet\.onnx: unknown (layer|tensor) '\/layer3\//);
    expectUsageError(await zfVis('evolution', '--model', resnet, '--features', 'input:0', '--images', 'images', '--out', 'x'),
      /network input/);
  });
});

describe('zf-vis occlude on a ResNet-18 export', () => {
  test('(b) defaults to the last block\'s output, not the last conv (which feeds a residual Add); a tensor name as --layer', async () => {
    const r = await zfVis('occlude', '--model', resnet, '--image', files[2], '--size', '16', '--stride', '16', '--out', 'occ.npy',
      '--workers', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ layer: block, point: 'tensor' });
    const t = await zfVis('occlude', '--model', resnet, '--image', files[2], '--size', '16', '--stride', '16', '--out', 'occ2.npy',
      '--layer', mid, '--map', '5', '--workers', '1', '--json');
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ layer: mid, map: 5 });
    expectUsageError(await zfVis('occlude', '--model', resnet, '--image', files[2], '--size', '16', '--stride', '16',
      '--out', 'occ3.npy', '--layer', 'input'), /network input/);
  });
});

describe('a graph whose classifier is a conv (SqueezeNet)', () => {
  test('occlude --class takes any of its classes', async () => {
    const r = await zfVis('occlude', '--model', fixture('squeezenet1_1'), '--image', files[1], '--size', '32', '--stride', '32',
      '--out', 'sq.npy', '--class', '6', '--workers', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ classIndex: 6 });
  });

  test('invariance --class takes any of its classes', async () => {
    const r = await zfVis('invariance', '--model', fixture('squeezenet1_1'), '--image', files[1], '--out', 'sq', '--kind', 'scale',
      '--amounts', '1,1.2', '--class', '7', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ classIndex: 7 });
    expectUsageError(await zfVis('invariance', '--model', fixture('squeezenet1_1'), '--image', files[1], '--out', 'sq',
      '--class', '10'), /--class must be an integer from 0 to 9/);
  });
});
