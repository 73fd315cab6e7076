// Adjoint tests for every linear pair, wasm against wasm on both builds: <A x, y> = <x, A^T y>
// on random data. Inner products are taken in float64 over the float32 outputs; the gap is
// relative to sum |(A x)_i y_i|, the scale of the rounding error in either side.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, convCases, dot, dotAbs, fmt, kernelsFor, mulberry32, poolCases, randomF32, sparseF32, type Harness,
} from '../helpers/wasm.js';

const TOL = 1e-5;

function gap(ax: ArrayLike<number>, y: ArrayLike<number>, x: ArrayLike<number>, aty: ArrayLike<number>): number {
  const lhs = dot(ax, y), rhs = dot(x, aty);
  const scale = Math.max(dotAbs(ax, y), dotAbs(x, aty));
  return scale === 0 ? Math.abs(lhs - rhs) : Math.abs(lhs - rhs) / scale;
}

/** Runs the cases, logs the worst gap and returns the failures. */
function sweep<T>(what: string, backend: string, cases: T[], name: (c: T) => string,
                  one: (c: T, seed: number) => number): string[] {
  let worst = 0;
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const g = one(c, i);
    worst = Math.max(worst, g);
    if (!(g <= TOL)) failures.push(`${name(c)}: relative gap ${fmt(g)}`);
  });
  console.log(`adjoint ${what} [${backend}] ${cases.length} cases: max relative gap ${fmt(worst)}`);
  return failures;
}

describe.each(BACKENDS)('adjoints [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('<conv2d(x), y> = <x, conv2dTranspose(y)> (no bias; strides, asymmetric pads, groups)', () => {
    const failures = sweep('conv2d/conv2dTranspose', backend, convCases(), (c) => c.name, (c, i) => {
      h.reset();
      const random = mulberry32(i);
      const x = randomF32(c.N * c.C * c.H * c.W, random);
      const w = randomF32(c.OC * (c.C / c.groups) * c.KH * c.KW, random);
      // Every other case a mostly-zero y, as the deconvnet sends down (sparseA in the GEMM).
      const y = i % 2 ? sparseF32(c.N * c.OC * c.OH * c.OW, random) : randomF32(c.N * c.OC * c.OH * c.OW, random);
      const rx = h.f32(x), rw = h.f32(w), ry = h.f32(y);
      const rax = h.alloc(y.length, 'Ax'), raty = h.alloc(x.length, 'A^T y');
      const rs = h.alloc(h.k.conv2dScratchFloats(c.C, c.OC, c.KH, c.KW, c.OH, c.OW, c.groups), 'scratch');
      h.k.conv2d(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
        rx.offset, rw.offset, 0, rax.offset, rs.offset);
      h.k.conv2dTranspose(c.N, c.C, c.H, c.W, c.OC, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.DH, c.DW, c.OH, c.OW, c.groups,
        ry.offset, rw.offset, raty.offset, rs.offset);
      return gap(h.read(rax), y, x, h.read(raty));
    });
    expect(failures).toEqual([]);
  });

  test('<dense(x), y> = <x, denseTranspose(y)> (no bias)', () => {
    const cases: [number, number, number][] = [];
    for (const N of [1, 2, 3, 5]) for (const I of [1, 3, 7, 9, 17, 100, 257]) for (const O of [1, 3, 5, 9, 13]) cases.push([N, I, O]);
    const failures = sweep('dense/denseTranspose', backend, cases, ([N, I, O]) => `N${N} I${I} O${O}`, ([N, I, O], i) => {
      h.reset();
      const random = mulberry32(100 + i);
      const x = randomF32(N * I, random), w = randomF32(O * I, random), y = randomF32(N * O, random);
      const rx = h.f32(x), rw = h.f32(w), ry = h.f32(y);
      const rax = h.alloc(N * O, 'Ax'), raty = h.alloc(N * I, 'A^T y');
      h.k.dense(N, I, O, rx.offset, rw.offset, 0, rax.offset);
      h.k.denseTranspose(N, I, O, ry.offset, rw.offset, raty.offset);
      return gap(h.read(rax), y, x, h.read(raty));
    });
    expect(failures).toEqual([]);
  });

  test('<select(x), y> = <x, unpool(y)>: max-pool selection with the switches of its forward pass', () => {
    // maxpool(x) is select_s(x) with s = the switches it records; for those fixed switches the
    // selection is linear and unpool must be its exact adjoint (shared switches sum).
    const failures = sweep('maxpool selection/unpool', backend, poolCases(), (c) => c.name, (c, i) => {
      h.reset();
      const random = mulberry32(200 + i);
      const x = randomF32(c.planes * c.H * c.W, random);
      const y = randomF32(c.planes * c.OH * c.OW, random);
      const rx = h.f32(x), ry = h.f32(y);
      const rsel = h.alloc(y.length, 'select(x)'), rsw = h.alloc(y.length, 'switches');
      const rdx = h.alloc(x.length, 'unpool(y)');
      h.k.maxpool(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.OH, c.OW, rx.offset, rsel.offset, rsw.offset);
      h.k.unpool(c.planes, c.H, c.W, c.OH, c.OW, ry.offset, rsw.offset, rdx.offset);
      return gap(h.read(rsel), y, x, h.read(rdx));
    });
    expect(failures).toEqual([]);
  });

  for (const includePad of [0, 1]) {
    test(`<avgpool(x), y> = <x, avgpoolBackward(y)>, countIncludePad=${includePad}`, () => {
      const failures = sweep(`avgpool/avgpoolBackward includePad=${includePad}`, backend, poolCases(),
        (c) => c.name, (c, i) => {
          h.reset();
          const random = mulberry32(300 + i);
          const x = randomF32(c.planes * c.H * c.W, random);
          const y = randomF32(c.planes * c.OH * c.OW, random);
          const rx = h.f32(x), ry = h.f32(y);
          const rax = h.alloc(y.length, 'Ax'), raty = h.alloc(x.length, 'A^T y');
          h.k.avgpool(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.PB, c.PR, c.OH, c.OW, includePad,
            rx.offset, rax.offset);
          h.k.avgpoolBackward(c.planes, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PT, c.PL, c.PB, c.PR, c.OH, c.OW, includePad,
            ry.offset, raty.offset);
          return gap(h.read(rax), y, x, h.read(raty));
        });
      expect(failures).toEqual([]);
    });
  }
});
