/**
 * A network is an ordered list of ops with explicit parameters. Nothing about geometry is
 * implied: pads are per side, pools say whether they round up, LRN carries its own constants.
 * Imported models (ONNX) and the built-in architectures produce the same description.
 */

/** Pads per side, in input pixels: [top, left, bottom, right] (ONNX order is [t, l, b, r]). */
export type Pads = [number, number, number, number];

export interface ConvOp {
  kind: 'conv';
  /** Output channels. */
  filters: number;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  groups: number;
  /** Whether the layer has a bias vector (zoo models do; it is read from the weights). */
  bias: boolean;
}

export interface ReluOp { kind: 'relu' }

export interface MaxPoolOp {
  kind: 'maxpool';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  /** Round the output size up (Caffe, and ONNX ceil_mode=1). */
  ceil: boolean;
}

export interface AvgPoolOp {
  kind: 'avgpool';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  ceil: boolean;
  /** Divide by the full window (true) or only by the part inside the input (ONNX default). */
  countIncludePad: boolean;
}

/** Local response normalisation across channels, ONNX/Caffe semantics (alpha is divided by size). */
export interface LrnOp {
  kind: 'lrn';
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}

/** A fully connected layer on the flattened input: y = W x + b, W stored [units, inputs]. */
export interface DenseOp {
  kind: 'dense';
  units: number;
  bias: boolean;
}

/** Identity at inference; kept so the graph can be shown and exported as it was. */
export interface DropoutOp { kind: 'dropout'; rate: number }

/** Reshape [N, C, H, W] to [N, C*H*W]; a dense layer after a spatial op implies it too. */
export interface FlattenOp { kind: 'flatten' }

export interface SoftmaxOp { kind: 'softmax' }

export type Op =
  | ConvOp | ReluOp | MaxPoolOp | AvgPoolOp | LrnOp | DenseOp | DropoutOp | FlattenOp | SoftmaxOp;

export type Preprocess = 'caffe' | 'torchvision' | 'none' | 'grayscale';

export interface Network {
  /** A short name: 'zfnet', 'alexnet', a file name for imported models. */
  name: string;
  /** Input shape of one image: [channels, height, width]. */
  input: [number, number, number];
  ops: Op[];
  /** How an image becomes the input tensor (see src/io/preprocess.ts). */
  preprocess: Preprocess;
  /** Class labels, one per output unit, when known. */
  labels?: string[];
}

/** Shape of one op's output for a batch of 1: [C, H, W] for spatial ops, [units] after flatten. */
export type Shape = number[];
