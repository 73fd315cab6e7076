/**
 * zf-vis evolution: the paper's Fig. 4. For chosen features, the strongest activation over the
 * sample images at each training snapshot, projected to pixels, as a grid features x snapshots.
 */
import { basename, join } from 'node:path';
import { parse, required, UsageError } from '../args.js';
import { Status } from '../status.js';
import {
  ANALYSIS_MODEL_HELP, ANALYSIS_MODEL_OPTIONS, analysisNetwork, chooseModel, listImages, openModel, outputDir, progress,
  readImages, savedEpochs, writePng, writeText,
} from './analysis-io.js';
import { namedLayers, resolveLayer } from '../../src/graph/names.js';
import { inferShapes } from '../../src/graph/shapes.js';
import {
  evolutionGrid, evolutionSummary, featureEvolution, featureLabel, parseFeature, type EvolutionResult, type FeatureRef,
  type Snapshot,
} from '../../src/analyses/evolution.js';
import { DEFAULT_MODEL as MINI } from '../../src/models/default-model.js';

export const EVOLUTION_HELP = `Usage: zf-vis evolution --model zfnet-mini [--epochs 1,2,5,...] --features conv1:3,conv5:7
                       --images DIR --out DIR [--no-crop] [--json]
       zf-vis evolution --model A.onnx,B.onnx,... --features ... --images DIR --out DIR

For each chosen feature (a map of a layer), finds its strongest activation over the images at
every snapshot of training, and projects it to pixels (deconvnet, keeping only that
activation): the paper's Fig. 4, a row per feature, a column per snapshot. Snapshots are
zfnet-mini's saved epochs (default: all of them), or several models given as a comma-separated
--model list (in training order). Writes DIR/evolution.png and DIR/evolution.json.

Options:
      --epochs LIST     zfnet-mini's epochs to use, e.g. 1,2,5,10 ('final' for the final weights)
      --features LIST   LAYER:MAP or LAYER:POINT:MAP, comma-separated (e.g. conv1:3,conv5:pool:7);
                        LAYER may be a graph's tensor name (/layer3/layer3.1/relu_1/Relu_output_0:5)
      --images LIST     the sample images: a folder (its PNG/JPEG files) or a comma-separated list
      --no-crop         show whole projections instead of cropping each to its receptive field
      --out DIR         the folder to write to (created if missing)

${ANALYSIS_MODEL_HELP}

JSON: { "snapshots": [labels], "features": [{ "layer", "point", "map" }],
        "cells": [[{ "layer", "point", "map", "value", "image", "y", "x", "box" } per snapshot]
                  per feature], "images": [files], "files" }`;

const OPTIONS = {
  ...ANALYSIS_MODEL_OPTIONS,
  epochs: { type: 'string' },
  features: { type: 'string' },
  images: { type: 'string' },
  'no-crop': { type: 'boolean' },
  out: { type: 'string', short: 'o' },
} as const;

export async function evolution(argv: string[], out: (text: string) => void): Promise<number> {
  const values = parse(argv, OPTIONS, 'evolution');
  if (values.help) {
    out(EVOLUTION_HELP);
    return 0;
  }
  const dir = required(values.out, 'out', 'evolution');
  const featureSpec = required(values.features, 'features', 'evolution');
  const imagesSpec = required(values.images, 'images', 'evolution');
  let features: FeatureRef[];
  try {
    features = featureSpec.split(',').map((s) => s.trim()).filter(Boolean).map(parseFeature);
  } catch (e) {
    throw new UsageError(`--features: ${(e as Error).message}`);
  }
  if (features.length === 0) throw new UsageError('--features needs at least one LAYER:MAP');
  const sources = (values.model ?? MINI).split(',').map((s) => s.trim()).filter(Boolean);
  if (sources.length === 0) throw new UsageError('--model needs a model name or a comma-separated list');
  const mini = sources.length === 1 && sources[0] === MINI;
  if (values.epochs !== undefined && !mini) throw new UsageError(`--epochs selects snapshots of ${MINI}; give --model ${MINI}`);
  const choices = sources.map((name) => chooseModel({ ...values, model: name }, MINI));
  const network = choices[0].network;
  for (const c of choices.slice(1)) {
    if (c.network.input.some((d, i) => d !== network.input[i])) {
      throw new UsageError(`${c.name} takes [${c.network.input.join(', ')}] but ${choices[0].name} takes ` +
        `[${network.input.join(', ')}]; every snapshot must take the same input`);
    }
  }
  for (const c of choices) checkFeatures(c.network, features, c.name);

  let snapshots: Snapshot[];
  const { backend, batch } = choices[0];
  if (mini) {
    const epochs = values.epochs !== undefined ? parseEpochs(values.epochs) : await savedEpochs();
    if (epochs.length === 0) {
      snapshots = [{ label: 'final', model: () => openModel(MINI, { backend, batch }) }];
    } else {
      snapshots = epochs.map((e) => ({
        label: e === 'final' ? 'final' : `epoch ${e}`,
        model: () => openModel(MINI, { backend, batch, epoch: e === 'final' ? undefined : e }),
      }));
    }
  } else {
    snapshots = choices.map((c) => ({ label: basename(c.name), model: () => openModel(c.name, { seed: c.seed, backend: c.backend, batch: c.batch }) }));
  }
  const files = await listImages(imagesSpec, 'images');
  const images = await readImages(files, network, choices[0].preset);
  await outputDir(dir);

  const status = new Status();
  let result: EvolutionResult;
  try {
    result = await featureEvolution(snapshots, images, features, { batch, onProgress: progress(status, 'evolution') });
  } finally {
    status.clear();
  }
  const pngPath = join(dir, 'evolution.png');
  const jsonPath = join(dir, 'evolution.json');
  await writePng(pngPath, evolutionGrid(result, { crop: !values['no-crop'] }));
  const json = { ...evolutionSummary(result), images: files, files: [pngPath, jsonPath] };
  await writeText(jsonPath, JSON.stringify(json, null, 2));
  if (values.json) {
    out(JSON.stringify(json, null, 2));
    return 0;
  }
  const heads = ['feature', ...result.snapshots];
  const rows = result.cells.map((row, f) => [featureLabel(result.features[f]),
    ...row.map((c) => `${fmt(c.value)} @${c.image}:${c.y},${c.x}`)]);
  const widths = heads.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  out([
    `feature evolution over ${images.length} image(s): strongest activation @image:y,x per snapshot`,
    heads.map((h, c) => h.padEnd(widths[c])).join('  '),
    ...rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()),
    '', `grid (rows: features, columns: snapshots) -> ${pngPath}`, `numbers -> ${jsonPath}`,
  ].join('\n'));
  return 0;
}

function parseEpochs(value: string): (number | 'final')[] {
  return value.split(',').map((s) => s.trim()).map((s) => {
    if (s === 'final') return 'final' as const;
    if (!/^\d+$/.test(s)) throw new UsageError(`--epochs must be a comma-separated list of epoch numbers (or 'final'); got '${value}'`);
    return Number(s);
  });
}

function checkFeatures(network: ReturnType<typeof analysisNetwork>, features: readonly FeatureRef[], name: string): void {
  const layers = namedLayers(network);
  const shapes = inferShapes(network);
  for (const f of features) {
    let r: ReturnType<typeof resolveLayer>;
    try {
      r = resolveLayer(network, f.layer, f.point);
    } catch (e) {
      throw new UsageError(`--features in ${name}: ${(e as Error).message}`);
    }
    if (r.op < 0) throw new UsageError(`--features: ${f.layer} is the network input of ${name}; a feature is a map of a layer`);
    const maps = shapes[r.op][0];
    if (f.map >= maps) {
      throw new UsageError(`--features: map ${f.map} is out of range: ${f.layer} ${r.point} of ${name} has ${maps} maps (0-${maps - 1})`);
    }
  }
}

function fmt(x: number): string {
  return x === 0 ? '0' : x.toPrecision(4);
}
