/**
 * What an op's ONNX export (the `onnxExport` entry of its file in src/engine/ops/) sees while
 * networkToOnnx (src/onnx/write.ts) writes a network: the tensor flowing in, the names its node
 * and output take, and the means to add nodes and initializers.
 */
import { ArgumentError } from '../errors.js';
import type { LayerWeights } from '../engine/model.js';
import type { Op, Shape } from '../graph/layers.js';
import { size, windowOut } from '../graph/shapes.js';

export type AttrValue = number | number[] | { float: number } | { floats: number[] } | string;

export interface ExportContext {
  readonly opset: number;
  readonly networkName: string;
  /** The op's index in the network. */
  readonly index: number;
  /** The short-named layer this op is (conv and dense ops), for weight and node names. */
  readonly layer?: string;
  /** This op's node name, and its output tensor's (the graph output for the last op). */
  readonly name: string;
  readonly out: string;
  /** The op's input shape, one image. */
  readonly input: Shape;
  /** The tensor flowing into the op; set it to the op's output. */
  current: string;
  /** Append a node reading `inputs`; returns its output tensor. */
  emit(op: string, name: string, inputs: string[], attrs?: Record<string, AttrValue>, output?: string): string;
  unique(base: string): string;
  addFloats(base: string, dims: number[], data: Float32Array): string;
  addInt64s(base: string, values: number[]): string;
  /** A Flatten(axis=1) of the current tensor. */
  flatten(): string;
  /** This layer's weights, checked against `shape`. */
  weights(shape: number[], hasBias: boolean): { shape: number[]; weight: Float32Array; bias?: Float32Array };
}

export interface OnnxExport<O extends Op = Op> {
  /** The name part of the node after its layer (`conv1/relu`): the point names where they exist. */
  point: string;
  write(op: O, x: ExportContext): void;
}

export function checkLayerWeights(w: LayerWeights | undefined, layer: string, shape: number[], hasBias: boolean):
    { shape: number[]; weight: Float32Array; bias?: Float32Array } {
  if (!w) throw new ArgumentError(`no weights for layer ${layer}`);
  const expected = size(shape);
  if (!(w.weight instanceof Float32Array) || w.weight.length !== expected) {
    throw new ArgumentError(`${layer}: weight must be a Float32Array of ${expected} values [${shape.join(', ')}], ` +
      `got ${w.weight instanceof Float32Array ? `${w.weight.length} values` : typeof w.weight}`);
  }
  if (w.bias !== undefined) {
    if (!hasBias) throw new ArgumentError(`${layer} has no bias, but weights for one were given`);
    if (!(w.bias instanceof Float32Array) || w.bias.length !== shape[0]) {
      throw new ArgumentError(`${layer}: bias must be a Float32Array of ${shape[0]} values`);
    }
  }
  return { shape, weight: w.weight, bias: w.bias };
}

/**
 * Ceil-mode max-pool pads for opsets before 10 (no ceil_mode): grow the end pads until floor
 * rounding gives the ceil-mode size. Exact for max pooling, whose pads never win.
 */
export function ceilAsEndPads(kernel: [number, number], stride: [number, number], pads: readonly number[], [, h, w]: Shape,
                              net: string, i: number): number[] {
  const out = [...pads];
  [h, w].forEach((len, a) => {
    const want = windowOut(len, kernel[a], stride[a], pads[a], pads[a + 2], true);
    const end = Math.max(pads[a + 2], (want - 1) * stride[a] + kernel[a] - len - pads[a]);
    if (windowOut(len, kernel[a], stride[a], pads[a], end, false) !== want) {
      throw new ArgumentError(`${net} op ${i}: this ceil-mode max-pool cannot be written before opset 10`);
    }
    out[a + 2] = end;
  });
  return out;
}
