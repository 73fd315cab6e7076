/**
 * A minimal protobuf encoder: exactly what writing an ONNX ModelProto needs, nothing more.
 *
 * Why not protobufjs (or a generated onnx.proto module): protobufjs builds its encoders and
 * decoders at run time with `new Function(...)`, which a page with a strict Content Security
 * Policy (no 'unsafe-eval') refuses to run, and this library must work in such pages. Its
 * static-code mode avoids that but ships a large generated module for the whole onnx.proto.
 * ONNX only needs four wire types, so a hand-written encoder is short, auditable and CSP-safe.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/): every field is a key
 * `(field << 3) | wireType` written as a varint, then its value:
 *   - wire type 0 (VARINT): int32, int64, uint64, bool, enum. Negative numbers are written as
 *     their 64-bit two's complement, so they always take 10 bytes.
 *   - wire type 5 (I32): float (IEEE 754 single, little-endian).
 *   - wire type 2 (LEN): a varint byte length, then the bytes: strings (UTF-8), bytes, nested
 *     messages, and "packed" repeated scalars (the values back to back, no keys).
 *
 * Big payloads (weight tensors of hundreds of MB) are never copied while the message tree is
 * built: a writer keeps a list of byte chunks and a nested message just appends its parent's
 * key and length, then adopts the child's chunks. `finish()` copies everything once.
 */

/** Wire types used here (I64, type 1, is not needed: ONNX writes no double/fixed64 we emit). */
const WireType = { Varint: 0, Len: 2, I32: 5 } as const;
type WireType = (typeof WireType)[keyof typeof WireType];

const utf8 = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class ProtoWriter {
  /** Finished chunks, in order. */
  private readonly chunks: Uint8Array[] = [];
  /** Small writes (keys, varints, floats) accumulate here until a chunk is appended. */
  private pending: number[] = [];
  private chunkBytes = 0;

  /** Total encoded length in bytes so far. */
  get length(): number {
    return this.chunkBytes + this.pending.length;
  }

  /** An integer field (int32, int64, uint64, enum) as a varint; negatives as 64-bit two's complement. */
  int(field: number, value: number): this {
    this.key(field, WireType.Varint);
    this.varint(value);
    return this;
  }

  /** A bool field. */
  bool(field: number, value: boolean): this {
    return this.int(field, value ? 1 : 0);
  }

  /** A float field (fixed 32 bits, little-endian). */
  float(field: number, value: number): this {
    this.key(field, WireType.I32);
    this.fixed32Float(value);
    return this;
  }

  /** A string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A bytes field. The array is referenced, not copied, until `finish()`. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, WireType.Len);
    this.varint(value.length);
    this.append(value);
    return this;
  }

  /** A nested message field. The child's chunks are adopted: do not reuse `child` afterwards. */
  message(field: number, child: ProtoWriter): this {
    this.key(field, WireType.Len);
    this.varint(child.length);
    child.flush();
    for (const chunk of child.chunks) this.append(chunk);
    return this;
  }

  /** Repeated integers, one key per value (proto2's default, e.g. ONNX's `dims` and `ints`). */
  repeatedInts(field: number, values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.int(field, values[i]);
    return this;
  }

  /** Repeated floats, one key per value (proto2's default, e.g. ONNX's AttributeProto.floats). */
  repeatedFloats(field: number, values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.float(field, values[i]);
    return this;
  }

  /** Repeated strings, one key per value. */
  repeatedStrings(field: number, values: readonly string[]): this {
    for (const v of values) this.string(field, v);
    return this;
  }

  /** Packed repeated integers (`[packed = true]`): one key, one length, the varints. */
  packedInts(field: number, values: ArrayLike<number>): this {
    const body = new ProtoWriter();
    for (let i = 0; i < values.length; i++) body.varint(values[i]);
    this.key(field, WireType.Len);
    this.varint(body.length);
    this.append(body.finish());
    return this;
  }

  /** Packed repeated floats (`[packed = true]`): one key, one length, 4 little-endian bytes each. */
  packedFloats(field: number, values: Float32Array): this {
    this.key(field, WireType.Len);
    this.varint(values.byteLength);
    this.append(float32LittleEndian(values));
    return this;
  }

  /** The encoded message, in one new array. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunkBytes);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  private key(field: number, wireType: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`invalid protobuf field number ${field}`);
    this.varint(field * 8 + wireType);
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`cannot encode ${value} as a protobuf varint`);
    const p = this.pending;
    if (value < 0) {
      // 64-bit two's complement: always 10 bytes.
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        p.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      p.push(Number(v));
      return;
    }
    // Non-negative safe integers: plain arithmetic (bit operators would truncate to 32 bits).
    while (value >= 0x80) {
      p.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    p.push(value);
  }

  private fixed32Float(value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pending.push(bytes[0], bytes[1], bytes[2], bytes[3]);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const bytes = Uint8Array.from(this.pending);
    this.pending = [];
    this.chunks.push(bytes);
    this.chunkBytes += bytes.length;
  }

  private append(chunk: Uint8Array): void {
    this.flush();
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
  }
}

/** The little-endian bytes of a float array: a view where the platform is little-endian. */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
