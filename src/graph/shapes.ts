/**
 * Shape and receptive-field arithmetic, in one place. Every kernel call, the memory planner,
 * the CLI and the deconvnet read geometry from here; nothing else computes an output size.
 */
import { ArgumentError } from '../errors.js';
import type { Network, Shape } from './layers.js';
import { opDef } from '../engine/ops/index.js';
import { unionField } from '../engine/ops/util.js';

export { windowOut } from '../engine/ops/util.js';

/** The tensors op i reads (tensor -1 is the network input; a chain op reads the one before it). */
export function opInputs(net: Network, i: number): number[] {
  return net.ops[i].inputs ?? [i - 1];
}

/** Per tensor (index t + 1 for tensor t, so the network input is at 0), the ops that read it. */
export function readersOf(net: Network): number[][] {
  const readers: number[][] = Array.from({ length: net.ops.length + 1 }, () => []);
  net.ops.forEach((op, i) => {
    for (const t of opInputs(net, i)) if (!readers[t + 1].includes(i)) readers[t + 1].push(i);
  });
  return readers;
}

/** The output shape of every op for one image; throws naming the first op that cannot apply. */
export function inferShapes(net: Network): Shape[] {
  const shapes: Shape[] = [];
  const shapeOf = (t: number) => (t < 0 ? net.input : shapes[t]);
  net.ops.forEach((op, i) => {
    const inputs = opInputs(net, i);
    if (inputs.some((t) => !Number.isInteger(t) || t < -1 || t >= i)) {
      throw new ArgumentError(`${net.name}: op ${i} (${op.kind}) reads tensors [${inputs.join(', ')}]; ` +
        'an op may read only the network input (-1) and the outputs of ops before it');
    }
    let shape: Shape;
    try {
      shape = opDef(op).shape(op, inputs.map(shapeOf));
    } catch (e) {
      if (!(e instanceof ArgumentError)) throw e;
      throw new ArgumentError(`${net.name} op ${i} (${op.kind}): ${e.message}`);
    }
    if (shape.some((d) => !(d >= 1))) {
      throw new ArgumentError(`${net.name}: op ${i} (${op.kind}) gives an empty output ` +
        `[${shape.join(', ')}]; the input ${net.input.join('x')} is too small for this network`);
    }
    shapes.push(shape);
  });
  return shapes;
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

export function receptiveFields(net: Network, shapes: Shape[] = inferShapes(net)): ReceptiveField[] {
  const fields: ReceptiveField[] = [];
  const input: ReceptiveField = { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: false };
  net.ops.forEach((op, i) => {
    const inputs = opInputs(net, i);
    const rfs = inputs.map((t) => (t < 0 ? input : fields[t]));
    const def = opDef(op);
    const xs = inputs.map((t) => (t < 0 ? net.input : shapes[t]));
    fields.push(def.field ? def.field(op, rfs, xs, shapes[i]) : unionField(rfs));
  });
  return fields;
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
