// .npy reading and writing: numpy's exact bytes, round trips, and every corrupt case refused
// with an NpyFormatError that names the file and the fault.
import { describe, expect, test } from 'vitest';
import { encodeNpy, parseNpy, parsePyLiteral } from '../../src/io/npy.js';
import { NpyFormatError } from '../../src/errors.js';

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A .npy file as numpy lays it out: magic, version, header length, header, data. */
function npy(header: string, data: Uint8Array, { major = 1, align = 64 } = {}): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let text = header;
  if (align > 0) {
    const total = Math.ceil((prefix + text.length + 1) / align) * align;
    text = text.padEnd(total - prefix - 1, ' ');
  }
  text += '\n';
  const len = new Uint8Array(major === 1 ? 2 : 4);
  const view = new DataView(len.buffer);
  if (major === 1) view.setUint16(0, text.length, true); else view.setUint32(0, text.length, true);
  return concat(latin1('\x93NUMPY'), new Uint8Array([major, 0]), len, latin1(text), data);
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const f64 = (...v: number[]) => new Uint8Array(new Float64Array(v).buffer);
const dict = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function npyError(bytes: Uint8Array, name = 'bad.npy'): string {
  try {
    parseNpy(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(NpyFormatError);
    expect((e as Error).message).toContain(name);
    return (e as Error).message;
  }
  throw new Error('parseNpy accepted a bad file');
}

describe('writing', () => {
  test('encodeNpy writes byte for byte what numpy.save writes', () => {
    // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3) * 0.5): header length 118 (0x76).
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, ' ') + '\n';
    const expected = concat(latin1('\x93NUMPY\x01\x00\x76\x00'), latin1(header), f32(0, 0.5, 1, 1.5, 2, 2.5));
    const bytes = encodeNpy({ shape: [2, 3], data: new Float32Array([0, 0.5, 1, 1.5, 2, 2.5]) });
    expect(bytes).toEqual(expected);
    expect(bytes.length).toBe(128 + 24);
  });

  test('the data starts on a 64-byte boundary for any shape', () => {
    for (const shape of [[], [7], [1, 3, 224, 224], [123456789, 0], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = encodeNpy({ shape, data: new Float32Array(n) });
      const headerLength = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLength) % 64).toBe(0);
      expect(bytes[10 + headerLength - 1]).toBe(0x0a);
    }
  });

  test('round trip keeps shape and every float32 bit pattern', () => {
    const data = new Float32Array([0, -0, 1.5, -3.25e-39, 3.4028234663852886e38, Infinity, -Infinity, NaN,
      Math.PI, 1e-45]);
    for (const shape of [[10], [2, 5], [1, 2, 5, 1]]) {
      const back = parseNpy(encodeNpy({ shape, data }), 'x.npy');
      expect(back.shape).toEqual(shape);
      expect(new Uint32Array(back.data.buffer)).toEqual(new Uint32Array(data.buffer));
    }
    expect(parseNpy(encodeNpy({ shape: [], data: new Float32Array([4]) }), 's.npy')).toEqual({ shape: [], data: new Float32Array([4]) });
    expect(parseNpy(encodeNpy({ shape: [0, 3], data: new Float32Array(0) }), 'e.npy').shape).toEqual([0, 3]);
  });

  test('a tensor whose data does not match its shape is refused', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: new Float32Array(3) })).toThrow(NpyFormatError);
    expect(() => encodeNpy({ shape: [-1], data: new Float32Array(0) })).toThrow(NpyFormatError);
  });
});

describe('reading', () => {
  test('numpy <f8 v1 file (np.save of np.array([1.5, -2.25])) becomes float32', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }".padEnd(117, ' ') + '\n';
    const bytes = concat(latin1('\x93NUMPY\x01\x00\x76\x00'), latin1(header), f64(1.5, -2.25));
    const t = parseNpy(bytes, 'd.npy');
    expect(t.shape).toEqual([2]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1.5, -2.25]);
  });

  test('versions 2.0 and 3.0 (4-byte header length)', () => {
    for (const major of [2, 3]) {
      // numpy.lib.format.write_array(f, np.array([1.5, -2.25], 'f4'), version=(major, 0))
      const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".padEnd(115, ' ') + '\n';
      const bytes = concat(latin1(`\x93NUMPY${String.fromCharCode(major)}\x00\x74\x00\x00\x00`), latin1(header), f32(1.5, -2.25));
      expect(parseNpy(bytes, 'v.npy')).toEqual({ shape: [2], data: new Float32Array([1.5, -2.25]) });
    }
  });

  test('headers padded to 16 (old numpy), unaligned data, other spellings of the dict', () => {
    const data = f32(1, 2, 3, 4, 5, 6);
    const want = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    expect(parseNpy(npy(dict('<f4', '(2, 3)'), data, { align: 16 }), 'a.npy')).toEqual(want);
    expect(parseNpy(npy(dict('<f4', '(2, 3)') + ' ', data, { align: 0 }), 'b.npy')).toEqual(want);
    expect(parseNpy(npy(`{"shape":(2,3),"fortran_order":False,"descr":"<f4"}`, data), 'c.npy')).toEqual(want);
    expect(parseNpy(npy(dict('<f4', '(2L, 3L)'), data), 'd.npy')).toEqual(want); // Python 2 longs
    expect(parseNpy(npy(dict('<f4', '(6,)'), data, { major: 2 }), 'e.npy').shape).toEqual([6]);
    expect(parseNpy(npy(dict('<f4', '()'), f32(7)), 'f.npy')).toEqual({ shape: [], data: new Float32Array([7]) });
  });

  test('a Node Buffer (a view into a shared pool) reads correctly', () => {
    const file = encodeNpy({ shape: [3], data: new Float32Array([1, 2, 3]) });
    const pool = new Uint8Array(file.length + 3);
    pool.set(file, 3);
    const view = Buffer.from(pool.buffer, 3, file.length);
    expect(Array.from(parseNpy(view, 'p.npy').data)).toEqual([1, 2, 3]);
  });
});

describe('corrupt and unsupported files are refused, naming the fault', () => {
  const good = npy(dict('<f4', '(2, 3)'), f32(1, 2, 3, 4, 5, 6));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /magic/],
    ['not npy', latin1('PK\x03\x04 a zip, maybe an .npz'), /magic/],
    ['version 4.0', (() => { const b = good.slice(); b[6] = 4; return b; })(), /version 4\.0/],
    ['ends in the header length', good.slice(0, 9), /header length|magic/],
    ['header longer than the file', good.slice(0, 40), /header says it is \d+ bytes/],
    ['unterminated dict', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", f32(1, 2, 3, 4, 5, 6)), /cannot parse the header/],
    ['code in the header', npy("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (2, 3)}", f32()), /unexpected name '__import__'/],
    ['not a dict', npy("['<f4', False, (2, 3)]", f32()), /not a dict/],
    ['missing key', npy("{'descr': '<f4', 'shape': (2, 3)}", f32()), /no 'fortran_order' key/],
    ['unexpected key', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f32(1)), /unexpected key 'x'/],
    ['fortran order', npy(dict('<f4', '(2, 3)', 'True'), f32(1, 2, 3, 4, 5, 6)), /fortran_order is True/],
    ['big-endian', npy(dict('>f4', '(2, 3)'), f32(1, 2, 3, 4, 5, 6)), /big-endian/],
    ['int32', npy(dict('<i4', '(2, 3)'), f32(1, 2, 3, 4, 5, 6)), /dtype '<i4' is not supported/],
    ['float16', npy(dict('<f2', '(2,)'), f32(1)), /dtype '<f2' is not supported/],
    ['object array', npy(dict('|O', '(2,)'), f32(1, 2)), /object array/],
    ['structured dtype', npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f32(1, 2)), /structured dtypes/],
    ['shape is a list', npy(dict('<f4', '[2, 3]'), f32(1, 2, 3, 4, 5, 6)), /shape is not a tuple/],
    ['shape is a number', npy(dict('<f4', '6'), f32(1, 2, 3, 4, 5, 6)), /shape is not a tuple/],
    ['negative dimension', npy(dict('<f4', '(-2, 3)'), f32(1, 2, 3, 4, 5, 6)), /negative dimension/],
    ['non-integer dimension', npy(dict('<f4', '(2.0, 3)'), f32(1, 2, 3, 4, 5, 6)), /non-integer dimension/],
    ['string dimension', npy(dict('<f4', "('2', 3)"), f32(1, 2, 3, 4, 5, 6)), /non-integer dimension/],
    ['over 2^31 elements', npy(dict('<f4', '(65536, 65536)'), f32(1)), /more than the 2\^31/],
    ['huge dimension', npy(dict('<f4', '(0, 99999999999999999999)'), f32()), /dimension over 2\^31/],
    ['truncated data', good.slice(0, good.length - 1), /truncated: shape \(2, 3\) of <f4 needs 24 bytes, the file holds 23/],
    ['more elements than bytes', npy(dict('<f4', '(1000, 1000)'), f32(1, 2)), /truncated/],
    ['extra bytes after the data', concat(good, new Uint8Array(4)), /4 unexpected bytes/],
    ['absurd header length', (() => {
      const b = latin1('\x93NUMPY\x02\x00\xff\xff\xff\x7f{}');
      return concat(b, new Uint8Array(2 ** 21));
    })(), /header (is \d+ bytes long|says)/],
  ];
  test.each(cases)('%s', (_, bytes, fault) => {
    expect(npyError(bytes, 'bad.npy')).toMatch(fault);
  });
});

test('the literal parser reads what numpy headers hold and nothing executable', () => {
  const v = parsePyLiteral("{'a': (1,), 'b': (), 'c': [1, 2], 'd': None, 'e': \"x'y\", 'f': True}");
  expect(v).toBeInstanceOf(Map);
  const m = v as Map<string, unknown>;
  const seq = (k: string) => m.get(k) as unknown[] & { tuple?: true };
  expect([...seq('a')]).toEqual([1]);
  expect(seq('a').tuple).toBe(true);
  expect([...seq('b')]).toEqual([]);
  expect(seq('b').tuple).toBe(true);
  expect([...seq('c')]).toEqual([1, 2]);
  expect(seq('c').tuple).toBeUndefined();
  expect(m.get('d')).toBe(null);
  expect(m.get('e')).toBe("x'y");
  expect(m.get('f')).toBe(true);
  expect(parsePyLiteral('(5)')).toBe(5); // parentheses, not a tuple
  expect(() => parsePyLiteral("{'a': 1} extra")).toThrow(/after the value/);
  expect(() => parsePyLiteral("{'a': 1, 'a': 2}")).toThrow(/duplicate key/);
  expect(() => parsePyLiteral('('.repeat(100))).toThrow(/too deep/);
  expect(() => parsePyLiteral('lambda: 0')).toThrow(/unexpected name/);
});
