/**
 * zf-vis diagnose: the paper's Fig. 6 for one model or two side by side: conv1 filters, their
 * RMS, dead filters and frequency content, and layer-2 features projected from sample images.
 */
import { basename, join } from 'node:path';
import { choice, parse, required, UsageError } from '../args.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, chooseModel, listImages, numberList, openModel, outputDir, progress, readImages,
  writePng, writeText,
} from './analysis-io.js';
import { namedLayers, POINTS, resolveLayer } from '../../src/graph/names.js';
import { inferShapes } from '../../src/graph/shapes.js';
import {
  diagnoseArchitecture, diagnosisCharts, diagnosisSummary, filterGrid, layer2Grid, sideBySide, type ArchitectureDiagnosis,
} from '../../src/analyses/diagnosis.js';

export const DIAGNOSE_HELP = `Usage: zf-vis diagnose --model M [--compare M2] [--images DIR|a.png,b.png,...] --out DIR
                      [--maps 0-15] [--layer2 conv2] [--point relu] [--dead-ratio R] [--json]

Examines the first conv layer's filters (the paper's Fig. 6): each filter as a picture
(contrast-stretched on its own; dead filters framed red), its RMS, whether it is dead (norm at
most --dead-ratio of the layer's median norm, or never active on the sample images), and its
frequency content: the energy of its 2-D DFT in low / mid / high bands (normalised radius
< 1/3, < 2/3, above; 1 = Nyquist), averaged over input channels. With --images, the strongest
activation of each layer-2 map over the images is projected to pixels (deconvnet) and
cropped to its receptive field: a large conv1 stride shows there as aliasing.
With --compare the two models are shown side by side (left: --model, right: --compare),
e.g. --model alexnet --compare zfnet (conv1 11x11 stride 4 vs 7x7 stride 2).

Writes DIR/diagnosis.json, DIR/filters.png and DIR/filters-MODEL.png, DIR/layer2.png and
DIR/layer2-MODEL.png (with --images), DIR/spectrum.svg (mean radial spectrum and sorted RMS).

Options:
      --compare M2      a second model, diagnosed the same way
      --images LIST     sample images: a folder (its PNG/JPEG files) or a comma-separated list
      --maps LIST       the layer-2 maps to project (default 0-15), e.g. 0-7,12
      --layer2 L        the layer-2 layer (default: the conv after conv1), or a graph's
                        tensor name
      --point P         its point: conv, relu (default), pool, norm
      --dead-ratio R    dead by weight when a filter's norm <= R x the median norm (default 0.05)
      --out DIR         the folder to write to (created if missing)

${ANALYSIS_MODEL_HELP}

JSON: { "models": [{ "model", "conv1": { "layer", "filters", "channels", "kernel", "stride",
        "pads" }, "summary": { "filters", "dead", "deadByWeight", "deadByActivity", "rms",
        "bands", "dominant", "profile", "samples" }, "filters": [{ "index", "rms", "norm",
        "dead", "deadByWeight", "deadByActivity", "activeFraction", "maxActivation", "energy",
        "bands", "dominant", "profile" }], "layer2": { "layer", "point", "units" } | null }],
        "files" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  compare: { type: 'string' },
  images: { type: 'string' },
  maps: { type: 'string' },
  layer2: { type: 'string' },
  point: { type: 'string' },
  'dead-ratio': { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

export async function diagnose(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'diagnose');
  if (values.help) {
    out(DIAGNOSE_HELP);
    return 0;
  }
  const dir = required(values.out, 'out', 'diagnose');
  const deadRatio = values['dead-ratio'] === undefined ? undefined : Number(values['dead-ratio']);
  if (deadRatio !== undefined && (!Number.isFinite(deadRatio) || deadRatio < 0 || values['dead-ratio']?.trim() === '')) {
    throw new UsageError(`--dead-ratio must be a number >= 0; got '${values['dead-ratio']}'`);
  }
  const point = choice(values.point, 'point', POINTS);
  const maps = values.maps === undefined ? undefined : numberList(values.maps, 'maps', true);
  const names = [values.model ?? 'zfnet', ...(values.compare !== undefined ? [values.compare] : [])];
  const choices = names.map((name) => chooseModel({ ...values, model: name }, 'zfnet'));
  for (const c of choices) {
    const layers = namedLayers(c.network);
    const convs = layers.filter((l) => l.kind === 'conv');
    if (convs.length === 0) throw new UsageError(`${c.name} has no conv layer to diagnose`);
    const second = values.layer2 ?? convs[1]?.name;
    if (second !== undefined && (values.images !== undefined)) {
      // A short name (with --point) or a graph's tensor name, as the engine resolves it.
      let op: number;
      try {
        op = resolveLayer(c.network, second, point, layers).op;
      } catch (e) {
        throw new UsageError(`--layer2 in ${c.name}: ${(e as Error).message}`);
      }
      if (op < 0) throw new UsageError(`--layer2: ${second} is the network input of ${c.name}; give a layer after conv1`);
      const count = inferShapes(c.network)[op][0];
      const bad = maps?.find((m) => m >= count);
      if (bad !== undefined) throw new UsageError(`--maps: map ${bad} is out of range: ${second} of ${c.name} has ${count} maps (0-${count - 1})`);
    }
  }
  const files = values.images !== undefined ? await listImages(values.images, 'images') : undefined;
  await outputDir(dir);

  const status = new Status();
  const diagnoses: ArchitectureDiagnosis[] = [];
  for (const c of choices) {
    const images = files ? await readImages(files, c.network, c.preset) : undefined;
    const model = await openModel(c.name, { seed: c.seed, backend: c.backend, batch: c.batch }, status);
    try {
      diagnoses.push(await diagnoseArchitecture(model, {
        images, deadRatio, batch: c.batch, layer2: { layer: values.layer2, point, maps },
        onProgress: progress(status, `diagnosing ${c.name}`),
      }));
    } finally {
      status.clear();
    }
  }

  const tags = fileTags(names);
  const written: string[] = [];
  const write = async (name: string, img: Parameters<typeof writePng>[1]) => {
    const path = join(dir, name);
    await writePng(path, img);
    written.push(path);
  };
  const filterPictures = diagnoses.map((d) => filterGrid(d));
  for (const [i, img] of filterPictures.entries()) await write(`filters-${tags[i]}.png`, img);
  await write('filters.png', filterPictures.length > 1 ? sideBySide(filterPictures) : filterPictures[0]);
  const layer2 = diagnoses.map((d) => layer2Grid(d));
  if (layer2.every((g) => g !== null)) {
    for (const [i, img] of layer2.entries()) await write(`layer2-${tags[i]}.png`, img!);
    await write('layer2.png', layer2.length > 1 ? sideBySide(layer2 as NonNullable<typeof layer2[0]>[]) : layer2[0]!);
  }
  const charts = diagnosisCharts(diagnoses);
  const svgPath = join(dir, 'spectrum.svg');
  await writeText(svgPath, charts.all);
  written.push(svgPath);
  const jsonPath = join(dir, 'diagnosis.json');
  const json = { models: diagnoses.map(diagnosisSummary), files: [jsonPath, ...written] };
  await writeText(jsonPath, JSON.stringify(json, null, 2));

  if (values.json) {
    out(JSON.stringify(json, null, 2));
    return 0;
  }
  const lines: string[] = [];
  for (const d of diagnoses) {
    const s = d.summary, g = d.conv1;
    const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    lines.push(`${d.model}: ${g.layer} ${g.filters} filters ${g.kernel[0]}x${g.kernel[1]} stride ${g.stride[0]} over ${g.channels} channel(s)`);
    lines.push(`  RMS min ${fmt(s.rms.min)}, median ${fmt(s.rms.median)}, max ${fmt(s.rms.max)} (max/median ${s.rms.maxOverMedian.toFixed(2)})`);
    lines.push(`  dead: ${s.dead.length} of ${s.filters}` +
      (s.dead.length ? ` (${listed(s.dead)})` : '') +
      ` [by weight ${s.deadByWeight.length}${s.deadByActivity ? `, never active on ${s.samples} image(s) ${s.deadByActivity.length}` : ', no sample images'}]`);
    lines.push(`  spectrum (mean energy share): low ${pct(s.bands.low)}, mid ${pct(s.bands.mid)}, high ${pct(s.bands.high)}; ` +
      `filters dominated by low ${s.dominant.low}, mid ${s.dominant.mid}, high ${s.dominant.high}`);
    if (d.layer2) lines.push(`  ${d.layer2.layer} ${d.layer2.point}: ${d.layer2.units.length} maps projected from their strongest activation`);
  }
  lines.push('', `files -> ${json.files.join(', ')}`);
  out(lines.join('\n'));
  return 0;
}

function fileTags(names: readonly string[]): string[] {
  const tags = names.map((n) => basename(n).replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9_-]+/g, '-') || 'model');
  return tags.map((t, i) => (tags.indexOf(t) !== i || tags.lastIndexOf(t) !== i ? `${t}-${i + 1}` : t));
}

function listed(indices: readonly number[]): string {
  return indices.length > 20 ? `${indices.slice(0, 20).join(', ')}, ...` : indices.join(', ');
}

function fmt(x: number): string {
  return x === 0 ? '0' : x.toPrecision(4);
}
