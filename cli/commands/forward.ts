/** zf-vis forward: write one layer's activation (at a point) as .npy, and print its stats. */
import { choice, MODEL_INPUT_HELP, MODEL_INPUT_OPTIONS, parse, required } from '../args.js';
import { checkWritable, load, prepare, writeOutput, networkOf, DEFAULT_MODEL } from '../input.js';
import { Status } from '../status.js';
import { encodeNpy } from '../../src/io/npy.js';
import { namedLayers, POINTS, type Tensor } from '../../src/index.js';
import { resolveLayer } from '../../src/graph/names.js';

export const FORWARD_HELP = `Usage: zf-vis forward --model M (--image I | --input X.npy) --layer conv5 [--point relu]
                     --out A.npy [--json]

Runs the network and writes the activation of one layer as a .npy file (float32, C order,
shape [N, ...]), then prints its shape and statistics.

Options:
      --layer L         conv1 .. convN, fc{N+1} .. (e.g. conv5, fc6), or any tensor name of an
                        ONNX graph (e.g. /layer4/layer4.1/relu_1/Relu_output_0)
      --point P         conv (before ReLU), relu (default), pool (after the next max-pool),
                        norm (after the next LRN)
      --out FILE        the .npy file to write

${MODEL_INPUT_HELP}

JSON: { "model", "backend", "layer", "point", "shape", "out",
        "stats": { "min", "max", "mean", "nonzero", "count" } }`;

const OPTIONS = {
  ...MODEL_INPUT_OPTIONS,
  layer: { type: 'string', short: 'l' },
  point: { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

export interface Stats { min: number; max: number; mean: number; nonzero: number; count: number }

export function stats(t: Tensor): Stats {
  const d = t.data;
  let min = Infinity, max = -Infinity, sum = 0, nonzero = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v !== 0) nonzero++;
  }
  return { min, max, mean: d.length ? sum / d.length : NaN, nonzero, count: d.length };
}

export async function forward(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'forward');
  if (values.help) {
    out(FORWARD_HELP);
    return 0;
  }
  const layer = required(values.layer, 'layer', 'forward');
  const point = choice(values.point, 'point', POINTS);
  const outPath = required(values.out, 'out', 'forward');
  // Check the layer and point before reading the input and loading the weights (seconds).
  const network = networkOf(values.model ?? DEFAULT_MODEL);
  resolveLayer(network, layer, point);

  await checkWritable(outPath);
  const prepared = await prepare(values, 'forward');
  const status = new Status();
  const model = await load(prepared, status);
  status.set(`zf-vis: running ${prepared.modelName} to ${layer}...`);
  let activation: Tensor;
  try {
    const run = await model.forward(prepared.input);
    activation = run.activation(layer, point);
  } finally {
    status.clear();
  }
  await writeOutput(outPath, encodeNpy(activation));

  const s = stats(activation);
  const resolved = model.resolve(layer, point);
  if (values.json) {
    out(JSON.stringify({
      model: prepared.modelName, backend: model.backend, layer, point: resolved.point,
      shape: activation.shape, out: outPath, stats: s,
    }, null, 2));
    return 0;
  }
  const pct = s.count ? ((100 * s.nonzero) / s.count).toFixed(1) : '0';
  out(`${layer} ${resolved.point} of ${prepared.modelName}: shape [${activation.shape.join(', ')}] -> ${outPath}\n` +
    `min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}  non-zero ${s.nonzero} of ${s.count} (${pct}%)`);
  return 0;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : String(x);
}
