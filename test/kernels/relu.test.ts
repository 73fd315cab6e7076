// relu, reluBackward (gradient mode) and reluGuided on both builds, at lengths around the
// SIMD width (tails of 1..3), in place and out of place, and a finite-difference check of
// reluBackward. Also a self-test of the harness: garbage and guard bands do catch a kernel
// that skips an element or writes past its end.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, CANARY, dot, fmt, kernelsFor, maxAbs, maxAbsDiff, maxRelDiff, mulberry32, randomF32,
  type Harness,
} from '../helpers/wasm.js';
import { reluBackwardRef, reluGuidedRef, reluRef } from '../reference/kernels.js';

const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1001];

/** Random values with exact zeros (both signs) sprinkled in: the boundary of every mask. */
function data(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const x = randomF32(n, random);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.1) x[i] = 0;
    else if (r < 0.15) x[i] = -0;
  }
  return x;
}

describe.each(BACKENDS)('relu [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('relu, out of place and in place', () => {
    const failures: string[] = [];
    for (const n of LENGTHS) {
      h.reset();
      const x = data(n, n);
      const rx = h.f32(x, 'x'), ry = h.alloc(n, 'y');
      h.k.relu(n, rx.offset, ry.offset);
      const ref = reluRef(x);
      if (maxAbsDiff(h.read(ry), ref) !== 0) failures.push(`n=${n} out of place`);
      if (maxAbsDiff(h.read(rx), x) !== 0) failures.push(`n=${n} modified x`);
      h.k.relu(n, rx.offset, rx.offset);
      if (maxAbsDiff(h.read(rx), ref) !== 0) failures.push(`n=${n} in place`);
      if (h.corruptedGuards().length) failures.push(`n=${n}: wrote past ${h.corruptedGuards().join(', ')}`);
    }
    console.log(`relu [${backend}] ${LENGTHS.length} lengths: ${failures.length ? 'DIFFER' : 'max abs diff 0'}`);
    expect(failures).toEqual([]);
  });

  for (const [name, kernel, ref] of [
    ['reluBackward', 'reluBackward', reluBackwardRef],
    ['reluGuided', 'reluGuided', reluGuidedRef],
  ] as const) {
    test(`${name}: fwd = input and fwd = output of the ReLU, dx separate and dx == dy`, () => {
      const failures: string[] = [];
      for (const n of LENGTHS) {
        for (const fwdIsOutput of [false, true]) {
          h.reset();
          const x = data(n, 100 + n);
          const fwd = fwdIsOutput ? Float32Array.from(reluRef(x)) : x;
          const dy = data(n, 200 + n);
          const expected = ref(fwd, dy);
          // The mask is the same whether the ReLU's input or output is passed.
          if (maxAbsDiff(expected, ref(x, dy)) !== 0) throw new Error('reference: fwd input/output masks differ');
          const rf = h.f32(fwd, 'fwd'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(n, 'dx');
          h.k[kernel](n, rf.offset, rdy.offset, rdx.offset);
          const where = `n=${n} fwd=${fwdIsOutput ? 'output' : 'input'}`;
          if (maxAbsDiff(h.read(rdx), expected) !== 0) failures.push(`${where} out of place`);
          h.k[kernel](n, rf.offset, rdy.offset, rdy.offset);
          if (maxAbsDiff(h.read(rdy), expected) !== 0) failures.push(`${where} in place (dx == dy)`);
          if (maxAbsDiff(h.read(rf), fwd) !== 0) failures.push(`${where} modified fwd`);
          if (h.corruptedGuards().length) failures.push(`${where}: wrote past ${h.corruptedGuards().join(', ')}`);
        }
      }
      console.log(`${name} [${backend}] ${LENGTHS.length} lengths x 2: ${failures.length ? 'DIFFER' : 'max abs diff 0'}`);
      expect(failures).toEqual([]);
    });
  }

  test('reluBackward equals the finite-difference gradient of <dy, relu(x)> through the wasm relu', () => {
    // Central differences in float64 of a loss computed from the wasm forward (float32), step
    // 1e-2 on inputs kept at least 0.05 from the kink at 0. ReLU is linear on each side, so the
    // only error is float32 rounding of the perturbed input, divided out by using the actual
    // f32 step (xp - xm).
    h.reset();
    const n = 37;
    const random = mulberry32(77);
    const x = Float32Array.from({ length: n }, () => (random() < 0.5 ? -1 : 1) * (0.05 + random()));
    const dy = randomF32(n, random);
    const rx = h.alloc(n, 'x'), ry = h.alloc(n, 'y');
    const loss = (v: Float32Array) => {
      h.write(rx, v);
      h.k.relu(n, rx.offset, ry.offset);
      return dot(h.read(ry), dy);
    };
    const fd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const xp = Float32Array.from(x), xm = Float32Array.from(x);
      xp[i] = x[i] + 1e-2;
      xm[i] = x[i] - 1e-2;
      fd[i] = (loss(xp) - loss(xm)) / (xp[i] - xm[i]);
    }
    const rf = h.f32(x, 'fwd'), rdy = h.f32(dy, 'dy'), rdx = h.alloc(n, 'dx');
    h.k.reluBackward(n, rf.offset, rdy.offset, rdx.offset);
    const d = maxRelDiff(h.read(rdx), fd);
    console.log(`reluBackward [${backend}] vs finite differences (wasm forward, h=1e-2): max rel diff ${fmt(d)}`);
    expect(maxAbs(fd)).toBeGreaterThan(0.1);
    expect(d).toBeLessThan(1e-6);
  });

  test('harness self-test: a skipped element and an overrun are both detected', () => {
    h.reset();
    const n = 9;
    const x = randomF32(n, mulberry32(1));
    const rx = h.f32(x, 'x'), ry = h.alloc(n, 'y');
    h.k.relu(n - 1, rx.offset, ry.offset); // "forgets" the tail element
    expect(maxAbsDiff(h.read(ry), reluRef(x))).toBe(Infinity);
    expect(h.corruptedGuards()).toEqual([]);
    expect(CANARY).not.toBe(0);
    h.k.fill(ry.offset, 0, n + 1); // writes one float past y
    expect(h.corruptedGuards()).toEqual(['y']);
  });
});
