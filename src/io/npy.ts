/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), so tensors go to and from numpy users.
 *
 * Writing: little-endian float32 ('<f4'), C order, header padded so the data starts on a
 * 64-byte boundary (what numpy itself writes). Reading: '<f4', and '<f8' converted to float32.
 * Everything else (Fortran order, big-endian, other dtypes, object arrays, structured dtypes,
 * truncated or oversized data, absurd shapes) is refused with an NpyFormatError naming the file
 * and the fault. The header is a Python dict literal; it is read by a small hand parser (never
 * eval). No Node APIs: this file runs in browsers too.
 */
import { NpyFormatError } from '../errors.js';
import type { Tensor } from '../engine/tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest tensor we accept: 2^31 elements (typed arrays and the wasm arena stop near there). */
const MAX_ELEMENTS = 2 ** 31;
/** numpy refuses headers over 10000 bytes unless told otherwise; we allow more, within reason. */
const MAX_HEADER = 1 << 20;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Read a .npy file. `name` (a file name) is used in error messages only. */
export function parseNpy(bytes: Uint8Array, name: string): Tensor {
  const fail = (fault: string): never => { throw new NpyFormatError(`${name} is not a valid .npy file: ${fault}`); };
  if (!(bytes instanceof Uint8Array)) fail('expected bytes (a Uint8Array)');
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    fail('it does not start with the .npy magic string \\x93NUMPY');
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) fail(`unsupported format version ${major}.${minor} (1.0, 2.0 and 3.0 are read)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('the file ends inside the header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    fail(`the header says it is ${headerLength} bytes but the file ends after ${bytes.length - headerStart}`);
  }
  if (headerLength > MAX_HEADER) fail(`the header is ${headerLength} bytes long; numpy writes a few hundred`);
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let text = '';
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      fail('the header is not valid UTF-8');
    }
  } else {
    // Version 1 and 2 headers are latin-1 (in practice ASCII).
    for (const b of headerBytes) text += String.fromCharCode(b);
  }

  let header: PyValue;
  try {
    header = parsePyLiteral(text);
  } catch (e) {
    return fail(`cannot parse the header ${JSON.stringify(truncate(text.trim(), 120))}: ${(e as Error).message}`);
  }
  if (!(header instanceof Map)) return fail('the header is not a dict');
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!header.has(key)) fail(`the header has no '${key}' key`);
  }
  for (const key of header.keys()) {
    if (!['descr', 'fortran_order', 'shape'].includes(key)) fail(`the header has an unexpected key '${key}'`);
  }

  const descr = header.get('descr');
  if (typeof descr !== 'string') {
    return fail('structured dtypes (records) are not supported; save a plain float32 array');
  }
  const itemSize = dtypeItemSize(descr, fail);

  const fortran = header.get('fortran_order');
  if (typeof fortran !== 'boolean') fail('fortran_order is not True or False');
  if (fortran) fail('fortran_order is True; save a C-order array (numpy.ascontiguousarray)');

  const rawShape = header.get('shape');
  if (!Array.isArray(rawShape) || !(rawShape as PyTuple).tuple) fail('shape is not a tuple');
  const shape: number[] = [];
  let count = 1;
  for (const d of rawShape as PyValue[]) {
    if (typeof d !== 'number' || !Number.isInteger(d)) fail(`shape ${pyRepr(rawShape as PyValue)} has a non-integer dimension`);
    if ((d as number) < 0) fail(`shape ${pyRepr(rawShape as PyValue)} has a negative dimension`);
    if ((d as number) > MAX_ELEMENTS) fail(`shape ${pyRepr(rawShape as PyValue)} has a dimension over 2^31`);
    shape.push(d as number);
    count *= d as number;
  }
  if (count > MAX_ELEMENTS) fail(`shape (${shape.join(', ')}) has ${count} elements, more than the 2^31 supported`);

  const dataBytes = bytes.length - dataStart;
  const need = count * itemSize;
  if (dataBytes < need) {
    fail(`the data is truncated: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, the file holds ${dataBytes}`);
  }
  if (dataBytes > need) {
    fail(`${dataBytes - need} unexpected bytes follow the data of shape (${shape.join(', ')})`);
  }

  const data = new Float32Array(count);
  if (itemSize === 4) {
    if (LITTLE_ENDIAN_HOST) {
      // Copy the bytes into the (aligned) result, whatever the data offset was. Not
      // bytes.slice(): on a Node Buffer that is a view, not a copy.
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + need));
    } else {
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
    }
  } else {
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  }
  return { shape, data };
}

function dtypeItemSize(descr: string, fail: (fault: string) => never): 4 | 8 {
  if (descr === '<f4') return 4;
  if (descr === '<f8') return 8;
  if (/^[>!]/.test(descr)) return fail(`dtype '${descr}' is big-endian; save little-endian float32 ('<f4')`);
  if (/^[|<>=]?O/.test(descr)) return fail('it holds an object array (pickled Python objects), which is never read');
  return fail(`dtype '${descr}' is not supported; save float32 ('<f4') or float64 ('<f8')`);
}

/** A float32 C-order .npy file (version 1.0, or 2.0 if the header needs it) of a tensor. */
export function encodeNpy(t: Tensor): Uint8Array {
  if (!t || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
    throw new NpyFormatError('encodeNpy needs a tensor { shape: number[], data: Float32Array }');
  }
  let count = 1;
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) throw new NpyFormatError(`cannot write shape [${t.shape.join(', ')}] to .npy`);
    count *= d;
  }
  if (count !== t.data.length) {
    throw new NpyFormatError(`cannot write .npy: shape [${t.shape.join(', ')}] needs ${count} values, the data has ${t.data.length}`);
  }
  const shapeText = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  // Byte for byte what numpy.save writes: the dict, room for the first axis to grow to 21
  // digits, then spaces and a newline so that the data starts on a 64-byte boundary.
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (t.shape.length > 0) dict += ' '.repeat(Math.max(0, 21 - String(t.shape[0]).length));
  // (numpy pads by 64 - (length % 64), a whole 64 when the length is already aligned.)
  const padded = (prefix: number) => dict.length + 1 + 64 - ((prefix + dict.length + 1) % 64);
  let major = 1;
  let prefix = 10;
  let headerLength = padded(prefix);
  if (headerLength > 0xffff) {
    major = 2;
    prefix = 12;
    headerLength = padded(prefix);
  }
  const header = dict.padEnd(headerLength - 1, ' ') + '\n';
  const out = new Uint8Array(prefix + headerLength + 4 * count);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  const dataStart = prefix + headerLength;
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataStart);
  } else {
    for (let i = 0; i < count; i++) view.setFloat32(dataStart + 4 * i, t.data[i], true);
  }
  return out;
}

// --- A parser for the Python literals a .npy header holds --------------------------------

type PyTuple = PyValue[] & { tuple?: true };
/** A float literal, kept apart from integers so that a shape like (3.0,) is refused. */
export class PyFloat { constructor(readonly value: number) {} }
type PyValue = string | number | PyFloat | boolean | null | PyValue[] | PyTuple | Map<string, PyValue>;

/**
 * Parses dicts with string keys, tuples, lists, strings ('...' or "..." with simple escapes),
 * integers, floats, True, False and None. Anything else throws with the position.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const MAX_DEPTH = 16;
  const err = (what: string): never => { throw new Error(`${what} at character ${i}`); };
  const ws = () => { while (i < text.length && /[ \t\r\n]/.test(text[i])) i++; };

  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) err('nesting too deep');
    ws();
    const c = text[i];
    if (c === undefined) return err('unexpected end');
    if (c === '{') return dict(depth);
    if (c === '(') return sequence(')', depth);
    if (c === '[') return sequence(']', depth);
    if (c === "'" || c === '"') return string();
    if (/[-+0-9]/.test(c)) return number();
    const word = /^[A-Za-z_]+/.exec(text.slice(i, i + 16))?.[0];
    if (word === 'True') { i += 4; return true; }
    if (word === 'False') { i += 5; return false; }
    if (word === 'None') { i += 4; return null; }
    return err(`unexpected ${word ? `name '${word}'` : `'${c}'`}`);
  };

  const dict = (depth: number): Map<string, PyValue> => {
    const map = new Map<string, PyValue>();
    i++; // {
    for (;;) {
      ws();
      if (text[i] === '}') { i++; return map; }
      const key = value(depth + 1);
      if (typeof key !== 'string') err('dict key is not a string');
      ws();
      if (text[i] !== ':') err("expected ':'");
      i++;
      if (map.has(key as string)) err(`duplicate key '${key}'`);
      map.set(key as string, value(depth + 1));
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return map; }
      err("expected ',' or '}'");
    }
  };

  const sequence = (close: ')' | ']', depth: number): PyValue[] => {
    const items: PyTuple = [];
    let commas = 0;
    i++; // ( or [
    for (;;) {
      ws();
      if (text[i] === close) { i++; break; }
      items.push(value(depth + 1));
      ws();
      if (text[i] === ',') { i++; commas++; continue; }
      if (text[i] === close) { i++; break; }
      err(`expected ',' or '${close}'`);
    }
    if (close === ')') {
      // (x) is just x in Python; (x,) is a one-tuple.
      if (items.length === 1 && commas === 0) return items[0] as PyValue[];
      items.tuple = true;
    }
    return items;
  };

  const string = (): string => {
    const quote = text[i++];
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') {
        const e = text[i + 1];
        if (e === undefined) break;
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        i += 2;
      } else {
        out += text[i++];
      }
    }
    if (text[i] !== quote) err('unterminated string');
    i++;
    return out;
  };

  const number = (): number | PyFloat => {
    const m = /^[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)L?/.exec(text.slice(i));
    if (!m) return err('bad number');
    i += m[0].length;
    const n = Number(m[0].replace(/L$/, ''));
    if (!Number.isFinite(n)) err('number out of range');
    return /[.eE]/.test(m[0]) ? new PyFloat(n) : n;
  };

  const result = value(0);
  ws();
  if (i < text.length) err('unexpected text after the value');
  return result;
}

function pyRepr(v: PyValue): string {
  if (Array.isArray(v)) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(', ')})`;
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof PyFloat) return String(v.value).includes('.') ? String(v.value) : `${v.value}.0`;
  return String(v);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
