/**
 * The names users address layers by (design.md): `conv1`..`convN` are the convolutions in
 * topological order, `fc{N+1}`.. the dense layers after them. A point picks where on a layer:
 * `conv` (its linear output, before ReLU; for fc layers too), `relu` (the paper's feature map),
 * `pool` (after the next max-pool), `norm` (after the next LRN). Points are looked up from the
 * graph, following the layer's output while it has a single reader, so ZFNet (relu, pool, norm)
 * and the zoo's ZFNet-512 (relu, norm, pool) both resolve correctly, and a ResNet conv whose
 * output feeds a residual Add has its `conv` point only.
 *
 * Any tensor name of an imported graph (Network.tensors) is a layer too: it names one tensor,
 * whose point is `tensor` unless it is one of a short-named layer's points.
 */
import { ArgumentError } from '../errors.js';
import type { Network } from './layers.js';
import { readersOf } from './shapes.js';
import { opDef } from '../engine/ops/index.js';

export const POINTS = ['conv', 'relu', 'pool', 'norm'] as const;
/** A layer point, or `tensor`: any tensor of the graph, by its own name. */
export type Point = (typeof POINTS)[number] | 'tensor';

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
  const readers = readersOf(net);
  const rectifier = (i: number) => opDef(net.ops[i]).rectifier?.(net.ops[i]) ?? false;
  let count = 0;
  net.ops.forEach((op, i) => {
    if (op.kind !== 'conv' && op.kind !== 'dense') return;
    count += 1;
    const layer: NamedLayer = {
      name: `${op.kind === 'conv' ? 'conv' : 'fc'}${count}`, kind: op.kind, op: i, points: { conv: i },
    };
    for (let t = i; readers[t + 1].length === 1;) {
      const j = readers[t + 1][0];
      const k = net.ops[j].kind;
      if (k === 'conv' || k === 'dense' || (net.ops[j].inputs?.length ?? 1) !== 1) break;
      if (rectifier(j) && layer.points.relu === undefined) layer.points.relu = j;
      if (k === 'maxpool' && layer.points.pool === undefined) layer.points.pool = j;
      if (k === 'lrn' && layer.points.norm === undefined) layer.points.norm = j;
      t = j;
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
    throw new ArgumentError(`unknown layer '${layer}'; this model has ${layers.map((l) => l.name).join(', ')}` +
      ' (or any tensor name of an imported graph)');
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
 * Resolve an imported model's original tensor name (`gpu_0/conv5_1`, `/layer3/layer3.1/relu_1/Relu_output_0`,
 * ...; see Network.tensors) to the tensor it is: a short-named layer's point when it is one, else
 * the tensor itself (point `tensor`, a layer named as the tensor). A view's output (dropout,
 * flatten) resolves to what it views when that is a layer point, since they hold the same values.
 */
export function resolveTensor(net: Network, layers: NamedLayer[], name: string, point?: string):
    { layer: NamedLayer; point: Point; op: number } {
  if (point !== undefined && point !== 'tensor') {
    throw new ArgumentError(`'${name}' is a tensor of the imported graph, which names one point already; ` +
      `give no point, or use a layer name (${layers.map((l) => l.name).join(', ')})`);
  }
  const op = net.tensors?.get(name);
  if (op === undefined) throw new ArgumentError(`unknown tensor '${name}'`);
  let seen = op;
  for (;;) {
    for (const layer of layers) {
      for (const p of POINTS) {
        if (layer.points[p] === seen) return { layer, point: p, op: seen };
      }
    }
    const kind = seen >= 0 ? net.ops[seen].kind : undefined;
    if ((kind === 'dropout' || kind === 'flatten') && (net.ops[seen].inputs?.length ?? 1) === 1) {
      seen = net.ops[seen].inputs?.[0] ?? seen - 1;
      continue;
    }
    break;
  }
  const kind = op < 0 ? 'conv' : net.ops[op].kind === 'dense' ? 'dense' : 'conv';
  return { layer: { name, kind, op, points: { tensor: op } }, point: 'tensor', op };
}

/**
 * A layer as users name it anywhere (API, CLI, element): a short name with an optional point
 * (`conv5`, `relu`), or any tensor name of an imported graph.
 */
export function resolveLayer(net: Network, layer: string, point?: string, layers: NamedLayer[] = namedLayers(net)):
    { layer: NamedLayer; point: Point; op: number } {
  if (net.tensors?.has(layer) && !layers.some((l) => l.name === layer)) return resolveTensor(net, layers, layer, point);
  return resolvePoint(layers, layer, point);
}
