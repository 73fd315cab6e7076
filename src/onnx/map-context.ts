/**
 * What an op's ONNX mapping (the `onnx` entry of its file in src/engine/ops/) sees of the node it
 * maps: its attributes, its inputs as data tensors or constants, the batch-axis convention, and
 * the means to emit ops. The graph mapper (src/onnx/graph.ts) implements it.
 *
 * Axes: a data tensor's shape in the engine is one image's (the batch axis is implicit), so an
 * ONNX axis a is the engine's axis a - 1. A mapping that needs the batch axis itself asks for
 * it with `axis()` and the mapper then imports the graph as one whole tensor (batch 1).
 */
import type { ModelFormatError } from '../errors.js';
import type { Op, Shape } from '../graph/layers.js';
import type { Attrs } from './attrs.js';
import type { Const } from './consts.js';
import type { NodeRef, TensorRef } from './proto.js';

/** How one of an op's constants is filled from the file (or from values computed at load). */
export interface Transfer {
  /** The file tensor, read when the model is made... */
  tensor?: TensorRef;
  /** ...or values computed at load (folded batch norm, shape arithmetic, bound constants). */
  values?: ArrayLike<number>;
  /** Multiply every value (Gemm's alpha or beta). */
  scale: number;
  /** The source is [rows, cols]; the layer wants its transpose [cols, rows]. */
  transpose?: [number, number];
  /** The source is one value, repeated for every unit. */
  broadcast?: boolean;
  /** Multiply each of the leading axis's rows by its own factor (batch norm folded into a conv). */
  rowScale?: Float64Array;
}

export interface MapContext {
  readonly node: NodeRef;
  readonly opset: number;
  readonly attrs: Attrs;
  /** The graph is imported as one whole tensor (no batch axis). */
  readonly wholeTensor: boolean;
  /** "Conv node 'x' (opset 13)", for messages. */
  where(): string;
  fail(problem: string): ModelFormatError;
  /** Inputs given (trailing empty names dropped). */
  inputCount(): number;
  /** Input j is present (not absent, not an empty name). */
  has(j: number): boolean;
  /** Input j is computed from the data (not a constant). */
  isData(j: number): boolean;
  /** Data input j: its tensor index and its shape for one image. */
  data(j: number): { id: number; shape: Shape };
  /** Constant input j (undefined when absent and not required). */
  constant(j: number, role: string, required?: boolean): Const | undefined;
  /** Constant input j's values as integers (shapes, axes, indices). */
  ints(j: number, role: string): number[] | undefined;
  /** The ONNX rank of a data tensor of this per-image shape. */
  rank(shape: Shape): number;
  /** An ONNX axis (negative counts from the end) of a rank-`rank` data tensor, as an engine axis. */
  axis(raw: number, rank: number, what?: string): number;
  /**
   * A constant operand's shape as the engine lays it beside a data tensor of ONNX rank
   * `dataRank`: the batch axis dropped (it must be 1 there), or kept whole in whole-tensor mode.
   */
  constantShape(c: Const, dataRank: number, what: string): number[];
  /** Add an op reading `inputs`, with its constants; its output is node output `output` (-1: none, an intermediate). */
  emit(op: Op, inputs: number[], params?: Record<string, Transfer>, output?: number): number;
  /** Node output `output` is tensor `id` (a node that computes nothing). */
  alias(id: number, output?: number): void;
  /** Node output `output` is a constant. */
  constantOutput(c: Const, output?: number): void;
  /** The shape of data tensor `id` for one image. */
  shape(id: number): Shape;
  /** The op that computes tensor `id`, if it was emitted by this mapping's graph. */
  producer(id: number): Op | undefined;
  /** How many nodes (and graph outputs) read tensor `id`. */
  readers(id: number): number;
  /** The constants of an emitted op, to change (folding batch norm into the conv before it). */
  params(id: number): Record<string, Transfer> | undefined;
  /** The values a transfer writes (reading the file tensor if it is one). */
  readTransfer(t: Transfer): Float64Array;
  /** This node needs the batch axis itself: the graph is then imported as one whole tensor. */
  needsWholeTensor(): never;
  /** In whole-tensor mode, the node that acts on the batch axis (for messages). */
  wholeReason(): string | undefined;
}

/** An op's ONNX mapping: reads the node through the context and emits what it computes. */
export type OnnxMapping = (m: MapContext) => void;
