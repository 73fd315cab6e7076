/**
 * Shape and receptive-field arithmetic, in one place. Every kernel call, the memory planner,
 * the CLI and the deconvnet read geometry from here; nothing else computes an output size.
 */
import { ArgumentError } from '../errors.js';
import type { MaxPoolOp, AvgPoolOp, ConvOp, Network, Op, Shape } from './layers.js';

/** Output length of a window op along one axis (ONNX/PyTorch rule for ceil mode). */
export function windowOut(size: number, kernel: number, stride: number, padBefore: number,
                          padAfter: number, ceil: boolean): number {
  const span = size + padBefore + padAfter - kernel;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // A window must start inside the input or the leading pad, never only in the trailing pad.
  if (ceil && (out - 1) * stride >= size + padBefore) out -= 1;
  return out;
}

export function convOutShape(op: ConvOp, [c, h, w]: Shape): Shape {
  return [op.filters,
    windowOut(h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], false),
    windowOut(w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], false)];
}

export function poolOutShape(op: MaxPoolOp | AvgPoolOp, [c, h, w]: Shape): Shape {
  return [c,
    windowOut(h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], op.ceil),
    windowOut(w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], op.ceil)];
}

/** The output shape of every op for one image; throws naming the first op that cannot apply. */
export function inferShapes(net: Network): Shape[] {
  const shapes: Shape[] = [];
  let shape: Shape = [...net.input];
  net.ops.forEach((op, i) => {
    shape = opOutShape(op, shape, `${net.name} op ${i} (${op.kind})`);
    if (shape.some((d) => !(d >= 1))) {
      throw new ArgumentError(`${net.name}: op ${i} (${op.kind}) gives an empty output ` +
        `[${shape.join(', ')}]; the input ${net.input.join('x')} is too small for this network`);
    }
    shapes.push(shape);
  });
  return shapes;
}

function opOutShape(op: Op, shape: Shape, where: string): Shape {
  const spatial = shape.length === 3;
  switch (op.kind) {
    case 'conv': {
      if (!spatial) throw new ArgumentError(`${where}: a convolution needs a [C, H, W] input, got [${shape}]`);
      if (shape[0] % op.groups !== 0 || op.filters % op.groups !== 0) {
        throw new ArgumentError(`${where}: ${shape[0]} input and ${op.filters} output channels ` +
          `are not divisible by groups=${op.groups}`);
      }
      return convOutShape(op, shape);
    }
    case 'maxpool':
    case 'avgpool':
      if (!spatial) throw new ArgumentError(`${where}: pooling needs a [C, H, W] input, got [${shape}]`);
      return poolOutShape(op, shape);
    case 'lrn':
      if (shape.length !== 3) throw new ArgumentError(`${where}: LRN needs a [C, H, W] input, got [${shape}]`);
      return shape;
    case 'dense':
      return [op.units];
    case 'flatten':
      return [size(shape)];
    case 'relu': case 'dropout': case 'softmax':
      return shape;
  }
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Receptive field of an op's output along both axes: unit (y, x) sees input rows
 * [offset[0] + y*jump[0], offset[0] + y*jump[0] + extent[0] - 1] (before clipping), same for x.
 * Dense layers see the whole input.
 */
export interface ReceptiveField {
  offset: [number, number];
  jump: [number, number];
  extent: [number, number];
  /** True once a dense layer has been passed: every unit sees the whole image. */
  global: boolean;
}

export function receptiveFields(net: Network): ReceptiveField[] {
  let rf: ReceptiveField = { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: false };
  return net.ops.map((op) => {
    if (op.kind === 'conv' || op.kind === 'maxpool' || op.kind === 'avgpool') {
      const next: ReceptiveField = { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: rf.global };
      for (const a of [0, 1] as const) {
        next.offset[a] = rf.offset[a] - op.pads[a] * rf.jump[a];
        next.jump[a] = rf.jump[a] * op.stride[a];
        next.extent[a] = rf.extent[a] + (op.kernel[a] - 1) * rf.jump[a];
      }
      rf = next;
    } else if (op.kind === 'dense' || op.kind === 'flatten') {
      rf = { ...rf, global: true };
    }
    return rf;
  });
}

/** A box in input pixels, inclusive-exclusive: rows [y0, y1), columns [x0, x1). */
export interface Box { y0: number; x0: number; y1: number; x1: number }

/** The input region that can influence unit (y, x) of an op, clipped to the image. */
export function receptiveBox(rf: ReceptiveField, y: number, x: number, input: Shape): Box {
  const [, h, w] = input;
  if (rf.global) return { y0: 0, x0: 0, y1: h, x1: w };
  const y0 = rf.offset[0] + y * rf.jump[0];
  const x0 = rf.offset[1] + x * rf.jump[1];
  return {
    y0: Math.max(0, y0), x0: Math.max(0, x0),
    y1: Math.min(h, y0 + rf.extent[0]), x1: Math.min(w, x0 + rf.extent[1]),
  };
}
