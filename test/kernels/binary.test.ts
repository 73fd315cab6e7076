// binary and binaryBackward (assembly/binary.ts) on both builds against binaryRef /
// binaryBackwardRef: numpy-style broadcasts of [2,3,4,5] with [3,1,1], [1], [5], [2,1,4,1], ...
// in both directions, both operands broadcast, up to 5 axes, innermost lengths around the SIMD
// width, a transposed (non-unit stride) operand, zero-sized outputs, every kind, y aliasing a
// and b. The forward is one f32 operation per element, so it must equal the float64 reference
// rounded to f32 exactly (zeros in b: IEEE division by zero). The backward accumulates into a
// random dout, unused operands passed as pointer 0. Then adjoints of the gradients that are
// linear in their operand (add, sub, mul, div by a) against the forward, and central finite
// differences in float64 for div and prelu with inputs away from 0.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, dot, dotAbs, fmt, kernelsFor, maxAbs, maxAbsDiff, maxRelDiff, mulberry32, randomF32,
  type Harness,
} from '../helpers/wasm.js';
import { binaryBackwardRef, binaryRef } from '../reference/kernels.js';

/** f32 accumulation of the gradient terms (one to three roundings each): error / sum |terms|. */
const TOL = 1e-6;
const ADJOINT_TOL = 1e-6;
const FD_TOL = 1e-5;

const KINDS = ['add', 'sub', 'mul', 'div', 'prelu'] as const;

interface Operands {
  name: string;
  /** Output shape and each operand's element strides on it, and the operands' own sizes. */
  d: number[]; as: number[]; bs: number[]; aLen: number; bLen: number;
}

function contiguous(shape: number[]): number[] {
  const s = shape.map(() => 0);
  let p = 1;
  for (let k = shape.length - 1; k >= 0; k--) { s[k] = p; p *= shape[k]; }
  return s;
}

const size = (shape: number[]) => shape.reduce((p, q) => p * q, 1);

/** numpy broadcasting of two shapes: the output shape and each operand's strides on it. */
function broadcast(sa: number[], sb: number[]): Operands {
  const r = Math.max(sa.length, sb.length);
  const pa = [...Array(r - sa.length).fill(1), ...sa], pb = [...Array(r - sb.length).fill(1), ...sb];
  const d = pa.map((n, k) => {
    if (n !== pb[k] && n !== 1 && pb[k] !== 1) throw new RangeError(`cannot broadcast ${sa} with ${sb}`);
    return n === 1 ? pb[k] : n;
  });
  const ca = contiguous(pa), cb = contiguous(pb);
  return {
    name: `[${sa}] op [${sb}] -> [${d}]`,
    d, as: pa.map((n, k) => (n === 1 ? 0 : ca[k])), bs: pb.map((n, k) => (n === 1 ? 0 : cb[k])),
    aLen: size(sa), bLen: size(sb),
  };
}

const PAIRS: [number[], number[]][] = [
  [[2, 3, 4, 5], [3, 1, 1]], [[2, 3, 4, 5], [1]], [[2, 3, 4, 5], [5]], [[2, 3, 4, 5], [2, 1, 4, 1]],
  [[2, 3, 4, 5], [4, 5]], [[2, 3, 4, 5], [1, 3, 1, 5]], [[2, 3, 4, 5], [2, 3, 4, 5]], [[2, 3, 4, 5], []],
  [[3, 1, 1], [2, 3, 4, 5]], [[5], [2, 3, 4, 5]], [[2, 1, 4, 1], [1, 3, 1, 5]], [[1, 3, 1, 5], [2, 1, 4, 1]],
  [[2, 1, 3, 1, 4], [1, 2, 1, 5, 1]], [[2, 2, 3, 5, 4], [2, 1, 3, 1, 1]],
  [[1, 7], [3, 1]], [[3, 1], [1, 7]], [[9], [9]], [[17], [1]], [[1], [17]], [[3, 4], [3, 1]], [[3, 4], [4]],
  [[2, 3, 1], [2, 3, 5]], [[2, 3, 7], [1]], [[3, 9], [9]], [[1], [1]], [[2, 1, 3], [2, 1, 1]],
  [[2, 0, 3], [3]], [[0], [1]],
];

function cases(): Operands[] {
  const out = PAIRS.map(([a, b]) => broadcast(a, b));
  // a a transposed view: the [5,4,3,2] buffer read as [2,3,4,5] (strides 1, 2, 6, 24).
  out.push({ name: 'a transposed [5,4,3,2] -> [2,3,4,5], b [5]', d: [2, 3, 4, 5], as: [1, 2, 6, 24], bs: [0, 0, 0, 1], aLen: 120, bLen: 5 });
  // b every other element of a [2,3,4,10] buffer (innermost stride 2).
  out.push({ name: 'a [2,3,4,5], b [2,3,4,10][..., ::2]', d: [2, 3, 4, 5], as: contiguous([2, 3, 4, 5]), bs: [120, 40, 10, 2], aLen: 120, bLen: 240 });
  return out;
}

function pad5(v: number[], fill: number): number[] {
  if (v.length > 5) throw new RangeError('more than 5 axes');
  return [...Array(5 - v.length).fill(fill), ...v];
}

function callBinary(h: Harness, kind: number, c: Operands, a: number, b: number, y: number): void {
  const [d0, d1, d2, d3, d4] = pad5(c.d, 1), [a0, a1, a2, a3, a4] = pad5(c.as, 0), [b0, b1, b2, b3, b4] = pad5(c.bs, 0);
  h.k.binary(kind, d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, a, b, y);
}

function callBackward(h: Harness, kind: number, which: number, c: Operands, os: number[], a: number, b: number,
                      dy: number, dout: number): void {
  const [d0, d1, d2, d3, d4] = pad5(c.d, 1), [a0, a1, a2, a3, a4] = pad5(c.as, 0), [b0, b1, b2, b3, b4] = pad5(c.bs, 0);
  const [o0, o1, o2, o3, o4] = pad5(os, 0);
  h.k.binaryBackward(kind, which, d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4,
    o0, o1, o2, o3, o4, a, b, dy, dout);
}

/** Does the gradient of `which` under `kind` read a / b? (Unread pointers are passed as 0.) */
const readsA = (kind: number, which: number) => (kind === 2 && which === 1) || (kind === 3 && which === 1) || kind === 4;
const readsB = (kind: number, which: number) => (kind === 2 && which === 0) || kind === 3 || (kind === 4 && which === 0);

/** Random values with exact zeros of both signs sprinkled in. */
function values(n: number, seed: number, zeros = 0.1): Float32Array {
  const random = mulberry32(seed);
  const x = randomF32(n, random, -2, 2);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < zeros / 2) x[i] = 0;
    else if (r < zeros) x[i] = -0;
  }
  return x;
}

/** Values with |v| in [lo, hi) and random signs. */
function awayFromZero(n: number, random: () => number, lo: number, hi: number): Float64Array {
  return Float64Array.from({ length: n }, () => (random() < 0.5 ? -1 : 1) * (lo + (hi - lo) * random()));
}

function ownStrides(c: Operands, which: number): number[] {
  return which === 0 ? c.as : c.bs;
}

describe.each(BACKENDS)('binary [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('forward: every kind on every broadcast, equal to the float64 reference rounded to f32', () => {
    const failures: string[] = [];
    let worstRel = 0, n = 0;
    cases().forEach((c, ci) => {
      KINDS.forEach((kindName, kind) => {
        h.reset();
        const a = values(c.aLen, 10 * ci + kind), b = values(c.bLen, 1000 + 10 * ci + kind);
        const ra = h.f32(a, 'a'), rb = h.f32(b, 'b'), ry = h.alloc(size(c.d), 'y');
        callBinary(h, kind, c, ra.offset, rb.offset, ry.offset);
        const got = h.read(ry), ref = binaryRef(kind, c.d, c.as, c.bs, a, b);
        const d = maxAbsDiff(got, Float32Array.from(ref));
        if (d !== 0) failures.push(`${kindName} ${c.name}: ${describeDiff(got, Float32Array.from(ref))}`);
        const finite = ref.map((v) => (Number.isFinite(v) ? v : 0)), gotFinite = got.map((v, i) => (Number.isFinite(ref[i]) ? v : 0));
        worstRel = Math.max(worstRel, maxRelDiff(gotFinite, finite));
        if (maxAbsDiff(h.read(ra), a) !== 0 || maxAbsDiff(h.read(rb), b) !== 0) failures.push(`${kindName} ${c.name}: modified an input`);
        const bad = h.corruptedGuards();
        if (bad.length) failures.push(`${kindName} ${c.name}: wrote past ${bad.join(', ')}`);
        n++;
      });
    });
    console.log(`binary [${backend}] ${n} cases: max abs diff vs float64 reference rounded to f32 ` +
      `${failures.length ? 'DIFFER' : '0'}; max rel diff vs unrounded float64 ${fmt(worstRel)}`);
    expect(failures).toEqual([]);
  });

  test('forward in place: y == a (b broadcast) and y == b (a broadcast)', () => {
    const failures: string[] = [];
    const inPlace: [number[], number[], 'a' | 'b'][] = [
      [[2, 3, 4, 5], [3, 1, 1], 'a'], [[2, 3, 4, 5], [2, 1, 4, 1], 'a'], [[2, 3, 4, 5], [2, 3, 4, 5], 'a'],
      [[2, 3, 7], [1], 'a'], [[5], [2, 3, 4, 5], 'b'], [[1], [17], 'b'], [[3, 1], [3, 9], 'b'],
    ];
    inPlace.forEach(([sa, sb, alias], ci) => {
      const c = broadcast(sa, sb);
      KINDS.forEach((kindName, kind) => {
        h.reset();
        const a = values(c.aLen, 50 * ci + kind), b = values(c.bLen, 5000 + 50 * ci + kind);
        const ra = h.f32(a, 'a'), rb = h.f32(b, 'b');
        const ref = Float32Array.from(binaryRef(kind, c.d, c.as, c.bs, a, b));
        const target = alias === 'a' ? ra : rb;
        callBinary(h, kind, c, ra.offset, rb.offset, target.offset);
        const got = h.read(target);
        if (maxAbsDiff(got, ref) !== 0) failures.push(`${kindName} ${c.name} y == ${alias}: ${describeDiff(got, ref)}`);
        const bad = h.corruptedGuards();
        if (bad.length) failures.push(`${kindName} ${c.name}: wrote past ${bad.join(', ')}`);
      });
    });
    console.log(`binary in place [${backend}] ${inPlace.length * KINDS.length} cases: ` +
      `max abs diff ${failures.length ? 'DIFFER' : '0'}`);
    expect(failures).toEqual([]);
  });

  test('backward: every kind and operand accumulates dy * d op into dout (broadcast axes summed)', () => {
    const failures: string[] = [];
    let worst = 0, n = 0;
    cases().forEach((c, ci) => {
      KINDS.forEach((kindName, kind) => {
        for (const which of [0, 1]) {
          h.reset();
          const a = values(c.aLen, 10 * ci + kind), b = values(c.bLen, 1000 + 10 * ci + kind);
          if (kind === 3) for (let i = 0; i < b.length; i++) if (b[i] === 0) b[i] = 0.5; // finite gradients
          const dy = values(size(c.d), 2000 + 10 * ci + kind, 0.05);
          const len = which === 0 ? c.aLen : c.bLen, os = ownStrides(c, which);
          const dout0 = randomF32(len, mulberry32(3000 + ci), -1, 1);
          const ra = h.f32(a, 'a'), rb = h.f32(b, 'b'), rdy = h.f32(dy, 'dy'), rout = h.f32(dout0, 'dout');
          callBackward(h, kind, which, c, os, readsA(kind, which) ? ra.offset : 0, readsB(kind, which) ? rb.offset : 0,
            rdy.offset, rout.offset);
          const got = h.read(rout);
          const ref = binaryBackwardRef(kind, which, c.d, c.as, c.bs, os, a, b, dy, dout0);
          const scale = binaryBackwardRef(kind, which, c.d, c.as, c.bs, os, a, b, dy, dout0, true);
          let err = 0;
          for (let i = 0; i < got.length; i++) {
            const e = Math.abs(got[i] - ref[i]);
            if (!(e <= 0)) err = Math.max(err, scale[i] > 0 ? e / scale[i] : Infinity);
          }
          worst = Math.max(worst, err);
          const where = `${kindName} d/d${which ? 'b' : 'a'} ${c.name}`;
          if (!(err <= TOL)) failures.push(`${where}: error ${fmt(err)} of sum |terms|; ${describeDiff(got, ref)}`);
          if (maxAbsDiff(h.read(rdy), dy) !== 0) failures.push(`${where}: modified dy`);
          const bad = h.corruptedGuards();
          if (bad.length) failures.push(`${where}: wrote past ${bad.join(', ')}`);
          n++;
        }
      });
    });
    console.log(`binaryBackward [${backend}] ${n} cases: max error ${fmt(worst)} of sum |terms|`);
    expect(failures).toEqual([]);
  });

  test('backward ignores the strides of operands it does not read', () => {
    // add's gradients read neither operand: absurd strides for both must not change a thing
    // (they would stop the axes from merging, or read out of bounds, if used).
    h.reset();
    const c = broadcast([2, 3, 4, 5], [3, 1, 1]);
    const dy = values(120, 7), dout0 = randomF32(3, mulberry32(8));
    const bogus: Operands = { ...c, as: [999, 77777, 13, 5], bs: [1 << 20, 3, 1 << 24, 7] };
    const r1 = h.f32(dout0, 'dout'), r2 = h.f32(dout0, 'dout bogus'), rdy = h.f32(dy, 'dy');
    callBackward(h, 0, 1, c, c.bs, 0, 0, rdy.offset, r1.offset);
    callBackward(h, 0, 1, bogus, c.bs, 0, 0, rdy.offset, r2.offset);
    const ref = binaryBackwardRef(0, 1, c.d, c.as, c.bs, c.bs, [], [], dy, dout0);
    console.log(`binaryBackward unread strides [${backend}]: max abs diff ${fmt(maxAbsDiff(h.read(r1), h.read(r2)))}, ` +
      `vs reference ${fmt(maxRelDiff(h.read(r1), ref))} rel`);
    expect(maxAbsDiff(h.read(r1), h.read(r2))).toBe(0);
    expect(maxRelDiff(h.read(r1), ref)).toBeLessThan(1e-6);
    expect(h.corruptedGuards()).toEqual([]);
  });

  test('adjoint: <J x, dy> = <x, binaryBackward(dy)> for the gradients linear in their operand', () => {
    // add (a, b), sub (a, b), mul (a, b), div (a): op(a, b) is linear in that operand with the
    // other fixed, J x = binary with the operand replaced by x (the other by zeros for add/sub),
    // and binaryBackward into a zeroed dout is J^T.
    const linear: [number, number][] = [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0]];
    let worst = 0, n = 0;
    const failures: string[] = [];
    cases().forEach((c, ci) => {
      if (size(c.d) === 0) return;
      for (const [kind, which] of linear) {
        h.reset();
        const random = mulberry32(4000 + 10 * ci + kind);
        const a = randomF32(c.aLen, random, -2, 2);
        const b = Float32Array.from(awayFromZero(c.bLen, random, 0.5, 2));
        const len = which === 0 ? c.aLen : c.bLen;
        const x = randomF32(len, random), dy = randomF32(size(c.d), random);
        const other = kind <= 1 ? new Float32Array(which === 0 ? c.bLen : c.aLen) : which === 0 ? b : a;
        const rx = h.f32(x, 'x'), ro = h.f32(other, 'other'), rdy = h.f32(dy, 'dy');
        const rjx = h.alloc(size(c.d), 'J x'), rjt = h.f32(new Float32Array(len), 'J^T dy');
        callBinary(h, kind, c, which === 0 ? rx.offset : ro.offset, which === 0 ? ro.offset : rx.offset, rjx.offset);
        const ra = h.f32(a, 'a'), rb = h.f32(b, 'b');
        callBackward(h, kind, which, c, ownStrides(c, which), readsA(kind, which) ? ra.offset : 0,
          readsB(kind, which) ? rb.offset : 0, rdy.offset, rjt.offset);
        const jx = h.read(rjx), jt = h.read(rjt);
        const lhs = dot(jx, dy), rhs = dot(x, jt);
        const scale = Math.max(dotAbs(jx, dy), dotAbs(x, jt));
        const g = Math.abs(lhs - rhs) / scale;
        worst = Math.max(worst, g);
        if (!(g <= ADJOINT_TOL)) failures.push(`${KINDS[kind]} d/d${which ? 'b' : 'a'} ${c.name}: relative gap ${fmt(g)}`);
        const bad = h.corruptedGuards();
        if (bad.length) failures.push(`${c.name}: wrote past ${bad.join(', ')}`);
        n++;
      }
    });
    console.log(`adjoint binary/binaryBackward [${backend}] ${n} cases: max relative gap ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('div and prelu gradients equal central finite differences (float64) away from 0', () => {
    // L(a, b) = sum dy * op(a, b) in float64 through the reference forward; step 1e-4 on
    // inputs at least 0.05 from 0 (prelu's kink, div's pole; |b| >= 0.5 for div).
    const shapes: [number[], number[]][] = [
      [[2, 3, 4, 5], [3, 1, 1]], [[2, 3, 4, 5], [5]], [[2, 1, 4, 1], [1, 3, 1, 5]], [[1], [17]], [[3, 9], [9]],
      [[2, 3, 7], [2, 3, 7]],
    ];
    let worst = 0, n = 0;
    const failures: string[] = [];
    shapes.forEach(([sa, sb], ci) => {
      const c = broadcast(sa, sb);
      for (const kind of [3, 4]) {
        for (const which of [0, 1]) {
          h.reset();
          const random = mulberry32(6000 + 10 * ci + 2 * kind + which);
          const a = Float32Array.from(awayFromZero(c.aLen, random, 0.05, 1.5));
          const b = Float32Array.from(kind === 3 ? awayFromZero(c.bLen, random, 0.5, 2) : awayFromZero(c.bLen, random, 0.05, 1));
          const dy = randomF32(size(c.d), random);
          const loss = (x: ArrayLike<number>, s: ArrayLike<number>) => dot(binaryRef(kind, c.d, c.as, c.bs, x, s), dy);
          const base = which === 0 ? a : b;
          const fd = new Float64Array(base.length);
          const step = 1e-4;
          for (let i = 0; i < base.length; i++) {
            const p = Float64Array.from(base), m = Float64Array.from(base);
            p[i] += step;
            m[i] -= step;
            fd[i] = (which === 0 ? loss(p, b) - loss(m, b) : loss(a, p) - loss(a, m)) / (2 * step);
          }
          const ra = h.f32(a, 'a'), rb = h.f32(b, 'b'), rdy = h.f32(dy, 'dy');
          const rout = h.f32(new Float32Array(base.length), 'dout');
          callBackward(h, kind, which, c, ownStrides(c, which), readsA(kind, which) ? ra.offset : 0,
            readsB(kind, which) ? rb.offset : 0, rdy.offset, rout.offset);
          const got = h.read(rout);
          const d = maxRelDiff(got, fd);
          worst = Math.max(worst, d);
          const where = `${KINDS[kind]} d/d${which ? 'b' : 'a'} ${c.name}`;
          if (!(maxAbs(fd) > 0.05)) failures.push(`${where}: degenerate test (max |fd| ${fmt(maxAbs(fd))})`);
          if (!(d <= FD_TOL)) failures.push(`${where}: rel diff ${fmt(d)}; ${describeDiff(got, fd)}`);
          const bad = h.corruptedGuards();
          if (bad.length) failures.push(`${where}: wrote past ${bad.join(', ')}`);
          n++;
        }
      }
    });
    console.log(`binaryBackward div/prelu [${backend}] vs finite differences, ${n} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });
});
