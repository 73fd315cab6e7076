/**
 * A network is an ordered list of ops with explicit parameters. Nothing about geometry is
 * implied: pads are per side, pools say whether they round up, LRN carries its own constants.
 * Imported models (ONNX) and the built-in architectures produce the same description.
 */

/** Pads per side, in input pixels: [top, left, bottom, right] (ONNX order is [t, l, b, r]). */
export type Pads = [number, number, number, number];

/**
 * Optional on every op: where an imported op came from, and what it reads. Op i's output is
 * tensor i; tensor -1 is the network input. `inputs` lists the tensors the op reads, in order
 * (default: the previous op's output, `[i - 1]`, so a chain needs no inputs at all).
 */
export interface OpOrigin {
  /** The ONNX node's name (imported models; may be empty in the file, then absent here). */
  name?: string;
  /** Tensor indices read, in order; every one is < this op's index (ops are in topological order). */
  inputs?: number[];
}

export interface ConvOp extends OpOrigin {
  kind: 'conv';
  /** Output channels. */
  filters: number;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  groups: number;
  /** Whether the layer has a bias vector (zoo models do; it is read from the weights). */
  bias: boolean;
  /** Spacing of the window's taps [rows, columns] (default [1, 1]). */
  dilations?: [number, number];
}

export interface ReluOp extends OpOrigin { kind: 'relu' }

export interface MaxPoolOp extends OpOrigin {
  kind: 'maxpool';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  /** Round the output size up (Caffe, and ONNX ceil_mode=1). */
  ceil: boolean;
}

export interface AvgPoolOp extends OpOrigin {
  kind: 'avgpool';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  ceil: boolean;
  /** Divide by the full window (true) or only by the part inside the input (ONNX default). */
  countIncludePad: boolean;
}

/** Local response normalisation across channels, ONNX/Caffe semantics (alpha is divided by size). */
export interface LrnOp extends OpOrigin {
  kind: 'lrn';
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}

/**
 * A fully connected layer on the flattened input: y = W x + b, W stored [units, inputs]; with
 * `lastAxis`, on the last axis of each image's tensor instead (MatMul of a 3-D tensor).
 */
export interface DenseOp extends OpOrigin {
  kind: 'dense';
  units: number;
  bias: boolean;
  lastAxis?: boolean;
}

/** Identity at inference; kept so the graph can be shown and exported as it was. */
export interface DropoutOp extends OpOrigin { kind: 'dropout'; rate: number }

/** Reshape [N, C, H, W] to [N, C*H*W]; a dense layer after a spatial op implies it too. */
export interface FlattenOp extends OpOrigin { kind: 'flatten' }

/**
 * Softmax over one axis of each image's tensor, or (no axis) over all of its values; `flat`:
 * over the axes from `axis` on taken together (ONNX before opset 13).
 */
export interface SoftmaxOp extends OpOrigin { kind: 'softmax'; axis?: number; flat?: boolean }

/** Elementwise a (op) b with ONNX (numpy) broadcasting; b is a constant (the op's `b` param) or a second input. */
export interface BinaryOp extends OpOrigin {
  kind: 'binary';
  fn: 'add' | 'sub' | 'mul' | 'div' | 'prelu';
  /**
   * The constant operand, when there is one: its shape aligned to the batch axis as ONNX writes
   * it (rank up to the data's + 1), and which side of the operation it stands on.
   */
  constant?: { shape: number[]; side: 0 | 1 };
}

/** Elementwise activations: y = f(x); alpha/beta as each defines them (clip: min, max). */
export interface PointwiseOp extends OpOrigin {
  kind: 'pointwise';
  fn: 'sigmoid' | 'tanh' | 'elu' | 'leakyrelu' | 'hardsigmoid' | 'hardswish' | 'clip' | 'affine';
  alpha: number;
  beta: number;
}

/** Batch normalization at inference, as a per-channel scale and shift (params `scale`, `shift`). */
export interface BatchNormOp extends OpOrigin { kind: 'batchnorm' }

/** Concatenation of the inputs along `axis` of each image's tensor. */
export interface ConcatOp extends OpOrigin { kind: 'concat'; axis: number }

/** A strided slice of each image's tensor: per axis, start and step (may be negative) and count. */
export interface SliceOp extends OpOrigin { kind: 'slice'; starts: number[]; steps: number[]; counts: number[] }

/** Axes of each image's tensor reordered: output axis i is input axis perm[i]. */
export interface TransposeOp extends OpOrigin { kind: 'transpose'; perm: number[] }

/** The same values in another shape (row-major order kept): a view, no copy. */
export interface ReshapeOp extends OpOrigin { kind: 'reshape'; shape: number[] }

/** Padding of each image's tensor: `before` and `after` per axis; constant fill, reflection or edge. */
export interface PadOp extends OpOrigin {
  kind: 'pad';
  mode: 'constant' | 'reflect' | 'edge';
  before: number[];
  after: number[];
  value: number;
}

/** Mean over some axes of each image's tensor; `keep` keeps them as size 1. */
export interface ReduceMeanOp extends OpOrigin { kind: 'reducemean'; axes: number[]; keep: boolean }

/** A constant tensor (its `value` param), the same for every image; it reads nothing (`inputs: []`). */
export interface ConstantOp extends OpOrigin { kind: 'constant'; shape: number[] }

export type Op =
  | ConvOp | ReluOp | MaxPoolOp | AvgPoolOp | LrnOp | DenseOp | DropoutOp | FlattenOp | SoftmaxOp
  | BinaryOp | PointwiseOp | BatchNormOp | ConcatOp | SliceOp | TransposeOp | ReshapeOp | PadOp | ReduceMeanOp | ConstantOp;

export type OpKind = Op['kind'];

export type Preprocess = 'caffe' | 'torchvision' | 'none' | 'grayscale';

export interface Network {
  /** A short name: 'zfnet', 'alexnet', a file name for imported models. */
  name: string;
  /**
   * Input shape of one image: [channels, height, width] for image networks. Imported graphs whose
   * ops act on the batch axis (ONNX's backend tests) take their whole input as one item
   * (`wholeTensor`), of any rank up to 4.
   */
  input: number[];
  /** The input is one whole tensor (a batch of exactly 1 item), not a batch of images. */
  wholeTensor?: boolean;
  ops: Op[];
  /** How an image becomes the input tensor (see src/io/preprocess.ts). */
  preprocess: Preprocess;
  /** Class labels, one per output unit, when known. */
  labels?: string[];
  /**
   * Imported models: the original tensor names (which may contain '/') and the index of the op
   * whose output each one is (-1: the network input). `run.activation(name)` accepts them.
   */
  tensors?: ReadonlyMap<string, number>;
}

/** Shape of one op's output for one image: [C, H, W] for spatial ops, [units] after flatten (rank 0-4). */
export type Shape = number[];
