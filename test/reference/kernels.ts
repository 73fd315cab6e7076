/**
 * Scalar references for every kernel, written from the contracts in assembly/*.ts and
 * docs/design.md ("Deconvnet conventions"), not from the wasm code. Plain loops, float64
 * accumulation, one output element (or one scattered term) at a time. Inputs are the exact
 * f32 values handed to the kernels; outputs are Float64Array (Int32Array for switches).
 */

/**
 * Geometry of a convolution as the kernels take it (bottom/right pads implied by OH/OW).
 * DH/DW: dilations (absent: 1); tap (ky, kx) reads x[oy*SH - PT + ky*DH, ox*SW - PL + kx*DW].
 */
export interface ConvGeom {
  N: number; C: number; H: number; W: number;
  OC: number; KH: number; KW: number;
  SH: number; SW: number; PT: number; PL: number;
  DH?: number; DW?: number;
  OH: number; OW: number; groups: number;
}

/** Geometry of a pooling window op over `planes` = N*C planes of [H, W]; pads top, left, bottom, right. */
export interface PoolGeom {
  planes: number; H: number; W: number;
  KH: number; KW: number; SH: number; SW: number;
  PT: number; PL: number; PB: number; PR: number; OH: number; OW: number;
}

type Arr = ArrayLike<number>;

/**
 * y[n, oc, oy, ox] = bias[oc] + sum over c in oc's group, ky, kx of
 *   w[oc, c, ky, kx] * x[n, group*Cg + c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]  (0 outside).
 */
export function conv2dRef(g: ConvGeom, x: Arr, w: Arr, bias?: Arr): Float64Array {
  const { N, C, H, W, OC, KH, KW, SH, SW, PT, PL, OH, OW, groups } = g;
  const DH = g.DH ?? 1, DW = g.DW ?? 1;
  const Cg = C / groups, OCg = OC / groups;
  const y = new Float64Array(N * OC * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const grp = Math.floor(oc / OCg);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let s = bias ? bias[oc] : 0;
          for (let c = 0; c < Cg; c++) {
            const ci = grp * Cg + c;
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * SH - PT + ky * DH;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * SW - PL + kx * DW;
                if (ix < 0 || ix >= W) continue;
                s += w[((oc * Cg + c) * KH + ky) * KW + kx] * x[((n * C + ci) * H + iy) * W + ix];
              }
            }
          }
          y[((n * OC + oc) * OH + oy) * OW + ox] = s;
        }
      }
    }
  }
  return y;
}

/**
 * The adjoint of conv2dRef without bias: every term w * x of the forward becomes w * dy added
 * into dx at the same x position. dx has exactly the forward input's size.
 */
export function conv2dTransposeRef(g: ConvGeom, dy: Arr, w: Arr): Float64Array {
  const { N, C, H, W, OC, KH, KW, SH, SW, PT, PL, OH, OW, groups } = g;
  const DH = g.DH ?? 1, DW = g.DW ?? 1;
  const Cg = C / groups, OCg = OC / groups;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const grp = Math.floor(oc / OCg);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          const d = dy[((n * OC + oc) * OH + oy) * OW + ox];
          for (let c = 0; c < Cg; c++) {
            const ci = grp * Cg + c;
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * SH - PT + ky * DH;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * SW - PL + kx * DW;
                if (ix < 0 || ix >= W) continue;
                dx[((n * C + ci) * H + iy) * W + ix] += w[((oc * Cg + c) * KH + ky) * KW + kx] * d;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** The in-image cells of output (oy, ox)'s window, as flat indices iy*W + ix in row-major order. */
export function windowCells(g: PoolGeom, oy: number, ox: number): number[] {
  const cells: number[] = [];
  for (let ky = 0; ky < g.KH; ky++) {
    const iy = oy * g.SH - g.PT + ky;
    if (iy < 0 || iy >= g.H) continue;
    for (let kx = 0; kx < g.KW; kx++) {
      const ix = ox * g.SW - g.PL + kx;
      if (ix < 0 || ix >= g.W) continue;
      cells.push(iy * g.W + ix);
    }
  }
  return cells;
}

/**
 * Max over the window clipped to the image (the pad never wins); the switch is the flat index
 * iy*W + ix within the plane of the first maximum in row-major order (strict >).
 */
export function maxpoolRef(g: PoolGeom, x: Arr): { y: Float64Array; switches: Int32Array } {
  const { planes, H, W, OH, OW } = g;
  const y = new Float64Array(planes * OH * OW);
  const switches = new Int32Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const cells = windowCells(g, oy, ox);
        if (cells.length === 0) throw new Error('reference: a pooling window misses the image');
        let best = cells[0];
        let m = x[p * H * W + best];
        for (const at of cells) {
          const v = x[p * H * W + at];
          if (v > m) { m = v; best = at; }
        }
        const o = (p * OH + oy) * OW + ox;
        y[o] = m;
        switches[o] = best;
      }
    }
  }
  return { y, switches };
}

/** The selection max-pool applies given fixed switches: y[o] = x[plane, switch[o]]. */
export function selectRef(planes: number, H: number, W: number, OH: number, OW: number,
                          x: Arr, switches: Arr): Float64Array {
  const y = new Float64Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let o = 0; o < OH * OW; o++) y[p * OH * OW + o] = x[p * H * W + switches[p * OH * OW + o]];
  }
  return y;
}

/** dx = 0, then dx[plane, switch[o]] += dy[o]: values sharing a switch are summed. */
export function unpoolRef(planes: number, H: number, W: number, OH: number, OW: number,
                          dy: Arr, switches: Arr): Float64Array {
  const dx = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let o = 0; o < OH * OW; o++) dx[p * H * W + switches[p * OH * OW + o]] += dy[p * OH * OW + o];
  }
  return dx;
}

/**
 * The divisor of an average-pool window: its in-image cells, or (includePad) its cells inside the
 * padded input [-PT, H + PB) x [-PL, W + PR). That is the full KH*KW except where ceil mode lets
 * the last window run past the end pad: onnxruntime and PyTorch do not count the cells beyond it.
 */
function avgDivisor(g: PoolGeom, oy: number, ox: number, cells: number[], includePad: boolean): number {
  if (!includePad) return cells.length;
  let rows = 0, cols = 0;
  for (let ky = 0; ky < g.KH; ky++) {
    const iy = oy * g.SH - g.PT + ky;
    if (iy >= -g.PT && iy < g.H + g.PB) rows++;
  }
  for (let kx = 0; kx < g.KW; kx++) {
    const ix = ox * g.SW - g.PL + kx;
    if (ix >= -g.PL && ix < g.W + g.PR) cols++;
  }
  return rows * cols;
}

export function avgpoolRef(g: PoolGeom, includePad: boolean, x: Arr): Float64Array {
  const { planes, H, W, OH, OW } = g;
  const y = new Float64Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const cells = windowCells(g, oy, ox);
        let s = 0;
        for (const at of cells) s += x[p * H * W + at];
        y[(p * OH + oy) * OW + ox] = s / avgDivisor(g, oy, ox, cells, includePad);
      }
    }
  }
  return y;
}

/** The adjoint: each output cell spreads dy / divisor over its window's in-image cells. */
export function avgpoolBackwardRef(g: PoolGeom, includePad: boolean, dy: Arr): Float64Array {
  const { planes, H, W, OH, OW } = g;
  const dx = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const cells = windowCells(g, oy, ox);
        const share = dy[(p * OH + oy) * OW + ox] / avgDivisor(g, oy, ox, cells, includePad);
        for (const at of cells) dx[p * H * W + at] += share;
      }
    }
  }
  return dx;
}

export function reluRef(x: Arr): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : 0));
}

/** Gradient mode: dy passes where the forward activation is > 0. */
export function reluBackwardRef(fwd: Arr, dy: Arr): Float64Array {
  return Float64Array.from(dy, (d, i) => (fwd[i] > 0 ? d : 0));
}

/** Guided mode: dy passes where both the forward activation and dy are > 0. */
export function reluGuidedRef(fwd: Arr, dy: Arr): Float64Array {
  return Float64Array.from(dy, (d, i) => (fwd[i] > 0 && d > 0 ? d : 0));
}

/** ONNX/Caffe LRN window of channel c: [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped. */
export function lrnWindow(c: number, C: number, size: number): [number, number] {
  return [Math.max(0, c - Math.floor((size - 1) / 2)), Math.min(C - 1, c + Math.ceil((size - 1) / 2))];
}

/** t[c] = bias + alpha/size * sum_{j in win(c)} x[j]^2, layout [N, C, HW]. */
function lrnDenominators(N: number, C: number, HW: number, size: number, alpha: number, bias: number,
                         x: Arr): Float64Array {
  const t = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const [lo, hi] = lrnWindow(c, C, size);
      for (let i = 0; i < HW; i++) {
        let s = 0;
        for (let j = lo; j <= hi; j++) s += x[(n * C + j) * HW + i] ** 2;
        t[(n * C + c) * HW + i] = bias + (alpha / size) * s;
      }
    }
  }
  return t;
}

/** y[c] = x[c] / t[c]^beta. */
export function lrnRef(N: number, C: number, HW: number, size: number, alpha: number, beta: number,
                       bias: number, x: Arr): Float64Array {
  const t = lrnDenominators(N, C, HW, size, alpha, bias, x);
  return Float64Array.from(t, (tt, i) => x[i] * tt ** -beta);
}

/**
 * The vector-Jacobian product of lrnRef, built term by term from the forward formula:
 * y[c] depends on x[c] directly (t[c]^-beta) and on every x[j], j in win(c), through t[c]:
 *   dy[c]/dx[j] += x[c] * (-beta) t[c]^(-beta-1) * (alpha/size) * 2 x[j].
 */
export function lrnBackwardRef(N: number, C: number, HW: number, size: number, alpha: number, beta: number,
                               bias: number, x: Arr, dy: Arr): Float64Array {
  const t = lrnDenominators(N, C, HW, size, alpha, bias, x);
  const dx = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const [lo, hi] = lrnWindow(c, C, size);
      for (let i = 0; i < HW; i++) {
        const at = (n * C + c) * HW + i;
        dx[at] += dy[at] * t[at] ** -beta;
        const common = dy[at] * x[at] * -beta * t[at] ** (-beta - 1) * (alpha / size) * 2;
        for (let j = lo; j <= hi; j++) dx[(n * C + j) * HW + i] += common * x[(n * C + j) * HW + i];
      }
    }
  }
  return dx;
}

/** y[n, o] = bias[o] + sum_i W[o, i] x[n, i], W stored [O, I]. */
export function denseRef(N: number, I: number, O: number, x: Arr, w: Arr, bias?: Arr): Float64Array {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < I; i++) s += w[o * I + i] * x[n * I + i];
      y[n * O + o] = s;
    }
  }
  return y;
}

/** dx[n, i] = sum_o dy[n, o] W[o, i]. */
export function denseTransposeRef(N: number, I: number, O: number, dy: Arr, w: Arr): Float64Array {
  const dx = new Float64Array(N * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dy[n * O + o] * w[o * I + i];
      dx[n * I + i] = s;
    }
  }
  return dx;
}

/** Softmax of each row, computed with the row maximum subtracted. */
export function softmaxRef(N: number, classes: number, x: Arr): Float64Array {
  const y = new Float64Array(N * classes);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let i = 0; i < classes; i++) m = Math.max(m, x[n * classes + i]);
    let s = 0;
    for (let i = 0; i < classes; i++) s += Math.exp(x[n * classes + i] - m);
    for (let i = 0; i < classes; i++) y[n * classes + i] = Math.exp(x[n * classes + i] - m) / s;
  }
  return y;
}

/**
 * C[M, N] = C0 + A B with A read as a[m*sAm + k*sAk] and B row-major [K, N] (row stride ldb);
 * C0 and the result have row stride ldc (columns >= N are carried over unchanged).
 */
export function matmulRef(M: number, N: number, K: number, a: Arr, sAm: number, sAk: number,
                          b: Arr, ldb: number, c0: Arr, ldc: number): Float64Array {
  const c = Float64Array.from(c0);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * sAm + k * sAk] * b[k * ldb + n];
      c[m * ldc + n] = c0[m * ldc + n] + s;
    }
  }
  return c;
}

/** The panel layout packRows promises: panel j row k at 8*(j*K + k), zero past column N. */
export function packRowsRef(K: number, N: number, x: Arr, ldx: number): Float64Array {
  const panels = Math.ceil(N / 8);
  const out = new Float64Array(8 * K * panels);
  for (let j = 0; j < panels; j++) {
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < 8; n++) {
        const col = 8 * j + n;
        out[8 * (j * K + k) + n] = col < N ? x[k * ldx + col] : 0;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training kernels (assembly/conv2d.ts conv2dFilterGrad, assembly/dense.ts denseWeightGrad,
// assembly/sgd.ts), written from their contracts.

/**
 * The filter and bias gradients of conv2dRef, accumulated onto dw0/db0 (zeros when absent):
 *   dw[oc, c, ky, kx] += sum_n,oy,ox dy[n, oc, oy, ox] * x[n, group*Cg + c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW]
 *   db[oc] += sum_n,oy,ox dy[n, oc, oy, ox]
 * (window positions outside the image contribute nothing).
 */
export function conv2dFilterGradRef(g: ConvGeom, x: Arr, dy: Arr, dw0?: Arr, db0?: Arr):
    { dw: Float64Array; db: Float64Array } {
  const { N, C, H, W, OC, KH, KW, SH, SW, PT, PL, OH, OW, groups } = g;
  const DH = g.DH ?? 1, DW = g.DW ?? 1;
  const Cg = C / groups, OCg = OC / groups;
  const dw = dw0 ? Float64Array.from(dw0) : new Float64Array(OC * Cg * KH * KW);
  const db = db0 ? Float64Array.from(db0) : new Float64Array(OC);
  for (let oc = 0; oc < OC; oc++) {
    const grp = Math.floor(oc / OCg);
    for (let c = 0; c < Cg; c++) {
      const ci = grp * Cg + c;
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            for (let oy = 0; oy < OH; oy++) {
              const iy = oy * SH - PT + ky * DH;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < OW; ox++) {
                const ix = ox * SW - PL + kx * DW;
                if (ix < 0 || ix >= W) continue;
                s += dy[((n * OC + oc) * OH + oy) * OW + ox] * x[((n * C + ci) * H + iy) * W + ix];
              }
            }
          }
          dw[((oc * Cg + c) * KH + ky) * KW + kx] += s;
        }
      }
    }
    let b = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < OH * OW; p++) b += dy[(n * OC + oc) * OH * OW + p];
    db[oc] += b;
  }
  return { dw, db };
}

/** dw[o, i] += sum_n dy[n, o] x[n, i]; db[o] += sum_n dy[n, o] (onto dw0/db0, zeros when absent). */
export function denseWeightGradRef(N: number, I: number, O: number, x: Arr, dy: Arr, dw0?: Arr, db0?: Arr):
    { dw: Float64Array; db: Float64Array } {
  const dw = dw0 ? Float64Array.from(dw0) : new Float64Array(O * I);
  const db = db0 ? Float64Array.from(db0) : new Float64Array(O);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dy[n * O + o] * x[n * I + i];
      dw[o * I + i] += s;
    }
    for (let n = 0; n < N; n++) db[o] += dy[n * O + o];
  }
  return { dw, db };
}

/**
 * One step of SGD with momentum and weight decay, v = momentum*v - lr*(g + decay*w); w += v,
 * in float64 (w and v are updated in place).
 */
export function sgdMomentumRef(w: Float64Array, g: Arr, v: Float64Array, lr: number, momentum: number,
                               decay: number): void {
  for (let i = 0; i < w.length; i++) {
    v[i] = momentum * v[i] - lr * (g[i] + decay * w[i]);
    w[i] += v[i];
  }
}

/** The same step with every operation rounded to float32, in the order the formula is written. */
export function sgdMomentumF32(w: Float32Array, g: Arr, v: Float32Array, lr: number, momentum: number,
                               decay: number): void {
  const f = Math.fround;
  const lr32 = f(lr), m32 = f(momentum), d32 = f(decay);
  for (let i = 0; i < w.length; i++) {
    const step = f(lr32 * f(g[i] + f(d32 * w[i])));
    v[i] = f(f(m32 * v[i]) - step);
    w[i] = f(w[i] + v[i]);
  }
}

/** Root mean square of each of `filters` rows of `size` values (float64). */
export function filterRms(filters: number, size: number, w: Arr): number[] {
  return Array.from({ length: filters }, (_, f) => {
    let s = 0;
    for (let i = 0; i < size; i++) s += w[f * size + i] ** 2;
    return Math.sqrt(s / size);
  });
}

/**
 * assembly/strided.ts: for every index i < d (row-major), a = srcAt + Σ ik*sk, b = dstAt + Σ ik*tk
 * (element indices into src and dst); mode 0 dst[b] = src[a], 1 dst[b] += src[a],
 * 2 dst[b] = max(dst[b], src[a]). Returns a float64 copy of dst0 with those updates.
 */
export function stridedRef(mode: number, d: number[], s: number[], t: number[], src: Arr, srcAt: number,
                           dst0: Arr, dstAt: number): Float64Array {
  const dst = Float64Array.from(dst0);
  if (d.some((n) => n <= 0)) return dst;
  const idx = d.map(() => 0);
  for (;;) {
    let a = srcAt, b = dstAt;
    for (let k = 0; k < d.length; k++) { a += idx[k] * s[k]; b += idx[k] * t[k]; }
    if (a < 0 || a >= src.length || b < 0 || b >= dst.length) throw new RangeError(`index out of range: ${a}, ${b}`);
    const v = src[a];
    if (mode === 0) dst[b] = v;
    else if (mode === 1) dst[b] += v;
    else dst[b] = Math.max(dst[b], v); // NaN propagates and +0 > -0, as wasm's f32.max
    let k = d.length - 1;
    while (k >= 0 && ++idx[k] === d[k]) idx[k--] = 0;
    if (k < 0) return dst;
  }
}

/** binary's ops: 0 add, 1 sub, 2 mul, 3 div, 4 prelu (x >= 0 ? x : x*slope). */
export function binaryOpRef(kind: number, x: number, s: number): number {
  switch (kind) {
    case 0: return x + s;
    case 1: return x - s;
    case 2: return x * s;
    case 3: return x / s;
    case 4: return x >= 0 ? x : x * s;
    default: throw new RangeError(`kind ${kind}`);
  }
}

/** ∂op/∂x (which 0) or ∂op/∂s (which 1); prelu: x > 0 ? 1 : slope, and x < 0 ? x : 0. */
export function binaryGradRef(kind: number, which: number, x: number, s: number): number {
  switch (kind * 2 + which) {
    case 0: case 1: case 2: return 1;
    case 3: return -1;
    case 4: return s;
    case 5: return x;
    case 6: return 1 / s;
    case 7: return -x / (s * s);
    case 8: return x > 0 ? 1 : s;
    case 9: return x < 0 ? x : 0;
    default: throw new RangeError(`kind ${kind} which ${which}`);
  }
}

/** Calls f(i, offsets...) for every index of d in row-major order; i is the linear index. */
function forEachIndex(d: number[], strides: number[][], f: (i: number, offs: number[]) => void): void {
  const n = d.reduce((p, q) => p * q, 1);
  for (let i = 0; i < n; i++) {
    let rem = i;
    const offs = strides.map(() => 0);
    for (let k = d.length - 1; k >= 0; k--) {
      const ik = rem % d[k];
      rem = (rem - ik) / d[k];
      strides.forEach((s, j) => { offs[j] += ik * s[k]; });
    }
    f(i, offs);
  }
}

/** assembly/binary.ts: y[i] = op(a[Σ ik*ask], b[Σ ik*bsk]) over d, y contiguous. */
export function binaryRef(kind: number, d: number[], as: number[], bs: number[], a: Arr, b: Arr): Float64Array {
  const y = new Float64Array(d.reduce((p, q) => p * q, 1));
  forEachIndex(d, [as, bs], (i, [oa, ob]) => { y[i] = binaryOpRef(kind, a[oa], b[ob]); });
  return y;
}

/**
 * binaryBackward: dout0 + for every output index i, dy[i] * ∂op/∂(a or b) scattered to
 * Σ ik*osk. `abs` sums |terms| instead (the scale of the float32 accumulation error).
 */
export function binaryBackwardRef(kind: number, which: number, d: number[], as: number[], bs: number[],
                                  os: number[], a: Arr, b: Arr, dy: Arr, dout0: Arr, abs = false): Float64Array {
  const out = Float64Array.from(dout0, (v) => (abs ? Math.abs(v) : v));
  forEachIndex(d, [as, bs, os], (i, [oa, ob, oo]) => {
    const x = a.length ? a[oa] : 0, s = b.length ? b[ob] : 0;
    const term = dy[i] * binaryGradRef(kind, which, x, s);
    out[oo] += abs ? Math.abs(term) : term;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Depthwise convolution (assembly/depthwise.ts), written from its contract.

/** Geometry of a depthwise convolution: one [KH, KW] filter per channel, weights [C, 1, KH, KW]. */
export interface DepthwiseGeom {
  N: number; C: number; H: number; W: number; KH: number; KW: number;
  SH: number; SW: number; PT: number; PL: number; DH: number; DW: number; OH: number; OW: number;
}

/** Calls f(xi, wi) for every in-image tap (ky, kx) of output (oy, ox): xi = iy*W + ix in the plane, wi = ky*KW + kx in the filter. */
function depthwiseTaps(g: DepthwiseGeom, oy: number, ox: number, f: (xi: number, wi: number) => void): void {
  for (let ky = 0; ky < g.KH; ky++) {
    const iy = oy * g.SH - g.PT + ky * g.DH;
    if (iy < 0 || iy >= g.H) continue;
    for (let kx = 0; kx < g.KW; kx++) {
      const ix = ox * g.SW - g.PL + kx * g.DW;
      if (ix < 0 || ix >= g.W) continue;
      f(iy * g.W + ix, ky * g.KW + kx);
    }
  }
}

/** y[n, c, oy, ox] = bias[c] + sum over ky, kx of w[c, ky, kx] * x[n, c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW] (0 outside). */
export function depthwiseConv2dRef(g: DepthwiseGeom, x: Arr, w: Arr, bias?: Arr): Float64Array {
  const { N, C, H, W, KH, KW, OH, OW } = g;
  const y = new Float64Array(N * C * OH * OW);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const xo = (n * C + c) * H * W, wo = c * KH * KW, yo = (n * C + c) * OH * OW;
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      let s = bias ? bias[c] : 0;
      depthwiseTaps(g, oy, ox, (xi, wi) => { s += w[wo + wi] * x[xo + xi]; });
      y[yo + oy * OW + ox] = s;
    }
  }
  return y;
}

/** The adjoint of depthwiseConv2dRef without bias: each forward term w * x becomes w * dy added into dx at x's place. */
export function depthwiseConv2dTransposeRef(g: DepthwiseGeom, dy: Arr, w: Arr): Float64Array {
  const { N, C, H, W, KH, KW, OH, OW } = g;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const xo = (n * C + c) * H * W, wo = c * KH * KW, yo = (n * C + c) * OH * OW;
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const d = dy[yo + oy * OW + ox];
      depthwiseTaps(g, oy, ox, (xi, wi) => { dx[xo + xi] += w[wo + wi] * d; });
    }
  }
  return dx;
}

/**
 * dw[c, ky, kx] += sum_n,oy,ox dy[n, c, oy, ox] * x[n, c, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW] (in-image
 * taps), db[c] += sum_n,oy,ox dy[n, c, oy, ox], onto dw0/db0 (zeros when absent).
 */
export function depthwiseConv2dFilterGradRef(g: DepthwiseGeom, x: Arr, dy: Arr, dw0?: Arr, db0?: Arr):
    { dw: Float64Array; db: Float64Array } {
  const { N, C, H, W, KH, KW, OH, OW } = g;
  const dw = dw0 ? Float64Array.from(dw0) : new Float64Array(C * KH * KW);
  const db = db0 ? Float64Array.from(db0) : new Float64Array(C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const xo = (n * C + c) * H * W, wo = c * KH * KW, yo = (n * C + c) * OH * OW;
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const d = dy[yo + oy * OW + ox];
      depthwiseTaps(g, oy, ox, (xi, wi) => { dw[wo + wi] += d * x[xo + xi]; });
      db[c] += d;
    }
  }
  return { dw, db };
}

/** assembly/pointwise.ts's kinds, by number (the engine passes the index). */
export const UNARY_KINDS = ['sigmoid', 'tanh', 'elu', 'leakyrelu', 'hardsigmoid', 'hardswish', 'clip', 'affine'] as const;
export type UnaryKind = typeof UNARY_KINDS[number];

/** f(v) of each kind, in float64 from the formulas (alpha, beta as the kernel receives them, f32). */
export function unaryValue(kind: UnaryKind, alpha: number, beta: number, v: number): number {
  switch (kind) {
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'tanh': return Math.tanh(v);
    case 'elu': return v > 0 ? v : alpha * Math.expm1(v);
    case 'leakyrelu': return v >= 0 ? v : alpha * v;
    case 'hardsigmoid': return Math.max(0, Math.min(1, alpha * v + beta));
    case 'hardswish': return v * Math.max(0, Math.min(1, v / 6 + 0.5));
    case 'clip': return Math.min(Math.max(v, alpha), beta);
    case 'affine': return alpha * v + beta;
  }
}

/**
 * f'(v) with PyTorch's values at the kinks. Hardsigmoid's test 0 < alpha*v + beta < 1 rounds
 * that sum to f32 first, as the kernel's forward does: the gradient is 0 exactly where the
 * forward output is clamped (the only place the reference follows the kernel's rounding).
 */
export function unaryDerivative(kind: UnaryKind, alpha: number, beta: number, v: number): number {
  switch (kind) {
    // s (1 - s) and 1 - t^2 = (1 - |t|)(1 + |t|), with 1 - s and 1 - |t| from their own exp so
    // that far out (|v| > 10 or so) the float64 reference keeps its relative accuracy.
    case 'sigmoid': return (1 / (1 + Math.exp(-v))) * (1 / (1 + Math.exp(v)));
    case 'tanh': { const u = 2 / (1 + Math.exp(2 * Math.abs(v))); return u * (2 - u); }
    case 'elu': return v > 0 ? 1 : alpha * Math.exp(v);
    case 'leakyrelu': return v > 0 ? 1 : alpha;
    case 'hardsigmoid': {
      const t = Math.fround(Math.fround(alpha * v) + beta);
      return t > 0 && t < 1 ? alpha : 0;
    }
    case 'hardswish': return v < -3 ? 0 : v > 3 ? 1 : v / 3 + 0.5;
    case 'clip': return v > alpha && v < beta ? 1 : 0;
    case 'affine': return alpha;
  }
}

export function unaryRef(kind: UnaryKind, alpha: number, beta: number, x: Arr): Float64Array {
  return Float64Array.from(x, (v) => unaryValue(kind, alpha, beta, v));
}

/** dx = dy * f'(x), x the forward input; exactly 0 where f' is 0 (whatever dy holds). */
export function unaryBackwardRef(kind: UnaryKind, alpha: number, beta: number, x: Arr, dy: Arr): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const d = unaryDerivative(kind, alpha, beta, v);
    return d === 0 ? 0 : d === 1 ? dy[i] : dy[i] * d;
  });
}

/** Guided backprop through Clip(lo, hi): dy where lo < x < hi and dy > 0, else 0. */
export function clipGuidedRef(lo: number, hi: number, x: Arr, dy: Arr): Float64Array {
  return Float64Array.from(x, (v, i) => (v > lo && v < hi && dy[i] > 0 ? dy[i] : 0));
}

/** y[n, c, i] = x[n, c, i] * scale[c] + shift[c] over [N, C, HW] (no shift when absent). */
export function channelAffineRef(N: number, C: number, HW: number, scale: Arr, shift: Arr | undefined,
                                 x: Arr): Float64Array {
  const y = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HW; i++) {
        const at = (n * C + c) * HW + i;
        y[at] = x[at] * scale[c] + (shift ? shift[c] : 0);
      }
    }
  }
  return y;
}

/** dx[n, c, i] = dy[n, c, i] * scale[c]. */
export function channelAffineBackwardRef(N: number, C: number, HW: number, scale: Arr, dy: Arr): Float64Array {
  return channelAffineRef(N, C, HW, scale, undefined, dy);
}

/** Softmax along the middle axis of [outer, len, inner], each line shifted by its maximum. */
export function softmaxAxisRef(outer: number, len: number, inner: number, x: Arr): Float64Array {
  const y = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (l: number) => (o * len + l) * inner + j;
      let m = -Infinity;
      for (let l = 0; l < len; l++) m = Math.max(m, x[at(l)]);
      let s = 0;
      for (let l = 0; l < len; l++) s += Math.exp(x[at(l)] - m);
      for (let l = 0; l < len; l++) y[at(l)] = Math.exp(x[at(l)] - m) / s;
    }
  }
  return y;
}

/** dx = y * (dy - sum over the axis of dy * y), y the softmax output; [outer, len, inner]. */
export function softmaxAxisBackwardRef(outer: number, len: number, inner: number, y: Arr, dy: Arr): Float64Array {
  const dx = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (l: number) => (o * len + l) * inner + j;
      let s = 0;
      for (let l = 0; l < len; l++) s += dy[at(l)] * y[at(l)];
      for (let l = 0; l < len; l++) dx[at(l)] = y[at(l)] * (dy[at(l)] - s);
    }
  }
  return dx;
}
