/**
 * A constant tensor on the data path (its `value` param), the same for every image: what a
 * Concat or another op reads beside the data when one of its inputs is a constant.
 */
import type { ConstantOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { GLOBAL_FIELD, size } from './util.js';

export const constant: OpDef<ConstantOp> = {
  kind: 'constant',
  shape: (op) => [...op.shape],
  params: (op) => ({ value: op.shape }),
  forward(op, { k, n, y, p }) {
    const per = size(op.shape);
    for (let i = 0; i < n; i++) k.copy(per, p.value, y + i * per * 4);
  },
  backward: () => [],
  field: (op, fields) => GLOBAL_FIELD(fields[0] ?? { offset: [0, 0], jump: [1, 1], extent: [1, 1], global: true }),
};
