// IEEE 754 half precision by hand (src/weights/f16.ts): every one of the 65536 bit patterns
// round-trips, known values and their bit patterns, subnormals, overflow to Infinity, and
// round-to-nearest-even at every tie between neighbouring halves.
import { describe, expect, test } from 'vitest';
import { decodeHalf, encodeHalf, fromHalf, toHalf } from '../../src/weights/f16.js';

const hex = (h: number) => `0x${h.toString(16).padStart(4, '0')}`;
const isNaNBits = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f16', () => {
  test('fromHalf -> toHalf returns every non-NaN bit pattern unchanged (65536 patterns, +-0 and +-Infinity included)', () => {
    const failures: string[] = [];
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const v = fromHalf(h);
      if (isNaNBits(h)) {
        nans++;
        if (!Number.isNaN(v)) failures.push(`${hex(h)} is a NaN pattern but decodes to ${v}`);
        if (!isNaNBits(toHalf(v))) failures.push(`${hex(h)}: NaN encodes to ${hex(toHalf(v))}, not a NaN`);
        continue;
      }
      // Every half is exactly a float32: the decoded number must survive float32 unchanged.
      if (Math.fround(v) !== v) failures.push(`${hex(h)} decodes to ${v}, which is not a float32`);
      const back = toHalf(v);
      if (back !== h) failures.push(`${hex(h)} -> ${v} -> ${hex(back)}`);
    }
    expect(nans).toBe(2 * 1023);
    expect(failures.slice(0, 20)).toEqual([]);
  });

  test('fromHalf is monotonic over the positive patterns and decodeHalf agrees with fromHalf', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const table = decodeHalf(all);
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = fromHalf(h);
      if (!(Object.is(table[h], v) || (Number.isNaN(table[h]) && Number.isNaN(v)))) bad.push(`${hex(h)}: ${table[h]} vs ${v}`);
      if (h > 0 && h <= 0x7c00 && !(fromHalf(h) > fromHalf(h - 1))) bad.push(`${hex(h)} is not above ${hex(h - 1)}`);
    }
    expect(bad.slice(0, 20)).toEqual([]);
    // decodeHalf writes into a given array too
    const out = new Float32Array(3);
    expect(decodeHalf(Uint16Array.from([0x3c00, 0xc000, 0x7bff]), out)).toBe(out);
    expect(Array.from(out)).toEqual([1, -2, 65504]);
  });

  test('known values', () => {
    const known: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-1, 0xbc00], [-2, 0xc000], [0.5, 0x3800], [2, 0x4000],
      [0.1, 0x2e66], [1 / 3, 0x3555], [Math.PI, 0x4248], [1000, 0x63d0], [-1024, 0xe400],
      [65504, 0x7bff], [-65504, 0xfbff],                 // the largest finite half
      [2 ** -14, 0x0400],                                // the smallest normal, 6.1035e-5
      [6.1e-5, 0x03ff],                                  // just below it: the largest subnormal (1023 x 2^-24)
      [2 ** -24, 0x0001], [-(2 ** -24), 0x8001],         // the smallest subnormal, 5.96e-8
      [3 * 2 ** -24, 0x0003], [1023 * 2 ** -24, 0x03ff],
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, h] of known) {
      expect(hex(toHalf(v)), `toHalf(${v})`).toBe(hex(h));
      if (Number.isFinite(v) && Math.fround(v) === v && (Math.abs(v) >= 2 ** -24 || v === 0)) {
        expect(Object.is(fromHalf(h), v) || Math.abs(fromHalf(h) - v) <= 2 ** -11 * Math.abs(v), `fromHalf(${hex(h)})`).toBe(true);
      }
    }
    expect(fromHalf(0x3c00)).toBe(1);
    expect(fromHalf(0xc000)).toBe(-2);
    expect(fromHalf(0x7bff)).toBe(65504);
    expect(fromHalf(0x0400)).toBe(2 ** -14);
    expect(fromHalf(0x0001)).toBe(2 ** -24);
    expect(Object.is(fromHalf(0x8000), -0)).toBe(true);
    expect(fromHalf(0x7c00)).toBe(Infinity);
    expect(fromHalf(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(fromHalf(0x7e00))).toBe(true);
    expect(isNaNBits(toHalf(NaN))).toBe(true);
  });

  test('overflow: values from 65520 (the tie above 65504) up round to Infinity, below it to 65504', () => {
    expect(hex(toHalf(65519))).toBe('0x7bff');
    expect(hex(toHalf(65519.996))).toBe('0x7bff');
    expect(hex(toHalf(65520))).toBe('0x7c00');   // the tie rounds to even, which is Infinity
    expect(hex(toHalf(65536))).toBe('0x7c00');
    expect(hex(toHalf(1e6))).toBe('0x7c00');
    expect(hex(toHalf(-1e6))).toBe('0xfc00');
    expect(hex(toHalf(3.4e38))).toBe('0x7c00');
  });

  test('underflow: below half the smallest subnormal is zero, keeping the sign', () => {
    expect(hex(toHalf(2 ** -25))).toBe('0x0000');              // the tie between 0 and 2^-24: even is 0
    expect(hex(toHalf(2 ** -25 * (1 + 2 ** -20)))).toBe('0x0001'); // just above the tie
    expect(hex(toHalf(2 ** -26))).toBe('0x0000');
    expect(hex(toHalf(1e-30))).toBe('0x0000');
    expect(hex(toHalf(-1e-30))).toBe('0x8000');
    expect(hex(toHalf(1e-45))).toBe('0x0000'); // a float32 subnormal
  });

  test('round to nearest, ties to even, at the midpoint between every pair of neighbouring halves', () => {
    // Midpoints of neighbouring finite halves need 12 significant bits: exact in float32. The
    // tie goes to the even pattern, and one float32 step either side goes to the nearer half.
    const failures: string[] = [];
    const below = (v: number) => { const f = new Float32Array([v]), u = new Uint32Array(f.buffer); u[0] -= 1; return f[0]; };
    const above = (v: number) => { const f = new Float32Array([v]), u = new Uint32Array(f.buffer); u[0] += 1; return f[0]; };
    for (let h = 0; h < 0x7bff; h++) {
      for (const sign of [0, 0x8000]) {
        const a = fromHalf(sign | h), b = fromHalf(sign | (h + 1));
        const mid = (a + b) / 2;
        if (Math.fround(mid) !== mid) { failures.push(`midpoint of ${hex(h)} not a float32`); continue; }
        const even = (h & 1) === 0 ? h : h + 1;
        const got = toHalf(mid) & 0x7fff;
        if (got !== even) failures.push(`${mid} (tie of ${hex(sign | h)}/${hex(sign | (h + 1))}) -> ${hex(got)}, expected ${hex(even)}`);
        const inner = below(mid), outer = above(mid); // one float32 step toward a, toward b (bit steps move the magnitude)
        if ((toHalf(inner) & 0x7fff) !== h) failures.push(`just below the tie ${mid} -> ${hex(toHalf(inner))}, expected ${hex(h)}`);
        if ((toHalf(outer) & 0x7fff) !== h + 1) failures.push(`just above the tie ${mid} -> ${hex(toHalf(outer))}, expected ${hex(h + 1)}`);
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
    // By hand: 1 + 2^-11 is the tie between 1 (even) and 1 + 2^-10; 1 + 3*2^-11 between odd 0x3c01 and 0x3c02.
    expect(hex(toHalf(1 + 2 ** -11))).toBe('0x3c00');
    expect(hex(toHalf(1 + 3 * 2 ** -11))).toBe('0x3c02');
    expect(hex(toHalf(2049))).toBe('0x6800');  // tie between 2048 and 2050
    expect(hex(toHalf(2051))).toBe('0x6802');  // tie between 2050 and 2052
    expect(hex(toHalf(2 - 2 ** -12))).toBe('0x4000'); // the tie at the top of a binade carries into the exponent
    expect(hex(toHalf(2 ** -14 - 2 ** -25))).toBe('0x0400'); // the tie between the largest subnormal and the smallest normal
  });

  test('encodeHalf / decodeHalf round trip equals rounding each value to f16', () => {
    const values = Float32Array.from({ length: 4099 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 11) - 7)); // 1e-7 .. 1e3
    const bits = encodeHalf(values);
    expect(bits).toBeInstanceOf(Uint16Array);
    expect(bits.length).toBe(values.length);
    const back = decodeHalf(bits);
    for (let i = 0; i < values.length; i++) {
      expect(bits[i]).toBe(toHalf(values[i]));
      expect(back[i]).toBe(fromHalf(toHalf(values[i])));
      // within half an f16 step of the value (relative 2^-11 for normals, 2^-25 absolute for subnormals)
      expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(Math.max(2 ** -11 * Math.abs(values[i]), 2 ** -25));
    }
  });
});
