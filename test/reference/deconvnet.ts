/**
 * An independent, naive deconvnet (Zeiler & Fergus, section 2.1; docs/paper.md section 2 and
 * docs/design.md "Deconvnet conventions"), in plain float64 loops. It shares no code with the
 * engine: it resolves layer names, infers shapes, runs the forward pass (recording its own
 * switches), selects the kept units, computes receptive boxes and walks back down by itself.
 * Only the `Network` description (a type) is taken from src/.
 *
 * The walk, op by op from the chosen point down to the input:
 * - max-pool: unpool, each value to its switch, summing where windows share one;
 * - ReLU: deconvnet rectifies the signal (ignores the forward activation); gradient passes where
 *   the forward activation is > 0; guided does both;
 * - LRN: identity in deconvnet, the true backward (vector-Jacobian product) otherwise;
 * - conv: transposed convolution with the same filters, stride, pads and groups, no bias, into
 *   exactly the forward input's size;
 * - dense: W^T; flatten and dropout: identity.
 * Seeds: the deconvnet feeds the kept activation values; gradient and guided feed 1 at each
 * kept unit (the gradient of the kept activations' sum).
 */
import type { Network, Op } from '../../src/graph/layers.js';

export type RefMode = 'deconvnet' | 'guided' | 'gradient';
export type RefPoint = 'conv' | 'relu' | 'pool' | 'norm';
export type RefKeep = 'max' | 'all' | { y: number; x: number } | { top: number };

export interface RefWeights { weight: ArrayLike<number>; bias?: ArrayLike<number> }

/** Inclusive-exclusive box in input pixels: rows [y0, y1), columns [x0, x1). */
export interface RefBox { y0: number; x0: number; y1: number; x1: number }

export interface RefUnit { map: number; y: number; x: number; value: number; box: RefBox }

export interface RefForward {
  /** Output of every op for the one image (float64). */
  outputs: Float64Array[];
  /** Output shape of every op: [C, H, W] while spatial, [n] once flattened. */
  shapes: number[][];
  /** For each max-pool op, per output cell the flat index y*W + x of its max in the input plane. */
  switches: (Int32Array | undefined)[];
  /**
   * For each max-pool op, per output cell how far the runner-up of its window is below the
   * winner (Infinity for a one-cell window): a tiny gap means float32 rounding could flip it.
   */
  gaps: (Float64Array | undefined)[];
  input: Float64Array;
}

export interface RefChoice {
  layer: string;
  point?: RefPoint;
  map: number;
  keep?: RefKeep;
  mode?: RefMode;
  /**
   * Deconvnet seeds to use instead of this reference's own activations, one per kept unit in
   * the units' order: lets a caller compare the walk alone, from the very seeds another
   * implementation (float32) fed, when a kept activation is small and its rounding dominates.
   */
  seedValues?: number[];
}

export interface RefProjection {
  /** [K, C, H, W]. */
  shape: number[];
  data: Float64Array;
  units: RefUnit[];
  boxes: RefBox[];
  /** The op whose output was projected. */
  op: number;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Output length of a pool/conv window along one axis. */
function windowCount(n: number, k: number, s: number, before: number, after: number, ceil: boolean): number {
  const span = n + before + after - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // With ceil rounding, a last window starting past the input and leading pad is dropped.
  if (ceil && (out - 1) * s >= n + before) out -= 1;
  return out;
}

/** The op a layer name and point refer to: conv{i}/fc{i} count convs and dense layers in order. */
export function refLocate(net: Network, layer: string, point?: RefPoint): { op: number; point: RefPoint } {
  let count = 0;
  for (let i = 0; i < net.ops.length; i++) {
    const kind = net.ops[i].kind;
    if (kind !== 'conv' && kind !== 'dense') continue;
    count += 1;
    if (`${kind === 'conv' ? 'conv' : 'fc'}${count}` !== layer) continue;
    const found: Partial<Record<RefPoint, number>> = { conv: i };
    for (let j = i + 1; j < net.ops.length; j++) {
      const k = net.ops[j].kind;
      if (k === 'conv' || k === 'dense') break;
      if (k === 'relu') found.relu ??= j;
      if (k === 'maxpool') found.pool ??= j;
      if (k === 'lrn') found.norm ??= j;
    }
    const p = point ?? (found.relu !== undefined ? 'relu' : 'conv');
    const op = found[p];
    if (op === undefined) throw new Error(`reference: ${layer} has no point ${p}`);
    return { op, point: p };
  }
  throw new Error(`reference: no layer ${layer}`);
}

/** The name (conv{i} / fc{i}) of the layer whose weights op i uses. */
function layerName(net: Network, i: number): string {
  let count = 0;
  for (let j = 0; j <= i; j++) if (net.ops[j].kind === 'conv' || net.ops[j].kind === 'dense') count += 1;
  return `${net.ops[i].kind === 'conv' ? 'conv' : 'fc'}${count}`;
}

function lrnWin(c: number, C: number, size: number): [number, number] {
  return [Math.max(0, c - Math.floor((size - 1) / 2)), Math.min(C - 1, c + Math.ceil((size - 1) / 2))];
}

/** The forward pass of one image [C, H, W], float64, recording switches (first max, strict >). */
export function refForward(net: Network, weights: (layer: string) => RefWeights, image: ArrayLike<number>): RefForward {
  const input = Float64Array.from(image);
  if (input.length !== prod(net.input)) throw new Error('reference: image size does not fit the network');
  const outputs: Float64Array[] = [];
  const shapes: number[][] = [];
  const switches: (Int32Array | undefined)[] = [];
  const gaps: (Float64Array | undefined)[] = [];
  let x: Float64Array = input;
  let shape: number[] = [...net.input];
  net.ops.forEach((op, i) => {
    let y: Float64Array;
    let out: number[] = shape;
    let sw: Int32Array | undefined;
    let gap: Float64Array | undefined;
    switch (op.kind) {
      case 'conv': {
        const [C, H, W] = shape;
        const OH = windowCount(H, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], false);
        const OW = windowCount(W, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], false);
        const OC = op.filters, G = op.groups, Cg = C / G, OCg = OC / G;
        const [KH, KW] = op.kernel;
        const { weight: w, bias } = weights(layerName(net, i));
        y = new Float64Array(OC * OH * OW);
        for (let oc = 0; oc < OC; oc++) {
          const c0 = Math.floor(oc / OCg) * Cg;
          for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
              let s = bias ? bias[oc] : 0;
              for (let c = 0; c < Cg; c++) {
                for (let ky = 0; ky < KH; ky++) {
                  const iy = oy * op.stride[0] - op.pads[0] + ky;
                  if (iy < 0 || iy >= H) continue;
                  for (let kx = 0; kx < KW; kx++) {
                    const ix = ox * op.stride[1] - op.pads[1] + kx;
                    if (ix < 0 || ix >= W) continue;
                    s += w[((oc * Cg + c) * KH + ky) * KW + kx] * x[((c0 + c) * H + iy) * W + ix];
                  }
                }
              }
              y[(oc * OH + oy) * OW + ox] = s;
            }
          }
        }
        out = [OC, OH, OW];
        break;
      }
      case 'relu':
        y = x.map((v) => (v > 0 ? v : 0));
        break;
      case 'maxpool': {
        const [C, H, W] = shape;
        const OH = windowCount(H, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], op.ceil);
        const OW = windowCount(W, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], op.ceil);
        y = new Float64Array(C * OH * OW);
        sw = new Int32Array(C * OH * OW);
        gap = new Float64Array(C * OH * OW);
        for (let c = 0; c < C; c++) {
          for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
              let best = -1, m = -Infinity, second = -Infinity;
              // Row-major scan of the window's in-image cells; strict > keeps the first maximum.
              for (let ky = 0; ky < op.kernel[0]; ky++) {
                const iy = oy * op.stride[0] - op.pads[0] + ky;
                if (iy < 0 || iy >= H) continue;
                for (let kx = 0; kx < op.kernel[1]; kx++) {
                  const ix = ox * op.stride[1] - op.pads[1] + kx;
                  if (ix < 0 || ix >= W) continue;
                  const v = x[(c * H + iy) * W + ix];
                  if (best < 0 || v > m) { second = m; m = v; best = iy * W + ix; } else if (v > second) second = v;
                }
              }
              if (best < 0) throw new Error('reference: a pooling window misses the image');
              const o = (c * OH + oy) * OW + ox;
              y[o] = m;
              sw[o] = best;
              gap[o] = m - second;
            }
          }
        }
        out = [C, OH, OW];
        break;
      }
      case 'lrn': {
        const [C, H, W] = shape;
        const HW = H * W;
        y = new Float64Array(x.length);
        for (let c = 0; c < C; c++) {
          const [lo, hi] = lrnWin(c, C, op.size);
          for (let p = 0; p < HW; p++) {
            let s = 0;
            for (let j = lo; j <= hi; j++) s += x[j * HW + p] * x[j * HW + p];
            y[c * HW + p] = x[c * HW + p] * Math.pow(op.bias + (op.alpha / op.size) * s, -op.beta);
          }
        }
        break;
      }
      case 'dense': {
        const I = x.length;
        const { weight: w, bias } = weights(layerName(net, i));
        y = new Float64Array(op.units);
        for (let o = 0; o < op.units; o++) {
          let s = bias ? bias[o] : 0;
          for (let k = 0; k < I; k++) s += w[o * I + k] * x[k];
          y[o] = s;
        }
        out = [op.units];
        break;
      }
      case 'flatten':
        y = x;
        out = [x.length];
        break;
      case 'dropout':
        y = x;
        break;
      case 'softmax': {
        const m = Math.max(...x);
        const e = x.map((v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        y = e.map((v) => v / s);
        break;
      }
      default:
        throw new Error(`reference: op ${(op as Op).kind} is not supported`);
    }
    outputs.push(y);
    shapes.push(out);
    switches.push(sw);
    gaps.push(gap);
    x = y;
    shape = out;
  });
  return { outputs, shapes, switches, gaps, input };
}

/**
 * Walk `seed` (a tensor the size of op `op`'s output) down to the input, by `mode`.
 * Returns the input-sized result [C, H, W].
 */
export function refWalk(net: Network, weights: (layer: string) => RefWeights, fwd: RefForward, op: number,
                        seed: Float64Array, mode: RefMode): Float64Array {
  let g = Float64Array.from(seed);
  if (g.length !== fwd.outputs[op].length) throw new Error('reference: seed does not fit the op output');
  for (let i = op; i >= 0; i--) {
    const o: Op = net.ops[i];
    const inShape = i === 0 ? [...net.input] : fwd.shapes[i - 1];
    const xin = i === 0 ? fwd.input : fwd.outputs[i - 1];
    switch (o.kind) {
      case 'conv': {
        const [C, H, W] = inShape;
        const [OC, OH, OW] = fwd.shapes[i];
        const G = o.groups, Cg = C / G, OCg = OC / G;
        const [KH, KW] = o.kernel;
        const w = weights(layerName(net, i)).weight;
        const dx = new Float64Array(C * H * W);
        // Every forward term w * x[iy, ix] becomes w * g[oy, ox] added into dx[iy, ix].
        for (let oc = 0; oc < OC; oc++) {
          const c0 = Math.floor(oc / OCg) * Cg;
          for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
              const d = g[(oc * OH + oy) * OW + ox];
              if (d === 0) continue;
              for (let c = 0; c < Cg; c++) {
                for (let ky = 0; ky < KH; ky++) {
                  const iy = oy * o.stride[0] - o.pads[0] + ky;
                  if (iy < 0 || iy >= H) continue;
                  for (let kx = 0; kx < KW; kx++) {
                    const ix = ox * o.stride[1] - o.pads[1] + kx;
                    if (ix < 0 || ix >= W) continue;
                    dx[((c0 + c) * H + iy) * W + ix] += w[((oc * Cg + c) * KH + ky) * KW + kx] * d;
                  }
                }
              }
            }
          }
        }
        g = dx;
        break;
      }
      case 'relu': {
        const f = fwd.outputs[i];
        g = g.map((d, k) => {
          if (mode === 'deconvnet') return d > 0 ? d : 0;
          if (mode === 'gradient') return f[k] > 0 ? d : 0;
          return f[k] > 0 && d > 0 ? d : 0;
        });
        break;
      }
      case 'maxpool': {
        const [C, H, W] = inShape;
        const [, OH, OW] = fwd.shapes[i];
        const sw = fwd.switches[i]!;
        const dx = new Float64Array(C * H * W);
        for (let c = 0; c < C; c++) {
          for (let k = 0; k < OH * OW; k++) dx[c * H * W + sw[c * OH * OW + k]] += g[c * OH * OW + k];
        }
        g = dx;
        break;
      }
      case 'lrn': {
        if (mode === 'deconvnet') break;
        // y[c] = x[c] * t[c]^-beta, t[c] = bias + alpha/size * sum_{j in win(c)} x[j]^2:
        // dx[j] = g[j] t[j]^-beta + sum_{c : j in win(c)} g[c] x[c] (-beta) t[c]^(-beta-1) (alpha/size) 2 x[j].
        const [C, H, W] = inShape;
        const HW = H * W;
        const dx = new Float64Array(C * HW);
        for (let p = 0; p < HW; p++) {
          for (let c = 0; c < C; c++) {
            const [lo, hi] = lrnWin(c, C, o.size);
            let s = 0;
            for (let j = lo; j <= hi; j++) s += xin[j * HW + p] ** 2;
            const t = o.bias + (o.alpha / o.size) * s;
            const gc = g[c * HW + p];
            dx[c * HW + p] += gc * Math.pow(t, -o.beta);
            const common = gc * xin[c * HW + p] * -o.beta * Math.pow(t, -o.beta - 1) * (o.alpha / o.size) * 2;
            for (let j = lo; j <= hi; j++) dx[j * HW + p] += common * xin[j * HW + p];
          }
        }
        g = dx;
        break;
      }
      case 'dense': {
        const I = prod(inShape);
        const w = weights(layerName(net, i)).weight;
        const dx = new Float64Array(I);
        for (let u = 0; u < o.units; u++) {
          const d = g[u];
          if (d === 0) continue;
          for (let k = 0; k < I; k++) dx[k] += w[u * I + k] * d;
        }
        g = dx;
        break;
      }
      case 'flatten': case 'dropout':
        break;
      default:
        throw new Error(`reference: cannot walk down through ${o.kind}`);
    }
  }
  return g;
}

/** The receptive box of unit (y, x) of op `op`: unclipped extent through every window op, then clipped. */
export function refBox(net: Network, op: number, y: number, x: number): RefBox {
  const [, H, W] = net.input;
  let y0 = y, y1 = y, x0 = x, x1 = x;
  for (let i = op; i >= 0; i--) {
    const o = net.ops[i];
    if (o.kind === 'dense' || o.kind === 'flatten') return { y0: 0, x0: 0, y1: H, x1: W };
    if (o.kind === 'conv' || o.kind === 'maxpool' || o.kind === 'avgpool') {
      y0 = y0 * o.stride[0] - o.pads[0];
      y1 = y1 * o.stride[0] - o.pads[0] + o.kernel[0] - 1;
      x0 = x0 * o.stride[1] - o.pads[1];
      x1 = x1 * o.stride[1] - o.pads[1] + o.kernel[1] - 1;
    }
  }
  return { y0: Math.max(0, y0), x0: Math.max(0, x0), y1: Math.min(H, y1 + 1), x1: Math.min(W, x1 + 1) };
}

/** The kept positions (flat indices into the [h, w] map), strongest first; ties: lower index first. */
export function refSelect(map: ArrayLike<number>, h: number, w: number, keep: RefKeep): number[] {
  const idx = Array.from({ length: map.length }, (_, i) => i);
  if (keep === 'all') return idx.filter((i) => map[i] !== 0);
  if (keep === 'max') {
    let best = 0;
    for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
    return [best];
  }
  if ('top' in keep) {
    if (keep.top < 1 || keep.top > map.length) throw new Error('reference: top-k out of range');
    return idx.sort((a, b) => (map[b] !== map[a] ? map[b] - map[a] : a - b)).slice(0, keep.top);
  }
  if (keep.y < 0 || keep.x < 0 || keep.y >= h || keep.x >= w) throw new Error('reference: position outside the map');
  return [keep.y * w + keep.x];
}

/** Project a choice of one image: forward (or the given forward), keep, walk by mode. */
export function refProject(net: Network, weights: (layer: string) => RefWeights, image: ArrayLike<number>,
                           choice: RefChoice, forward?: RefForward): RefProjection {
  const fwd = forward ?? refForward(net, weights, image);
  const { op } = refLocate(net, choice.layer, choice.point);
  const mode = choice.mode ?? 'deconvnet';
  const keep = choice.keep ?? 'max';
  const shape = fwd.shapes[op];
  const [maps, h, w] = shape.length === 3 ? shape : [shape[0], 1, 1];
  if (choice.map < 0 || choice.map >= maps) throw new Error('reference: map out of range');
  const act = fwd.outputs[op];
  const map = act.subarray(choice.map * h * w, (choice.map + 1) * h * w);
  const positions = refSelect(map, h, w, keep);
  const units = positions.map((p) => {
    const y = Math.floor(p / w), x = p % w;
    return { map: choice.map, y, x, value: map[p], box: refBox(net, op, y, x) };
  });
  const groups = typeof keep === 'object' && 'top' in keep ? positions.map((p) => [p]) : [positions];
  const per = prod(net.input);
  const data = new Float64Array(groups.length * per);
  const boxes: RefBox[] = [];
  if (choice.seedValues && choice.seedValues.length !== positions.length) throw new Error('reference: one seed value per unit');
  const valueAt = new Map(positions.map((p, k) => [p, choice.seedValues ? choice.seedValues[k] : map[p]]));
  groups.forEach((group, k) => {
    const seed = new Float64Array(act.length);
    for (const p of group) seed[choice.map * h * w + p] = mode === 'deconvnet' ? valueAt.get(p)! : 1;
    data.set(refWalk(net, weights, fwd, op, seed, mode), k * per);
    const bs = group.map((p) => refBox(net, op, Math.floor(p / w), p % w));
    boxes.push(bs.length === 0 ? { y0: 0, x0: 0, y1: net.input[1], x1: net.input[2] } : {
      y0: Math.min(...bs.map((b) => b.y0)), x0: Math.min(...bs.map((b) => b.x0)),
      y1: Math.max(...bs.map((b) => b.y1)), x1: Math.max(...bs.map((b) => b.x1)),
    });
  });
  return { shape: [groups.length, ...net.input], data, units, boxes, op };
}
