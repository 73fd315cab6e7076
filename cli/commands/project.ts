/**
 * zf-vis project: project kept activations of one feature map back to pixel space (deconvnet,
 * guided backprop or gradient), write the projections as .npy and, optionally, as pictures.
 */
import { choice, integer, MODEL_INPUT_HELP, MODEL_INPUT_OPTIONS, parse, required, UsageError } from '../args.js';
import { checkWritable, load, prepare, writeOutput, networkOf, DEFAULT_MODEL } from '../input.js';
import { Status } from '../status.js';
import { encodeNpy } from '../../src/io/npy.js';
import { encodePng } from '../../src/io/image-node.js';
import { inferShapes } from '../../src/graph/shapes.js';
import { namedLayers, POINTS, resolveLayer } from '../../src/graph/names.js';
import { parseKeep, selectPositions } from '../../src/deconv/keep.js';
import { MODES } from '../../src/deconv/walk.js';
import {
  inputToImage, projectionSheet, projectionToImage, tileImages, type RgbaImage,
} from '../../src/deconv/render.js';
import type { Projection } from '../../src/deconv/project.js';

export const PROJECT_HELP = `Usage: zf-vis project --model M (--image I | --input X.npy) --layer conv5 [--point relu]
                     --map 12 [--keep max|all|Y,X|top-K] [--mode deconvnet|guided|gradient]
                     [--image-index N] --out R.npy [--png R.png] [--patch P.png] [--crop]
                     [--heatmap] [--json]

Runs the network, keeps activations of one feature map (zeroing every other one) and projects
them back to pixel space. Writes the projections as a .npy file (float32, shape [K, C, H, W]:
K = k for top-k, each unit projected alone, else 1) and prints the kept units: position,
activation and receptive box (input rows y0..y1-1, columns x0..x1-1).

Options:
      --layer L         conv1 .. convN, fc{N+1} .. (e.g. conv5, fc6), or any tensor name of an
                        ONNX graph (e.g. /layer4/layer4.1/relu_1/Relu_output_0)
      --point P         conv (before ReLU), relu (default), pool, norm
      --map K           the feature map (channel; for fc layers, the unit)
      --keep W          max (default: the strongest activation), all (the whole map),
                        Y,X (one position, e.g. 3,7) or top-K (the K strongest, e.g. top-9,
                        each projected separately)
      --mode M          deconvnet (default, the paper), guided (guided backprop) or
                        gradient (saliency)
      --image-index N   which image of a batch --input to project (default 0)
      --out FILE        the .npy file to write
      --png FILE        the projection as a PNG, contrast-stretched on its own (grey = 0);
                        for top-K a sheet: each projection beside its image patch, the pairs
                        in a grid of ceil(sqrt(K)) columns
      --patch FILE      the input image (undoing the preset) as a PNG; for top-K a sheet
                        of the patches
      --crop            crop the pictures to each projection's receptive box
      --heatmap         draw --png as a signed heatmap of the channel sum (red positive,
                        blue negative, white zero) instead of the contrast-stretched colours

${MODEL_INPUT_HELP}

An --input tensor is shown with the model's preset undone (e.g. caffe for alexnet-bvlc).

JSON: { "model", "backend", "layer", "point", "map", "keep", "mode", "image", "shape", "out",
        "png", "patch", "units": [{ "map", "y", "x", "value", "box": { "y0", "x0", "y1", "x1" } }],
        "boxes": [{ "y0", "x0", "y1", "x1" }] }`;

const OPTIONS = {
  ...MODEL_INPUT_OPTIONS,
  layer: { type: 'string', short: 'l' },
  point: { type: 'string' },
  map: { type: 'string' },
  keep: { type: 'string' },
  mode: { type: 'string' },
  'image-index': { type: 'string' },
  out: { type: 'string', short: 'o' },
  png: { type: 'string' },
  patch: { type: 'string' },
  crop: { type: 'boolean' },
  heatmap: { type: 'boolean' },
} as const;

/** Human output lists at most this many units (keep all can keep thousands); --json lists all. */
const MAX_LISTED = 20;

export async function project(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'project');
  if (values.help) {
    out(PROJECT_HELP);
    return 0;
  }
  const layer = required(values.layer, 'layer', 'project');
  const point = choice(values.point, 'point', POINTS);
  const map = integer(required(values.map, 'map', 'project'), 'map', 0, 2 ** 31 - 1)!;
  const mode = choice(values.mode, 'mode', MODES) ?? 'deconvnet';
  const imageIndex = integer(values['image-index'], 'image-index', 0, 2 ** 31 - 1) ?? 0;
  const outPath = required(values.out, 'out', 'project');
  if (values.crop && values.png === undefined && values.patch === undefined) {
    throw new UsageError('--crop crops the pictures: give --png or --patch too (see zf-vis project --help)');
  }
  if (values.heatmap && values.png === undefined) {
    throw new UsageError('--heatmap draws the --png picture: give --png too (see zf-vis project --help)');
  }
  let keep;
  try {
    keep = parseKeep(values.keep);
  } catch (e) {
    throw new UsageError(`--keep: ${(e as Error).message}`);
  }

  // Check layer, point, map and keep against the network's shapes before reading the input and
  // loading the weights (seconds); the messages are the engine's own.
  const network = networkOf(values.model ?? DEFAULT_MODEL);
  const resolved = resolveLayer(network, layer, point);
  const shape = resolved.op < 0 ? network.input : inferShapes(network)[resolved.op];
  const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
  const where = `${layer} ${resolved.point}`;
  if (map >= maps) throw new UsageError(`map ${map} is out of range: ${where} has ${maps} maps (0-${maps - 1})`);
  selectPositions(new Float32Array(h * w), h, w, keep, `map ${map} of ${where}`);

  for (const path of [outPath, values.png, values.patch]) if (path !== undefined) await checkWritable(path);
  const prepared = await prepare(values, 'project');
  const batch = prepared.input.shape[0];
  if (imageIndex >= batch) {
    throw new UsageError(`--image-index ${imageIndex} is out of range: ${prepared.inputName} holds ${batch} image(s)`);
  }
  const preset = (values.preprocess as typeof network.preprocess | undefined) ?? network.preprocess;

  const status = new Status();
  const model = await load(prepared, status);
  status.set(`zf-vis: projecting ${where} map ${map}...`);
  let projection: Projection;
  try {
    const run = await model.forward(prepared.input);
    projection = await run.project({ layer, point: resolved.point, map, keep, mode, image: imageIndex });
  } finally {
    status.clear();
  }
  await writeOutput(outPath, encodeNpy({ shape: projection.shape, data: projection.data }));

  const count = projection.shape[0];
  const picture = { preprocess: preset, mode: values.heatmap ? 'heatmap' as const : 'contrast' as const };
  if (values.png !== undefined) {
    const img = count === 1
      ? projectionToImage(projection, 0, { ...picture, crop: values.crop ? 'box' : undefined })
      : projectionSheet(projection, prepared.input, { ...picture, crop: values.crop, image: imageIndex });
    await writePng(values.png, img);
  }
  if (values.patch !== undefined) {
    const patches = projection.boxes.map((box) =>
      inputToImage(prepared.input, preset, values.crop ? box : undefined, imageIndex));
    await writePng(values.patch, patches.length === 1 ? patches[0] : tileImages(patches, { gap: 8 }));
  }

  if (values.json) {
    out(JSON.stringify({
      model: prepared.modelName, backend: model.backend, layer, point: projection.point, map,
      keep: projection.keep, mode, image: imageIndex, shape: projection.shape, out: outPath,
      png: values.png ?? null, patch: values.patch ?? null, units: projection.units, boxes: projection.boxes,
    }, null, 2));
    return 0;
  }
  const lines = [`${where} map ${map} of ${prepared.modelName} (${mode}, keep ${projection.keep}): ` +
    `shape [${projection.shape.join(', ')}] -> ${outPath}`];
  const units = projection.units;
  if (units.length === 0) lines.push('no unit kept: the map is all zero, so the projection is zero');
  const yxWidth = Math.max(0, ...units.slice(0, MAX_LISTED).map((u) => `${u.y},${u.x}`.length));
  units.slice(0, MAX_LISTED).forEach((u, i) => {
    const label = count > 1 ? `#${i} ` : '';
    lines.push(`  ${label}unit ${`${u.y},${u.x}`.padEnd(yxWidth)}  value ${fmt(u.value)}  ` +
      `box rows ${u.box.y0}-${u.box.y1 - 1}, columns ${u.box.x0}-${u.box.x1 - 1}` +
      (u.value === 0 && mode === 'deconvnet' ? '  (zero: nothing to project)' : ''));
  });
  if (units.length > MAX_LISTED) lines.push(`  ... and ${units.length - MAX_LISTED} more (--json lists all)`);
  if (count === 1 && units.length > 1) {
    const b = projection.boxes[0];
    lines.push(`projection box rows ${b.y0}-${b.y1 - 1}, columns ${b.x0}-${b.x1 - 1}`);
  }
  if (values.png !== undefined) lines.push(`picture -> ${values.png}`);
  if (values.patch !== undefined) lines.push(`patch -> ${values.patch}`);
  out(lines.join('\n'));
  return 0;
}

async function writePng(path: string, img: RgbaImage): Promise<void> {
  await writeOutput(path, encodePng(img));
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : String(x);
}
