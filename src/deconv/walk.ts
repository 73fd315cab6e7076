/**
 * The backward walk from one tensor down to the input, one image at a time, in the model's
 * planned buffers (design.md, "Deconvnet conventions"; the rules per op are in src/engine/ops/):
 * rectifiers take the mode's rule (deconvnet relu(R), guided relu(R) * mask, gradient R * mask),
 * the deconvnet passes LRN as identity, and every other op sends back its exact gradient. The
 * network is a DAG: ops are visited in reverse topological order, and a tensor read by several
 * ops sums what each sends back.
 *
 * Only the region that can be non-zero is computed: each tensor's gradient carries a span (rows
 * and columns, all channels) outside which it is exactly zero. Window ops grow the span by their
 * reach, a transposed conv runs on the cropped span alone (the expensive part), and a sum's span
 * is the union of its parts'. `null` means the whole tensor (after dense layers, or when the
 * caller asks for full maps).
 */
import type { Model } from '../engine/model.js';
import type { Region } from '../memory/arena.js';
import { opInputs, size } from '../graph/shapes.js';
import { opDef, type Span } from '../engine/ops/index.js';
import type { ProjectionMode } from '../engine/ops/types.js';
import { unionSpan } from '../engine/ops/util.js';
import { ArgumentError, KernelError } from '../errors.js';

export type { ProjectionMode, Span };
export const MODES: readonly ProjectionMode[] = ['deconvnet', 'guided', 'gradient'];

export interface Seed {
  /** Flat indices into the start tensor (of one image), and the values to put there. */
  at: number[];
  values: number[];
  span: Span;
}

/**
 * Walk `seed` from tensor `start` (an op's output) down to the input, writing the input-shaped
 * result into `out` (which must be zero); returns the span of the input that can be non-zero.
 */
export function walkDown(model: Model, image: number, start: number, seed: Seed, mode: ProjectionMode,
                         fullMaps: boolean, out: Float32Array): Span {
  const { written, spans } = walk(model, image, start, seed, mode, fullMaps, -1);
  const span = spans[0];
  const input = model.network.input;
  const result = model.arena.f32(model.walkBuffers().grads[0]).subarray(0, size(input));
  if (!written[0]) return span; // the start does not depend on the input: nothing comes back
  if (!span || input.length !== 3) {
    out.set(result);
  } else {
    const [c, h, w] = input;
    for (let ch = 0; ch < c; ch++) {
      for (let y = span.y0; y < span.y1; y++) {
        const row = (ch * h + y) * w;
        out.set(result.subarray(row + span.x0, row + span.x1), row + span.x0);
      }
    }
  }
  return span;
}

/**
 * The gradient (by `mode`'s rules) of the seed at tensor `start` with respect to tensor `stop`
 * (an earlier tensor, -1 the input), one image; undefined when `start` does not depend on it.
 */
export function gradientAt(model: Model, image: number, start: number, seed: Seed, mode: ProjectionMode, stop: number): Float32Array | undefined {
  const { written } = walk(model, image, start, { ...seed, span: null }, mode, true, stop);
  if (!written[stop + 1]) return undefined;
  return model.arena.read(model.walkBuffers().grads[stop + 1], 0, size(model.tensorShape(stop)));
}

/** Visit ops from `start` down to just above tensor `stop`, summing each tensor's gradient. */
function walk(model: Model, image: number, start: number, seed: Seed, mode: ProjectionMode, fullMaps: boolean, stop: number) {
  const { arena, network, kernels: k } = model;
  const back = model.walkBuffers();
  const grad = (t: number): Region => back.grads[t + 1];
  const written = new Uint8Array(network.ops.length + 1);
  const spans: Span[] = new Array(network.ops.length + 1).fill(null);
  const startShape = model.tensorShape(start);
  k.fill(grad(start).offset, 0, size(startShape));
  const view = arena.f32(grad(start));
  seed.at.forEach((i, n) => { view[i] += seed.values[n]; });
  written[start + 1] = 1;
  spans[start + 1] = fullMaps || startShape.length !== 3 ? null : seed.span;
  // Byte offset of this image's part of tensor t in the forward buffers.
  const at = (t: number) => model.tensorRegion(t).offset + image * size(model.tensorShape(t)) * 4;

  for (let i = start; i > stop; i--) {
    if (!written[i + 1]) continue;
    const op = network.ops[i];
    const def = opDef(op);
    if (!def.backward) {
      throw new ArgumentError(`a projection cannot pass op ${i} (${op.kind}${op.name ? ` '${op.name}'` : ''}): ` +
        'it has no backward pass');
    }
    const inputs = opInputs(network, i);
    // The first reader to send back writes the tensor's own buffer; later ones a temporary, added after.
    const claimed = new Set<number>();
    const targets = inputs.map((t, j) => {
      const own = !written[t + 1] && !claimed.has(t);
      claimed.add(t);
      const r = own ? grad(t) : back.temps[j];
      k.fill(r.offset, 0, size(model.tensorShape(t)));
      return { t, r, own };
    });
    let sent: Span[];
    try {
      sent = def.backward(op, {
        k, mode, n: 1, x: inputs.map(at), xs: inputs.map((t) => model.tensorShape(t)), y: at(i), ys: model.shapes[i],
        p: model.paramOffsets(i), switches: (model.switchRegion(i)?.offset ?? 0) + image * (def.switches?.(op, model.shapes[i]) ?? 0) * 4,
        dy: grad(i).offset, span: spans[i + 1], dx: targets.map((x) => x.r.offset),
        scratch: model.scratchRegion().offset, cropIn: back.cropIn.offset, cropOut: back.cropOut.offset,
        packed: () => model.packedWeights(i).offset,
      });
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      throw new KernelError(`${network.name} op ${i} (${op.kind}) backward: the kernel trapped (${e.message}); ` +
        'this is a bug in zf-visualizer, please report it');
    }
    targets.forEach(({ t, r, own }, j) => {
      const span = fullMaps || model.tensorShape(t).length !== 3 ? null : sent[j];
      if (own) {
        spans[t + 1] = span;
      } else {
        k.accumulate(size(model.tensorShape(t)), r.offset, grad(t).offset);
        spans[t + 1] = unionSpan(spans[t + 1], span);
      }
      written[t + 1] = 1;
    });
  }
  return { written, spans };
}
