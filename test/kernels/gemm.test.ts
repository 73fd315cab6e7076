// gemmPacked and packRows (assembly/gemm.ts) directly, on both builds: C[M, N] += A B with B
// packed into 8-column panels, for M not a multiple of the 4-row tile, N not a multiple of the
// 8-column panel, K and M around and beyond their 256 blocks, A row-major, transposed (sAm = 1, sAk = M,
// how conv2dTranspose passes W^T) and with a padded row stride, C with ldc > N (columns past N
// must stay untouched), scratch (gemmScratchFloats(M, K) floats) full of garbage, and the
// sparseA flag both ways on dense and on mostly-zero A (the result must not depend on the flag).
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxAbsDiff, maxRelDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { matmulRef, packRowsRef } from '../reference/kernels.js';

/** float32 accumulation of up to 600 products of [-1, 1] values onto C, relative to max |C|. */
const TOL = 1e-5;

const MS = [1, 2, 3, 4, 5, 7, 8, 9, 13];
const NS = [1, 5, 7, 8, 9, 15, 16, 17, 33];
const KS = [1, 7, 255, 256, 257, 600];

type Layout = 'row-major' | 'transposed' | 'padded';

interface GemmCase { M: number; N: number; K: number; layout: Layout }

const cases: GemmCase[] = [];
{
  const layouts = ['row-major', 'transposed', 'padded'] as const;
  let i = 0;
  for (const M of MS) for (const N of NS) for (const K of KS) cases.push({ M, N, K, layout: layouts[i++ % 3] });
  // M around and beyond the 256-row block the SIMD build packs A in (transposed convs: M = P).
  for (const M of [256, 257, 261, 517]) for (const N of [3, 8, 17]) for (const K of [7, 300]) {
    cases.push({ M, N, K, layout: layouts[i++ % 3] });
  }
}

/** A's storage and strides; ldb (packRows' ldx) and ldc, padded in the 'padded' layout. */
function geometry(c: GemmCase) {
  switch (c.layout) {
    case 'row-major': return { aLen: c.M * c.K, sAm: c.K, sAk: 1, ldb: c.N, ldc: c.N };
    case 'transposed': return { aLen: c.K * c.M, sAm: 1, sAk: c.M, ldb: c.N, ldc: c.N };
    case 'padded': return { aLen: c.M * (c.K + 3), sAm: c.K + 3, sAk: 1, ldb: c.N + 2, ldc: c.N + 5 };
  }
}

/**
 * Run packRows then gemmPacked on one case; returns C, the packed B and the references.
 * `sparse`: A is 80% zeros (the deconvnet's transposed convs); `flag`: gemmPacked's sparseA.
 */
function run(h: Harness, c: GemmCase, seed: number, sparse = false, flag = sparse) {
  const g = geometry(c);
  const random = mulberry32(seed);
  const a = randomF32(g.aLen, random);
  if (sparse) for (let i = 0; i < a.length; i++) if (random() < 0.8) a[i] = 0;
  const b = randomF32(c.K * g.ldb, random);
  const c0 = randomF32(c.M * g.ldc, random); // C is accumulated into; columns >= N are bystanders
  const ra = h.f32(a, 'A'), rb = h.f32(b, 'B'), rc = h.f32(c0, 'C');
  const panels = Math.ceil(c.N / 8);
  const rp = h.alloc(8 * c.K * panels, 'packed B');
  const rs = h.alloc(h.k.gemmScratchFloats(c.M, c.K), 'gemm scratch');
  h.k.packRows(c.K, c.N, rb.offset, g.ldb, rp.offset);
  const packed = h.read(rp);
  h.k.gemmPacked(c.M, c.N, c.K, ra.offset, g.sAm, g.sAk, rp.offset, rc.offset, g.ldc, rs.offset, flag ? 1 : 0);
  return {
    got: h.read(rc),
    ref: matmulRef(c.M, c.N, c.K, a, g.sAm, g.sAk, b, g.ldb, c0, g.ldc),
    packed,
    packedRef: packRowsRef(c.K, c.N, b, g.ldb),
    inputsKept: maxAbsDiff(h.read(ra), a) === 0 && maxAbsDiff(h.read(rb), b) === 0,
  };
}

const label = (c: GemmCase) => `M${c.M} N${c.N} K${c.K} ${c.layout}`;

describe.each(BACKENDS)('gemm [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the exports have the signatures this suite calls (gemm.ts contract)', () => {
    // A wasm export's length is its parameter count: a changed contract fails here, loudly,
    // rather than as a missing argument read as 0 (a null pointer) further down.
    expect(h.k.gemmPacked.length).toBe(11);
    expect(h.k.packRows.length).toBe(5);
    expect(h.k.gemmScratchFloats.length).toBe(2);
  });

  test(`packRows lays out 8-column panels, zero-padded (${cases.length} shapes)`, () => {
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const { packed, packedRef } = run(h, c, i);
      if (maxAbsDiff(packed, packedRef) !== 0) failures.push(`${label(c)}: ${describeDiff(packed, packedRef)}`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`packRows [${backend}] ${cases.length} cases: ${failures.length ? 'DIFFER' : 'exact'}`);
    expect(failures).toEqual([]);
  });

  test.each([false, true])(`gemmPacked accumulates A B into C (${cases.length} shapes, 3 A/C layouts, sparse A: %s)`, (sparse) => {
    // sparseA = 1 on every other case, whatever A holds: it is a hint, never a change of result.
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      h.reset();
      const flag = i % 2 === 1;
      const { got, ref, inputsKept } = run(h, c, i, sparse, flag);
      const d = maxRelDiff(got, ref);
      worst = Math.max(worst, d);
      if (!(d <= TOL)) failures.push(`${label(c)} sparseA=${+flag}: rel diff ${fmt(d)}; ${describeDiff(got, ref)}`);
      const { ldc } = geometry(c);
      for (let m = 0; m < c.M; m++) for (let n = c.N; n < ldc; n++) {
        if (got[m * ldc + n] !== ref[m * ldc + n]) failures.push(`${label(c)}: C[${m}, ${n}] past N was written`);
      }
      if (!inputsKept) failures.push(`${label(c)}: modified A or B`);
      if (h.corruptedGuards().length) failures.push(`${label(c)}: wrote past ${h.corruptedGuards().join(', ')}`);
    });
    console.log(`gemmPacked [${backend}] sparse A ${sparse}, ${cases.length} cases: max rel diff ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('gemmPacked by hand: 5x9 = (5x2)(2x9) with small integers is exact', () => {
    h.reset();
    // A[m, k] = m + 1 (k = 0) and -1 (k = 1); B[0, n] = n, B[1, n] = 1: C = (m+1) n - 1 + C0, C0 = 100.
    const M = 5, N = 9, K = 2;
    const a = Array.from({ length: M * K }, (_, i) => (i % 2 === 0 ? Math.floor(i / 2) + 1 : -1));
    const b = [...Array.from({ length: N }, (_, n) => n), ...Array(N).fill(1)];
    const ra = h.f32(a), rb = h.f32(b), rc = h.f32(Array(M * N).fill(100));
    const rp = h.alloc(8 * K * 2, 'packed'), rs = h.alloc(h.k.gemmScratchFloats(M, K), 'scratch');
    h.k.packRows(K, N, rb.offset, N, rp.offset);
    h.k.gemmPacked(M, N, K, ra.offset, K, 1, rp.offset, rc.offset, N, rs.offset, 0);
    const expected: number[] = [];
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) expected.push((m + 1) * n - 1 + 100);
    expect(Array.from(h.read(rc))).toEqual(expected);
  });
});

// Bit for bit up to the sign of zero: maxAbsDiff counts -0 and +0 as equal (skipping an exact
// zero term, as sparseA does, can leave -0 where adding it gives +0).
test('gemmPacked: the SIMD and scalar builds agree bit for bit (gemm.ts contract)', async () => {
  const hs = await Promise.all(BACKENDS.map((b) => kernelsFor(b)));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const [s, k] = hs.map((h) => { h.reset(); return run(h, c, 7000 + i, i % 2 === 1).got; });
    if (maxAbsDiff(s, k) !== 0) failures.push(`${label(c)}: simd vs scalar ${describeDiff(s, k)}`);
  });
  console.log(`gemmPacked simd vs scalar, ${cases.length} cases: ${failures.length} differ`);
  expect(failures).toEqual([]);
});
