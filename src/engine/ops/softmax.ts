/**
 * Softmax over one axis of each image's tensor, or over all of its values (the classifier's
 * head). Backward: the exact Jacobian-vector product, y * (dy - sum(dy * y)) along the axis.
 */
import { ArgumentError } from '../../errors.js';
import type { Shape, SoftmaxOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { GLOBAL_FIELD, only, size } from './util.js';

/** [outer, len, inner] of one image's tensor around the softmax axis. */
function around(op: SoftmaxOp, shape: Shape): [number, number, number] {
  if (op.axis === undefined) return [1, size(shape), 1];
  if (op.flat) return [size(shape.slice(0, op.axis)), size(shape.slice(op.axis)), 1];
  return [size(shape.slice(0, op.axis)), shape[op.axis], size(shape.slice(op.axis + 1))];
}

export const softmax: OpDef<SoftmaxOp> = {
  kind: 'softmax',
  shape(op, inputs) {
    const x = only(inputs, 'Softmax');
    if (op.axis !== undefined && !(op.axis >= 0 && op.axis < x.length)) {
      throw new ArgumentError(`softmax axis ${op.axis} is out of range for [${x.join(', ')}]`);
    }
    return x;
  },
  forward(op, { k, n, x: [x], xs: [xs], y }) {
    const [outer, len, inner] = around(op, xs);
    if (op.axis === undefined) k.softmax(n, len, x, y);
    else k.softmaxAxis(n * outer, len, inner, x, y);
  },
  backward(op, { k, n, y, ys, dy, dx: [dx] }) {
    const [outer, len, inner] = around(op, ys);
    k.softmaxAxisBackward(n * outer, len, inner, y, dy, dx);
    return [null];
  },
  field: (op, [rf]) => GLOBAL_FIELD(rf),
};

softmax.onnx = {
  Softmax(m) {
    m.attrs.allow('axis');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const axis = m.axis(m.attrs.int('axis', m.opset < 13 ? 1 : -1)!, rank);
    // Over every value of each image: the classifier head's softmax, and the kernel made for it.
    const all = m.opset < 13 ? axis === 0 && !m.wholeTensor : x.shape.every((d, i) => i === axis || d === 1);
    if (all) m.emit({ kind: 'softmax' }, [x.id]);
    else m.emit({ kind: 'softmax', axis, ...(m.opset < 13 ? { flat: true } : {}) }, [x.id]);
  },
};

softmax.onnxExport = {
  point: 'softmax',
  write(op, x) {
    if (op.axis !== undefined) throw new ArgumentError(`${x.networkName} op ${x.index}: a softmax over one axis cannot be exported`);
    if (x.input.length === 1) {
      x.current = x.emit('Softmax', x.name, [x.current], { axis: x.opset < 13 ? 1 : -1 }, x.out);
    } else if (x.opset < 13) {
      // Before opset 13 Softmax flattens from `axis`: exactly our softmax over C*H*W.
      x.current = x.emit('Softmax', x.name, [x.current], { axis: 1 }, x.out);
    } else {
      // From 13 it acts on one axis: flatten, softmax, and restore [N, C, H, W].
      x.current = x.flatten();
      x.current = x.emit('Softmax', x.unique(`${x.name}/flat`), [x.current], { axis: -1 });
      const shape = x.addInt64s(`${x.name}.shape`, [0, ...x.input]);
      x.current = x.emit('Reshape', x.name, [x.current, shape], {}, x.out);
    }
  },
};
