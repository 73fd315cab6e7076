/** Attribute readers the window ops' ONNX mappings share (Conv, MaxPool, AveragePool). */
import type { Pads, Shape } from '../graph/layers.js';
import type { Attrs } from './attrs.js';
import type { Const } from './consts.js';
import type { MapContext, Transfer } from './map-context.js';

/** strides, pads (auto_pad resolved against the input [C, H, W]) and dilations of a 2-D window op. */
export function spatialAttrs(a: Attrs, kernel: [number, number], input: Shape):
    { stride: [number, number]; pads: Pads; dilations: [number, number] } {
  const stride = a.pair('strides', [1, 1]);
  if (stride.some((s) => s < 1 || s > 65535)) throw a.bad('strides', `[${stride}] must be positive`);
  const dilations = a.pair('dilations', [1, 1]);
  if (dilations.some((d) => d < 1 || d > 65535)) throw a.bad('dilations', `[${dilations}] must be positive`);
  const autoPad = a.string('auto_pad', 'NOTSET');
  let pads: Pads;
  if (autoPad === 'NOTSET') {
    const p = a.ints('pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) throw a.bad('pads', `[${p}] should have 4 values [top, left, bottom, right] for a 2-D op`);
    if (p.some((v) => v < 0 || v > 65535)) throw a.bad('pads', `[${p}] must be non-negative`);
    pads = [p[0], p[1], p[2], p[3]];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (const axis of [0, 1] as const) {
      const len = input[axis + 1];
      const out = Math.ceil(len / stride[axis]);
      const reach = (kernel[axis] - 1) * dilations[axis] + 1;
      const total = Math.max(0, (out - 1) * stride[axis] + reach - len);
      const small = Math.floor(total / 2);
      const [before, after] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      pads[axis] = before;
      pads[axis + 2] = after;
    }
  } else {
    throw a.bad('auto_pad', `'${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
  }
  return { stride, pads, dilations };
}

/** How to fill a param from a constant: straight from the file when it is a file tensor, else its values. */
export function transferOf(c: Const, scale = 1): Transfer {
  if (c.ref && !c.int) return { tensor: c.ref, scale };
  return { values: c.values(), scale };
}

/** The data input 0 of a spatial op, checked to be [C, H, W]. */
export function imageInput(m: MapContext): { id: number; shape: Shape } {
  const x = m.data(0);
  if (x.shape.length !== 3) {
    const why = m.wholeReason();
    throw m.fail(`needs a [N, C, H, W] input, got [${m.wholeTensor ? '' : 'N, '}${x.shape.join(', ')}]` +
      (why ? ` (the graph runs as one whole tensor, without a batch axis, because ${why} acts on the batch axis)` : ''));
  }
  return x;
}
