/**
 * BatchNormalization at inference, as the per-channel scale and shift it amounts to
 * (scale = gamma / sqrt(var + eps), shift = beta - mean * scale, computed at import). A BN right
 * after a Conv that nothing else reads is folded into that Conv instead (see its ONNX mapping below).
 */
import { ArgumentError } from '../../errors.js';
import type { BatchNormOp } from '../../graph/layers.js';
import type { OpDef } from './types.js';
import { only, size } from './util.js';
import { elementwise } from './region.js';

export const batchnorm: OpDef<BatchNormOp> = {
  kind: 'batchnorm',
  shape(op, inputs) {
    const x = only(inputs, 'BatchNormalization');
    if (x.length < 1) throw new ArgumentError(`BatchNormalization needs a [C, ...] input, got [${x.join(', ')}]`);
    return x;
  },
  params: (op, [[c]]) => ({ scale: [c], shift: [c] }),
  forward(op, { k, n, x: [x], xs: [[c, ...rest]], y, p }) {
    k.channelAffine(n, c, size(rest), p.scale, p.shift, x, y);
  },
  backward(op, { k, n, xs: [[c, ...rest]], dy, dx: [dx], p, span }) {
    k.channelAffineBackward(n, c, size(rest), p.scale, dy, dx);
    return [span];
  },
};


batchnorm.region = elementwise(() => batchnorm);

batchnorm.onnx = {
  BatchNormalization(m) {
    const a = m.attrs;
    a.allow('epsilon', 'momentum', 'spatial', 'is_test', 'training_mode', 'consumed_inputs');
    if (a.int('spatial', 1) !== 1) throw a.bad('spatial', '0 (per-position statistics) is not supported');
    if (a.int('training_mode', 0) !== 0) throw a.bad('training_mode', '1 (batch statistics) is not supported; export in eval mode');
    const x = m.data(0);
    const eps = a.float('epsilon', 1e-5);
    if (eps < 0) throw a.bad('epsilon', `is ${eps}; it must be >= 0`);
    const channels = m.wholeTensor ? x.shape[1] : x.shape[0];
    const [gamma, beta, mean, variance] = ['scale', 'B', 'mean', 'var'].map((role, j) => {
      const c = m.constant(j + 1, role)!;
      if (c.values().length !== channels) throw m.fail(`${role} [${c.dims.join(', ')}] does not fit ${channels} channels`);
      const bad = c.values().findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw m.fail(`${role}${c.ref ? ` '${c.ref.name}'` : ''} value ${bad} is ${c.values()[bad]}; it must be finite`);
      return c.values();
    });
    const negative = variance.findIndex((v) => !(v + eps > 0));
    if (negative >= 0) {
      throw m.fail(`var value ${negative} is ${variance[negative]}: var + epsilon (${variance[negative] + eps}) must be > 0`);
    }
    const scale = gamma.map((g, c) => g / Math.sqrt(variance[c] + eps));
    const shift = beta.map((b, c) => b - mean[c] * scale[c]);
    // Folded into the conv before it when nothing else reads that conv's output.
    const producer = m.producer(x.id);
    const conv = producer?.kind === 'conv' ? producer : undefined;
    const params = m.params(x.id);
    if (conv && params && m.readers(x.id) === 1) {
      const bias = params.bias ? m.readTransfer(params.bias) : new Float64Array(channels);
      params.weight = { ...params.weight, rowScale: scale };
      params.bias = { values: bias.map((b, c) => b * scale[c] + shift[c]), scale: 1 };
      conv.bias = true;
      return m.alias(x.id);
    }
    if (m.wholeTensor) {
      // The channel axis is not the engine's first here: a per-channel multiply and add.
      const shape = [channels, ...x.shape.slice(2).map(() => 1)];
      const scaled = m.emit({ kind: 'binary', fn: 'mul', constant: { shape, side: 1 } }, [x.id], { b: { values: scale, scale: 1 } }, -1);
      m.emit({ kind: 'binary', fn: 'add', constant: { shape, side: 1 } }, [scaled], { b: { values: shift, scale: 1 } });
      return;
    }
    m.emit({ kind: 'batchnorm' }, [x.id], { scale: { values: scale, scale: 1 }, shift: { values: shift, scale: 1 } });
  },
};
