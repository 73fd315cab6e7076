/**
 * Reading tensor values from where the decoder found them (src/onnx/proto.ts): float weights
 * straight into a destination array (the model's wasm memory), and the few small integer
 * tensors a graph needs (Reshape shapes). Sizes are checked against the dims before anything is
 * read, so a tensor shorter or longer than its dims, or with absurd dims, is refused up front.
 */
import { ModelFormatError } from '../errors.js';
import { ProtoReader, type ByteSource } from './protobuf-reader.js';
import { DataType, dataTypeName, MAX_INT_VALUES, type TensorRef } from './proto.js';

/** Largest element count we accept in one tensor (2^31: 8 GiB of floats, beyond any wasm memory). */
const MAX_ELEMENTS = 2 ** 31;

/** Field numbers of TensorProto's typed data. */
const FLOAT_DATA = 4, INT32_DATA = 5, INT64_DATA = 7;

export function describeTensor(t: TensorRef): string {
  return `'${t.name}' [${t.dims.join(', ')}]`;
}

/** The element count of a tensor's dims, refusing negative or absurd dims. */
export function elementCount(t: TensorRef): number {
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ModelFormatError(`tensor ${describeTensor(t)} (${t.where}) has an invalid dimension ${d}`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new ModelFormatError(`tensor ${describeTensor(t)} (${t.where}) declares ${n} elements; more than 2^31 cannot be a weight ` +
      'this engine (or any 32-bit WebAssembly memory) can hold');
  }
  return n;
}

function refuseUnreadable(t: TensorRef): void {
  if (t.external !== undefined) {
    throw new ModelFormatError(`tensor '${t.name}' keeps its data in an external file (${t.external}); zf-visualizer ` +
      'reads single-file models only: save the model with its weights inside the .onnx file (onnx.save_model(model, ' +
      'path, save_as_external_data=False), possible below 2 GB)');
  }
  if (t.segmented) throw new ModelFormatError(`tensor '${t.name}' is split into segments, which is not supported`);
}

/**
 * Check that `t` is a float tensor whose data holds exactly its dims' element count; returns
 * the count.
 */
export function checkFloatTensor(t: TensorRef): number {
  refuseUnreadable(t);
  if (t.inline) {
    if (t.dataType !== DataType.FLOAT) throw new ModelFormatError(`constant '${t.name}' is ${dataTypeName(t.dataType)}, not FLOAT`);
    return t.inline.length;
  }
  if (t.dataType !== DataType.FLOAT) {
    throw new ModelFormatError(`tensor ${describeTensor(t)} is ${dataTypeName(t.dataType)}; weights must be FLOAT (32-bit) ` +
      '(quantized int8 and float16 models are not supported: use the float32 model)');
  }
  const count = elementCount(t);
  const have = floatCount(t);
  if (have !== count) {
    throw new ModelFormatError(`tensor ${describeTensor(t)} needs ${count} values but its data holds ${have}` +
      `${have < count ? ' (shorter than its dims: the file is truncated or corrupt)' : ''}`);
  }
  return count;
}

function floatCount(t: TensorRef): number {
  if (t.raw && t.fragments.length) throw new ModelFormatError(`tensor '${t.name}' has both raw_data and typed data`);
  if (t.raw) {
    const bytes = t.raw.end - t.raw.start;
    if (bytes % 4 !== 0) throw new ModelFormatError(`tensor '${t.name}': raw_data of ${bytes} bytes is not a whole number of floats`);
    return bytes / 4;
  }
  let n = 0;
  for (const f of t.fragments) {
    if (f.field !== FLOAT_DATA) throw new ModelFormatError(`tensor '${t.name}' is FLOAT but carries field ${f.field} data`);
    const bytes = f.end - f.start;
    const per = f.packed ? 4 : 5;
    if (bytes % per !== 0) throw new ModelFormatError(`tensor '${t.name}': float_data of ${bytes} bytes is malformed`);
    n += bytes / per;
  }
  return n;
}

/**
 * Copy elements [first, first + out.length) of a checked float tensor into `out`. `out` may be
 * a view of the wasm memory: raw data is copied byte for byte (both are little-endian).
 */
export function readFloats(source: ByteSource, t: TensorRef, first: number, out: Float32Array): void {
  if (t.inline) {
    for (let i = 0; i < out.length; i++) out[i] = t.inline[first + i];
    return;
  }
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  if (t.raw) {
    source.copyTo(t.raw.start + first * 4, bytes);
    return;
  }
  let at = 0; // element index where the current fragment starts
  let filled = 0;
  for (const f of t.fragments) {
    const per = f.packed ? 4 : 5;
    const count = (f.end - f.start) / per;
    const from = Math.max(first + filled - at, 0);
    const take = Math.min(count - from, out.length - filled);
    if (take > 0) {
      if (f.packed) {
        source.copyTo(f.start + from * 4, bytes.subarray(filled * 4, (filled + take) * 4));
      } else {
        const chunk = new Uint8Array(take * 5);
        source.copyTo(f.start + from * 5, chunk);
        const view = new DataView(chunk.buffer);
        for (let k = 0; k < take; k++) {
          if (chunk[k * 5] !== 0x25) throw new ModelFormatError(`tensor '${t.name}': malformed float_data at byte ${f.start + (from + k) * 5}`);
          out[filled + k] = view.getFloat32(k * 5 + 1, true);
        }
      }
      filled += take;
    }
    at += count;
    if (filled === out.length) return;
  }
  if (filled !== out.length) throw new ModelFormatError(`tensor '${t.name}' ends before element ${first + filled}`);
}

/** The values of a small INT64/INT32 tensor (a Reshape shape); at most MAX_INT_VALUES. */
export function readInts(source: ByteSource, t: TensorRef): number[] {
  refuseUnreadable(t);
  if (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32 && t.dataType !== DataType.BOOL) {
    throw new ModelFormatError(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, expected INT64`);
  }
  if (t.inline) return [...t.inline];
  const count = elementCount(t);
  if (count > MAX_INT_VALUES) throw new ModelFormatError(`tensor '${t.name}' has ${count} integers; more than ${MAX_INT_VALUES} is not a shape`);
  const out: number[] = [];
  if (t.raw) {
    const width = t.dataType === DataType.INT64 ? 8 : t.dataType === DataType.INT32 ? 4 : 1;
    const bytes = t.raw.end - t.raw.start;
    if (bytes !== count * width) throw new ModelFormatError(`tensor ${describeTensor(t)} needs ${count * width} bytes of raw_data, has ${bytes}`);
    const chunk = new Uint8Array(bytes);
    source.copyTo(t.raw.start, chunk);
    const view = new DataView(chunk.buffer);
    for (let i = 0; i < count; i++) {
      out.push(width === 8 ? Number(view.getBigInt64(i * 8, true)) : width === 4 ? view.getInt32(i * 4, true) : chunk[i]);
    }
    return out;
  }
  const field = t.dataType === DataType.INT64 ? INT64_DATA : INT32_DATA;
  for (const f of t.fragments) {
    if (f.field !== field) throw new ModelFormatError(`tensor '${t.name}' is ${dataTypeName(t.dataType)} but carries field ${f.field} data`);
    const r = new ProtoReader(source, f.start, f.end, `tensor '${t.name}' data`, 1);
    if (f.packed) {
      while (!r.done) {
        if (out.length >= MAX_INT_VALUES) throw new ModelFormatError(`tensor '${t.name}' has too many values`);
        out.push(r.varint());
      }
    } else {
      while (r.next()) {
        if (out.length >= MAX_INT_VALUES) throw new ModelFormatError(`tensor '${t.name}' has too many values`);
        out.push(r.int('value'));
      }
    }
  }
  if (out.length !== count) throw new ModelFormatError(`tensor ${describeTensor(t)} needs ${count} values but holds ${out.length}`);
  return out;
}

/** A single float from a scalar tensor (Dropout's ratio input). */
export function readScalar(source: ByteSource, t: TensorRef): number {
  const n = checkFloatTensor(t);
  if (n !== 1) throw new ModelFormatError(`tensor ${describeTensor(t)} should hold one value, holds ${n}`);
  const out = new Float32Array(1);
  readFloats(source, t, 0, out);
  return out[0];
}
