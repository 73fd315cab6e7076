/**
 * Ops that only reinterpret their input's buffer: Dropout (identity at inference), Flatten and
 * Reshape (row-major order kept). Their output is their input's memory; backward copies the
 * gradient through, keeping the span where the shape keeps the spatial axes.
 */
import { ArgumentError } from '../../errors.js';
import type { DropoutOp, FlattenOp, ReshapeOp, Shape } from '../../graph/layers.js';
import type { Backward, OpDef, Span } from './types.js';
import type { MapContext } from '../../onnx/map-context.js';
import { reshapeDims } from '../../onnx/fold.js';
import { elementwise } from './region.js';
import { GLOBAL_FIELD, only, size } from './util.js';

function passBack({ k, n, ys, dy, dx: [dx], span, xs: [xs] }: Backward): Span[] {
  k.copy(n * size(ys), dy, dx);
  return [sameLayout(xs, ys) ? span : null];
}

function sameLayout(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const nothing = () => {};

export const dropout: OpDef<DropoutOp> = {
  kind: 'dropout', alias: true,
  shape: (op, inputs) => only(inputs, 'Dropout'),
  forward: nothing,
  backward: (op, b) => passBack(b),
};

export const flatten: OpDef<FlattenOp> = {
  kind: 'flatten', alias: true,
  shape: (op, inputs) => [size(only(inputs, 'Flatten'))],
  forward: nothing,
  backward: (op, b) => passBack(b),
  field: (op, [rf]) => GLOBAL_FIELD(rf),
};

export const reshape: OpDef<ReshapeOp> = {
  kind: 'reshape', alias: true,
  shape(op, inputs) {
    const x = only(inputs, 'Reshape');
    if (size(op.shape) !== size(x) || op.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ArgumentError(`cannot reshape [${x.join(', ')}] (${size(x)} values) to [${op.shape.join(', ')}]`);
    }
    if (op.shape.length > 4) throw new ArgumentError(`[${op.shape.join(', ')}] has more than 4 axes per image`);
    return [...op.shape];
  },
  forward: nothing,
  backward: (op, b) => passBack(b),
  field: (op, [rf], [xs], out) => (sameLayout(xs, out) ? rf : GLOBAL_FIELD(rf)),
};

/**
 * The engine shape of an ONNX reshape target for a data tensor: in batched mode the leading
 * entry is the batch (0 copies it, -1 infers it, a baked 1 means it), the rest is each image's.
 */
function reshapeTarget(m: MapContext, x: Shape, target: number[], allowZero: boolean): Shape {
  if (m.wholeTensor) return reshapeDims(x, target, allowZero, m.where());
  const lead = target[0];
  if (target.length === 0 || !((lead === 0 && !allowZero) || lead === -1 || lead === 1)) m.needsWholeTensor();
  const rest = target.slice(1).map((d, i) => (d === 0 && !allowZero ? (x[i] ?? NaN) : d));
  if (rest.some((d) => Number.isNaN(d))) throw m.fail(`the target shape [${target.join(', ')}] copies an axis the input [N, ${x.join(', ')}] lacks`);
  if (lead === -1 && rest.includes(-1)) m.needsWholeTensor();
  if (lead === -1 && size(rest) !== size(x)) m.needsWholeTensor();
  return reshapeDims(x, rest, true, m.where());
}

function emitReshape(m: MapContext, id: number, x: Shape, shape: Shape): void {
  // A reshape of a reshape nothing else reads is one reshape of the first's input (GoogLeNet's
  // x[:, 0] then unsqueeze: [1, H, W] -> [H, W] -> [1, H, W] is no reshape at all, and the
  // occlusion fast path keeps seeing an image).
  const p = m.producer(id);
  if (p?.kind === 'reshape' && m.readers(id) === 1) {
    const source = p.inputs?.[0] ?? id - 1;
    return emitReshape(m, source, m.shape(source), shape);
  }
  if (shape.length === x.length && shape.every((d, i) => d === x[i])) return m.alias(id);
  if (shape.length === 1 && x.length !== 1 && !m.wholeTensor) m.emit({ kind: 'flatten' }, [id]);
  else m.emit({ kind: 'reshape', shape }, [id]);
}

dropout.region = elementwise(() => dropout);

reshape.onnx = {
  Reshape(m) {
    m.attrs.allow('shape', 'allowzero');
    const x = m.data(0);
    const target = m.opset >= 5 ? m.ints(1, 'shape') : m.attrs.ints('shape');
    if (!target) throw m.fail('has no shape (neither an input nor, before opset 5, an attribute)');
    emitReshape(m, x.id, x.shape, reshapeTarget(m, x.shape, target, m.attrs.int('allowzero', 0) !== 0));
  },
  Flatten(m) {
    m.attrs.allow('axis');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const raw = m.attrs.int('axis', 1)!;
    const axis = raw < 0 ? raw + rank : raw;
    if (!(axis >= 0 && axis <= rank)) throw m.attrs.bad('axis', `${raw} is out of range for a rank-${rank} input`);
    const full = m.wholeTensor ? x.shape : [1, ...x.shape];
    const out = [size(full.slice(0, axis)), size(full.slice(axis))];
    if (!m.wholeTensor && axis !== 1) m.needsWholeTensor();
    emitReshape(m, x.id, x.shape, m.wholeTensor ? out : [out[1]]);
  },
  Squeeze(m) {
    m.attrs.allow('axes');
    const x = m.data(0);
    const rank = m.rank(x.shape);
    const raw = m.opset >= 13 ? m.ints(1, 'axes') : m.attrs.ints('axes');
    const axes = raw ? raw.map((a) => m.axis(a, rank, 'axis')) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    for (const a of axes) if (x.shape[a] !== 1) throw m.fail(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
    emitReshape(m, x.id, x.shape, x.shape.filter((d, i) => !axes.includes(i)));
  },
  Unsqueeze(m) {
    m.attrs.allow('axes');
    const x = m.data(0);
    const raw = m.opset >= 13 ? m.ints(1, 'axes') : m.attrs.ints('axes');
    if (!raw) throw m.fail('has no axes');
    const rank = m.rank(x.shape) + raw.length;
    const axes = raw.map((a) => m.axis(a, rank, 'axis'));
    const out: number[] = [];
    let k = 0;
    for (let i = 0; i < x.shape.length + axes.length; i++) out.push(axes.includes(i) ? 1 : x.shape[k++]);
    emitReshape(m, x.id, x.shape, out);
  },
};

flatten.onnx = {};

dropout.onnx = {
  Dropout(m) {
    m.attrs.allow('ratio', 'is_test', 'seed');
    const x = m.data(0);
    let rate = m.attrs.float('ratio', 0.5);
    const ratio = m.constant(1, 'ratio', false);
    if (ratio) rate = ratio.values()[0];
    const training = m.constant(2, 'training_mode', false);
    if (training && training.values()[0]) throw m.fail('training_mode is true; only inference (identity) dropout is supported');
    m.emit({ kind: 'dropout', rate: Number.isFinite(rate) ? rate : 0.5 }, [x.id]);
  },
};

flatten.onnxExport = {
  point: 'flatten',
  write(op, x) {
    x.current = x.input.length === 1 ? x.emit('Identity', x.name, [x.current], {}, x.out)
      : x.emit('Flatten', x.name, [x.current], { axis: 1 }, x.out);
  },
};

dropout.onnxExport = {
  point: 'dropout',
  write(op, x) {
    if (x.opset >= 12) {
      // From opset 12 the ratio is an optional scalar input (training_mode defaults to false).
      const ratio = x.addFloats(`${x.name}.ratio`, [], new Float32Array([op.rate]));
      x.current = x.emit('Dropout', x.name, [x.current, ratio], {}, x.out);
    } else {
      x.current = x.emit('Dropout', x.name, [x.current], { ratio: { float: op.rate } }, x.out);
    }
  },
};
