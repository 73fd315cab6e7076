/**
 * The names users address layers by (design.md): `conv1`..`convN` are the convolutions in graph
 * order, `fc{N+1}`.. the dense layers after them. A point picks where on a layer: `conv` (its
 * linear output, before ReLU; for fc layers too), `relu` (the paper's feature map), `pool` (after
 * the next max-pool), `norm` (after the next LRN). Points are looked up from the graph, so
 * ZFNet (relu, pool, norm) and the zoo's ZFNet-512 (relu, norm, pool) both resolve correctly.
 */
import { ArgumentError } from '../errors.js';
import type { Network } from './layers.js';

export const POINTS = ['conv', 'relu', 'pool', 'norm'] as const;
export type Point = (typeof POINTS)[number];

export interface NamedLayer {
  name: string;
  kind: 'conv' | 'dense';
  /** Index of the conv/dense op itself. */
  op: number;
  /** Op index whose output each available point is. */
  points: Partial<Record<Point, number>>;
}

export function namedLayers(net: Network): NamedLayer[] {
  const layers: NamedLayer[] = [];
  let count = 0;
  net.ops.forEach((op, i) => {
    if (op.kind !== 'conv' && op.kind !== 'dense') return;
    count += 1;
    const layer: NamedLayer = {
      name: `${op.kind === 'conv' ? 'conv' : 'fc'}${count}`, kind: op.kind, op: i, points: { conv: i },
    };
    for (let j = i + 1; j < net.ops.length; j++) {
      const k = net.ops[j].kind;
      if (k === 'conv' || k === 'dense') break;
      if (k === 'relu' && layer.points.relu === undefined) layer.points.relu = j;
      if (k === 'maxpool' && layer.points.pool === undefined) layer.points.pool = j;
      if (k === 'lrn' && layer.points.norm === undefined) layer.points.norm = j;
    }
    layers.push(layer);
  });
  return layers;
}

/** The default point of a layer: the paper's rectified map where there is one. */
export function defaultPoint(layer: NamedLayer): Point {
  return layer.points.relu !== undefined ? 'relu' : 'conv';
}

/** Resolve `layer`/`point` to a named layer and op index, or throw listing what exists. */
export function resolvePoint(layers: NamedLayer[], layer: string, point?: string):
    { layer: NamedLayer; point: Point; op: number } {
  const found = layers.find((l) => l.name === layer);
  if (!found) {
    throw new ArgumentError(`unknown layer '${layer}'; this model has ${layers.map((l) => l.name).join(', ')}`);
  }
  const p = (point ?? defaultPoint(found)) as Point;
  const op = found.points[p];
  if (op === undefined) {
    throw new ArgumentError(`layer ${layer} has no point '${point}'; it has ` +
      `${Object.keys(found.points).join(', ')}`);
  }
  return { layer: found, point: p, op };
}

/**
 * Resolve an imported model's original tensor name (`gpu_0/conv5_1`, `input.1`, ...; see
 * Network.tensors) to the layer point it is. Dropout and flatten outputs are their input's data,
 * so they resolve to what precedes them. A tensor that is no layer point (the network input, a
 * softmax output, an average pool's output) is refused, naming the point names that exist.
 */
export function resolveTensor(net: Network, layers: NamedLayer[], name: string, point?: string):
    { layer: NamedLayer; point: Point; op: number } {
  if (point !== undefined) {
    throw new ArgumentError(`'${name}' is a tensor of the imported graph, which names one point already; ` +
      `give no point, or use a layer name (${layers.map((l) => l.name).join(', ')})`);
  }
  let op = net.tensors?.get(name);
  if (op === undefined) throw new ArgumentError(`unknown tensor '${name}'`);
  while (op >= 0 && (net.ops[op].kind === 'dropout' || net.ops[op].kind === 'flatten')) op -= 1;
  for (const layer of layers) {
    for (const p of POINTS) {
      if (layer.points[p] === op) return { layer, point: p, op };
    }
  }
  const what = op < 0 ? 'the network input' : `the output of op ${op} (${net.ops[op].kind})`;
  throw new ArgumentError(`tensor '${name}' is ${what}, which is not a layer point; layer points are ` +
    `${layers.map((l) => `${l.name} (${Object.keys(l.points).join(', ')})`).join(', ')}`);
}
