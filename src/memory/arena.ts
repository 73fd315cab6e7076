/**
 * One WebAssembly.Memory per model, planned once: every buffer gets a fixed, 64-byte aligned
 * offset before any kernel runs, and the memory is grown to fit only when the plan grows
 * (a larger batch). Callers never receive a view into the memory: reads copy out (`read`),
 * writes copy in (`write`), so nothing handed out goes stale when the memory grows.
 */
import { ArgumentError } from '../errors.js';
import { ARENA_START } from '../wasm/load.js';

const PAGE = 65536;
const ALIGN = 64;
/** 32-bit wasm memories top out at 65536 pages (4 GiB); V8 allows up to that. */
const MAX_BYTES = 65536 * PAGE;

export interface Region { offset: number; floats: number }

export class Arena {
  readonly memory: WebAssembly.Memory;
  private top = ARENA_START;

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(ARENA_START / PAGE) + 1, maximum: 65536 });
  }

  /** Reserve `floats` f32 (or i32) slots; grows the memory if needed. */
  alloc(floats: number, what: string): Region {
    const offset = this.top;
    const end = offset + Math.ceil((floats * 4) / ALIGN) * ALIGN;
    if (end > MAX_BYTES) {
      throw new ArgumentError(`not enough memory for ${what}: the model needs more than 4 GiB of ` +
        'WebAssembly memory at this batch size; use a smaller batch or input');
    }
    this.top = end;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    return { offset, floats };
  }

  /** The current end of the plan: regions allocated after a mark can be dropped by reset(). */
  mark(): number { return this.top; }
  reset(mark: number): void { this.top = mark; }

  get bytes(): number { return this.memory.buffer.byteLength; }

  f32(region: Region): Float32Array {
    return new Float32Array(this.memory.buffer, region.offset, region.floats);
  }

  write(region: Region, data: ArrayLike<number>, at = 0): void {
    if (at + data.length > region.floats) throw new RangeError('write past the end of a region');
    new Float32Array(this.memory.buffer, region.offset + at * 4, data.length).set(data);
  }

  read(region: Region, start = 0, count = region.floats - start): Float32Array {
    return new Float32Array(this.memory.buffer, region.offset + start * 4, count).slice();
  }

  readI32(region: Region, start = 0, count = region.floats - start): Int32Array {
    return new Int32Array(this.memory.buffer, region.offset + start * 4, count).slice();
  }
}
