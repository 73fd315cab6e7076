/**
 * zf-vis scan: the top-9 of a data set (the paper's Figs. 1-2): every image of a folder through
 * the network, the 9 strongest activations of each feature map kept, each projected to pixel
 * space beside its image patch; paper-style sheets as PNG, the kept units as JSON.
 */
import { join } from 'node:path';
import { choice, integer, parse, required, UsageError } from '../args.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, chooseModel, listImages, numberList, openModel, outputDir, readImageTensor,
  writePng, writeText,
} from './analysis-io.js';
import { namedLayers, POINTS, resolveLayer } from '../../src/graph/names.js';
import { inferShapes } from '../../src/graph/shapes.js';
import { MODES } from '../../src/deconv/walk.js';
import { availableCores, ModelPool } from '../../src/analyses/pool.js';
import {
  projectScan, scanDataset, scanIndex, scanSheet, type ScanImage, type ScanResult,
} from '../../src/analyses/scan.js';

export const SCAN_HELP = `Usage: zf-vis scan --model M --images DIR --layer conv5 --out DIR [--point relu]
                  [--maps 0-15] [--top 9] [--all-positions] [--mode deconvnet|guided|gradient]
                  [--per-sheet 16] [--workers N] [--batch B] [--json]

Runs every image of a folder through the network and keeps, for each feature map of the layer,
its 9 strongest activations over the whole set (by default one per image: the image's strongest
position in that map; ties go to the earlier image, then the earlier position). Then projects
each kept activation alone back to pixel space (deconvnet) and crops its receptive field from
the projection and from the image: the paper's Fig. 2.

Writes into the --out folder:
  LAYER.png                 the sheet: for each map, its 9 projections (3 x 3, strongest first)
                            beside their 9 image patches; the maps in a grid (a graph tensor's
                            name with '/' as '_': layer3_layer3.1_relu_1_Relu_output_0.png)
  LAYER-maps-A-B.png        the same, --per-sheet maps per file, when there are more maps
  index.json                the kept units: value, image (index and file), position, receptive
                            box; and which sheet shows which maps

Options:
      --images DIR      a folder of PNG/JPEG images (sorted by name), or a comma-separated
                        list of image files
      --layer L         conv1 .. convN, or a graph's tensor name (several, comma-separated:
                        conv3,conv5 or /layer3/layer3.1/relu_1/Relu_output_0)
      --point P         conv, relu (default), pool or norm
      --maps LIST       the maps to keep, e.g. 0-15 or 1,4,7 (default: every map)
      --top K           activations kept per map (default 9)
      --all-positions   rank every (image, position), so one image may give several of a map's
                        top activations (default: one per image, as in the paper's figures)
      --mode M          deconvnet (default), guided or gradient
      --per-sheet N     maps per sheet file (default 16)
      --out DIR         the folder to write to (created if missing)
      --workers N       threads that compute (default: the number of cores): N worker
                        threads run the network while this one reads the images; 1 runs
                        everything in this thread

${ANALYSIS_MODEL_HELP}

JSON: { "model", "images", "top", "distinct", "mode", "layers": [{ "layer", "point", "shape",
        "maps": [{ "map", "units": [{ "value", "image", "name", "y", "x", "box" }] }] }],
        "sheets": [{ "layer", "maps", "file" }], "index", "milliseconds" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  images: { type: 'string' },
  layer: { type: 'string', short: 'l' },
  point: { type: 'string' },
  maps: { type: 'string' },
  top: { type: 'string' },
  'all-positions': { type: 'boolean' },
  mode: { type: 'string' },
  'per-sheet': { type: 'string' },
  out: { type: 'string', short: 'o' },
  workers: { type: 'string' },
} as const;

export async function scan(argv: string[], out: (text: string) => void): Promise<number> {
  const t0 = performance.now();
  const values = parse(argv, OPTIONS, 'scan');
  if (values.help) {
    out(SCAN_HELP);
    return 0;
  }
  const dir = required(values.out, 'out', 'scan');
  const imagesSpec = required(values.images, 'images', 'scan');
  const layerSpec = required(values.layer, 'layer', 'scan');
  const point = choice(values.point, 'point', POINTS);
  const mode = choice(values.mode, 'mode', MODES) ?? 'deconvnet';
  const top = integer(values.top, 'top', 1, 10_000) ?? 9;
  const perSheet = integer(values['per-sheet'], 'per-sheet', 1, 10_000) ?? 16;
  const workers = integer(values.workers, 'workers', 1, 256);
  const chosen = chooseModel(values, 'zfnet');
  const { network } = chosen;
  const layers = layerSpec.split(',').map((s) => s.trim()).filter(Boolean);
  if (layers.length === 0) throw new UsageError('--layer needs a layer name, e.g. conv5');
  const shapes = inferShapes(network);
  let maps: number[] | undefined;
  if (values.maps !== undefined) maps = [...new Set(numberList(values.maps, 'maps', true))];
  for (const layer of layers) {
    const resolved = resolveLayer(network, layer, point);
    if (resolved.op < 0) throw new UsageError(`--layer: ${layer} is the network input; scan a layer's maps`);
    const count = shapes[resolved.op][0];
    for (const m of maps ?? []) {
      if (m >= count) throw new UsageError(`--maps: map ${m} is out of range: ${layer} ${resolved.point} has ${count} maps (0-${count - 1})`);
    }
  }
  const files = await listImages(imagesSpec, 'images');
  await outputDir(dir);
  const source = (): ScanImage[] => files.map((path) => ({
    name: path, load: () => readImageTensor(path, network, chosen.preset),
  }));

  const status = new Status();
  const model = await openModel(chosen.name, { seed: chosen.seed, backend: chosen.backend, batch: chosen.batch }, status);
  const threads = workers ?? await availableCores();
  let pool: ModelPool | undefined;
  let result: ScanResult;
  const sheets: { layer: string; maps: number[]; file: string }[] = [];
  try {
    if (threads > 1) {
      status.set(`zf-vis: starting ${threads} workers...`);
      pool = await ModelPool.create(model, { workers: threads });
    }
    result = await scanDataset(model, source, {
      layers, point, maps, top, distinct: !values['all-positions'], mode, batch: chosen.batch, project: false,
      workers: pool ? undefined : 1, pool,
      onProgress: (p) => status.set(`zf-vis: scanning ${p.done} of ${files.length} images`),
    });
    // Project a sheet's maps at a time: the crops of every map at once could need gigabytes.
    const stems = fileStems(result.layers);
    for (const layer of result.layers) {
      const all = layer.maps.map((m) => m.map);
      for (let start = 0; start < all.length; start += perSheet) {
        const chunk = all.slice(start, start + perSheet);
        status.set(`zf-vis: projecting ${layer.layer} maps ${chunk[0]}-${chunk[chunk.length - 1]}...`);
        await projectScan(model, source, result, { layers: [layer.layer], maps: chunk, mode, pool, workers: pool ? undefined : 1 });
        const stem = stems.get(layer)!;
        const name = all.length <= perSheet ? `${stem}.png` : `${stem}-maps-${pad(chunk[0])}-${pad(chunk[chunk.length - 1])}.png`;
        status.set(`zf-vis: drawing ${name}...`);
        await writePng(join(dir, name), scanSheet(result, layer, { maps: chunk }));
        sheets.push({ layer: layer.layer, maps: chunk, file: join(dir, name) });
        for (const m of layer.maps) {
          if (!chunk.includes(m.map)) continue;
          for (const u of m.units) { u.projection = undefined; u.patch = undefined; }
        }
      }
    }
  } finally {
    status.clear();
    await pool?.close();
  }
  const index = join(dir, 'index.json');
  const summary = { model: chosen.name, ...scanIndex(result), sheets, index, milliseconds: Math.round(performance.now() - t0) };
  await writeText(index, JSON.stringify(summary, null, 2));
  if (values.json) {
    out(JSON.stringify(summary, null, 2));
    return 0;
  }
  const lines = [`scan of ${chosen.name}: ${result.images} images, top ${top} per map` +
    `${result.distinct ? ' (one per image)' : ' (every position)'}, ${mode} (${((performance.now() - t0) / 1000).toFixed(1)} s)`];
  for (const layer of result.layers) {
    const best = layer.maps.map((m) => m.units[0]).filter(Boolean).sort((a, b) => b.value - a.value)[0];
    lines.push(`${layer.layer} ${layer.point}: ${layer.maps.length} maps` +
      (best ? `; strongest: map ${best.map} = ${fmt(best.value)} at ${best.y},${best.x} of ${best.name}` : ''));
  }
  lines.push(`sheets -> ${sheets.map((s) => s.file).join(', ')}`, `kept units -> ${index}`);
  out(lines.join('\n'));
  return 0;
}

/**
 * A sheet's file name per scanned layer: the layer's name, with a graph tensor's '/' and other
 * characters a file name cannot hold as '_' (`/layer3/layer3.1/relu_1/Relu_output_0` ->
 * `layer3_layer3.1_relu_1_Relu_output_0`); names that come out alike get the point, then a number.
 */
export function fileStems<L extends { layer: string; point: string }>(layers: readonly L[]): Map<L, string> {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '') || 'layer';
  const stems = new Map<L, string>();
  const taken = new Set<string>();
  for (const l of layers) {
    let stem = clean(l.layer);
    if (taken.has(stem)) stem = clean(`${l.layer}-${l.point}`);
    for (let k = 2; taken.has(stem); k++) stem = `${clean(l.layer)}-${k}`;
    taken.add(stem);
    stems.set(l, stem);
  }
  return stems;
}

function pad(n: number): string {
  return String(n).padStart(3, '0');
}

function fmt(x: number): string {
  return x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : Number(x.toPrecision(5)).toString();
}
