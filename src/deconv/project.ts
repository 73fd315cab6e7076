/**
 * Projections: any activation of a forward run, back to pixel space (paper, section 2).
 * One call projects the kept unit(s) of one feature map of one image; top-k projects each of
 * its k units separately.
 */
import { AbortError, ArgumentError } from '../errors.js';
import type { Point } from '../graph/names.js';
import type { Preprocess } from '../graph/layers.js';
import { receptiveBox, size, type Box } from '../graph/shapes.js';
import type { Run } from '../engine/run.js';
import { keepLabel, parseKeep, selectPositions, type Keep } from './keep.js';
import { MODES, walkDown, type ProjectionMode, type Span } from './walk.js';

export interface ProjectOptions {
  /** conv1...convN or fc layers. */
  layer: string;
  /** conv, relu (default), pool or norm. */
  point?: Point | string;
  /** The feature map (channel; for fc layers, the unit). */
  map: number;
  /** max (default), all, a position { y, x } or 'Y,X', or { top: k } / 'top-k'. */
  keep?: Keep | string;
  /** deconvnet (default, the paper), guided (guided backprop) or gradient (saliency). */
  mode?: ProjectionMode;
  /** Which image of the run's batch (default 0). */
  image?: number;
  /** Compute every tensor in full rather than only the region that can be non-zero. */
  fullMaps?: boolean;
  signal?: AbortSignal;
}

export interface ProjectedUnit {
  map: number;
  /** Position in the map (0, 0 for fc layers). */
  y: number;
  x: number;
  /** The activation there. */
  value: number;
  /** The unit's receptive field in input pixels, clipped to the image. */
  box: Box;
}

export interface Projection {
  /** Which image of the run's batch was projected, and how the model preprocesses images (for display). */
  image: number;
  preprocess: Preprocess;
  layer: string;
  point: Point;
  map: number;
  mode: ProjectionMode;
  keep: string;
  /** [K, C, H, W]: K = number of units for top-k (each projected alone), else 1. */
  shape: number[];
  data: Float32Array;
  /** The kept units: one per projection for max, a position and top-k; every non-zero one for all. */
  units: ProjectedUnit[];
  /** Per projection, the input box it can be non-zero in (the union of its units' fields). */
  boxes: Box[];
}

/**
 * Seeds: the deconvnet feeds the kept activations themselves (the paper); gradient and guided
 * are gradients of the kept activations' sum, so they start from 1 at each kept unit.
 */
export function project(run: Run, options: ProjectOptions): Projection {
  const model = run.model;
  const mode = options.mode ?? 'deconvnet';
  if (!MODES.includes(mode)) throw new ArgumentError(`mode '${mode}' is not one of ${MODES.join(', ')}`);
  const image = options.image ?? 0;
  if (!Number.isInteger(image) || image < 0 || image >= run.batch) {
    throw new ArgumentError(`image ${image} is out of range: this run has ${run.batch} image(s)`);
  }
  const { layer, point, op } = model.resolve(options.layer, options.point);
  const keep = parseKeep(options.keep);
  if (op < 0) throw new ArgumentError(`${layer.name} is the network input: there is nothing below it to project through`);
  const shape = model.tensorShape(op);
  if (shape.length === 0) throw new ArgumentError(`${layer.name} is one value per image: it has no maps to project`);
  // A [C, H, W] tensor's maps are its channels; any other rank's are its first axis, each map's
  // values in row-major order (one row).
  const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, size(shape.slice(1))];
  const where = `${layer.name} ${point}`;
  if (!Number.isInteger(options.map) || options.map < 0 || options.map >= maps) {
    throw new ArgumentError(`map ${options.map} is out of range: ${where} has ${maps} maps (0-${maps - 1})`);
  }
  const activation = run.opOutput(op).data.subarray(image * size(shape), (image + 1) * size(shape));
  const map = activation.subarray(options.map * h * w, (options.map + 1) * h * w);
  const positions = selectPositions(map, h, w, keep, `map ${options.map} of ${where}`);
  const input = model.network.input;
  const field = model.fields[op];
  const units = positions.map((p) => {
    const y = Math.floor(p / w), x = p % w;
    return { map: options.map, y, x, value: map[p], box: receptiveBox(field, y, x, input) };
  });

  // One walk per projection: each top-k unit alone, otherwise all kept units together.
  const groups = typeof keep === 'object' && 'top' in keep ? positions.map((p) => [p]) : [positions];
  const perImage = size(input);
  const data = new Float32Array(groups.length * perImage);
  const boxes: Box[] = [];
  groups.forEach((group, g) => {
    if (options.signal?.aborted) throw new AbortError('projection cancelled');
    const span: Span = group.length === 0 ? null : {
      y0: Math.min(...group.map((p) => Math.floor(p / w))), y1: Math.max(...group.map((p) => Math.floor(p / w))) + 1,
      x0: Math.min(...group.map((p) => p % w)), x1: Math.max(...group.map((p) => p % w)) + 1,
    };
    const seedValue = (p: number) => (mode === 'deconvnet' ? map[p] : 1);
    walkDown(model, image, op, {
      at: group.map((p) => options.map * h * w + p),
      values: group.map(seedValue),
      span: shape.length === 3 ? span : null,
    }, mode, options.fullMaps ?? false, data.subarray(g * perImage, (g + 1) * perImage));
    boxes.push(unionBox(group.map((p) => receptiveBox(field, Math.floor(p / w), p % w, input)), input));
  });
  return {
    image, preprocess: model.network.preprocess,
    layer: layer.name, point, map: options.map, mode, keep: keepLabel(keep),
    shape: [groups.length, ...input], data, units, boxes,
  };
}

function unionBox(boxes: Box[], input: readonly number[]): Box {
  if (boxes.length === 0) return { y0: 0, x0: 0, y1: input[1], x1: input[2] };
  return {
    y0: Math.min(...boxes.map((b) => b.y0)), x0: Math.min(...boxes.map((b) => b.x0)),
    y1: Math.max(...boxes.map((b) => b.y1)), x1: Math.max(...boxes.map((b) => b.x1)),
  };
}
