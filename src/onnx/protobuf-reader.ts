/**
 * A minimal protobuf decoder: exactly what reading an ONNX ModelProto needs, written to survive
 * hostile files.
 *
 * Why not protobufjs (or a generated onnx.proto module): protobufjs builds its decoders at run
 * time with `new Function(...)`, which a page with a strict Content Security Policy (no
 * 'unsafe-eval') refuses to run, and this library must work in such pages. Its static-code mode
 * avoids that but ships a large generated module for the whole onnx.proto, and it decodes a
 * `bytes` field by copying it: a 250 MB model would then exist twice before its weights reach
 * the wasm memory. This reader never copies a large field: it hands out its position in the file
 * (see `ByteSource`), and the importer copies the weights straight into the model's memory.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/): every field is a key
 * `(field << 3) | wireType` as a varint, then its value: VARINT (0), I64 (1, 8 bytes), LEN (2,
 * a varint length then that many bytes), I32 (5, 4 bytes). Groups (3, 4) are long deprecated
 * and not used by ONNX; they are refused.
 *
 * Hostile input: every length is checked against the bytes that remain in the enclosing message
 * before anything is read or skipped; varints are limited to 10 bytes; nested messages are
 * limited to MAX_DEPTH; every read advances, so no loop can spin. Every problem is a
 * ModelFormatError naming the byte offset and the field path (`ModelProto.graph.node[3].name`).
 */
import { ModelFormatError } from '../errors.js';

/** Nested messages deeper than this are refused (ONNX as we read it nests about 7 deep). */
export const MAX_DEPTH = 32;

/**
 * Random access to the bytes of a file: the whole file in memory, or a file read on demand (a
 * Node file descriptor), so a model's weights never have to be in memory twice.
 */
export interface ByteSource {
  readonly length: number;
  /**
   * Bytes starting at `offset`: a view whose first byte is the file's byte `start` (<= offset)
   * and which covers at least `want` bytes from `offset`, or up to the end of the file.
   */
  window(offset: number, want: number): { bytes: Uint8Array; start: number };
  /** Copy bytes [offset, offset + dest.length) of the file into `dest`. */
  copyTo(offset: number, dest: Uint8Array): void;
}

/** A file held in memory: windows are views, copies come straight from it. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    window: () => ({ bytes, start: 0 }),
    copyTo(offset, dest) {
      if (offset < 0 || offset + dest.length > bytes.length) throw new RangeError('copy past the end of the file');
      dest.set(bytes.subarray(offset, offset + dest.length));
    },
  };
}

/** The parts of Node's `fs` a file source uses (passed in, so this module imports nothing from Node). */
export interface SyncFileReader {
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
}

/**
 * A file read on demand through a Node file descriptor: small windows for the message
 * structure, and weights read straight into their destination (the wasm memory).
 */
export function fileSource(fs: SyncFileReader, fd: number, length: number, name: string): ByteSource {
  const WINDOW = 1 << 20;
  let cached: { bytes: Uint8Array; start: number } = { bytes: new Uint8Array(0), start: 0 };
  const readAt = (position: number, dest: Uint8Array) => {
    let done = 0;
    while (done < dest.length) {
      // readSync reads at most 2 GB at once and may return less: loop until done.
      const n = fs.readSync(fd, dest, done, Math.min(dest.length - done, 1 << 30), position + done);
      if (n <= 0) throw new ModelFormatError(`${name}: the file ended at byte ${position + done} while reading it (was it changed while loading?)`);
      done += n;
    }
  };
  return {
    length,
    window(offset, want) {
      const c = cached;
      if (offset >= c.start && offset + Math.min(want, length - offset) <= c.start + c.bytes.length) return c;
      const size = Math.min(Math.max(want, WINDOW), length - offset);
      const bytes = new Uint8Array(Math.max(0, size));
      readAt(offset, bytes);
      cached = { bytes, start: offset };
      return cached;
    },
    copyTo(offset, dest) {
      if (offset < 0 || offset + dest.length > length) throw new RangeError('copy past the end of the file');
      readAt(offset, dest);
    },
  };
}

export const Wire = { Varint: 0, I64: 1, Len: 2, I32: 5 } as const;
const WIRE_NAMES = ['VARINT', 'I64', 'LEN', 'SGROUP', 'EGROUP', 'I32', 'wire type 6', 'wire type 7'];

const utf8 = new TextDecoder('utf-8');

/**
 * A cursor over one message: bytes [pos, end) of the source. `message()` opens a nested message
 * as a new reader over exactly its bytes, one level deeper.
 */
export class ProtoReader {
  pos: number;
  /** The current field, for messages: set by `next()`. */
  field = 0;
  wire = 0;
  /** Byte offset of the current field's key. */
  fieldStart = 0;
  private buf: Uint8Array;
  private bufStart: number;

  constructor(readonly source: ByteSource, start: number, readonly end: number,
              /** Where this message is, for error messages: `ModelProto.graph.node[3]`. */
              readonly path: string, readonly depth = 0) {
    if (start < 0 || end > source.length || start > end) {
      throw new ModelFormatError(`${path}: message bounds [${start}, ${end}) are outside the file (${source.length} bytes)`);
    }
    if (depth > MAX_DEPTH) throw new ModelFormatError(`${path}: messages nested more than ${MAX_DEPTH} deep at byte ${start}`);
    this.pos = start;
    const w = source.window(start, 64);
    this.buf = w.bytes;
    this.bufStart = w.start;
  }

  static of(bytes: Uint8Array, path: string): ProtoReader {
    return new ProtoReader(memorySource(bytes), 0, bytes.length, path);
  }

  get done(): boolean { return this.pos >= this.end; }

  /** A ModelFormatError at the current field. */
  error(message: string, at = this.fieldStart): ModelFormatError {
    return new ModelFormatError(`${this.path}${this.field ? ` field ${this.field}` : ''} at byte ${at}: ${message}`);
  }

  /** Read the next field's key; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    this.fieldStart = this.pos;
    this.field = 0;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field > 0x1fffffff) throw this.error(`invalid field number ${field} (key ${key}): this is not a protobuf message, or it is corrupt`);
    this.field = field;
    this.wire = wire;
    if (wire !== Wire.Varint && wire !== Wire.I64 && wire !== Wire.Len && wire !== Wire.I32) {
      throw this.error(`${WIRE_NAMES[wire]} is not a wire type ONNX uses: the file is corrupt or not ONNX`);
    }
    return true;
  }

  private byte(): number {
    if (this.pos >= this.end) throw this.error(`the message ends (at byte ${this.end}) in the middle of a value: the file is truncated or corrupt`);
    let i = this.pos - this.bufStart;
    if (i < 0 || i >= this.buf.length) {
      const w = this.source.window(this.pos, 64);
      this.buf = w.bytes;
      this.bufStart = w.start;
      i = this.pos - this.bufStart;
    }
    this.pos += 1;
    return this.buf[i];
  }

  /**
   * A varint as a JS number, with int64 semantics: values of 2^63 and above (negative numbers
   * written as 10-byte two's complement) come back negative. Exact up to 2^53 in magnitude.
   */
  varint(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) { lo |= (b & 0x0f) << 28; hi |= (b & 0x7f) >>> 4; }
      else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) {
        lo >>>= 0;
        if (hi & 0x80000000) return -((~hi >>> 0) * 0x100000000 + (~lo >>> 0) + 1);
        return (hi >>> 0) * 0x100000000 + lo;
      }
    }
    throw this.error('a varint longer than 10 bytes: the file is corrupt');
  }

  /** The current field's value as an integer; refuses other wire types. */
  int(what: string): number {
    if (this.wire !== Wire.Varint) throw this.error(`${what} should be a varint, found ${WIRE_NAMES[this.wire]}`);
    return this.varint();
  }

  /** A float (I32) field. */
  float(what: string): number {
    if (this.wire !== Wire.I32) throw this.error(`${what} should be a 32-bit float, found ${WIRE_NAMES[this.wire]}`);
    const b0 = this.byte(), b1 = this.byte(), b2 = this.byte(), b3 = this.byte();
    F32_BYTES[0] = b0; F32_BYTES[1] = b1; F32_BYTES[2] = b2; F32_BYTES[3] = b3;
    return F32_VIEW.getFloat32(0, true);
  }

  /** The current LEN field's payload range [start, end), checked against this message's end; skips it. */
  range(what: string): { start: number; end: number } {
    if (this.wire !== Wire.Len) throw this.error(`${what} should be length-delimited, found ${WIRE_NAMES[this.wire]}`);
    const lengthAt = this.pos;
    const length = this.varint();
    const remaining = this.end - this.pos;
    if (length < 0 || length > remaining) {
      throw this.error(`${what} declares ${length} bytes but only ${remaining} remain in the enclosing message ` +
        `(length at byte ${lengthAt}): the file is truncated or corrupt`);
    }
    const start = this.pos;
    this.pos += length;
    return { start, end: start + length };
  }

  /** The current field as a nested message reader. */
  message(what: string): ProtoReader {
    const { start, end } = this.range(what);
    return new ProtoReader(this.source, start, end, what, this.depth + 1);
  }

  /** A string field (UTF-8), at most `max` bytes. */
  string(what: string, max = 1 << 20): string {
    const { start, end } = this.range(what);
    if (end - start > max) throw this.error(`${what} is ${end - start} bytes long; more than ${max} is not plausible`);
    return utf8.decode(this.bytesAt(start, end));
  }

  /** Bytes [start, end) of the source (a view where the source holds them in memory). */
  bytesAt(start: number, end: number): Uint8Array {
    const w = this.source.window(start, end - start);
    const from = start - w.start;
    if (from < 0 || from + (end - start) > w.bytes.length) {
      const out = new Uint8Array(end - start);
      this.source.copyTo(start, out);
      return out;
    }
    return w.bytes.subarray(from, from + (end - start));
  }

  /** Skip the current field's value. */
  skip(): void {
    switch (this.wire) {
      case Wire.Varint: this.varint(); return;
      case Wire.I64: this.advance(8); return;
      case Wire.I32: this.advance(4); return;
      case Wire.Len: this.range(`field ${this.field}`); return;
      default: throw this.error(`cannot skip ${WIRE_NAMES[this.wire]}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw this.error(`a ${n}-byte value runs past the end of the message (byte ${this.end}): the file is truncated or corrupt`);
    this.pos += n;
  }

  /**
   * Repeated integers: one packed LEN field or one unpacked varint. Appends to `out`, which may
   * hold at most `max` values in all.
   */
  ints(what: string, out: number[], max: number): void {
    if (this.wire === Wire.Len) {
      const { start, end } = this.range(what);
      const sub = new ProtoReader(this.source, start, end, what, this.depth + 1);
      while (!sub.done) {
        if (out.length >= max) throw this.error(`${what} has more than ${max} values`);
        out.push(sub.varint());
      }
      return;
    }
    if (out.length >= max) throw this.error(`${what} has more than ${max} values`);
    out.push(this.int(what));
  }

  /** Repeated floats: one packed LEN field or one unpacked I32. Appends to `out` (at most `max` values). */
  floats(what: string, out: number[], max: number): void {
    if (this.wire === Wire.Len) {
      const { start, end } = this.range(what);
      if ((end - start) % 4 !== 0) throw this.error(`${what}: packed floats take ${end - start} bytes, not a multiple of 4`);
      if (out.length + (end - start) / 4 > max) throw this.error(`${what} has more than ${max} values`);
      const bytes = this.bytesAt(start, end);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < bytes.length; i += 4) out.push(view.getFloat32(i, true));
      return;
    }
    if (out.length >= max) throw this.error(`${what} has more than ${max} values`);
    out.push(this.float(what));
  }
}

const F32_BYTES = new Uint8Array(4);
const F32_VIEW = new DataView(F32_BYTES.buffer);
