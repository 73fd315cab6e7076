/**
 * Broadcasting elementwise binary ops over up to 5 axes (ONNX Add, Sub, Mul, Div, PRelu) and
 * their gradients. The engine passes the output shape d0..d4 (numpy broadcast, unused leading
 * axes d = 1) and each operand's element strides on it: >= 0, 0 on the axes it is broadcast
 * along. So the kernel never infers shapes and any operand layout (a transposed view too)
 * works.
 *
 * binary(kind, d, as, bs, a, b, y): y is contiguous (row-major) over d and
 *   y[i] = op(a[Σ ik*ask], b[Σ ik*bsk]),
 *   kind 0 add a+b, 1 sub a-b, 2 mul a*b, 3 div a/b (IEEE: x/0 = ±inf, 0/0 = NaN),
 *   4 prelu with a = x, b = slope: x >= 0 ? x : x*slope (ONNX's x < 0 ? slope*x : x, the same
 *   values, -0 and NaN included). Each y element is one f32 operation, so both builds agree
 *   bit for bit. y may alias a (or b) when that operand is not broadcast and has y's layout.
 *
 * binaryBackward(kind, which, d, as, bs, os, a, b, dy, dout) ACCUMULATES the gradient of
 * operand `which` (0 = a, 1 = b): for every output index i (dy contiguous like y),
 *   dout[Σ ik*osk] += dy[i] * ∂op/∂operand (a[..], b[..]),
 * os being that operand's own strides (0 on its broadcast axes, so those are summed). The
 * caller zeroes dout for a plain gradient. Derivatives: add 1 | 1; sub 1 | -1; mul b | a;
 * div 1/b | -a/b^2 (computed as -((dy * (a/b)) / b)); prelu d/dx = x > 0 ? 1 : slope (PyTorch's
 * choice at 0), d/dslope = x < 0 ? x : 0. Operands a gradient does not read may be passed as
 * pointer 0 with any strides: add and sub read neither, mul/div-by-a only b, mul-by-b and
 * prelu-by-slope only a. dout must not overlap dy, a or b. Accumulation is in f32.
 *
 * Shapes are normalised first (assembly/strided.ts: size-1 axes dropped, axes contiguous in
 * every operand merged), so [2,3,4,5] + [3,1,1] runs 6 rows of 20. SIMD works on the innermost
 * axis when each operand read there has stride 0 (a splat) or 1, and for the backward when dout's
 * innermost stride is 1 (a vector add) or 0 (a SIMD partial sum, then one add); else scalar.
 */
import { normalise, at, hsum, ND0, ND1, ND2, ND3, ND4, NP0, NP1, NP2, NP3, NP4,
         NQ0, NQ1, NQ2, NQ3, NQ4, NR0, NR1, NR2, NR3, NR4 } from './strided';

// @ts-ignore: decorator
@inline const ADD = 0;
// @ts-ignore: decorator
@inline const SUB = 1;
// @ts-ignore: decorator
@inline const MUL = 2;
// @ts-ignore: decorator
@inline const DIV = 3;

// @ts-ignore: decorator
@inline function sop(kind: i32, x: f32, s: f32): f32 {
  if (kind == ADD) return x + s;
  if (kind == SUB) return x - s;
  if (kind == MUL) return x * s;
  if (kind == DIV) return x / s;
  return x >= 0 ? x : x * s;
}

// @ts-ignore: decorator
@inline function vop(kind: i32, x: v128, s: v128): v128 {
  if (kind == ADD) return f32x4.add(x, s);
  if (kind == SUB) return f32x4.sub(x, s);
  if (kind == MUL) return f32x4.mul(x, s);
  if (kind == DIV) return f32x4.div(x, s);
  return v128.bitselect(x, f32x4.mul(x, s), f32x4.ge(x, f32x4.splat(0)));
}

/** One innermost row of the forward, specialised for a constant kind once inlined. */
// @ts-ignore: decorator
@inline function rowOp(kind: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (<u32>sa <= 1 && <u32>sb <= 1) {
      const a0 = v128.load32_splat(a), b0 = v128.load32_splat(b);
      const ia = <usize>sa << 4, ib = <usize>sb << 4;
      for (; i + 4 <= n; i += 4) {
        v128.store(y, vop(kind, sa ? v128.load(a) : a0, sb ? v128.load(b) : b0));
        a += ia; b += ib; y += 16;
      }
    }
  }
  const da = <usize>sa << 2, db = <usize>sb << 2;
  for (; i < n; i++) {
    store<f32>(y, sop(kind, load<f32>(a), load<f32>(b)));
    a += da; b += db; y += 4;
  }
}

function forwardRow(kind: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize): void {
  switch (kind) {
    case 0: rowOp(0, n, a, sa, b, sb, y); break;
    case 1: rowOp(1, n, a, sa, b, sb, y); break;
    case 2: rowOp(2, n, a, sa, b, sb, y); break;
    case 3: rowOp(3, n, a, sa, b, sb, y); break;
    case 4: rowOp(4, n, a, sa, b, sb, y); break;
  }
}

export function binary(kind: i32, d0: i32, d1: i32, d2: i32, d3: i32, d4: i32,
                       as0: i32, as1: i32, as2: i32, as3: i32, as4: i32,
                       bs0: i32, bs1: i32, bs2: i32, bs3: i32, bs4: i32,
                       a: usize, b: usize, y: usize): void {
  if (!normalise(d0, d1, d2, d3, d4, as0, as1, as2, as3, as4, bs0, bs1, bs2, bs3, bs4, 0, 0, 0, 0, 0)) return;
  const D0 = ND0, D1 = ND1, D2 = ND2, D3 = ND3, D4 = ND4;
  const A0 = NP0, A1 = NP1, A2 = NP2, A3 = NP3, A4 = NP4;
  const B0 = NQ0, B1 = NQ1, B2 = NQ2, B3 = NQ3, B4 = NQ4;
  const step = <usize>D4 << 2;
  let out = y;
  for (let i0 = 0; i0 < D0; i0++) {
    for (let i1 = 0; i1 < D1; i1++) {
      for (let i2 = 0; i2 < D2; i2++) {
        for (let i3 = 0; i3 < D3; i3++) {
          const oa = <i64>i0 * A0 + <i64>i1 * A1 + <i64>i2 * A2 + <i64>i3 * A3;
          const ob = <i64>i0 * B0 + <i64>i1 * B1 + <i64>i2 * B2 + <i64>i3 * B3;
          forwardRow(kind, D4, at(a, oa), A4, at(b, ob), B4, out);
          out += step;
        }
      }
    }
  }
}

// Gradient codes: (kind - 1)*2 + which, add's two folded into G_ONE with sub's first.
// @ts-ignore: decorator
@inline const G_ONE = 0;     // add (a or b), sub (a): dy
// @ts-ignore: decorator
@inline const G_NEG = 1;     // sub (b): -dy
// @ts-ignore: decorator
@inline const G_MUL_A = 2;   // mul (a): dy * b
// @ts-ignore: decorator
@inline const G_MUL_B = 3;   // mul (b): dy * a
// @ts-ignore: decorator
@inline const G_DIV_A = 4;   // div (a): dy / b
// @ts-ignore: decorator
@inline const G_DIV_B = 5;   // div (b): -((dy * (a / b)) / b)
// @ts-ignore: decorator
@inline const G_PRELU_X = 6; // prelu (x): x > 0 ? dy : dy * slope
// @ts-ignore: decorator
@inline const G_PRELU_S = 7; // prelu (slope): x < 0 ? dy * x : 0

// @ts-ignore: decorator
@inline function readsA(code: i32): bool {
  return code == G_MUL_B || code == G_DIV_B || code == G_PRELU_X || code == G_PRELU_S;
}

// @ts-ignore: decorator
@inline function readsB(code: i32): bool {
  return code == G_MUL_A || code == G_DIV_A || code == G_DIV_B || code == G_PRELU_X;
}

// @ts-ignore: decorator
@inline function sgrad(code: i32, g: f32, x: f32, s: f32): f32 {
  if (code == G_ONE) return g;
  if (code == G_NEG) return -g;
  if (code == G_MUL_A || code == G_MUL_B) return g * (code == G_MUL_A ? s : x);
  if (code == G_DIV_A) return g / s;
  if (code == G_DIV_B) return -((g * (x / s)) / s);
  if (code == G_PRELU_X) return x > 0 ? g : g * s;
  return x < 0 ? g * x : 0;
}

// @ts-ignore: decorator
@inline function vgrad(code: i32, g: v128, x: v128, s: v128): v128 {
  if (code == G_ONE) return g;
  if (code == G_NEG) return f32x4.neg(g);
  if (code == G_MUL_A) return f32x4.mul(g, s);
  if (code == G_MUL_B) return f32x4.mul(g, x);
  if (code == G_DIV_A) return f32x4.div(g, s);
  if (code == G_DIV_B) return f32x4.neg(f32x4.div(f32x4.mul(g, f32x4.div(x, s)), s));
  const zero = f32x4.splat(0);
  if (code == G_PRELU_X) return v128.bitselect(g, f32x4.mul(g, s), f32x4.gt(x, zero));
  return v128.and(f32x4.mul(g, x), f32x4.lt(x, zero));
}

/** One innermost row of the backward, specialised for a constant code once inlined. */
// @ts-ignore: decorator
@inline function backOp(code: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, g: usize,
                        o: usize, so: i32): void {
  if (ASC_FEATURE_SIMD) {
    let i = 0;
    if (<u32>sa <= 1 && <u32>sb <= 1 && <u32>so <= 1) {
      const zero = f32x4.splat(0);
      const a0 = readsA(code) ? v128.load32_splat(a) : zero;
      const b0 = readsB(code) ? v128.load32_splat(b) : zero;
      const ia = <usize>sa << 4, ib = <usize>sb << 4;
      const io = <usize>so << 4;
      let acc = zero;
      for (; i + 4 <= n; i += 4) {
        const va = readsA(code) && sa ? v128.load(a) : a0;
        const vb = readsB(code) && sb ? v128.load(b) : b0;
        const v = vgrad(code, v128.load(g), va, vb);
        if (so) v128.store(o, f32x4.add(v128.load(o), v));
        else acc = f32x4.add(acc, v);
        a += ia; b += ib; g += 16; o += io;
      }
      if (!so && i) store<f32>(o, load<f32>(o) + hsum(acc));
    }
    if (i < n) backTail(code, i, n, a, sa, b, sb, g, o, so);
  } else {
    backScalar(code, 0, n, a, sa, b, sb, g, o, so);
  }
}

/** Elements i..n-1 of a backward row, from pointers already at element i. */
// @ts-ignore: decorator
@inline function backScalar(code: i32, i: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, g: usize,
                            o: usize, so: i32): void {
  const da = <usize>sa << 2, db = <usize>sb << 2, dout = <usize>so << 2;
  for (; i < n; i++) {
    const x: f32 = readsA(code) ? load<f32>(a) : 0;
    const s: f32 = readsB(code) ? load<f32>(b) : 0;
    store<f32>(o, load<f32>(o) + sgrad(code, load<f32>(g), x, s));
    a += da; b += db; g += 4; o += dout;
  }
}

/** The SIMD build's row tails and strided rows: one loop for every code. */
function backTail(code: i32, i: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, g: usize,
                  o: usize, so: i32): void {
  backScalar(code, i, n, a, sa, b, sb, g, o, so);
}

function backwardRow(code: i32, n: i32, a: usize, sa: i32, b: usize, sb: i32, g: usize,
                     o: usize, so: i32): void {
  switch (code) {
    case 0: backOp(0, n, a, sa, b, sb, g, o, so); break;
    case 1: backOp(1, n, a, sa, b, sb, g, o, so); break;
    case 2: backOp(2, n, a, sa, b, sb, g, o, so); break;
    case 3: backOp(3, n, a, sa, b, sb, g, o, so); break;
    case 4: backOp(4, n, a, sa, b, sb, g, o, so); break;
    case 5: backOp(5, n, a, sa, b, sb, g, o, so); break;
    case 6: backOp(6, n, a, sa, b, sb, g, o, so); break;
    case 7: backOp(7, n, a, sa, b, sb, g, o, so); break;
  }
}

export function binaryBackward(kind: i32, which: i32, d0: i32, d1: i32, d2: i32, d3: i32, d4: i32,
                               as0: i32, as1: i32, as2: i32, as3: i32, as4: i32,
                               bs0: i32, bs1: i32, bs2: i32, bs3: i32, bs4: i32,
                               os0: i32, os1: i32, os2: i32, os3: i32, os4: i32,
                               a: usize, b: usize, dy: usize, dout: usize): void {
  if (<u32>kind > 4 || <u32>which > 1) return;
  const code = kind == ADD ? G_ONE : (kind - 1) * 2 + which;
  // Strides of operands this gradient never reads must not stop axes from merging.
  if (!readsA(code)) { as0 = 0; as1 = 0; as2 = 0; as3 = 0; as4 = 0; }
  if (!readsB(code)) { bs0 = 0; bs1 = 0; bs2 = 0; bs3 = 0; bs4 = 0; }
  if (!normalise(d0, d1, d2, d3, d4, as0, as1, as2, as3, as4, bs0, bs1, bs2, bs3, bs4,
                 os0, os1, os2, os3, os4)) return;
  const D0 = ND0, D1 = ND1, D2 = ND2, D3 = ND3, D4 = ND4;
  const A0 = NP0, A1 = NP1, A2 = NP2, A3 = NP3, A4 = NP4;
  const B0 = NQ0, B1 = NQ1, B2 = NQ2, B3 = NQ3, B4 = NQ4;
  const O0 = NR0, O1 = NR1, O2 = NR2, O3 = NR3, O4 = NR4;
  const step = <usize>D4 << 2;
  let g = dy;
  for (let i0 = 0; i0 < D0; i0++) {
    for (let i1 = 0; i1 < D1; i1++) {
      for (let i2 = 0; i2 < D2; i2++) {
        for (let i3 = 0; i3 < D3; i3++) {
          const oa = <i64>i0 * A0 + <i64>i1 * A1 + <i64>i2 * A2 + <i64>i3 * A3;
          const ob = <i64>i0 * B0 + <i64>i1 * B1 + <i64>i2 * B2 + <i64>i3 * B3;
          const oo = <i64>i0 * O0 + <i64>i1 * O1 + <i64>i2 * O2 + <i64>i3 * O3;
          backwardRow(code, D4, at(a, oa), A4, at(b, ob), B4, g, at(dout, oo), O4);
          g += step;
        }
      }
    }
  }
}
