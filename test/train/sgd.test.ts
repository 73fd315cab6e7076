// The update kernels of assembly/sgd.ts on both builds: sgdMomentum over several steps against
// the formula (bit for bit against a float32 emulation, and within rounding of float64),
// renormFilters (filters above the radius rescaled to RMS = radius exactly up to float32
// rounding, all others untouched), and applyMask (dropout), in place and not, with n not a
// multiple of the SIMD width.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  BACKENDS, describeDiff, fmt, kernelsFor, maxAbsDiff, maxRelDiff, mulberry32, randomF32, type Harness,
} from '../helpers/wasm.js';
import { filterRms, sgdMomentumF32, sgdMomentumRef } from '../reference/kernels.js';

const SIZES = [1, 2, 3, 4, 5, 7, 8, 13, 37, 1001];

describe.each(BACKENDS)('training updates [%s]', (backend) => {
  let h: Harness;
  beforeAll(async () => { h = await kernelsFor(backend); });

  test('the exports have the signatures this suite calls', () => {
    expect([h.k.sgdMomentum.length, h.k.renormFilters.length, h.k.applyMask.length]).toEqual([7, 4, 4]);
  });

  test(`sgdMomentum follows v = m*v - lr*(g + decay*w), w += v over 5 steps (n = ${SIZES.join(', ')})`, () => {
    const failures: string[] = [];
    let worst = 0;
    const hypers = [
      { lr: 0.01, momentum: 0.9, decay: 5e-4 },
      { lr: 0.1, momentum: 0, decay: 0 },      // plain SGD
      { lr: 0.003, momentum: 0.99, decay: 0 }, // the biases' update: no decay
    ];
    SIZES.forEach((n, si) => hypers.forEach((hp, hi) => {
      h.reset();
      const random = mulberry32(10 * si + hi);
      const w0 = randomF32(n, random), v0 = randomF32(n, random, -0.1, 0.1);
      const rw = h.f32(w0, 'w'), rv = h.f32(v0, 'v'), rg = h.alloc(n, 'g');
      const w32 = Float32Array.from(w0), v32 = Float32Array.from(v0);
      const w64 = Float64Array.from(w0), v64 = Float64Array.from(v0);
      const name = `n ${n} lr ${hp.lr} momentum ${hp.momentum} decay ${hp.decay}`;
      for (let step = 0; step < 5; step++) {
        const g = randomF32(n, random, -3, 3);
        h.write(rg, g);
        h.k.sgdMomentum(n, rw.offset, rg.offset, rv.offset, hp.lr, hp.momentum, hp.decay);
        sgdMomentumF32(w32, g, v32, hp.lr, hp.momentum, hp.decay);
        sgdMomentumRef(w64, g, v64, Math.fround(hp.lr), Math.fround(hp.momentum), Math.fround(hp.decay));
        const w = h.read(rw), v = h.read(rv);
        if (maxAbsDiff(w, w32) !== 0) failures.push(`${name} step ${step}: w ${describeDiff(w, w32)} (float32 formula)`);
        if (maxAbsDiff(v, v32) !== 0) failures.push(`${name} step ${step}: v ${describeDiff(v, v32)} (float32 formula)`);
        if (maxAbsDiff(h.read(rg), g) !== 0) failures.push(`${name} step ${step}: modified g`);
        const d = Math.max(maxRelDiff(w, w64), maxRelDiff(v, v64));
        worst = Math.max(worst, d);
        if (!(d <= 1e-6)) failures.push(`${name} step ${step}: rel diff to float64 ${fmt(d)}`);
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`${name}: wrote past the end of ${bad.join(', ')}`);
    }));
    console.log(`sgdMomentum [${backend}] ${SIZES.length * hypers.length} runs of 5 steps: ` +
      `max rel diff to float64 ${fmt(worst)}, float32 formula: ${failures.length ? 'differs' : 'bit for bit'}`);
    expect(failures).toEqual([]);
  });

  test('renormFilters rescales exactly the filters whose RMS exceeds the radius, to RMS = radius', () => {
    const failures: string[] = [];
    let worst = 0;
    for (const [size, radius] of [[25, 0.1], [9, 0.1], [7, 0.05], [1, 0.1], [288, 0.1], [4, 1]] as const) {
      h.reset();
      const r32 = Math.fround(radius);
      const random = mulberry32(size);
      // Per filter a target RMS relative to the radius: far below, just below, at, just above, far above, zero.
      const targets = [0.2, 0.999, 1, 1.001, 7, 0, 1.5, 0.5, 30];
      const filters = targets.length;
      const w0 = new Float32Array(filters * size);
      targets.forEach((t, f) => {
        const row = randomF32(size, random);
        if (t === 1) row.fill(r32).forEach((v, i) => { row[i] = i % 2 ? -v : v; }); // RMS exactly the radius
        else {
          const rms = filterRms(1, size, row)[0];
          for (let i = 0; i < size; i++) row[i] = (row[i] / rms) * t * r32;
        }
        w0.set(row, f * size);
      });
      const before = filterRms(filters, size, w0);
      const rw = h.f32(w0, 'w');
      h.k.renormFilters(filters, size, rw.offset, radius);
      const w = h.read(rw);
      const after = filterRms(filters, size, w);
      for (let f = 0; f < filters; f++) {
        const got = w.subarray(f * size, (f + 1) * size), was = w0.subarray(f * size, (f + 1) * size);
        const name = `size ${size} radius ${radius} filter ${f} (RMS ${before[f].toPrecision(6)})`;
        if (before[f] <= r32) {
          if (maxAbsDiff(got, was) !== 0) failures.push(`${name}: changed although within the radius: ${describeDiff(got, was)}`);
          continue;
        }
        // Rescaled by one float32 factor radius/RMS: the same direction, RMS = radius up to
        // float32 rounding of the factor and of each product (~1e-7 relative).
        const scale = Math.fround(r32 / before[f]);
        const expected = was.map((v) => Math.fround(v * scale));
        if (maxAbsDiff(got, expected) !== 0) failures.push(`${name}: not w * (radius / RMS): ${describeDiff(got, expected)}`);
        const d = Math.abs(after[f] - r32) / r32;
        worst = Math.max(worst, d);
        if (!(d <= 3e-7)) failures.push(`${name}: RMS after ${after[f]}, radius ${r32} (rel diff ${fmt(d)})`);
      }
      const bad = h.corruptedGuards();
      if (bad.length) failures.push(`size ${size}: wrote past the end of ${bad.join(', ')}`);
    }
    console.log(`renormFilters [${backend}]: max |RMS - radius| / radius after rescaling ${fmt(worst)}`);
    expect(failures).toEqual([]);
  });

  test('renormFilters with the radius above every filter changes nothing', () => {
    h.reset();
    const w0 = randomF32(32 * 25, mulberry32(3), -0.05, 0.05);
    const rw = h.f32(w0, 'w');
    h.k.renormFilters(32, 25, rw.offset, 0.1);
    expect(maxAbsDiff(h.read(rw), w0)).toBe(0);
  });

  test(`applyMask: y = x * mask, out of place and in place (n = ${SIZES.join(', ')})`, () => {
    const failures: string[] = [];
    for (const n of SIZES) {
      for (const rate of [0.5, 0.2]) {
        h.reset();
        const random = mulberry32(n);
        const x = randomF32(n, random, -4, 4);
        const keep = 1 / (1 - rate);
        const mask = Float32Array.from({ length: n }, () => (random() < rate ? 0 : keep));
        const expected = x.map((v, i) => Math.fround(v * mask[i]));
        const rx = h.f32(x, 'x'), rm = h.f32(mask, 'mask'), ry = h.alloc(n, 'y');
        h.k.applyMask(n, rx.offset, rm.offset, ry.offset);
        const y = h.read(ry);
        if (maxAbsDiff(y, expected) !== 0) failures.push(`n ${n} rate ${rate}: ${describeDiff(y, expected)}`);
        if (maxAbsDiff(h.read(rx), x) !== 0 || maxAbsDiff(h.read(rm), mask) !== 0) failures.push(`n ${n}: modified x or mask`);
        h.k.applyMask(n, rx.offset, rm.offset, rx.offset); // in place, as the trainer calls it
        if (maxAbsDiff(h.read(rx), expected) !== 0) failures.push(`n ${n} rate ${rate} in place: ${describeDiff(h.read(rx), expected)}`);
        const bad = h.corruptedGuards();
        if (bad.length) failures.push(`n ${n}: wrote past the end of ${bad.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
