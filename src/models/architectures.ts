/**
 * The built-in architectures, as the papers and model zoos define them. Every geometric choice
 * is an explicit layer parameter (pads per side, ceil mode), because that is exactly where the
 * public ports disagree (see docs in shared/onnx-models.md).
 */
import type { ConvOp, DenseOp, LrnOp, MaxPoolOp, Network, Op, Pads } from '../graph/layers.js';

const NO_PADS: Pads = [0, 0, 0, 0];

export function conv(filters: number, kernel: number, stride: number, pad: number | Pads = 0,
                     groups = 1): ConvOp {
  const pads: Pads = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  return { kind: 'conv', filters, kernel: [kernel, kernel], stride: [stride, stride], pads, groups, bias: true };
}

export function maxpool(kernel: number, stride: number, { ceil = false, pads = NO_PADS } = {}): MaxPoolOp {
  return { kind: 'maxpool', kernel: [kernel, kernel], stride: [stride, stride], pads, ceil };
}

/** AlexNet's "contrast normalisation across maps" (Caffe/ONNX constants). */
export function lrn(size = 5, alpha = 1e-4, beta = 0.75, bias = 1): LrnOp {
  return { kind: 'lrn', size, alpha, beta, bias };
}

export function dense(units: number): DenseOp {
  return { kind: 'dense', units, bias: true };
}

const relu: Op = { kind: 'relu' };
const dropout: Op = { kind: 'dropout', rate: 0.5 };
const flatten: Op = { kind: 'flatten' };
const softmax: Op = { kind: 'softmax' };

/** fc6-fc8 of ZFNet and the Caffe AlexNets: 4096, 4096, classes, softmax. */
function caffeHead(classes: number): Op[] {
  return [flatten, dense(4096), relu, dropout, dense(4096), relu, dropout, dense(classes), softmax];
}

/**
 * ZFNet as in the paper (Fig. 3): conv1 7x7/2 with pad 1 and ceil-mode pools give exactly
 * 110 -> 55 -> 26 -> 13 -> 6, which only this choice among the public ports reproduces.
 */
export function zfnet(classes = 1000): Network {
  return {
    name: 'zfnet', input: [3, 224, 224], preprocess: 'caffe',
    ops: [
      conv(96, 7, 2, 1), relu, maxpool(3, 2, { ceil: true }), lrn(),
      conv(256, 5, 2, 0), relu, maxpool(3, 2, { ceil: true }), lrn(),
      conv(384, 3, 1, 1), relu,
      conv(384, 3, 1, 1), relu,
      conv(256, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }),
      ...caffeHead(classes),
    ],
  };
}

/** torchvision's AlexNet: 64-192-384-256-256 maps, no LRN, no groups, floor pools, logits out. */
export function alexnetTorchvision(classes = 1000): Network {
  return {
    name: 'alexnet', input: [3, 224, 224], preprocess: 'torchvision',
    ops: [
      conv(64, 11, 4, 2), relu, maxpool(3, 2),
      conv(192, 5, 1, 2), relu, maxpool(3, 2),
      conv(384, 3, 1, 1), relu,
      conv(256, 3, 1, 1), relu,
      conv(256, 3, 1, 1), relu, maxpool(3, 2),
      flatten, dropout, dense(4096), relu, dropout, dense(4096), relu, dense(classes),
    ],
  };
}

/**
 * BVLC AlexNet as the ONNX zoo runs it at 224 input: conv1 pad 0 -> 54, LRN before pool,
 * two groups in conv2/4/5, and pool5 padded at the end ([0,0,1,1]) to reach 6x6.
 */
export function alexnetBvlc(classes = 1000): Network {
  return {
    name: 'alexnet-bvlc', input: [3, 224, 224], preprocess: 'caffe',
    ops: [
      conv(96, 11, 4, 0), relu, lrn(), maxpool(3, 2),
      conv(256, 5, 1, 2, 2), relu, lrn(), maxpool(3, 2),
      conv(384, 3, 1, 1), relu,
      conv(384, 3, 1, 1, 2), relu,
      conv(256, 3, 1, 1, 2), relu, maxpool(3, 2, { pads: [0, 0, 1, 1] }),
      ...caffeHead(classes),
    ],
  };
}

/**
 * CaffeNet: BVLC AlexNet with max-pool before LRN; the zoo's pools emulate Caffe's ceil
 * rounding with end pads (54 -> 27 -> 13 -> 6 at 224 input).
 */
export function caffenet(classes = 1000): Network {
  return {
    name: 'caffenet', input: [3, 224, 224], preprocess: 'caffe',
    ops: [
      conv(96, 11, 4, 0), relu, maxpool(3, 2, { pads: [0, 0, 1, 1] }), lrn(),
      conv(256, 5, 1, 2, 2), relu, maxpool(3, 2, { pads: [0, 0, 1, 1] }), lrn(),
      conv(384, 3, 1, 1), relu,
      conv(384, 3, 1, 1, 2), relu,
      conv(256, 3, 1, 1, 2), relu, maxpool(3, 2),
      ...caffeHead(classes),
    ],
  };
}

/** Fashion-MNIST's classes, in label order. */
export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
  'Sneaker', 'Bag', 'Ankle boot'];

/**
 * zfnet-mini, the built-in default model: ZFNet's pattern scaled to 28x28 grayscale input.
 * Every deconvnet stage of the paper occurs in it: five convs with ReLU, overlapping 3x3/2
 * max-pools with switches (ceil mode, as ZFNet: 28 -> 14 -> 7 -> 3), LRN after the first two,
 * two hidden fc layers with dropout, and a 10-way softmax. conv1 is 5x5 stride 1 (not 7x7/2):
 * at 28 px a stride-2 first layer throws away most of the detail the deconvnet should show.
 */
export function zfnetMini(): Network {
  return {
    name: 'zfnet-mini', input: [1, 28, 28], preprocess: 'grayscale', labels: FASHION_MNIST_LABELS,
    ops: [
      conv(32, 5, 1, 2), relu, maxpool(3, 2, { ceil: true }), lrn(),
      conv(64, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }), lrn(),
      conv(64, 3, 1, 1), relu,
      conv(64, 3, 1, 1), relu,
      conv(48, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }),
      flatten, dense(128), relu, dropout, dense(128), relu, dropout, dense(10), softmax,
    ],
  };
}

export const ARCHITECTURES: Record<string, () => Network> = {
  'zfnet': () => zfnet(),
  'alexnet': () => alexnetTorchvision(),
  'alexnet-bvlc': () => alexnetBvlc(),
  'caffenet': () => caffenet(),
};
