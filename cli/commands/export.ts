/**
 * zf-vis export: write a model as ONNX (our own writer, src/onnx/write.ts), so the same network
 * and weights open in onnxruntime, Netron or PyTorch; the preset and labels travel as metadata.
 */
import { integer, parse, required, UsageError } from '../args.js';
import { checkWritable, networkOf, writeOutput, DEFAULT_MODEL } from '../input.js';
import { Status } from '../status.js';
import { loadModel, networkToOnnx } from '../../src/index.js';

export const EXPORT_HELP = `Usage: zf-vis export --model M --onnx OUT.onnx [--opset 13] [--epoch N] [--seed N] [--json]

Writes the model (default zfnet-mini, the trained default model) as an ONNX file: input
"input" [N, C, H, W] float32, output "output" (probabilities when the network ends in softmax).
The preprocessing preset and the class labels are stored in the file's metadata.

Options:
      --onnx FILE       the .onnx file to write
      --opset N         ONNX opset, 7 to 22 (default 13)
      --epoch N         zfnet-mini: export the snapshot saved after this epoch
  -m, --model M         zfnet-mini (default), zfnet, alexnet, alexnet-bvlc, caffenet, or FILE.onnx
      --seed N          seed of the built-in architectures' random weights (default 1)
      --json            print machine-readable JSON
  -h, --help            show this help

JSON: { "model", "out", "bytes", "opset", "layers" }`;

const OPTIONS = {
  model: { type: 'string', short: 'm' },
  onnx: { type: 'string' },
  opset: { type: 'string' },
  epoch: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function exportModel(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'export');
  if (values.help) {
    out(EXPORT_HELP);
    return 0;
  }
  const path = required(values.onnx, 'onnx', 'export');
  const modelName = values.model ?? DEFAULT_MODEL;
  const opset = integer(values.opset, 'opset', 7, 22) ?? 13;
  const epoch = integer(values.epoch, 'epoch', 1, 10_000);
  const seed = integer(values.seed, 'seed', 0, 2 ** 32 - 1) ?? 1;
  if (epoch !== undefined && modelName !== 'zfnet-mini') throw new UsageError('--epoch applies to zfnet-mini only');
  networkOf(modelName); // a wrong name fails here, before the weights load
  await checkWritable(path);
  const status = new Status();
  status.set(`zf-vis: loading ${modelName}...`);
  const model = await loadModel(modelName, { seed, epoch }).finally(() => status.clear());
  const bytes = networkToOnnx(model.network, (layer) => model.getWeights(layer), {
    opset, docString: `${model.network.name}, exported by zf-visualizer`,
  });
  await writeOutput(path, bytes);
  const layers = model.layers.map((l) => l.name);
  if (values.json) out(JSON.stringify({ model: model.network.name, out: path, bytes: bytes.length, opset, layers }));
  else out(`${model.network.name} -> ${path} (${bytes.length} bytes, opset ${opset}, layers ${layers.join(', ')})`);
  return 0;
}
