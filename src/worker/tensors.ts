/**
 * The tensors of an imported graph as the page sees them (ModelInfo.tensors): every named
 * tensor with its shape, the kind of op that makes it, its module scope (the '/'-separated path
 * of PyTorch's export names), whether it is one of the short-named layers' points (`conv12`
 * `relu`), and whether a projection can start there. The layer picker groups them by scope; the
 * element's default layer for graph models is the last conv block's output (defaultGraphLayer).
 *
 * Pure functions of the model: no DOM, no worker, so Node tests use them as the worker does.
 */
import type { Model } from '../engine/model.js';
import { POINTS, type Point } from '../graph/names.js';
import type { TensorInfo } from './protocol.js';

/**
 * A tensor name's module path: everything up to and including its last '/'
 * (`/layer3/layer3.1/relu_1/Relu_output_0` -> `/layer3/layer3.1/relu_1/`, `gpu_0/conv5_1` ->
 * `gpu_0/`), '' for a name without one (`logits`, `input`, numeric names).
 */
export function scopeOf(name: string): string {
  const at = name.lastIndexOf('/');
  return at < 0 ? '' : name.slice(0, at + 1);
}

/** Every named tensor of an imported graph, in topological order (ties: the graph's order); undefined for built-in models. */
export function tensorInfos(model: Model): TensorInfo[] | undefined {
  const net = model.network;
  if (!net.tensors) return undefined;
  // Which short-named layer point each op's output is (the first layer, in POINTS order).
  const points = new Map<number, { layer: string; point: Point; dense: boolean }>();
  for (const layer of model.layers) {
    for (const p of POINTS) {
      const op = layer.points[p];
      if (op !== undefined && !points.has(op)) points.set(op, { layer: layer.name, point: p, dense: layer.kind === 'dense' });
    }
  }
  const list: (TensorInfo & { op: number; order: number })[] = [];
  let order = 0;
  for (const [name, op] of net.tensors) {
    const shape = [...model.tensorShape(op)];
    const o = op >= 0 ? net.ops[op] : undefined;
    const at = points.get(op);
    const kind = o?.kind ?? 'input';
    const info: TensorInfo & { op: number; order: number } = {
      name, shape, kind, scope: scopeOf(name), projectable: false, op, order: order++,
    };
    if (o && 'fn' in o && typeof o.fn === 'string') info.fn = o.fn;
    if (at) { info.layer = at.layer; info.point = at.point; }
    // Spatial maps computed from the image, and the outputs of dense layers (their units, as
    // 1 x 1 maps): where the feature grid and a projection can start. Not the input itself, nor
    // a constant.
    info.projectable = op >= 0 && kind !== 'constant' &&
      (shape.length === 3 || (shape.length === 1 && (kind === 'dense' || !!at?.dense)));
    list.push(info);
  }
  list.sort((a, b) => a.op - b.op || a.order - b.order);
  return list.map(({ op: _op, order: _order, ...info }) => info);
}

/**
 * The default layer of a graph model: the last conv block's output, i.e. the last projectable
 * [C, H, W] tensor with H * W > 1 in topological order (ResNet's last block's final ReLU,
 * GoogLeNet's last Inception concat). Falls back to the last projectable tensor.
 */
export function defaultGraphLayer(tensors: readonly TensorInfo[]): string | undefined {
  const offered = tensors.filter((t) => t.projectable);
  for (let i = offered.length - 1; i >= 0; i--) {
    const s = offered[i].shape;
    if (s.length === 3 && s[1] * s[2] > 1) return offered[i].name;
  }
  return offered[offered.length - 1]?.name;
}
