/**
 * zf-vis gradcam: Grad-CAM of a class at a layer (Selvaraju et al.): the layer's maps weighted by
 * the class logit's mean gradient, rectified; written as .npy at the layer's resolution and,
 * optionally, as an overlay on the image and guided Grad-CAM.
 */
import { integer, MODEL_INPUT_HELP, MODEL_INPUT_OPTIONS, parse, required, UsageError } from '../args.js';
import { checkWritable, load, prepare, writeOutput, networkOf, DEFAULT_MODEL } from '../input.js';
import { Status } from '../status.js';
import { encodeNpy } from '../../src/io/npy.js';
import { encodePng } from '../../src/io/image-node.js';
import { inferShapes } from '../../src/graph/shapes.js';
import { resolveLayer } from '../../src/graph/names.js';
import { gradcamToImage } from '../../src/deconv/gradcam-render.js';
import { projectionToImage } from '../../src/deconv/render.js';

export const GRADCAM_HELP = `Usage: zf-vis gradcam --model M (--image I | --input X.npy) --layer L [--class C]
                     [--image-index N] --out CAM.npy [--png OVERLAY.png] [--guided G.png] [--json]

Grad-CAM: alpha_k = mean over the layer's positions of d logit_C / d A_k, cam = relu(sum_k
alpha_k A_k), at the layer's resolution [h, w]. Writes the cam as .npy (float32, [h, w]) and
prints the class explained.

Options:
      --layer L         conv1 .. convN, or any tensor name of an ONNX graph (a [K, h, w] tensor;
                        the last conv block's output is the usual choice)
      --class C         the class whose logit is explained (default: the top class)
      --image-index N   which image of a batch --input to explain (default 0)
      --out FILE        the .npy file to write
      --png FILE        the cam, upsampled (bilinear), as a heatmap over the image
      --guided FILE     guided Grad-CAM (guided backprop x the upsampled cam) as a PNG

${MODEL_INPUT_HELP}

JSON: { "model", "backend", "layer", "class", "label", "probability", "shape", "out", "png",
        "guided", "weights": [alpha_k...] }`;

const OPTIONS = {
  ...MODEL_INPUT_OPTIONS,
  layer: { type: 'string', short: 'l' },
  class: { type: 'string' },
  'image-index': { type: 'string' },
  out: { type: 'string', short: 'o' },
  png: { type: 'string' },
  guided: { type: 'string' },
} as const;

export async function gradcamCommand(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'gradcam');
  if (values.help) {
    out(GRADCAM_HELP);
    return 0;
  }
  const layer = required(values.layer, 'layer', 'gradcam');
  const classIndex = integer(values.class, 'class', 0, 2 ** 31 - 1);
  const imageIndex = integer(values['image-index'], 'image-index', 0, 2 ** 31 - 1) ?? 0;
  const outPath = required(values.out, 'out', 'gradcam');

  // Check the layer and class against the network before reading the input and loading weights.
  const network = networkOf(values.model ?? DEFAULT_MODEL);
  const resolved = resolveLayer(network, layer);
  const shapes = inferShapes(network);
  const shape = resolved.op < 0 ? network.input : shapes[resolved.op];
  if (shape.length !== 3 && shape.length !== 1) {
    throw new UsageError(`--layer ${layer} is [${shape.join(', ')}]; Grad-CAM needs a [K, h, w] tensor`);
  }
  const classes = shapes[shapes.length - 1].reduce((a, b) => a * b, 1);
  if (classIndex !== undefined && classIndex >= classes) {
    throw new UsageError(`--class ${classIndex} is out of range: the model has ${classes} classes (0-${classes - 1})`);
  }
  for (const path of [outPath, values.png, values.guided]) if (path !== undefined) await checkWritable(path);
  const prepared = await prepare(values, 'gradcam');
  if (imageIndex >= prepared.input.shape[0]) {
    throw new UsageError(`--image-index ${imageIndex} is out of range: ${prepared.inputName} holds ${prepared.input.shape[0]} image(s)`);
  }
  const status = new Status();
  const model = await load(prepared, status);
  status.set(`zf-vis: Grad-CAM at ${layer}...`);
  let cam;
  try {
    const run = await model.forward(prepared.input);
    cam = await run.gradcam({ layer, class: classIndex, image: imageIndex, guided: values.guided !== undefined });
  } finally {
    status.clear();
  }
  await writeOutput(outPath, encodeNpy({ shape: cam.shape, data: cam.data }));
  if (values.png !== undefined) await writeOutput(values.png, encodePng(gradcamToImage(cam, prepared.input)));
  if (values.guided !== undefined && cam.guided) {
    const projection = {
      image: imageIndex, preprocess: cam.preprocess, layer: cam.layer, point: cam.point, map: cam.class, mode: 'guided' as const,
      keep: 'gradcam', shape: [1, ...cam.inputShape], data: cam.guided, units: [], boxes: [cam.box],
    };
    await writeOutput(values.guided, encodePng(projectionToImage(projection, 0, { preprocess: cam.preprocess })));
  }
  if (values.json) {
    out(JSON.stringify({
      model: prepared.modelName, backend: model.backend, layer: cam.layer, class: cam.class, label: cam.label,
      probability: cam.probability, shape: cam.shape, out: outPath, png: values.png ?? null, guided: values.guided ?? null,
      weights: Array.from(cam.weights),
    }, null, 2));
    return 0;
  }
  let max = 0;
  for (const v of cam.data) max = Math.max(max, v);
  out([`Grad-CAM of class ${cam.class} (${cam.label}, p = ${cam.probability.toFixed(4)}) at ${cam.layer} of ${prepared.modelName}: ` +
    `[${cam.shape.join(', ')}], max ${Number(max.toPrecision(6))} -> ${outPath}`,
  ...(values.png !== undefined ? [`overlay -> ${values.png}`] : []),
  ...(values.guided !== undefined ? [`guided Grad-CAM -> ${values.guided}`] : [])].join('\n'));
  return 0;
}
