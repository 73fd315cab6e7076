// unary, unaryBackward and clipGuided (assembly/pointwise.ts) on both builds against the float64
// references: every kind with a few alpha/beta, at lengths around the SIMD width, out of place
// and in place; special values (+-0, exact kinks and their f32 neighbours, clip bounds
// themselves and infinite bounds, |x| = 1e30, +-Infinity) through the SIMD body and through the
// scalar tail; the gradients against central finite differences away from the kinks; the
// kinks' gradients by hand.
import { beforeAll, describe, expect, test } from 'vitest';
import { BACKENDS, fmt, kernelsFor, maxAbs, maxAbsDiff, maxRelDiff, mulberry32, randomF32, type Harness } from '../helpers/wasm.js';
import {
  clipGuidedRef, UNARY_KINDS, unaryBackwardRef, unaryRef, unaryValue, type UnaryKind,
} from '../reference/kernels.js';

const LENGTHS = [0, 1, 3, 4, 5, 7, 8, 9, 17, 1001];

/**
 * Elementwise error allowed, relative to |ref| + the magnitude of the terms the formula adds
 * (see `scale`): a few f32 roundings (2^-24 each) of the kernel, plus Mathf.exp/expm1/tanh's
 * ~1 ulp.
 */
const TOL = 5e-7;

const f = Math.fround;
const F32_MAX = 3.4028234663852886e38;

interface Case { kind: UnaryKind; alpha: number; beta: number }

/** Every kind; NaN where alpha/beta are ignored (so using them would show). Values in f32. */
const CASES: Case[] = ([
  ['sigmoid', NaN, NaN], ['tanh', NaN, NaN],
  ['elu', 1, NaN], ['elu', 0.5, NaN],
  ['leakyrelu', 0.01, NaN], ['leakyrelu', 0.3, NaN],
  ['hardsigmoid', 0.2, 0.5], ['hardsigmoid', 1 / 6, 0.5], ['hardsigmoid', 0.25, 0.125],
  ['hardswish', NaN, NaN],
  ['clip', 0, 6], ['clip', -1, 1], ['clip', -Infinity, 0.5], ['clip', -0.5, Infinity], ['clip', -Infinity, Infinity],
  ['clip', 0, Infinity], ['clip', 2, 2],
  ['affine', 2, -1], ['affine', -0.5, 0.25], ['affine', 1, 0],
] as [UnaryKind, number, number][]).map(([kind, alpha, beta]) => ({ kind, alpha: f(alpha), beta: f(beta) }));

const name = (c: Case) => `${c.kind}(${c.alpha}, ${c.beta})`;
const kindOf = (c: Case) => UNARY_KINDS.indexOf(c.kind);

/** The next f32 above / below v (finite, nonzero-safe). */
function nextF32(v: number, dir: 1 | -1): number {
  const b = new Float32Array([v]), u = new Int32Array(b.buffer);
  if (v === 0) return dir * 1.4e-45;
  u[0] += (v > 0 ? dir : -dir);
  return b[0];
}

/** Where f is not smooth (finite points only); hardsigmoid's where f32(alpha x + beta) is 0 or 1. */
function kinks(c: Case): number[] {
  switch (c.kind) {
    case 'elu': case 'leakyrelu': return [0];
    case 'hardswish': return [-3, 3];
    case 'clip': return [c.alpha, c.beta].filter(Number.isFinite);
    case 'hardsigmoid': {
      const out: number[] = [];
      for (const target of [0, 1]) {
        // Search the f32 neighbourhood of (target - beta) / alpha for where the f32 sum crosses it.
        let v = f((target - c.beta) / c.alpha);
        for (let k = 0; k < 8; k++) v = nextF32(v, -1);
        for (let k = 0; k < 16; k++, v = nextF32(v, 1)) {
          if (f(f(c.alpha * v) + c.beta) === target) { out.push(v); break; }
        }
      }
      return out;
    }
    default: return [];
  }
}

/** Kinks with their f32 neighbours, and values that stress range and signed zeros. */
function specials(c: Case): number[] {
  const out = [0, -0, 1, -1, 1e-30, -1e-30, 1e-7, -1e-7, 20, -20, 88, -88, 100, -100, 1e30, -1e30,
    f(3.4e38), f(-3.4e38), Infinity, -Infinity];
  for (const k of kinks(c)) out.push(k, nextF32(k, 1), nextF32(k, -1));
  return out.map(f);
}

/** Random values in [-6, 6) and [-100, 100), with kinks and special values sprinkled in. */
function data(c: Case, n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const sp = specials(c), kk = kinks(c);
  return Float32Array.from({ length: n }, () => {
    const r = random();
    if (r < 0.6) return 12 * random() - 6;
    if (r < 0.75) return 200 * random() - 100;
    if (r < 0.85 && kk.length) return kk[Math.floor(random() * kk.length)];
    return sp[Math.floor(random() * sp.length)];
  });
}

/** Upstream gradients: random signs and magnitudes, exact zeros of both signs. */
function grads(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const g = randomF32(n, random, -2, 2);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.1) g[i] = 0;
    else if (r < 0.15) g[i] = -0;
  }
  return g;
}

/** The magnitude of the terms a formula adds, beyond |result|, for the error scale. */
function scale(c: Case, x: number, dy?: number): number {
  if (dy === undefined) {
    if (c.kind === 'hardsigmoid' || c.kind === 'affine') return Math.abs(c.alpha * x) + Math.abs(c.beta);
    if (c.kind === 'hardswish') return Math.abs(x) * (Math.abs(x) / 6 + 0.5);
    return 0;
  }
  return c.kind === 'hardswish' ? Math.abs(dy) * (Math.abs(x) / 3 + 0.5) : 0;
}

/** Largest elementwise error (see TOL) and where; Infinity for a NaN or infinity mismatch. */
function worst(got: ArrayLike<number>, ref: ArrayLike<number>, sc: (i: number) => number): { err: number; at: number } {
  let err = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    // Beyond f32's range (affine at |x| = 3.4e38) the reference stands for its f32 value, infinite.
    const a = got[i], b = Math.abs(ref[i]) > F32_MAX ? f(ref[i]) : ref[i];
    let e: number;
    if (Number.isNaN(a) || Number.isNaN(b)) e = Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
    else if (a === b) e = 0;
    else if (!Number.isFinite(a) || !Number.isFinite(b)) e = Infinity;
    else e = Math.abs(a - b) / Math.max(Math.abs(b) + sc(i), 1e-30);
    if (e > err) { err = e; at = i; }
  }
  return { err, at };
}

describe.each(BACKENDS)('pointwise [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  const forward = (c: Case, x: ArrayLike<number>): Float32Array => {
    const rx = h.f32(x, 'x'), ry = h.alloc(x.length, 'y');
    h.k.unary(kindOf(c), x.length, c.alpha, c.beta, rx.offset, ry.offset);
    return h.read(ry);
  };
  const backward = (c: Case, x: ArrayLike<number>, dy: ArrayLike<number>): Float32Array => {
    const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(x.length, 'dx');
    h.k.unaryBackward(kindOf(c), x.length, c.alpha, c.beta, rx.offset, rdy.offset, rdx.offset);
    return h.read(rdx);
  };

  test(`unary: every kind (${CASES.length} cases) x ${LENGTHS.length} lengths, out of place and in place`, () => {
    const failures: string[] = [];
    const worstOf = new Map<string, number>();
    CASES.forEach((c, ci) => {
      for (const n of LENGTHS) {
        h.reset();
        const x = data(c, n, 1000 * ci + n);
        const rx = h.f32(x, 'x'), ry = h.alloc(n, 'y');
        h.k.unary(kindOf(c), n, c.alpha, c.beta, rx.offset, ry.offset);
        const y = h.read(ry), ref = unaryRef(c.kind, c.alpha, c.beta, x);
        const { err, at } = worst(y, ref, (i) => scale(c, x[i]));
        worstOf.set(c.kind, Math.max(worstOf.get(c.kind) ?? 0, err));
        const where = `${name(c)} n=${n}`;
        if (!(err <= TOL)) failures.push(`${where}: err ${fmt(err)} at x=${x[at]}: expected ${ref[at]}, got ${y[at]}`);
        if (maxAbsDiff(h.read(rx), x) !== 0) failures.push(`${where}: modified x`);
        h.k.unary(kindOf(c), n, c.alpha, c.beta, rx.offset, rx.offset);
        if (maxAbsDiff(h.read(rx), y) !== 0) failures.push(`${where}: in place differs from out of place`);
        if (h.corruptedGuards().length) failures.push(`${where}: wrote past ${h.corruptedGuards().join(', ')}`);
      }
    });
    console.log(`unary [${backend}] max elementwise rel err: ` +
      [...worstOf].map(([k, e]) => `${k} ${fmt(e)}`).join(', '));
    expect(failures).toEqual([]);
  });

  test('unaryBackward: every kind x every length, dx separate and dx == dy', () => {
    const failures: string[] = [];
    const worstOf = new Map<string, number>();
    CASES.forEach((c, ci) => {
      for (const n of LENGTHS) {
        h.reset();
        const x = data(c, n, 2000 * ci + n), dy = grads(n, 3000 * ci + n);
        const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(n, 'dx');
        h.k.unaryBackward(kindOf(c), n, c.alpha, c.beta, rx.offset, rdy.offset, rdx.offset);
        const dx = h.read(rdx), ref = unaryBackwardRef(c.kind, c.alpha, c.beta, x, dy);
        const { err, at } = worst(dx, ref, (i) => scale(c, x[i], dy[i]));
        worstOf.set(c.kind, Math.max(worstOf.get(c.kind) ?? 0, err));
        const where = `${name(c)} n=${n}`;
        if (!(err <= TOL)) {
          failures.push(`${where}: err ${fmt(err)} at x=${x[at]} dy=${dy[at]}: expected ${ref[at]}, got ${dx[at]}`);
        }
        h.k.unaryBackward(kindOf(c), n, c.alpha, c.beta, rx.offset, rdy.offset, rdy.offset);
        if (maxAbsDiff(h.read(rdy), dx) !== 0) failures.push(`${where}: dx == dy differs`);
        if (maxAbsDiff(h.read(rx), x) !== 0) failures.push(`${where}: modified x`);
        if (h.corruptedGuards().length) failures.push(`${where}: wrote past ${h.corruptedGuards().join(', ')}`);
      }
    });
    console.log(`unaryBackward [${backend}] max elementwise rel err: ` +
      [...worstOf].map(([k, e]) => `${k} ${fmt(e)}`).join(', '));
    expect(failures).toEqual([]);
  });

  test('special values through the SIMD body (one call) and the scalar tail (n = 1 calls); no NaN from finite x', () => {
    const failures: string[] = [];
    let worstF = 0, worstB = 0;
    CASES.forEach((c, ci) => {
      h.reset();
      const x = Float32Array.from(specials(c));
      const dy = grads(x.length, 4000 + ci).map((v) => (v === 0 ? 1 : v));
      const n = x.length;
      const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), ry = h.alloc(n, 'y'), rdx = h.alloc(n, 'dx');
      const ref = unaryRef(c.kind, c.alpha, c.beta, x), dref = unaryBackwardRef(c.kind, c.alpha, c.beta, x, dy);
      for (const path of ['body', 'tail'] as const) {
        h.garbage(ry);
        h.garbage(rdx);
        if (path === 'body') {
          h.k.unary(kindOf(c), n, c.alpha, c.beta, rx.offset, ry.offset);
          h.k.unaryBackward(kindOf(c), n, c.alpha, c.beta, rx.offset, rdy.offset, rdx.offset);
        } else {
          for (let i = 0; i < n; i++) {
            h.k.unary(kindOf(c), 1, c.alpha, c.beta, rx.offset + 4 * i, ry.offset + 4 * i);
            h.k.unaryBackward(kindOf(c), 1, c.alpha, c.beta, rx.offset + 4 * i, rdy.offset + 4 * i, rdx.offset + 4 * i);
          }
        }
        const y = h.read(ry), dx = h.read(rdx);
        const fw = worst(y, ref, (i) => scale(c, x[i])), bw = worst(dx, dref, (i) => scale(c, x[i], dy[i]));
        worstF = Math.max(worstF, fw.err);
        worstB = Math.max(worstB, bw.err);
        const where = `${name(c)} ${path}`;
        if (!(fw.err <= TOL)) failures.push(`${where} forward at x=${x[fw.at]}: expected ${ref[fw.at]}, got ${y[fw.at]}`);
        if (!(bw.err <= TOL)) failures.push(`${where} backward at x=${x[bw.at]}: expected ${dref[bw.at]}, got ${dx[bw.at]}`);
        for (let i = 0; i < n; i++) {
          if (!Number.isFinite(x[i])) continue;
          // Finite x never gives NaN (infinite x may: hardswish(-Infinity) = -Infinity * 0, as in ONNX).
          if (Number.isNaN(y[i]) || Number.isNaN(dx[i])) failures.push(`${where}: NaN at finite x=${x[i]}`);
        }
      }
      if (h.corruptedGuards().length) failures.push(`${name(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`special values [${backend}]: max elementwise rel err forward ${fmt(worstF)}, backward ${fmt(worstB)}`);
    expect(failures).toEqual([]);
  });

  test('gradients equal central finite differences away from the kinks (float64 reference forward, and the wasm forward)', () => {
    const failures: string[] = [];
    let worst64 = 0, worst32 = 0;
    CASES.forEach((c, ci) => {
      h.reset();
      const random = mulberry32(5000 + ci);
      const kk = kinks(c);
      const x = new Float32Array(61);
      for (let i = 0; i < x.length; i++) {
        let v: number;
        do v = f(10 * random() - 5); while (kk.some((k) => Math.abs(v - k) < 0.05));
        x[i] = v;
      }
      const dy = randomF32(x.length, random);
      const dx = backward(c, x, dy);
      // float64: the formulas themselves, step 1e-4 (truncation ~1e-9, rounding ~1e-12).
      const fd64 = Float64Array.from(x, (v, i) => {
        const hh = 1e-4;
        return dy[i] * (unaryValue(c.kind, c.alpha, c.beta, v + hh) - unaryValue(c.kind, c.alpha, c.beta, v - hh)) / (2 * hh);
      });
      // The wasm forward in f32, step 1e-2 (its f32 outputs' rounding / 2e-2 ~ 3e-6, truncation
      // h^2 f''' / 6 <= 4e-5), divided by the actual f32 step.
      const xp = x.map((v) => v + 1e-2), xm = x.map((v) => v - 1e-2);
      const yp = forward(c, xp), ym = forward(c, xm);
      const fd32 = Float64Array.from(x, (_, i) => dy[i] * (yp[i] - ym[i]) / (xp[i] - xm[i]));
      const d64 = maxRelDiff(dx, fd64), d32 = maxRelDiff(dx, fd32);
      worst64 = Math.max(worst64, d64);
      worst32 = Math.max(worst32, d32);
      if (!(d64 <= 1e-6)) failures.push(`${name(c)}: float64 finite differences, rel diff ${fmt(d64)}`);
      if (!(d32 <= 1e-4)) failures.push(`${name(c)}: wasm finite differences, rel diff ${fmt(d32)}`);
      const flat = c.kind === 'clip' && c.alpha === c.beta; // Clip(2, 2): constant, gradient 0
      if (!flat && !(maxAbs(fd64) > 1e-3)) failures.push(`${name(c)}: degenerate (all gradients 0)`);
    });
    console.log(`unaryBackward [${backend}] vs finite differences: max rel diff ${fmt(worst64)} (float64 reference, h=1e-4), ` +
      `${fmt(worst32)} (wasm forward, h=1e-2)`);
    expect(failures).toEqual([]);
  });

  test('sigmoid, tanh, elu: a dense sweep of 2^18 magnitudes from 1e-8 to 100, both signs (the polynomial exp)', () => {
    const n = 1 << 18;
    const random = mulberry32(4242);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 10 ** (-8 + 10 * random()));
    const dy = Float32Array.from({ length: n }, () => 1 + random());
    const out: string[] = [];
    const failures: string[] = [];
    for (const c of CASES.filter((k) => k.kind === 'sigmoid' || k.kind === 'tanh' || (k.kind === 'elu' && k.alpha === 1))) {
      h.reset();
      const y = forward(c, x), dx = backward(c, x, dy);
      const fw = worst(y, unaryRef(c.kind, c.alpha, c.beta, x), () => 0);
      const bw = worst(dx, unaryBackwardRef(c.kind, c.alpha, c.beta, x, dy), () => 0);
      out.push(`${c.kind} ${fmt(fw.err)} / ${fmt(bw.err)}`);
      if (!(fw.err <= TOL)) failures.push(`${c.kind} forward at x=${x[fw.at]}: err ${fmt(fw.err)}`);
      if (!(bw.err <= TOL)) failures.push(`${c.kind} backward at x=${x[bw.at]}: err ${fmt(bw.err)}`);
    }
    console.log(`dense sweep [${backend}] max elementwise rel err forward / backward: ${out.join(', ')}`);
    expect(failures).toEqual([]);
  });

  test('the kinks by hand (PyTorch\'s gradients there), and range: no overflow at |x| = 1e30', () => {
    h.reset();
    const K = (kind: UnaryKind, alpha = NaN, beta = NaN): Case => ({ kind, alpha: f(alpha), beta: f(beta) });
    const fwd = (c: Case, x: number[]) => Array.from(forward(c, x));
    const bwd = (c: Case, x: number[]) => Array.from(backward(c, x, x.map(() => 2)));
    // ReLU6 = Clip(0, 6): the bounds themselves pass no gradient (strict). -0 is not below 0: it
    // passes unchanged (wasm's pmax rule).
    expect(fwd(K('clip', 0, 6), [-1, -0, 0, 3, 6, 7])).toEqual([0, -0, 0, 3, 6, 6]);
    expect(bwd(K('clip', 0, 6), [-1, 0, 1e-45, 3, 6, 7])).toEqual([0, 0, 2, 2, 0, 0]);
    expect(fwd(K('clip', -Infinity, Infinity), [-1e30, 1e30, -Infinity])).toEqual([-1e30, 1e30, -Infinity].map(f));
    expect(bwd(K('clip', -Infinity, Infinity), [-1e30, 1e30, -Infinity])).toEqual([2, 2, 0]);
    // LeakyRelu and Elu: the gradient at 0 is alpha's side.
    expect(fwd(K('leakyrelu', 0.5), [-2, 0, 2])).toEqual([-1, 0, 2]);
    expect(bwd(K('leakyrelu', 0.5), [-2, 0, 2])).toEqual([1, 1, 2]);
    expect(bwd(K('elu', 0.5), [0, 1e-30])).toEqual([1, 2]);
    expect(fwd(K('elu', 0.5), [-1e30, 1e30])).toEqual([-0.5, f(1e30)]);
    // HardSwish: 0 below -3, x/3 + 0.5 on [-3, 3] (the ends included: -0.5 and 1.5), 1 above.
    expect(fwd(K('hardswish'), [-4, -3, 0, 3, 4])).toEqual([-0, -0, 0, 3, 4]);
    expect(bwd(K('hardswish'), [-4, -3, 0, 3, 4])).toEqual([0, -1, 1, 3, 2]);
    // HardSigmoid (ONNX defaults 0.2, 0.5): clamped, so no gradient, from -2.5 and from 2.5.
    expect(fwd(K('hardsigmoid', 0.2, 0.5), [-2.5, 0, 2.5])).toEqual([0, 0.5, 1]);
    expect(bwd(K('hardsigmoid', 0.2, 0.5), [-2.5, 0, 2.5])).toEqual([0, f(0.4), 0]);
    // Sigmoid and tanh saturate without NaN; their gradients vanish.
    expect(fwd(K('sigmoid'), [-1e30, 0, 1e30])).toEqual([0, 0.5, 1]);
    expect(fwd(K('tanh'), [-1e30, -0, 1e30])).toEqual([-1, -0, 1]);
    expect(bwd(K('sigmoid'), [-1e30, 0, 1e30])).toEqual([0, 0.5, 0]);
    expect(bwd(K('tanh'), [-1e30, 0, 1e30])).toEqual([0, 2, 0]);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('an unknown kind traps and writes nothing', () => {
    h.reset();
    const rx = h.f32([1, 2, 3, 4, 5], 'x'), ry = h.alloc(5, 'y');
    for (const kind of [-1, 8, 100]) {
      expect(() => h.k.unary(kind, 5, 0, 0, rx.offset, ry.offset)).toThrow(WebAssembly.RuntimeError);
      expect(() => h.k.unaryBackward(kind, 5, 0, 0, rx.offset, rx.offset, ry.offset)).toThrow(WebAssembly.RuntimeError);
    }
    expect(Array.from(h.read(ry)).every(Number.isNaN)).toBe(true);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('clipGuided: dy where lo < x < hi and dy > 0, exactly; dx separate and dx == dy', () => {
    const failures: string[] = [];
    const clips = CASES.filter((c) => c.kind === 'clip');
    clips.forEach((c, ci) => {
      for (const n of LENGTHS) {
        h.reset();
        const x = data(c, n, 6000 + 100 * ci + n), dy = grads(n, 7000 + 100 * ci + n);
        const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(n, 'dx');
        h.k.clipGuided(n, c.alpha, c.beta, rx.offset, rdy.offset, rdx.offset);
        const ref = clipGuidedRef(c.alpha, c.beta, x, dy);
        const where = `clipGuided(${c.alpha}, ${c.beta}) n=${n}`;
        const dx = h.read(rdx);
        if (maxAbsDiff(dx, ref) !== 0) failures.push(`${where}: differs`);
        // Guided = the gradient, then only positive dy.
        const grad = unaryBackwardRef('clip', c.alpha, c.beta, x, dy).map((g, i) => (dy[i] > 0 ? g : 0));
        if (maxAbsDiff(grad, ref) !== 0) throw new Error('reference: clipGuidedRef is not the masked gradient');
        h.k.clipGuided(n, c.alpha, c.beta, rx.offset, rdy.offset, rdy.offset);
        if (maxAbsDiff(h.read(rdy), ref) !== 0) failures.push(`${where}: dx == dy differs`);
        if (h.corruptedGuards().length) failures.push(`${where}: wrote past ${h.corruptedGuards().join(', ')}`);
      }
    });
    console.log(`clipGuided [${backend}] ${clips.length} bounds x ${LENGTHS.length} lengths: ` +
      `${failures.length ? 'DIFFER' : 'max abs diff 0'}`);
    expect(failures).toEqual([]);
  });
});

describe('pointwise: the two builds agree bitwise', () => {
  let simd: Harness, scalar: Harness;
  beforeAll(async () => { [simd, scalar] = await Promise.all(BACKENDS.map((b) => kernelsFor(b))); });

  test('unary, unaryBackward and clipGuided give the same bits in the SIMD and the scalar build', () => {
    const failures: string[] = [];
    const bits = (a: Float32Array) => new Uint32Array(a.buffer);
    CASES.forEach((c, ci) => {
      const n = 1001;
      const x = data(c, n, 8000 + ci), dy = grads(n, 9000 + ci);
      const outs = [simd, scalar].map((h) => {
        h.reset();
        const rx = h.f32(x, 'x'), rdy = h.f32(dy, 'dy'), ry = h.alloc(n, 'y'), rdx = h.alloc(n, 'dx'), rg = h.alloc(n, 'g');
        h.k.unary(kindOf(c), n, c.alpha, c.beta, rx.offset, ry.offset);
        h.k.unaryBackward(kindOf(c), n, c.alpha, c.beta, rx.offset, rdy.offset, rdx.offset);
        h.k.clipGuided(n, c.alpha, c.beta, rx.offset, rdy.offset, rg.offset);
        return [h.read(ry), h.read(rdx), h.read(rg)].map(bits);
      });
      ['unary', 'unaryBackward', 'clipGuided'].forEach((what, k) => {
        // NaN payloads may differ between f32x4 and scalar operations: compare NaN as NaN.
        const a = outs[0][k], b = outs[1][k];
        const same = a.every((v, i) => v === b[i] || (Number.isNaN(new Float32Array(a.buffer)[i])
          && Number.isNaN(new Float32Array(b.buffer)[i])));
        if (!same) failures.push(`${what} ${name(c)}`);
      });
    });
    console.log(`pointwise simd vs scalar, ${CASES.length} cases x 1001 floats: ${failures.length ? 'DIFFER' : 'bitwise equal'}`);
    expect(failures).toEqual([]);
  });
});
