/**
 * The op table: every op kind the engine runs, each declared in its own file. Adding an op
 * means adding its file here (its ONNX mapping is its `onnx` entry).
 */
import type { Op } from '../../graph/layers.js';
import type { OpDef, OpTable } from './types.js';
import { avgpool } from './avgpool.js';
import { batchnorm } from './batchnorm.js';
import { binary } from './binary.js';
import { concat } from './concat.js';
import { constant } from './constant.js';
import { conv } from './conv.js';
import { dense } from './dense.js';
import { lrn } from './lrn.js';
import { maxpool } from './maxpool.js';
import { pad } from './pad.js';
import { pointwise } from './pointwise.js';
import { reducemean } from './reducemean.js';
import { relu } from './relu.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { transpose } from './transpose.js';
import { dropout, flatten, reshape } from './views.js';

export const OPS: OpTable = {
  conv, relu, maxpool, avgpool, lrn, dense, dropout, flatten, reshape, softmax,
  binary, pointwise, batchnorm, concat, slice, transpose, pad, reducemean, constant,
};

/** The table entry of an op (typed loosely: the entry matches the op's own kind). */
export function opDef(op: Op): OpDef {
  return OPS[op.kind] as unknown as OpDef;
}

export type { OpDef, Forward, Backward, Span, ProjectionMode } from './types.js';
