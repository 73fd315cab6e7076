/** The IDX format of (Fashion-)MNIST: a magic number giving the dimension count, then sizes, then u8 data. */
import { ArgumentError } from '../errors.js';

export interface IdxArray { dims: number[]; data: Uint8Array }

export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new ArgumentError(`${name} is not an IDX file of unsigned bytes`);
  }
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (rank < 1 || bytes.length < header) throw new ArgumentError(`${name}: truncated IDX header`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count) throw new ArgumentError(`${name}: expected ${count} data bytes, found ${bytes.length - header}`);
  return { dims, data: bytes.subarray(header) };
}

/** Images [n, 28, 28] u8 -> float32 in [0, 1] (the zfnet-mini 'grayscale' preset), as [n, 1, 28, 28]. */
export function imagesToTensor(images: IdxArray, from = 0, count = images.dims[0]): Float32Array {
  const per = images.dims[1] * images.dims[2];
  const out = new Float32Array(count * per);
  const src = images.data.subarray(from * per, (from + count) * per);
  for (let i = 0; i < out.length; i++) out[i] = src[i] / 255;
  return out;
}
