/**
 * zf-vis occlude: occlusion sensitivity (the paper's Fig. 7) for one image: the class
 * probability, the total activation of one feature map and the most probable class, as the
 * occluder slides over the image; maps as .npy, a picture as PNG.
 */
import { integer, parse, required, UsageError } from '../args.js';
import { checkWritable, writeOutput } from '../input.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, chooseModel, openModel, progress, readImageTensor, readNpyInput, writePng,
} from './analysis-io.js';
import { namedLayers, POINTS, resolveLayer } from '../../src/graph/names.js';
import { inferShapes } from '../../src/graph/shapes.js';
import { encodeNpy } from '../../src/io/npy.js';
import { inputToImage, tileImages } from '../../src/deconv/render.js';
import { occlusion, type OcclusionFill, type OcclusionResult } from '../../src/analyses/occlusion.js';
import { occlusionOverlay } from '../../src/analyses/occlusion-render.js';
import { lastConvLayer } from '../../src/analyses/invariance.js';
import type { Network, Tensor } from '../../src/index.js';

/** The most positions occlude runs without --yes. */
export const MAX_POSITIONS = 10_000;

export const OCCLUDE_HELP = `Usage: zf-vis occlude --model M (--image I | --input X.npy) --size 32 --stride 16 --out P.npy
                     [--fill zero|mean|V|V1,V2,V3] [--class C] [--layer conv5 [--point relu]]
                     [--map K] [--png P.png] [--workers N] [--batch B] [--naive] [--yes] [--json]

Slides a square occluder over the image (the paper's Fig. 7). At each position the occluded
image goes through the network and three maps are recorded: (a) the probability of the class,
(b) the total activation of one feature map, (c) the most probable class.

Positions: the occluder's top-left corner steps by --stride from 0 until the occluder reaches
the far edge (the last one may hang over it, clipped), so the maps are rows x cols with
rows = ceil(max(0, H - size) / stride) + 1 (the same for columns). Each position is one
occluded image through the network: a grid of more than ${MAX_POSITIONS.toLocaleString('en-US')} positions (--size 1 --stride 1
on a 224 x 224 input gives 50,176) is refused unless --yes is given; it then prints the count
on stderr before it starts.

Writes (float32 .npy, shape [rows, cols], row-major):
  P.npy              (a) the probability of the class at each position
  P.activation.npy   (b) the total activation of the map (sum over its positions)
  P.top.npy          (c) the most probable class (its index, as a float32 integer)
and, with --png, one picture: the image, then (a), (b) and (c) drawn over it (probability on a
jet scale from 0 to 1, activation from its minimum to its maximum, classes in distinct colours).

Options:
      --image FILE      a PNG or JPEG, preprocessed by the model's preset
      --input FILE      a .npy float32 tensor [N, C, H, W], already preprocessed
      --image-index N   which image of a batch --input (default 0)
      --size N          side of the occluding square, in input pixels
      --stride N        step between positions, in input pixels
      --fill F          the occluder's value: zero (default: the preset's zero, i.e. the mean
                        colour, grey, for caffe and torchvision; black for none/grayscale),
                        mean (the image's mean per channel), or a value (or one per channel)
                        in tensor units
      --class C         the class of (a): an index or a label (default: the most probable
                        class of the unoccluded image)
      --layer L         the layer of (b), or a graph's tensor name (default: the last conv
                        layer, conv5 in ZFNet; a graph's last conv block's output, e.g.
                        ResNet's last ReLU)
      --point P         conv, relu (default), pool or norm
      --map K           the map of (b) (default: the map with the strongest single activation
                        on the unoccluded image)
      --out FILE        the .npy file of (a); (b) and (c) go beside it
      --png FILE        the picture
      --workers N       threads that compute, this one included (default: the number of
                        cores): this thread starts at once, N - 1 worker threads join in
                        when they have loaded the model; 1 runs in this thread only
      --naive           one full forward pass per position (the slow reference)
  -y, --yes             run a grid of more than ${MAX_POSITIONS.toLocaleString('en-US')} positions
      (--batch N here: positions per batch through the fc layers, default 16)

${ANALYSIS_MODEL_HELP}

JSON: { "model", "backend", "size", "stride", "fill", "classIndex", "label", "layer", "point",
        "map", "grid": { "rows", "cols", "ys", "xs", "height", "width" },
        "baseline": { "probability", "activation", "top", "topProbability" },
        "lowest": { "probability", "row", "col", "y0", "x0", "y1", "x1" },
        "topClasses": [{ "index", "label", "positions" }], "files", "workers" (the worker threads
        besides this one that computed positions), "milliseconds" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  image: { type: 'string' },
  input: { type: 'string' },
  'image-index': { type: 'string' },
  size: { type: 'string' },
  stride: { type: 'string' },
  fill: { type: 'string' },
  class: { type: 'string' },
  layer: { type: 'string', short: 'l' },
  point: { type: 'string' },
  map: { type: 'string' },
  out: { type: 'string', short: 'o' },
  png: { type: 'string' },
  workers: { type: 'string' },
  naive: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

export async function occlude(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'occlude');
  if (values.help) {
    out(OCCLUDE_HELP);
    return 0;
  }
  const outPath = required(values.out, 'out', 'occlude');
  if (!/\.npy$/i.test(outPath)) throw new UsageError(`--out must name a .npy file; got '${outPath}'`);
  const chosen = chooseModel(values, 'zfnet');
  const { network } = chosen;
  const [, height, width] = network.input;
  const size = integer(required(values.size, 'size', 'occlude'), 'size', 1, Math.max(height, width))!;
  const stride = integer(required(values.stride, 'stride', 'occlude'), 'stride', 1, Math.max(height, width))!;
  const workers = integer(values.workers, 'workers', 1, 256);
  const rows = Math.ceil(Math.max(0, height - size) / stride) + 1, cols = Math.ceil(Math.max(0, width - size) / stride) + 1;
  const positions = rows * cols;
  const estimate = `--size ${size} --stride ${stride} on ${network.name}'s ${height} x ${width} input is ` +
    `${rows} x ${cols} = ${positions.toLocaleString('en-US')} positions, each an occluded image through the network`;
  if (positions > MAX_POSITIONS && !values.yes) {
    throw new UsageError(`${estimate}; that is over ${MAX_POSITIONS.toLocaleString('en-US')}: give --yes to run it, ` +
      'or a larger --stride (see zf-vis occlude --help)');
  }
  const imageIndex = integer(values['image-index'], 'image-index', 0, 2 ** 31 - 1) ?? 0;
  const fill = parseFill(values.fill, network.input[0]);
  const classes = classCount(network);
  const classIndex = values.class === undefined ? undefined : parseClass(values.class, network.labels, classes);
  if (values.point !== undefined && values.layer === undefined) throw new UsageError('--point needs --layer (see zf-vis occlude --help)');
  if (values.point !== undefined && !(POINTS as readonly string[]).includes(values.point)) {
    throw new UsageError(`--point must be one of ${POINTS.join(', ')}; got '${values.point}'`);
  }
  let map: number | undefined;
  if (values.layer !== undefined) {
    const resolved = resolveLayer(network, values.layer, values.point);
    if (resolved.op < 0) throw new UsageError(`--layer: ${values.layer} is the network input; (b) sums a layer's map`);
    const maps = inferShapes(network)[resolved.op][0];
    map = integer(values.map, 'map', 0, maps - 1);
  } else if (values.map !== undefined) {
    throw new UsageError('--map needs --layer (see zf-vis occlude --help)');
  }
  if ((values.image === undefined) === (values.input === undefined)) {
    throw new UsageError('occlude needs one of --image FILE or --input FILE.npy (see zf-vis occlude --help)');
  }
  const base = outPath.replace(/\.npy$/i, '');
  const files = { probability: outPath, activation: `${base}.activation.npy`, top: `${base}.top.npy`, png: values.png ?? null };
  for (const path of [outPath, values.png]) if (path !== undefined) await checkWritable(path);

  let input: Tensor;
  if (values.image !== undefined) {
    input = await readImageTensor(values.image, network, chosen.preset);
  } else {
    if (values.preprocess !== undefined) throw new UsageError('--preprocess applies to --image only; an --input tensor is used as is');
    input = await readNpyInput(values.input!, network);
  }
  if (imageIndex >= input.shape[0]) {
    throw new UsageError(`--image-index ${imageIndex} is out of range: ${values.input} holds ${input.shape[0]} image(s)`);
  }

  if (positions > MAX_POSITIONS) process.stderr.write(`zf-vis: occlude: ${estimate}\n`);
  const status = new Status();
  const model = await openModel(chosen.name, { seed: chosen.seed, backend: chosen.backend }, status);
  let result: OcclusionResult;
  try {
    result = await occlusion(model, input, {
      // A graph's default (b): its last conv block's output, as the other analyses (not its last
      // conv in graph order, which in a ResNet feeds a residual Add and in GoogLeNet is one branch).
      size, stride, fill, classIndex, layer: values.layer ?? (network.tensors ? lastConvLayer(model) : undefined),
      point: values.point, map, image: imageIndex,
      batch: values.batch === undefined ? undefined : chosen.batch, workers, naive: values.naive,
      onProgress: progress(status, 'occluding'),
    });
  } finally {
    status.clear();
  }
  const shape = [result.grid.rows, result.grid.cols];
  await writeOutput(files.probability, encodeNpy({ shape, data: result.probability }));
  await writeOutput(files.activation, encodeNpy({ shape, data: result.activation }));
  await writeOutput(files.top, encodeNpy({ shape, data: Float32Array.from(result.top) }));
  if (values.png !== undefined) {
    const picture = { shape: [1, ...network.input], data: input.data.subarray(imageIndex * size3(network), (imageIndex + 1) * size3(network)) };
    const sheet = tileImages([
      inputToImage(picture, chosen.preset),
      occlusionOverlay(result, 'probability', picture, chosen.preset, { alpha: 0.6 }),
      occlusionOverlay(result, 'activation', picture, chosen.preset, { alpha: 0.6 }),
      occlusionOverlay(result, 'top', picture, chosen.preset, { alpha: 0.6 }),
    ], { columns: 4, gap: 4 });
    await writePng(values.png, sheet);
  }

  // The lowest probability: where the occluder hides what the class depends on.
  let lowest = 0;
  result.probability.forEach((p, i) => { if (p < result.probability[lowest]) lowest = i; });
  const row = Math.floor(lowest / result.grid.cols), col = lowest % result.grid.cols;
  const y0 = result.grid.ys[row], x0 = result.grid.xs[col];
  const counts = new Map<number, number>();
  for (const t of result.top) counts.set(t, (counts.get(t) ?? 0) + 1);
  const topClasses = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([index, positions]) => ({ index, label: result.labels[index], positions }));
  const summary = {
    model: chosen.name, backend: model.backend, size, stride, fill: result.fill, classIndex: result.classIndex,
    label: result.label, layer: result.layer, point: result.point, map: result.map,
    grid: { rows: result.grid.rows, cols: result.grid.cols, ys: result.grid.ys, xs: result.grid.xs,
      height: result.grid.height, width: result.grid.width },
    baseline: result.baseline,
    lowest: { probability: result.probability[lowest], row, col, y0, x0,
      y1: Math.min(height, y0 + size), x1: Math.min(width, x0 + size) },
    topClasses, files, workers: result.workers, milliseconds: Math.round(result.milliseconds),
  };
  if (values.json) {
    out(JSON.stringify(summary, null, 2));
    return 0;
  }
  let amin = Infinity, amax = -Infinity;
  for (const v of result.activation) { amin = Math.min(amin, v); amax = Math.max(amax, v); }
  const named = (i: number) => (result.labels[i] !== `class ${i}` ? `class ${i} (${result.labels[i]})` : `class ${i}`);
  out([
    `occlusion of ${chosen.name}: ${result.grid.rows} x ${result.grid.cols} positions of a ${size} px square, stride ${stride}, ` +
      `fill [${result.fill.map(fmt).join(', ')}] (${(result.milliseconds / 1000).toFixed(1)} s, ` +
      `${result.workers ? `this thread and ${result.workers} worker${result.workers > 1 ? 's' : ''}` : 'this thread'}` +
      `${values.naive ? ', naive' : ''})`,
    `(a) ${named(result.classIndex)}: probability ${fmt(result.baseline.probability)} unoccluded; lowest ` +
      `${fmt(result.probability[lowest])} with rows ${y0}-${summary.lowest.y1 - 1}, columns ${x0}-${summary.lowest.x1 - 1} occluded`,
    `(b) ${result.layer} ${result.point} map ${result.map}: total ${fmt(result.baseline.activation)} unoccluded; ` +
      `${fmt(amin)} to ${fmt(amax)} occluded`,
    `(c) most probable: ${topClasses.slice(0, 5).map((t) => `${named(t.index)} at ${t.positions}`).join(', ')}` +
      (topClasses.length > 5 ? `, ${topClasses.length - 5} more classes` : ''),
    `maps [${shape.join(', ')}] -> ${files.probability}, ${files.activation}, ${files.top}` +
      (values.png !== undefined ? `\npicture -> ${values.png}` : ''),
  ].join('\n'));
  return 0;
}

function size3(network: Network): number {
  return network.input[0] * network.input[1] * network.input[2];
}

function parseFill(value: string | undefined, channels: number): OcclusionFill {
  if (value === undefined || value === 'zero' || value === 'mean') return value ?? 'zero';
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map((s) => (s === '' ? NaN : Number(s)));
  if (!numbers.every(Number.isFinite) || (numbers.length !== 1 && numbers.length !== channels)) {
    throw new UsageError(`--fill must be zero, mean, a number or ${channels} comma-separated numbers; got '${value}'`);
  }
  return numbers.length === 1 ? numbers[0] : numbers;
}

/** Classes: the size of the network's output (a graph may end in a conv and a pool, as SqueezeNet). */
function classCount(network: Network): number {
  const shapes = inferShapes(network);
  return shapes.length ? shapes[shapes.length - 1].reduce((a, b) => a * b, 1) : 0;
}

/** A class index, or a label (case-insensitive, exact). */
function parseClass(value: string, labels: readonly string[] | undefined, count: number): number {
  if (/^\s*\d+\s*$/.test(value)) return integer(value.trim(), 'class', 0, Math.max(0, count - 1))!;
  const i = labels?.findIndex((l) => l.toLowerCase() === value.trim().toLowerCase()) ?? -1;
  if (i < 0) throw new UsageError(`--class '${value}' is neither a class index nor a label of this model`);
  return i;
}

function fmt(x: number): string {
  return x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : Number(x.toPrecision(5)).toString();
}
