/**
 * The 'correspondence' request (paper, Fig. 8 and its table): N images of one kind of object,
 * one part box per image in network-input pixels (a page gets the input-sized pictures to draw
 * them on from the 'previews' request), and the consistency Delta per layer for the part and
 * for random boxes of the same sizes. analyses/correspondence.ts does the work and states the
 * conventions (ordered pairs, sign(0) = 0).
 */
import { ArgumentError } from '../../errors.js';
import type { Box } from '../../graph/shapes.js';
import type { Pixels } from '../../io/preprocess.js';
import {
  checkBox, correspondence, correspondenceTable, type CorrespondenceResult,
} from '../../analyses/correspondence.js';
import type { AnalysisContext, NamedImage } from '../context.js';
import { checkImages } from './images.js';

export interface CorrespondenceRequest {
  type: 'correspondence';
  /** The images, 2 to MAX_CORRESPONDENCE_IMAGES of them. */
  images: NamedImage[];
  /** One part box per image, in network-input pixels (rows y0..y1-1, columns x0..x1-1). */
  boxes: Box[];
  /** Layers as 'conv5' or 'conv5:pool' (default: the last conv and the last hidden fc layer, the paper's 5 and 7). */
  layers?: string[];
  /** Random-box trials for the control (default DEFAULT_RANDOM_TRIALS; 0 for none). */
  random?: number;
  /** Seed of the random boxes (default 1). */
  seed?: number;
  /** What fills the box: 0 in tensor units (the preset's mean colour), or each image's own mean. */
  fill?: 'zero' | 'mean';
}

export interface CorrespondenceResultMessage {
  /** The analysis' result: plain data (numbers, boxes), as analyses/correspondence.ts returns it. */
  result: CorrespondenceResult;
  /** The images' names, in the order of `result`'s boxes. */
  names: string[];
  /** correspondenceTable(result): the plain-text table the CLI prints. */
  table: string;
  ms: number;
}

/**
 * Pairs grow as N^2 and every image is forwarded (1 + trials) times; the paper used 5. 64 keeps
 * a run on AlexNet-sized models within minutes.
 */
export const MAX_CORRESPONDENCE_IMAGES = 64;

/**
 * The engine's own default is 1 trial, which leaves the control's Delta without a spread; 5
 * gives one (Delta's std over trials) at a cost of 4 more forward passes per image.
 */
export const DEFAULT_RANDOM_TRIALS = 5;
export const MAX_RANDOM_TRIALS = 100;

/** Decoding is quick next to the forward passes: it gets this share of the progress bar. */
const DECODE_SHARE = 0.1;

export async function correspondenceHandler(context: AnalysisContext, request: CorrespondenceRequest): Promise<CorrespondenceResultMessage> {
  const t0 = performance.now();
  const { images, boxes } = request;
  const names = checkImages(images, 'correspondence', 2, MAX_CORRESPONDENCE_IMAGES).map((im) => im.name);
  const input = context.model.network.input;
  if (!Array.isArray(boxes) || boxes.length !== images.length) {
    throw new ArgumentError(`give one box per image: ${images.length} image(s), ${Array.isArray(boxes) ? boxes.length : 0} box(es)`);
  }
  // Before any decoding: a box drawn for another model's input size fails at once, naming its image.
  boxes.forEach((b, i) => checkBox(b, input, `the box of image ${i} (${names[i]})`));
  const random = request.random ?? DEFAULT_RANDOM_TRIALS;
  if (!Number.isInteger(random) || random < 0 || random > MAX_RANDOM_TRIALS) {
    throw new ArgumentError(`random must be a whole number of trials from 0 to ${MAX_RANDOM_TRIALS}, got ${request.random}`);
  }
  if (request.fill !== undefined && request.fill !== 'zero' && request.fill !== 'mean') {
    throw new ArgumentError(`fill must be 'zero' or 'mean', got ${JSON.stringify(request.fill)}`);
  }
  if (request.layers !== undefined && (!Array.isArray(request.layers) || request.layers.some((l) => typeof l !== 'string'))) {
    throw new ArgumentError(`layers must be a list of layer names such as 'conv5' or 'fc7', got ${JSON.stringify(request.layers)}`);
  }

  const pixels: Pixels[] = [];
  for (let i = 0; i < images.length; i++) {
    pixels.push(await context.decode(images[i].source, names[i]));
    context.progress(DECODE_SHARE * (i + 1) / images.length);
    await context.checkpoint();
  }
  // Seed and layers are checked by the analysis (unknown layer names list the model's layers).
  const result = await correspondence(context.model, pixels, boxes, {
    layers: request.layers, random, seed: request.seed, fill: request.fill, signal: context.signal,
    onProgress: (f) => context.progress(DECODE_SHARE + (1 - DECODE_SHARE) * f),
  });
  return { result, names, table: correspondenceTable(result), ms: performance.now() - t0 };
}

