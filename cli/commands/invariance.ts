/**
 * zf-vis invariance: the paper's Fig. 5 for one image: feature distances at a low and a high
 * layer and the class probability under vertical translation, scaling and rotation; charts as
 * SVG, numbers as JSON.
 */
import { join } from 'node:path';
import { choice, integer, parse, required, UsageError } from '../args.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, chooseModel, numberList, openModel, outputDir, progress, readImageTensor,
  readNpyInput, writeText,
} from './analysis-io.js';
import { namedLayers, resolveLayer } from '../../src/graph/names.js';
import {
  invariance as sweep, invarianceCharts, layerLabel, lowAndHighLayers, parseLayerPoint, resolveLayers,
  type InvarianceResult,
} from '../../src/analyses/invariance.js';
import { TRANSFORM_KINDS, type TransformKind } from '../../src/analyses/transform.js';
import type { Network, Tensor } from '../../src/index.js';
import { inferShapes } from '../../src/graph/shapes.js';

export const INVARIANCE_HELP = `Usage: zf-vis invariance --model M (--image I | --input X.npy) --out DIR
                        [--kind translate|scale|rotate|all] [--amounts A,B,...] [--class C]
                        [--layers conv1,fc7] [--fill V] [--json]

Transforms one image by increasing amounts and measures, at each amount, the Euclidean distance
between the feature vectors (flattened, at the layer's ReLU) of the original and the transformed
image at a low and a high layer, and the probability of the class (the paper's Fig. 5).
Writes DIR/invariance.json, DIR/invariance.svg (every chart: a column per kind, rows: each
layer's distance, then the probability) and DIR/invariance-KIND.svg; prints the table.

Options:
      --image FILE      a PNG or JPEG, preprocessed by the model's preset
      --input FILE      a .npy float32 tensor [1, C, H, W] (the first image of a batch is used)
      --out DIR         the folder to write to (created if missing)
      --kind K          translate (vertical, pixels of the network input, + is down), scale
                        (factor about the centre), rotate (degrees, + is counter-clockwise),
                        or all (default)
      --amounts LIST    the amounts of a single --kind (default: the paper's ranges, scaled to
                        the input: translate -60..60 px of 224 in 13 steps, scale 1..1.8 by 0.1,
                        rotate 0..350 by 10)
      --class C         the true class: an index or a label (default: the most probable class
                        of the original image)
      --layers L1,L2    the layers to compare at, LAYER or LAYER:POINT, or a graph's tensor
                        names (default: conv1 and the last hidden fc layer, e.g. fc7; for a
                        graph whose classifier is its only dense layer, the features it reads,
                        e.g. ResNet's /avgpool/GlobalAveragePool_output_0)
      --fill V          the value outside the transformed image, in tensor units (default 0:
                        the preset's mean colour; black for none/grayscale)

${ANALYSIS_MODEL_HELP}

JSON: { "model", "classIndex", "label", "probability", "layers": [{ "layer", "point", "size" }],
        "sweeps": [{ "kind", "unit", "amounts", "distances": [[per amount] per layer],
                     "probability", "top" }], "files" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  image: { type: 'string' },
  input: { type: 'string' },
  out: { type: 'string', short: 'o' },
  kind: { type: 'string' },
  amounts: { type: 'string' },
  class: { type: 'string' },
  layers: { type: 'string' },
  fill: { type: 'string' },
} as const;

export async function invariance(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'invariance');
  if (values.help) {
    out(INVARIANCE_HELP);
    return 0;
  }
  const dir = required(values.out, 'out', 'invariance');
  const kind = choice(values.kind, 'kind', [...TRANSFORM_KINDS, 'all'] as const) ?? 'all';
  const kinds: TransformKind[] = kind === 'all' ? [...TRANSFORM_KINDS] : [kind];
  if (values.amounts !== undefined && kind === 'all') {
    throw new UsageError('--amounts applies to a single --kind (translate, scale or rotate)');
  }
  const amounts = values.amounts !== undefined ? { [kinds[0]]: numberList(values.amounts, 'amounts') } : undefined;
  if (kinds[0] === 'scale' && amounts?.scale?.some((a) => !(a > 0))) throw new UsageError('--amounts: scale factors must be > 0');
  const fill = values.fill === undefined ? 0 : Number(values.fill);
  if (!Number.isFinite(fill) || values.fill?.trim() === '') throw new UsageError(`--fill must be a number; got '${values.fill}'`);
  if ((values.image === undefined) === (values.input === undefined)) {
    throw new UsageError('invariance needs one of --image FILE or --input FILE.npy (see zf-vis invariance --help)');
  }
  const chosen = chooseModel(values, 'zfnet');
  const { network } = chosen;
  const layerNames = namedLayers(network);
  // The defaults as the engine picks them (a graph's: conv1 and the features its classifier reads).
  const layers = values.layers !== undefined
    ? values.layers.split(',').map((s) => parseLayerPoint(s.trim()))
    : lowAndHighLayers({ layers: layerNames, network });
  for (const l of layers) resolveLayer(network, l.layer, l.point);
  const classIndex = values.class === undefined ? undefined : parseClass(values.class, network.labels, classCount(network));

  let input: Tensor;
  if (values.image !== undefined) {
    input = await readImageTensor(values.image, network, chosen.preset);
  } else {
    if (values.preprocess !== undefined) throw new UsageError('--preprocess applies to --image only; an --input tensor is used as is');
    input = await readNpyInput(values.input!, network);
  }
  await outputDir(dir);

  const status = new Status();
  const model = await openModel(chosen.name, { seed: chosen.seed, backend: chosen.backend, batch: chosen.batch }, status);
  resolveLayers(model, layers);
  let result: InvarianceResult;
  try {
    result = await sweep(model, input, {
      kinds, amounts, layers: values.layers !== undefined ? layers : undefined, classIndex, fill, batch: chosen.batch, name: values.image ?? values.input,
      onProgress: progress(status, 'invariance'),
    });
  } finally {
    status.clear();
  }
  const charts = invarianceCharts(result);
  const files = [join(dir, 'invariance.json'), join(dir, 'invariance.svg'), ...kinds.map((k) => join(dir, `invariance-${k}.svg`))];
  await writeText(files[0], JSON.stringify(result, null, 2));
  await writeText(files[1], charts.all);
  for (const [i, k] of kinds.entries()) await writeText(files[2 + i], charts.byKind[k]!);

  if (values.json) {
    out(JSON.stringify({ ...result, files }, null, 2));
    return 0;
  }
  const named = result.label !== `class ${result.classIndex}` ? ` (${result.label})` : '';
  const lines = [`invariance of ${chosen.name} on ${values.image ?? values.input}: class ${result.classIndex}${named}, ` +
    `probability ${result.probability.toFixed(4)} on the original`];
  const heads = ['amount', ...result.layers.map((l) => `d(${layerLabel(l)})`), 'P(class)', 'top'];
  for (const s of result.sweeps) {
    lines.push('', `${s.unit}:`);
    const rows = s.amounts.map((a, k) => [String(a), ...s.distances.map((d) => fmt(d[k])), s.probability[k].toFixed(4), String(s.top[k])]);
    const widths = heads.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    lines.push(`  ${heads.map((h, c) => h.padStart(widths[c])).join('  ')}`);
    for (const r of rows) lines.push(`  ${r.map((v, c) => v.padStart(widths[c])).join('  ')}`);
  }
  lines.push('', `charts -> ${files.slice(1).join(', ')}`, `numbers -> ${files[0]}`);
  out(lines.join('\n'));
  return 0;
}

/** Classes: the size of the network's output (a graph may end in a conv and a pool, as SqueezeNet). */
function classCount(network: Network): number {
  const shapes = inferShapes(network);
  return shapes.length ? shapes[shapes.length - 1].reduce((a, b) => a * b, 1) : 0;
}

/** A class index, or a label (case-insensitive, exact). */
export function parseClass(value: string, labels: readonly string[] | undefined, count: number): number {
  if (/^\d+$/.test(value.trim())) {
    const n = integer(value, 'class', 0, Math.max(0, count - 1))!;
    return n;
  }
  const i = labels?.findIndex((l) => l.toLowerCase() === value.trim().toLowerCase()) ?? -1;
  if (i < 0) throw new UsageError(`--class '${value}' is neither a class index nor a label of this model`);
  return i;
}

function fmt(x: number): string {
  return x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(5);
}
