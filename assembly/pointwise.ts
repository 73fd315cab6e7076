/**
 * Pointwise activations y = f(x) over n floats, their gradients, and guided backpropagation
 * through a Clip (ReLU6 and friends). `kind` picks f; the engine passes these numbers, in the
 * order of PointwiseOp's `fn` (src/graph/layers.ts):
 *
 *   0 SIGMOID      1 / (1 + exp(-x))                      alpha, beta ignored
 *   1 TANH         tanh(x)                                alpha, beta ignored
 *   2 ELU          x > 0 ? x : alpha * (exp(x) - 1)
 *   3 LEAKYRELU    x >= 0 ? x : alpha * x
 *   4 HARDSIGMOID  max(0, min(1, alpha * x + beta))
 *   5 HARDSWISH    x * max(0, min(1, x / 6 + 0.5))        alpha, beta ignored (ONNX HardSwish)
 *   6 CLIP         min(max(x, alpha), beta)               alpha = lo, beta = hi; +-Infinity allowed
 *   7 AFFINE       alpha * x + beta
 *
 * Any other kind traps (unreachable): a silent no-op would leave garbage in y.
 *
 * Gradients (unaryBackward, x = the FORWARD INPUT) take PyTorch's value at the kinks:
 * elu x > 0 ? 1 : alpha * exp(x); leakyrelu x > 0 ? 1 : alpha; hardsigmoid alpha where
 * 0 < alpha * x + beta < 1 (that sum rounded in f32 as the forward rounds it), else 0;
 * hardswish 0 for x < -3, 1 for x > 3, else x / 3 + 0.5; clip 1 where lo < x < hi strictly,
 * else 0; sigmoid s (1 - s); tanh 1 - t^2; affine alpha. Where the gradient is 0 the result is
 * exactly +0 whatever dy holds (a select, not a multiply), as in relu.ts.
 *
 * Range: no kind overflows to NaN for finite x; a NaN x gives a NaN y (the gradients of the
 * piecewise kinds take a NaN x as failing their < and > tests). Sigmoid is computed from e = exp(-|x|) in [0, 1] (then 1/(1+e) or e/(1+e));
 * tanh|x| = -m/(2+m) with m = expm1(-2|x|) in [-1, 0], then x's sign; elu uses expm1 (accurate
 * near 0, saturating at -alpha). Their gradients are e/(1+e)^2 and 4e/(1+e)^2 with e = exp(-|x|),
 * resp. exp(-2|x|): s (1 - s) and 1 - t^2 without the cancellation once s or t nears 1. exp and
 * expm1 of x <= 0 are this file's own (bottom): Cephes' expf polynomial, in f32x4 and in f32,
 * results below 1.2e-38 flushed to 0. Measured against float64 over 2^18 magnitudes from 1e-8
 * to 100: at most 2e-7 relative error forward, 3e-7 for the gradients.
 *
 * Speed: every kind is f32x4 in the SIMD build (sigmoid, tanh, elu too: the exp polynomial is
 * vectorised), and clipGuided. Both builds give bitwise the same results: the scalar code does
 * the same operations in the same order, clamps with wasm's pmin/pmax rule (b < a ? b : a and
 * a < b ? b : a, x first: NaN stays NaN; clip(-0) is -0 when lo = 0), and builds 2^k from bits.
 *
 * Arrays hold n floats; in-place calls are allowed (y == x; dx == dy or dx == x), since every
 * element is read before its own output is written and nothing else is.
 */

const SIGMOID = 0;
const TANH = 1;
const ELU = 2;
const LEAKYRELU = 3;
const HARDSIGMOID = 4;
const HARDSWISH = 5;
const CLIP = 6;
const AFFINE = 7;

const SIXTH: f32 = 1.0 / 6.0;
const THIRD: f32 = 1.0 / 3.0;

export function unary(kind: i32, n: i32, alpha: f32, beta: f32, x: usize, y: usize): void {
  switch (kind) {
    case SIGMOID: sigmoid(n, x, y); break;
    case TANH: tanh(n, x, y); break;
    case ELU: elu(n, alpha, x, y); break;
    case LEAKYRELU: leakyRelu(n, alpha, x, y); break;
    case HARDSIGMOID: hardSigmoid(n, alpha, beta, x, y); break;
    case HARDSWISH: hardSwish(n, x, y); break;
    case CLIP: clip(n, alpha, beta, x, y); break;
    case AFFINE: affine(n, alpha, beta, x, y); break;
    default: unreachable();
  }
}

/** dx[i] = dy[i] * f'(x[i]), x the forward input (see the file comment for the kinks). */
export function unaryBackward(kind: i32, n: i32, alpha: f32, beta: f32, x: usize, dy: usize, dx: usize): void {
  switch (kind) {
    case SIGMOID: sigmoidBackward(n, x, dy, dx); break;
    case TANH: tanhBackward(n, x, dy, dx); break;
    case ELU: eluBackward(n, alpha, x, dy, dx); break;
    case LEAKYRELU: leakyReluBackward(n, alpha, x, dy, dx); break;
    case HARDSIGMOID: hardSigmoidBackward(n, alpha, beta, x, dy, dx); break;
    case HARDSWISH: hardSwishBackward(n, x, dy, dx); break;
    case CLIP: clipBackward(n, alpha, beta, x, dy, dx); break;
    case AFFINE: affineBackward(n, alpha, dy, dx); break;
    default: unreachable();
  }
}

/**
 * Guided backpropagation through a rectifier that is a Clip (ReLU6 = Clip(0, 6), ...):
 * dx = dy where lo < x < hi and dy > 0, else 0; x the forward input.
 */
export function clipGuided(n: i32, lo: f32, hi: f32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o), g = v128.load(dy + o);
      const keep = v128.and(v128.and(f32x4.gt(v, vlo), f32x4.lt(v, vhi)), f32x4.gt(g, zero));
      v128.store(dx + o, v128.and(g, keep));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), g = load<f32>(dy + o);
    store<f32>(dx + o, v > lo && v < hi && g > 0 ? g : 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Forward, one function per kind.

function sigmoid(n: i32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const e = expNegV(f32x4.neg(f32x4.abs(v)));
      v128.store(y + o, f32x4.div(v128.bitselect(one, e, f32x4.ge(v, zero)), f32x4.add(one, e)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const e = expNeg(-Mathf.abs(v)); // in [0, 1]: never overflows
    store<f32>(y + o, (v >= 0 ? <f32>1 : e) / (1 + e));
  }
}

/** tanh |x| = -m / (2 + m) with m = expm1(-2|x|) in [-1, 0], then x's sign. */
function tanh(n: i32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const two = f32x4.splat(2), sign = i32x4.splat(0x80000000);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const m = expm1NegV(f32x4.mul(f32x4.splat(-2), f32x4.abs(v)));
      const t = f32x4.div(f32x4.neg(m), f32x4.add(two, m));
      v128.store(y + o, v128.bitselect(v, t, sign)); // copysign(t, v)
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const m = expm1Neg(-2 * Mathf.abs(v));
    store<f32>(y + o, copysign<f32>(-m / (2 + m), v));
  }
}

function elu(n: i32, alpha: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(y + o, v128.bitselect(v, f32x4.mul(va, expm1NegV(f32x4.pmin(v, zero))), f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : alpha * expm1Neg(pmin(v, 0)));
  }
}

function leakyRelu(n: i32, alpha: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(y + o, v128.bitselect(v, f32x4.mul(va, v), f32x4.ge(v, zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v >= 0 ? v : alpha * v);
  }
}

function hardSigmoid(n: i32, alpha: f32, beta: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), vb = f32x4.splat(beta), zero = f32x4.splat(0), one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.add(f32x4.mul(va, v128.load(x + o)), vb);
      v128.store(y + o, f32x4.pmax(f32x4.pmin(t, one), zero));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, pmax(pmin(alpha * load<f32>(x + o) + beta, 1), 0));
  }
}

function hardSwish(n: i32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(SIXTH), vb = f32x4.splat(0.5), zero = f32x4.splat(0), one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const t = f32x4.pmax(f32x4.pmin(f32x4.add(f32x4.mul(v, va), vb), one), zero);
      v128.store(y + o, f32x4.mul(v, t));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v * pmax(pmin(v * SIXTH + 0.5, 1), 0));
  }
}

function clip(n: i32, lo: f32, hi: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.pmin(f32x4.pmax(v128.load(x + o), vlo), vhi));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, pmin(pmax(load<f32>(x + o), lo), hi));
  }
}

function affine(n: i32, alpha: f32, beta: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(f32x4.mul(va, v128.load(x + o)), vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, alpha * load<f32>(x + o) + beta);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward, one function per kind: dx = dy * f'(x).

function sigmoidBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e = expNegV(f32x4.neg(f32x4.abs(v128.load(x + o))));
      const p = f32x4.add(one, e);
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.div(e, f32x4.mul(p, p))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = expNeg(-Mathf.abs(load<f32>(x + o)));
    const p: f32 = 1 + e;
    store<f32>(dx + o, load<f32>(dy + o) * (e / (p * p)));
  }
}

function tanhBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1), four = f32x4.splat(4);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e = expNegV(f32x4.mul(f32x4.splat(-2), f32x4.abs(v128.load(x + o))));
      const p = f32x4.add(one, e);
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.div(f32x4.mul(four, e), f32x4.mul(p, p))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = expNeg(-2 * Mathf.abs(load<f32>(x + o)));
    const p: f32 = 1 + e;
    store<f32>(dx + o, load<f32>(dy + o) * (4 * e / (p * p)));
  }
}

function eluBackward(n: i32, alpha: f32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o), g = v128.load(dy + o);
      const d = f32x4.mul(g, f32x4.mul(va, expNegV(f32x4.pmin(v, zero))));
      v128.store(dx + o, v128.bitselect(g, d, f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), g = load<f32>(dy + o);
    store<f32>(dx + o, v > 0 ? g : g * (alpha * expNeg(pmin(v, 0))));
  }
}

function leakyReluBackward(n: i32, alpha: f32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dy + o);
      v128.store(dx + o, v128.bitselect(g, f32x4.mul(va, g), f32x4.gt(v128.load(x + o), zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(x + o) > 0 ? g : alpha * g);
  }
}

function hardSigmoidBackward(n: i32, alpha: f32, beta: f32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), vb = f32x4.splat(beta), zero = f32x4.splat(0), one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.add(f32x4.mul(va, v128.load(x + o)), vb);
      const keep = v128.and(f32x4.gt(t, zero), f32x4.lt(t, one));
      v128.store(dx + o, v128.and(f32x4.mul(va, v128.load(dy + o)), keep));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const t = alpha * load<f32>(x + o) + beta;
    store<f32>(dx + o, t > 0 && t < 1 ? alpha * load<f32>(dy + o) : 0);
  }
}

function hardSwishBackward(n: i32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(THIRD), vb = f32x4.splat(0.5), lo = f32x4.splat(-3), hi = f32x4.splat(3);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o), g = v128.load(dy + o);
      const mid = f32x4.mul(g, f32x4.add(f32x4.mul(v, va), vb));
      v128.store(dx + o, v128.and(v128.bitselect(g, mid, f32x4.gt(v, hi)), f32x4.ge(v, lo)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), g = load<f32>(dy + o);
    store<f32>(dx + o, v >= -3 ? (v > 3 ? g : g * (v * THIRD + 0.5)) : 0);
  }
}

function clipBackward(n: i32, lo: f32, hi: f32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(dx + o, v128.and(v128.load(dy + o), v128.and(f32x4.gt(v, vlo), f32x4.lt(v, vhi))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(dx + o, v > lo && v < hi ? load<f32>(dy + o) : 0);
  }
}

function affineBackward(n: i32, alpha: f32, dy: usize, dx: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, f32x4.mul(va, v128.load(dy + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, alpha * load<f32>(dy + o));
  }
}

// ---------------------------------------------------------------------------------------------
// exp and expm1 of v <= 0, the same operations in f32x4 and in f32 (so both builds agree
// bitwise). Cephes' expf: k = round(v log2 e) by the 1.5 * 2^23 trick (no float-to-int
// conversion, so no trap on NaN), r = v - k ln 2 in two parts (|r| <= ln2 / 2), exp(r) - 1 =
// q = r + r^2 P(r) with Cephes' degree-5 P, then exp(v) = (1 + q) 2^k with 2^k built from its
// bits. Below X_MIN (k would leave the normal range) exp is 0 and expm1 -1: results under
// 1.2e-38 are flushed, which no output here can tell from 0. expm1 is q itself when k = 0
// (|v| < ln2 / 2: no cancellation), else exp(v) - 1 with exp(v) <= 0.71, where the subtraction
// adds at most half an ulp of 0.5. NaN propagates. The file comment gives the measured errors.

const LOG2E: f32 = 1.44269504089;
const ROUND: f32 = 12582912.0; // 1.5 * 2^23: v + ROUND rounds v to an integer kept in the low bits
const LN2_HI: f32 = 0.693359375; // 355 / 512: k * LN2_HI is exact
const LN2_LO: f32 = -2.12194440e-4;
const X_MIN: f32 = -87.33654; // -126 ln 2
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

// @ts-ignore: decorator
@inline function expNeg(v: f32): f32 {
  const c = pmax(v, X_MIN);
  const t = c * LOG2E + ROUND;
  const k = t - ROUND;
  const r = (c - k * LN2_HI) - k * LN2_LO;
  const q = (((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * (r * r) + r;
  const s = reinterpret<f32>((reinterpret<i32>(t) - reinterpret<i32>(ROUND) + 127) << 23);
  return v < X_MIN ? 0 : (q + 1) * s;
}

// @ts-ignore: decorator
@inline function expm1Neg(v: f32): f32 {
  const c = pmax(v, X_MIN);
  const t = c * LOG2E + ROUND;
  const k = t - ROUND;
  const r = (c - k * LN2_HI) - k * LN2_LO;
  const q = (((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * (r * r) + r;
  const s = reinterpret<f32>((reinterpret<i32>(t) - reinterpret<i32>(ROUND) + 127) << 23);
  return v < X_MIN ? -1 : k == 0 ? q : (q + 1) * s - 1;
}

// @ts-ignore: decorator
@inline function expNegV(v: v128): v128 {
  const c = f32x4.pmax(v, f32x4.splat(X_MIN));
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const k = f32x4.sub(t, f32x4.splat(ROUND));
  const r = f32x4.sub(f32x4.sub(c, f32x4.mul(k, f32x4.splat(LN2_HI))), f32x4.mul(k, f32x4.splat(LN2_LO)));
  const q = f32x4.add(f32x4.mul(polyV(r), f32x4.mul(r, r)), r);
  const s = i32x4.shl(i32x4.add(i32x4.sub(t, i32x4.splat(reinterpret<i32>(ROUND))), i32x4.splat(127)), 23);
  const e = f32x4.mul(f32x4.add(q, f32x4.splat(1)), s);
  return v128.andnot(e, f32x4.lt(v, f32x4.splat(X_MIN)));
}

// @ts-ignore: decorator
@inline function expm1NegV(v: v128): v128 {
  const one = f32x4.splat(1);
  const c = f32x4.pmax(v, f32x4.splat(X_MIN));
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const k = f32x4.sub(t, f32x4.splat(ROUND));
  const r = f32x4.sub(f32x4.sub(c, f32x4.mul(k, f32x4.splat(LN2_HI))), f32x4.mul(k, f32x4.splat(LN2_LO)));
  const q = f32x4.add(f32x4.mul(polyV(r), f32x4.mul(r, r)), r);
  const s = i32x4.shl(i32x4.add(i32x4.sub(t, i32x4.splat(reinterpret<i32>(ROUND))), i32x4.splat(127)), 23);
  const em1 = v128.bitselect(q, f32x4.sub(f32x4.mul(f32x4.add(q, one), s), one), f32x4.eq(k, f32x4.splat(0)));
  return v128.bitselect(f32x4.splat(-1), em1, f32x4.lt(v, f32x4.splat(X_MIN)));
}

// @ts-ignore: decorator
@inline function polyV(r: v128): v128 {
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  return f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
}

// wasm's pseudo-minimum and -maximum (f32x4.pmin/pmax, one instruction each, where f32x4.min/max
// cost several), in scalar form for the scalar build and the tails: with x as the first
// operand, a NaN x comes out as itself, and -0 passes unchanged (pmax(-0, 0) = -0).

// @ts-ignore: decorator
@inline function pmin(a: f32, b: f32): f32 { return b < a ? b : a; }

// @ts-ignore: decorator
@inline function pmax(a: f32, b: f32): f32 { return a < b ? b : a; }
