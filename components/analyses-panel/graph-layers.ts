/**
 * The layers the analysis views offer and start on, from the model's info (ModelInfo): for the
 * built-in models their short-named layers; for an imported graph (`info.tensors`) those and
 * every tensor a feature map can be read from, by name, as the engine takes them.
 *
 * The defaults are the engine's (src/analyses/invariance.ts, lastConvLayer and lastHiddenLayer)
 * computed from the info alone, so a view shows what a run with no layer would use:
 * - the paper's layer 5: the last conv layer; in a graph, the last conv block's output, the last
 *   [C, H, W] tensor larger than 1 x 1 made by a nonlinearity or a merge of branches (ResNet's
 *   last ReLU, GoogLeNet's last Inception concat);
 * - the last hidden layer (fc7): the dense layer before the classifier; in a graph whose
 *   classifier is its only dense layer, the features the classifier reads (the global pool).
 *
 * Pure functions: no DOM, no Lit (Node tests hold them equal to the engine's on real exports).
 */
import type { LayerInfo, ModelInfo, TensorInfo } from '../../src/worker/protocol.js';

/** A layer a view can name: a short-named layer (at its default point) or a graph tensor. */
export interface LayerChoice {
  /** What a request names it by: `conv5`, or a tensor's own name. */
  name: string;
  /** Its shape for one image at that point: [C, H, W] or [units]. */
  shape: number[];
  /** What the list shows beside the name: the short name a tensor is, its op kind, its shape. */
  hint: string;
}

/** Kinds of ops whose output is a conv block's output: a nonlinearity or a merge of branches. */
function isBlockOutput(t: TensorInfo): boolean {
  return t.kind === 'relu' || t.kind === 'concat' || t.kind === 'binary' || (t.kind === 'pointwise' && t.fn !== 'affine');
}

const VIEWS = new Set(['dropout', 'flatten', 'reshape']);

/** The name a default goes by: the layer's short name where the tensor is its feature map, else the tensor's. */
function nameOf(info: ModelInfo, t: TensorInfo): string {
  const layer = t.layer ? info.layers.find((l) => l.name === t.layer) : undefined;
  return layer && t.point === layer.defaultPoint ? layer.name : t.name;
}

function lastConv(info: ModelInfo): string | undefined {
  const tensors = info.tensors;
  if (tensors) {
    for (let i = tensors.length - 1; i >= 0; i--) {
      const t = tensors[i];
      if (t.kind !== 'input' && t.kind !== 'constant' && t.shape.length === 3 && t.shape[1] * t.shape[2] > 1 && isBlockOutput(t)) {
        return nameOf(info, t);
      }
    }
  }
  const convs = info.layers.filter((l) => l.kind === 'conv');
  return (convs.at(-1) ?? info.layers[0])?.name;
}

function lastHidden(info: ModelInfo): string | undefined {
  const dense = info.layers.filter((l) => l.kind === 'dense');
  if (dense.length >= 2) return dense.at(-2)!.name;
  const tensors = info.tensors;
  const classifier = info.layers.at(-1);
  if (tensors && classifier) {
    // The classifier's output, then back over views (Flatten, Dropout) to what it reads.
    let i = tensors.findIndex((t) => t.layer === classifier.name && t.point === 'conv');
    if (i > 0) {
      i -= 1;
      while (i > 0 && VIEWS.has(tensors[i].kind)) i -= 1;
      const t = tensors[i];
      if (t && t.kind !== 'input') return nameOf(info, t);
    }
  }
  return lastConv(info);
}

/** The engine's default layers: layer 5 (`block`) and the last hidden layer (`hidden`). */
export function defaultLayers(info: ModelInfo | undefined): { block?: string; hidden?: string } {
  if (!info || info.layers.length === 0) return {};
  return { block: lastConv(info), hidden: lastHidden(info) };
}

/**
 * Every layer a view can offer: the short-named layers, then (graphs) the tensors a feature map
 * can be read from (not the input, not constants), in topological order; `spatial` keeps only
 * [C, H, W] ones. A tensor that is a layer's feature map is offered once, by its short name.
 */
export function layerChoices(info: ModelInfo | undefined, options: { spatial?: boolean } = {}): LayerChoice[] {
  if (!info) return [];
  const fits = (shape: number[]) => !options.spatial || shape.length === 3;
  const shapeText = (s: number[]) => (s.length === 3 ? `${s[0]} maps ${s[1]}×${s[2]}` : `${s.join('×')} units`);
  const out: LayerChoice[] = info.layers.filter((l) => fits(l.shape))
    .map((l) => ({ name: l.name, shape: l.shape, hint: `${l.kind} ${l.defaultPoint}, ${shapeText(l.shape)}` }));
  for (const t of info.tensors ?? []) {
    if (!t.projectable || !fits(t.shape)) continue;
    const layer = t.layer ? info.layers.find((l) => l.name === t.layer) : undefined;
    if (layer && t.point === layer.defaultPoint) continue;
    out.push({ name: t.name, shape: t.shape, hint: `${t.layer ? `${t.layer} ${t.point}, ` : ''}${t.kind}, ${shapeText(t.shape)}` });
  }
  return out;
}

/**
 * A layer or tensor by the name a user typed (a short name, or a graph tensor's name), with its
 * shape; or a sentence saying why it is not one (unknown, the network input, not [C, H, W] when
 * `spatial`).
 */
export function findLayer(info: ModelInfo | undefined, name: string, options: { spatial?: boolean } = {}):
    { name: string; shape: number[]; layer?: LayerInfo } | string {
  const n = name.trim();
  if (!n) return 'Name a layer or tensor.';
  const layer = info?.layers.find((l) => l.name === n);
  const tensor = layer ? undefined : info?.tensors?.find((t) => t.name === n);
  if (!layer && !tensor) {
    return `This model has no layer or tensor named “${n}”${info?.tensors ? '; pick one from the list or type a tensor\'s name' : `; it has ${info?.layers.map((l) => l.name).join(', ')}`}.`;
  }
  if (tensor && (tensor.kind === 'input' || tensor.kind === 'constant')) return `“${n}” is the network's ${tensor.kind}, not a layer.`;
  const shape = layer ? layer.shape : tensor!.shape;
  if (options.spatial && shape.length !== 3) return `“${n}” has no feature maps to scan (shape ${shape.join('×')}); pick a [C, H, W] layer.`;
  return { name: n, shape, layer };
}

/** 'conv5 relu'; a graph tensor by its name alone (its point, `tensor`, says nothing more). */
export function layerText(l: { layer: string; point?: string }): string {
  return l.point && l.point !== 'tensor' ? `${l.layer} ${l.point}` : l.layer;
}
