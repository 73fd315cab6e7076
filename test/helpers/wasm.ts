/**
 * Kernel test harness: one Arena (one WebAssembly.Memory) per backend with the kernels
 * instantiated on it, plus guarded allocation. Every region is followed by a band of canary
 * floats, and regions are filled with garbage when allocated, so a kernel that skips an
 * element, forgets a tail, or writes past its end is caught by the value checks or by
 * `corruptedGuards()`.
 */
import { Arena, type Region } from '../../src/memory/arena.js';
import { ARENA_START, instantiateKernels, type Backend } from '../../src/wasm/load.js';
import type { Kernels } from '../../src/wasm/kernels.js';
import { mulberry32 } from '../../src/models/init.js';
import { windowOut } from '../../src/graph/shapes.js';
import type { ConvGeom, PoolGeom } from '../reference/kernels.js';

export { mulberry32 };
export type { Region, Backend };

/** Every kernel test runs on both builds. */
export const BACKENDS = ['simd', 'scalar'] as const;

/**
 * Exports this suite calls that the engine's `Kernels` interface does not (yet) declare: the
 * GEMM pieces (assembly/gemm.ts) and the pre-packed transposed convolution (assembly/conv2d.ts).
 */
export interface TestKernels extends Kernels {
  conv2dPackedWeightFloats(C: number, OC: number, KH: number, KW: number, groups: number): number;
  conv2dPackWeights(C: number, OC: number, KH: number, KW: number, groups: number, w: number, dst: number): void;
  conv2dTransposeScratchFloats(C: number, OC: number, KH: number, KW: number, OH: number, OW: number,
                               groups: number): number;
  conv2dTransposePacked(N: number, C: number, H: number, W: number, OC: number, KH: number, KW: number,
                        SH: number, SW: number, PT: number, PL: number, DH: number, DW: number, OH: number,
                        OW: number, groups: number, dy: number, wPacked: number, dx: number, scratch: number): void;
  gemmScratchFloats(M: number, K: number): number;
  gemmPacked(M: number, N: number, K: number, a: number, sAm: number, sAk: number,
             b: number, c: number, ldc: number, scratch: number, sparseA: number): void;
  packRows(K: number, N: number, x: number, ldx: number, dst: number): void;
}

/** What outputs and scratch hold before a kernel runs (NaN: any read of it poisons the result). */
export const GARBAGE = NaN;
/** The guard band value after each region (a non-NaN float, so equality compares it). */
export const CANARY = Math.fround(12345.678);
/** Canary floats after each region, at least: catches a SIMD store running past a tail. */
const GUARD = 16;

export interface Harness {
  backend: Backend;
  k: TestKernels;
  arena: Arena;
  /** A region of `floats` f32/i32 slots, filled with GARBAGE, followed by a canary band. */
  alloc(floats: number, name?: string): Region;
  /** Allocate and copy `data` in (f32). */
  f32(data: ArrayLike<number>, name?: string): Region;
  /** Allocate and copy `data` in (i32). */
  i32(data: ArrayLike<number>, name?: string): Region;
  write(r: Region, data: ArrayLike<number>): void;
  writeI32(r: Region, data: ArrayLike<number>): void;
  /** Copies out (never a view). */
  read(r: Region): Float32Array;
  readI32(r: Region): Int32Array;
  /** Overwrite a region with garbage (default NaN) before a kernel writes it. */
  garbage(r: Region, value?: number): void;
  /**
   * Names of regions whose canary band after them was overwritten, and '(static data)' if
   * anything below ARENA_START (the kernels' own data, and where a null pointer points) changed.
   */
  corruptedGuards(): string[];
  /** Drop every region allocated since the harness was made (between cases). */
  reset(): void;
}

export async function kernelsFor(backend: Backend): Promise<Harness> {
  const arena = new Arena();
  const k = (await instantiateKernels(backend, arena.memory)) as TestKernels;
  const low = new Uint8Array(arena.memory.buffer, 0, ARENA_START).slice();
  const guards: { name: string; offset: number; floats: number }[] = [];

  const fillF32 = (offset: number, floats: number, v: number) => {
    new Float32Array(arena.memory.buffer, offset, floats).fill(v);
  };

  const allocRaw = (floats: number, name: string): Region => {
    // Round so the canary band runs up to the next region (arena alignment is 16 floats).
    const total = Math.ceil((floats + GUARD) / 16) * 16;
    const r = arena.alloc(total, name);
    fillF32(r.offset, floats, GARBAGE);
    fillF32(r.offset + floats * 4, total - floats, CANARY);
    guards.push({ name, offset: r.offset + floats * 4, floats: total - floats });
    return { offset: r.offset, floats };
  };

  // A leading band, so the first region is guarded on both sides too.
  allocRaw(0, '(leading guard)');
  const base = arena.mark();
  const baseGuards = guards.length;

  const h: Harness = {
    backend,
    k,
    arena,
    alloc: (floats, name = 'region') => allocRaw(floats, name),
    f32(data, name = 'input') {
      const r = allocRaw(data.length, name);
      h.write(r, data);
      return r;
    },
    i32(data, name = 'input') {
      const r = allocRaw(data.length, name);
      h.writeI32(r, data);
      return r;
    },
    write(r, data) {
      if (data.length > r.floats) throw new RangeError('write past the end of a region');
      new Float32Array(arena.memory.buffer, r.offset, data.length).set(data);
    },
    writeI32(r, data) {
      if (data.length > r.floats) throw new RangeError('write past the end of a region');
      new Int32Array(arena.memory.buffer, r.offset, data.length).set(data);
    },
    read: (r) => arena.read(r),
    readI32: (r) => arena.readI32(r),
    garbage(r, value = GARBAGE) {
      fillF32(r.offset, r.floats, value);
    },
    corruptedGuards() {
      const bad: string[] = [];
      for (const g of guards) {
        const band = new Float32Array(arena.memory.buffer, g.offset, g.floats);
        if (band.some((v) => v !== CANARY)) bad.push(g.name);
      }
      const now = new Uint8Array(arena.memory.buffer, 0, ARENA_START);
      if (now.some((v, i) => v !== low[i])) {
        bad.push('(static data)');
        low.set(now); // report once, not on every later case
      }
      return bad;
    },
    reset() {
      arena.reset(base);
      guards.length = baseGuards;
    },
  };
  return h;
}

/** Largest |a - b|; Infinity where exactly one side is NaN or they differ in infinity. */
export function maxAbsDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new RangeError(`length ${got.length} != ${ref.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const a = got[i], b = ref[i];
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (!(Number.isNaN(a) && Number.isNaN(b))) return Infinity;
      continue;
    }
    if (a === b) continue; // also equal infinities
    const d = Math.abs(a - b);
    if (!(d <= m)) m = d;
  }
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |got - ref| relative to the reference tensor's magnitude (max |ref|). */
export function maxRelDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  const d = maxAbsDiff(got, ref);
  if (d === 0) return 0;
  return d / Math.max(maxAbs(ref), 1e-30);
}

/** Index of the worst element (for failure messages): first NaN mismatch, else largest diff. */
export function worstIndex(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let at = 0, m = -1;
  for (let i = 0; i < got.length; i++) {
    const a = got[i], b = ref[i];
    if (Number.isNaN(a) !== Number.isNaN(b)) return i;
    const d = a === b ? 0 : Math.abs(a - b);
    if (d > m) { m = d; at = i; }
  }
  return at;
}

/** A one-line description of where got and ref differ most, for failure lists. */
export function describeDiff(got: ArrayLike<number>, ref: ArrayLike<number>): string {
  const i = worstIndex(got, ref);
  return `worst at [${i}]: expected ${ref[i]}, got ${got[i]}`;
}

/** Uniform floats in [lo, hi), rounded to f32, from a seeded generator. */
export function randomF32(n: number, random: () => number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/**
 * Like the deconvnet's signals (unpooled, rectified): about `zeros` of the entries exactly 0,
 * the rest uniform in [-1, 1).
 */
export function sparseF32(n: number, random: () => number, zeros = 0.85): Float32Array {
  return Float32Array.from({ length: n }, () => (random() < zeros ? 0 : 2 * random() - 1));
}

/** Sum over i of a[i] * b[i] in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} != ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Sum over i of |a[i] * b[i]|: the natural scale for an inner product's rounding error. */
export function dotAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return s;
}

/** Format a difference for the one-line-per-group logs. */
export function fmt(d: number): string {
  return d === 0 ? '0' : d.toExponential(2);
}

// ---------------------------------------------------------------------------------------------
// Shape sweeps shared by the op suites and the adjoint suite. Output sizes always come from
// windowOut (src/graph/shapes.ts), which is how the engine computes them: bottom/right pads are
// passed to windowOut only; the kernels see them through OH/OW.


export interface ConvCase extends ConvGeom { name: string; bias: boolean; DH: number; DW: number }

/** [H, W, KH, KW, SH, SW, PT, PL, PB, PR] */
type Window = [number, number, number, number, number, number, number, number, number, number];

const CONV_WINDOWS: Window[] = [
  [7, 9, 3, 3, 1, 1, 1, 1, 1, 1],     // same padding, P = 63
  [11, 13, 5, 5, 2, 2, 2, 1, 0, 2],   // asymmetric pads, P = 30
  [9, 7, 3, 2, 2, 3, 0, 1, 1, 0],     // non-square kernel and stride, P = 12
  [5, 5, 1, 1, 1, 1, 0, 0, 0, 0],     // 1x1, P = 25
  [13, 11, 7, 7, 2, 2, 3, 3, 2, 3],   // big kernel, asymmetric, P = 36
  [3, 17, 3, 3, 1, 2, 2, 0, 2, 1],    // pads larger than the image is tall, P = 40 (5 panels)
  [4, 4, 5, 5, 1, 1, 2, 2, 2, 2],     // kernel larger than the image, P = 16
  [15, 15, 11, 11, 4, 4, 0, 0, 0, 0], // AlexNet conv1 style, P = 4 (< one panel)
  [1, 1, 3, 3, 1, 1, 1, 1, 1, 1],     // one pixel, P = 1
  [10, 9, 2, 2, 3, 3, 0, 1, 1, 0],    // stride > kernel: pixels no window reads, P = 12
];

/** [C, OC, groups, N] */
const CONV_CHANNELS: [number, number, number, number][] = [
  [1, 1, 1, 1], [1, 3, 1, 3], [3, 4, 1, 1], [4, 5, 1, 3], [5, 7, 1, 1], [7, 8, 1, 3],
  [8, 9, 1, 1], [9, 16, 1, 3], [16, 17, 1, 1], [17, 1, 1, 3],
  [4, 8, 2, 1], [8, 4, 2, 3], [16, 16, 2, 1], [6, 9, 3, 3], [9, 3, 3, 1], [3, 3, 3, 3],
];

/** `dilation` [DH, DW]: the output size is windowOut's with the dilated kernel extent (K - 1)*D + 1. */
export function convCase(C: number, OC: number, groups: number, N: number, win: Window, bias: boolean,
                         [DH, DW]: [number, number] = [1, 1]): ConvCase {
  const [H, W, KH, KW, SH, SW, PT, PL, PB, PR] = win;
  const OH = windowOut(H, (KH - 1) * DH + 1, SH, PT, PB, false), OW = windowOut(W, (KW - 1) * DW + 1, SW, PL, PR, false);
  const dil = DH !== 1 || DW !== 1 ? ` d${DH}x${DW}` : '';
  return {
    name: `N${N} C${C}->${OC} g${groups} ${H}x${W} k${KH}x${KW} s${SH}x${SW}${dil} ` +
      `pads t${PT} l${PL} b${PB} r${PR} -> ${OH}x${OW}${bias ? ' +bias' : ''}`,
    N, C, H, W, OC, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, groups, bias,
  };
}

/** Every channel combination on every window, plus GEMM depths K = Cg*KH*KW of 256 and beyond. */
export function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  let i = 0;
  for (const win of CONV_WINDOWS) {
    for (const [C, OC, groups, N] of CONV_CHANNELS) cases.push(convCase(C, OC, groups, N, win, i++ % 2 === 1));
  }
  cases.push(convCase(32, 5, 1, 1, CONV_WINDOWS[0], true));            // K = 288
  cases.push(convCase(34, 6, 2, 3, CONV_WINDOWS[1], false));           // K = 425 per group
  cases.push(convCase(16, 4, 1, 1, [9, 9, 4, 4, 1, 1, 2, 1, 1, 2], true)); // K = 256 exactly
  cases.push(convCase(3, 7, 1, 3, CONV_WINDOWS[7], true));             // K = 363
  cases.push(convCase(12, 4, 1, 1, CONV_WINDOWS[7], false));           // K = 1452 (6 blocks)
  cases.push(convCase(24, 9, 3, 1, [8, 8, 5, 5, 1, 1, 2, 2, 2, 2], true)); // K = 200, P = 64
  // P beyond one 256-row M block of the transposed conv's GEMM (M = P there), K beyond 256 too.
  cases.push(convCase(32, 6, 1, 1, [20, 20, 3, 3, 1, 1, 1, 1, 1, 1], false)); // P = 400, K = 288
  cases.push(convCase(17, 5, 1, 1, [25, 22, 3, 3, 1, 1, 0, 1, 2, 0], true));  // P = 525, K = 153
  cases.push(convCase(6, 4, 2, 3, [23, 21, 5, 5, 1, 2, 2, 1, 2, 3], true));   // P = 253, groups 2
  return cases.filter((c) => c.OH >= 1 && c.OW >= 1);
}

export interface PoolCase extends PoolGeom { name: string; ceil: boolean }

/** [KH, KW, SH, SW] */
const POOL_WINDOWS: [number, number, number, number][] = [
  [2, 2, 2, 2], [3, 3, 2, 2], [3, 3, 1, 1], [3, 2, 2, 3], [1, 1, 1, 1], [2, 2, 3, 3],
  [5, 5, 3, 3], [3, 3, 3, 3],
];
/** [PT, PL, PB, PR] */
const POOL_PADS: [number, number, number, number][] = [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1], [0, 1, 2, 0]];
const POOL_SIZES: [number, number][] = [[7, 7], [13, 13], [6, 9], [5, 8], [1, 1], [27, 27]];

export function poolCase(planes: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
                         PT: number, PL: number, PB: number, PR: number, ceil: boolean): PoolCase {
  const OH = windowOut(H, KH, SH, PT, PB, ceil), OW = windowOut(W, KW, SW, PL, PR, ceil);
  return {
    name: `planes ${planes} ${H}x${W} k${KH}x${KW} s${SH}x${SW} pads t${PT} l${PL} b${PB} r${PR}` +
      `${ceil ? ' ceil' : ''} -> ${OH}x${OW}`,
    planes, H, W, KH, KW, SH, SW, PT, PL, PB, PR, OH, OW, ceil,
  };
}

/**
 * Pooling sweeps. Pads stay below the kernel (ONNX requires it), so with windowOut's rule every
 * window touches the image, which the kernels' contract assumes.
 */
export function poolCases(): PoolCase[] {
  const cases: PoolCase[] = [];
  let i = 0;
  for (const [KH, KW, SH, SW] of POOL_WINDOWS) {
    for (const [PT, PL, PB, PR] of POOL_PADS) {
      if (PT >= KH || PB >= KH || PL >= KW || PR >= KW) continue;
      for (const [H, W] of POOL_SIZES) {
        for (const ceil of [false, true]) {
          const c = poolCase([1, 3, 5][i++ % 3], H, W, KH, KW, SH, SW, PT, PL, PB, PR, ceil);
          if (c.OH >= 1 && c.OW >= 1) cases.push(c);
        }
      }
    }
  }
  return cases;
}
