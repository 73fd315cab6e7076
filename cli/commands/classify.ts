/** zf-vis classify: the most probable classes of an image or tensor. */
import { integer, MODEL_INPUT_HELP, MODEL_INPUT_OPTIONS, parse } from '../args.js';
import { load, prepare } from '../input.js';
import { Status } from '../status.js';
import type { ClassScore } from '../../src/index.js';

export const CLASSIFY_HELP = `Usage: zf-vis classify --model M (--image I | --input X.npy) [--top 5] [--json]

Prints the most probable classes (label, probability), most probable first. For a batch
input (N > 1) each image is listed; --json then adds "images", the top list of each image.

Options:
      --top K           how many classes (default 5)

${MODEL_INPUT_HELP}

JSON: { "model", "backend", "seed", "top": [{ "index", "label", "probability" }] }`;

const OPTIONS = { ...MODEL_INPUT_OPTIONS, top: { type: 'string' } } as const;

export async function classify(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'classify');
  if (values.help) {
    out(CLASSIFY_HELP);
    return 0;
  }
  const top = integer(values.top, 'top', 1, 1_000_000) ?? 5;
  const prepared = await prepare(values, 'classify');
  const status = new Status();
  const model = await load(prepared, status);
  status.set('zf-vis: classifying...');
  let tops: ClassScore[][];
  try {
    const run = await model.forward(prepared.input);
    tops = Array.from({ length: run.batch }, (_, i) => run.top(top, i));
  } finally {
    status.clear();
  }

  if (values.json) {
    const result: Record<string, unknown> = {
      model: prepared.modelName, backend: model.backend, seed: prepared.seed, top: tops[0],
    };
    if (tops.length > 1) result.images = tops;
    out(JSON.stringify(result, null, 2));
    return 0;
  }
  const lines: string[] = [];
  tops.forEach((scores, i) => {
    if (tops.length > 1) lines.push(`${i > 0 ? '\n' : ''}image ${i}:`);
    const width = Math.max(...scores.map((s) => String(s.index).length));
    for (const s of scores) {
      lines.push(`${(s.probability * 100).toFixed(2).padStart(6)}%  ${String(s.index).padStart(width)}  ${s.label}`);
    }
  });
  out(lines.join('\n'));
  return 0;
}
