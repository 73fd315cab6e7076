/**
 * A network is an ordered list of ops with explicit parameters. Nothing about geometry is
 * implied: pads are per side, pools say whether they round up, LRN carries its own constants.
 * Imported models (ONNX) and the built-in architectures produce the same description.
 */

/** Pads per side, in input pixels: [top, left, bottom, right] (ONNX order is [t, l, b, r]). */
export type Pads = [number, number, number, number];

/** Optional on every op: where an imported op came from. */
export interface OpOrigin {
  /** The ONNX node's name (imported models; may be empty in the file, then absent here). */
  name?: string;
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

/** A fully connected layer on the flattened input: y = W x + b, W stored [units, inputs]. */
export interface DenseOp extends OpOrigin {
  kind: 'dense';
  units: number;
  bias: boolean;
}

/** Identity at inference; kept so the graph can be shown and exported as it was. */
export interface DropoutOp extends OpOrigin { kind: 'dropout'; rate: number }

/** Reshape [N, C, H, W] to [N, C*H*W]; a dense layer after a spatial op implies it too. */
export interface FlattenOp extends OpOrigin { kind: 'flatten' }

export interface SoftmaxOp extends OpOrigin { kind: 'softmax' }

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
  /**
   * Imported models: the original tensor names (which may contain '/') and the index of the op
   * whose output each one is (-1: the network input). `run.activation(name)` accepts them.
   */
  tensors?: ReadonlyMap<string, number>;
}

/** Shape of one op's output for a batch of 1: [C, H, W] for spatial ops, [units] after flatten. */
export type Shape = number[];
