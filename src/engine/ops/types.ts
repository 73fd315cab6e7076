/**
 * The op table's contract. What each kind of op does is declared once, in its own file under
 * src/engine/ops/: its shape inference, the constants it keeps, its forward pass, its backward
 * pass for each projection mode, how it grows a region and a receptive field, and its cost.
 * Model.forward, the projection walk and the cost model are loops over this table; the ONNX
 * mapping of each op sits beside it (see its ONNX mapping below).
 */
import type { Op, OpKind, Shape } from '../../graph/layers.js';
import type { ReceptiveField } from '../../graph/shapes.js';
import type { Kernels } from '../../wasm/kernels.js';
import type { OnnxMapping } from '../../onnx/map-context.js';
import type { OnnxExport } from '../../onnx/export-context.js';

/** How a projection goes back through rectifiers (every other op uses its exact gradient). */
export type ProjectionMode = 'deconvnet' | 'guided' | 'gradient';

/** Rows [y0, y1) and columns [x0, x1) of a [C, H, W] tensor that may be non-zero; `null`: all of it. */
export type Span = { y0: number; y1: number; x0: number; x1: number } | null;

/** Byte offsets of an op's constants (weights, biases, folded scales...) in the model's memory. */
export type ParamOffsets = Record<string, number>;

/** One op's forward pass over a batch: byte offsets of its buffers and the shapes of one image. */
export interface Forward {
  k: Kernels;
  /** Images in the batch. */
  n: number;
  /** Data inputs (the first image of each), and their shapes for one image. */
  x: number[];
  xs: Shape[];
  /** The output, and its shape for one image. */
  y: number;
  ys: Shape;
  p: ParamOffsets;
  /** The op's switches (max-pool), for the whole batch; 0 when it has none. */
  switches: number;
  /** Scratch shared by every op: at least `scratch(...)` floats. */
  scratch: number;
}

/**
 * One op's backward pass for `n` images (projections: one; training: a batch). `dy` is the
 * gradient (or reconstruction) at the output; it is exactly zero outside `span` (a span is only
 * given when n is 1). Each `dx[j]` (0: that input needs nothing) is zero on entry and this op's
 * alone to write. It returns, per input, the span where that gradient may be non-zero (`null`:
 * anywhere).
 */
export interface Backward {
  k: Kernels;
  mode: ProjectionMode;
  n: number;
  /** These images' forward inputs and output. */
  x: number[];
  xs: Shape[];
  y: number;
  ys: Shape;
  p: ParamOffsets;
  switches: number;
  dy: number;
  span: Span;
  dx: number[];
  /** Scratch of at least `backScratch(...)` floats. */
  scratch: number;
  /** Two buffers of the largest tensor, for ops that work on a crop of their span. */
  cropIn: number;
  cropOut: number;
  /** The conv weights packed for the transposed conv (packed now if they changed). */
  packed(): number;
}

/** Rows [y0, y1) and columns [x0, x1) of a [C, H, W] tensor (the occlusion fast path's changed part). */
export interface Box { y0: number; y1: number; x0: number; x1: number }

/**
 * How an op recomputes only what changed (the occlusion fast path): when its inputs change only
 * inside some boxes, which outputs change, which input boxes those outputs read, and the forward
 * pass on crops. Ops without one are recomputed whole.
 */
export interface Region<O extends Op = Op> {
  /** The output box that changes when input j changes inside spans[j] (undefined: input unchanged). */
  affected(op: O, spans: (Box | undefined)[], xs: Shape[], ys: Shape): Box | undefined;
  /** The box of input j that the outputs in `out` read. */
  reads(op: O, out: Box, j: number, xs: Shape[], ys: Shape): Box;
  /**
   * Forward on crops for one image: `f.x[j]` holds input j over `reads[j]` ([C, h, w] of the box),
   * `f.y` receives the output over `out`; f.xs / f.ys are the full shapes.
   */
  forwardCrop(op: O, f: Forward, reads: Box[], out: Box): void;
}

export interface OpDef<O extends Op = Op> {
  kind: O['kind'];
  /** Output shape for one image; throws ArgumentError saying why the inputs do not fit. */
  shape(op: O, inputs: Shape[]): Shape;
  /** Constants the op keeps in the arena (name -> shape); conv/dense weights live here. */
  params?(op: O, inputs: Shape[]): Record<string, number[]>;
  /**
   * Floats of a derived copy of the weights that the backward pass reads (the transposed conv's
   * packed filters), and how to make it; the model re-packs lazily after the weights change.
   */
  packedFloats?(op: O, inputs: Shape[], k: Kernels): number;
  pack?(op: O, inputs: Shape[], k: Kernels, p: ParamOffsets, dst: number): void;
  /** The output is its first input's buffer, reinterpreted (dropout, flatten, reshape). */
  alias?: boolean;
  /** Floats of forward scratch this op needs (the plan takes the largest over the network). */
  scratch?(op: O, inputs: Shape[], out: Shape, k: Kernels): number;
  /** Floats of backward scratch (reused image by image when a batch goes back). */
  backScratch?(op: O, inputs: Shape[], out: Shape, k: Kernels): number;
  /** Int32 switch slots per image (max-pool records where each maximum came from). */
  switches?(op: O, out: Shape): number;
  forward(op: O, f: Forward): void;
  /** Absent: a projection cannot pass this op (the walk says so, naming it). */
  backward?(op: O, b: Backward): Span[];
  /**
   * Training: add the gradients of the op's own weights (`weight`, `bias`) for the batch into
   * `grads` (byte offsets by param name), from dy and the forward input.
   */
  weightGrads?(op: O, b: Backward, grads: ParamOffsets): void;
  /** Floats of scratch weightGrads needs. */
  weightGradScratch?(op: O, inputs: Shape[], out: Shape, k: Kernels): number;
  /** Receptive field of the output from the inputs' (default: elementwise, the union). */
  field?(op: O, inputs: ReceptiveField[], xs: Shape[], out: Shape): ReceptiveField;
  /** Multiply-adds per image (default 0: cheap next to convolutions). */
  macs?(op: O, inputs: Shape[], out: Shape): number;
  /** The projection modes' rectifier rule applies here (Relu, Clip with min 0). */
  rectifier?(op: O): boolean;
  /** The occlusion fast path's region rules (absent: the op is recomputed whole). */
  region?: Region<O>;
  /** ONNX op types that import as this kind, and how (attribute checks included). */
  onnx?: Record<string, OnnxMapping>;
  /** How networkToOnnx writes this kind (absent: a network with it cannot be exported). */
  onnxExport?: OnnxExport<O>;
}

/** The table, indexed by kind; `OpDef<any>` because each entry is typed by its own kind. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpTable = { [K in OpKind]: OpDef<Extract<Op, { kind: K }>> };
