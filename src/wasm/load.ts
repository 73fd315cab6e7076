/**
 * Loading the kernels: the SIMD build where the engine supports it, else the scalar build.
 * Modules are compiled once per backend and instantiated once per model, each instance on the
 * model's own memory (the memory is imported: TypeScript owns and plans it).
 */
import { simdBase64, scalarBase64 } from './binaries.generated.js';
import type { Kernels } from './kernels.js';

export type Backend = 'simd' | 'scalar';

/** The smallest module using a v128 instruction: validates only where SIMD is supported. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** The backend to use: `preferred` if given and possible, else SIMD when supported. */
export function pickBackend(preferred?: Backend): Backend {
  if (preferred === 'scalar') return 'scalar';
  return simdSupported() ? 'simd' : 'scalar';
}

const compiled = new Map<Backend, Promise<WebAssembly.Module>>();

/** The module's bytes: base64 of its zlib-deflated form (scripts/build-wasm.mjs), inflated by the platform. */
async function decode(base64: string): Promise<Uint8Array<ArrayBuffer>> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

export function compileKernels(backend: Backend): Promise<WebAssembly.Module> {
  let module = compiled.get(backend);
  if (!module) {
    module = decode(backend === 'simd' ? simdBase64 : scalarBase64).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(backend, module);
  }
  return module;
}

export async function instantiateKernels(backend: Backend, memory: WebAssembly.Memory): Promise<Kernels> {
  const module = await compileKernels(backend);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as Kernels;
}

/** The kernels' own static data sits below this byte offset (asconfig.json memoryBase + room). */
export const ARENA_START = 64 * 1024;
