/**
 * zf-vis correspondence: the paper's Fig. 8 table. Occlude one part box per image and random
 * boxes of the same size; Delta_l per layer for both.
 */
import { parse, integer, required, UsageError } from '../args.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, chooseModel, listImages, openModel, parseBoxes, progress, readImages, writeText,
} from './analysis-io.js';
import { namedLayers, resolveLayer } from '../../src/graph/names.js';
import { lastConvLayer, lastHiddenLayer, parseLayerPoint, type LayerPoint } from '../../src/analyses/invariance.js';
import {
  correspondence as score, correspondenceTable, checkBox, type CorrespondenceResult, type MaskFill,
} from '../../src/analyses/correspondence.js';

export const CORRESPONDENCE_HELP = `Usage: zf-vis correspondence --model M --images a.png,b.png,... --boxes y0,x0,y1,x1;...
                            [--layers conv5,fc7] [--random N] [--seed S] [--fill zero|mean|V]
                            [--epsilon E] [--out FILE.json] [--json]

For N images (at least 2) and one part box per image (e.g. the left eye of each dog), occludes
the box, takes e_i = features(original) - features(occluded) at each layer and scores
  Delta_l = sum over ordered pairs i != j of Hamming(sign(e_i), sign(e_j))
(lower: the part is represented more consistently). The control occludes a random box of the
same size in each image (seeded), averaged over --random trials. sign(0) = 0 is a value of its
own: an unchanged feature matches only another unchanged one. Prints a table: a row per layer,
Delta and the mean (± std over pairs) fraction of features whose sign differs, for the part
and for the random boxes.

Options:
      --images LIST     a comma-separated list of PNG/JPEG files (or a folder: its images
                        sorted by name); a .npy [N, C, H, W] counts as N images
      --boxes BOXES     one box per image, in the order of the images, separated by ';'
                        (quote it in the shell): y0,x0,y1,x1 in the network input's pixels
                        (rows y0..y1-1, columns x0..x1-1, after the preset's resize and crop;
                        e.g. 0..223 for 224 x 224 models)
      --layers L1,L2    LAYER or LAYER:POINT, or a graph's tensor names (default: the last conv
                        layer and the last hidden fc layer, the paper's layers 5 and 7; for a
                        graph, its last conv block's output, e.g. ResNet's last ReLU, and the
                        features its classifier reads when that is its only dense layer)
      --random N        random-box trials (default 1; 0: no control)
      --seed S          seed of the random boxes and of built-in weights (default 1)
      --fill F          zero (default: 0 in tensor units, the preset's mean colour), mean (the
                        image's own mean per channel), or a number
      --epsilon E       |e| <= E counts as sign 0 (default 0)
      --out FILE        also write the JSON to FILE

${ANALYSIS_MODEL_HELP}

JSON: { "model", "images", "boxes", "randomBoxes", "seed", "fill", "epsilon", "signOfZero",
        "rows": [{ "layer", "point", "dims", "part": { "delta", "pairs", "dims", "mean", "std" },
                   "random": { ..., "trials", "deltaStd" } | null }], "files" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  images: { type: 'string' },
  boxes: { type: 'string' },
  layers: { type: 'string' },
  random: { type: 'string' },
  fill: { type: 'string' },
  epsilon: { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

export async function correspondence(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'correspondence');
  if (values.help) {
    out(CORRESPONDENCE_HELP);
    return 0;
  }
  const imagesSpec = required(values.images, 'images', 'correspondence');
  const boxes = parseBoxes(required(values.boxes, 'boxes', 'correspondence'));
  const random = integer(values.random, 'random', 0, 10_000) ?? 1;
  const fill = parseFill(values.fill);
  const epsilon = values.epsilon === undefined ? 0 : Number(values.epsilon);
  if (!Number.isFinite(epsilon) || epsilon < 0 || values.epsilon?.trim() === '') {
    throw new UsageError(`--epsilon must be a number >= 0; got '${values.epsilon}'`);
  }
  const chosen = chooseModel(values, 'zfnet');
  const { network } = chosen;
  const names = namedLayers(network);
  const layers = values.layers !== undefined
    ? values.layers.split(',').map((s) => parseLayerPoint(s.trim()))
    : [...new Set([lastConvLayer({ layers: names, network }), lastHiddenLayer({ layers: names, network })])].map((layer): LayerPoint => ({ layer }));
  for (const l of layers) resolveLayer(network, l.layer, l.point);

  const files = await listImages(imagesSpec, 'images');
  const images = await readImages(files, network, chosen.preset);
  if (images.length < 2) throw new UsageError(`correspondence needs at least 2 images; got ${images.length}`);
  if (boxes.length !== images.length) {
    throw new UsageError(`--boxes gives ${boxes.length} box(es) for ${images.length} image(s); give one box per image`);
  }
  boxes.forEach((b, i) => checkBox(b, network.input, `box ${i + 1} (${files[Math.min(i, files.length - 1)]})`));

  const status = new Status();
  const model = await openModel(chosen.name, { seed: chosen.seed, backend: chosen.backend, batch: chosen.batch }, status);
  let result: CorrespondenceResult;
  try {
    result = await score(model, images, boxes, {
      layers, random, seed: chosen.seed, fill, epsilon, batch: chosen.batch, onProgress: progress(status, 'correspondence'),
    });
  } finally {
    status.clear();
  }
  const json = JSON.stringify({ ...result, files }, null, 2);
  if (values.out !== undefined) await writeText(values.out, json);
  if (values.json) {
    out(json);
    return 0;
  }
  out([
    `correspondence of ${chosen.name}: ${result.images} images, ${result.rows[0].part.pairs} ordered pairs, ` +
      `${random} random trial(s) (seed ${result.seed}); ${result.signOfZero}`,
    '',
    correspondenceTable(result),
    ...(values.out !== undefined ? ['', `JSON -> ${values.out}`] : []),
  ].join('\n'));
  return 0;
}

function parseFill(value: string | undefined): MaskFill {
  if (value === undefined || value === 'zero') return 'zero';
  if (value === 'mean') return 'mean';
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(v)) throw new UsageError(`--fill must be zero, mean or a number; got '${value}'`);
  return v;
}
