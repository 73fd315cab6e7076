/** A node's attributes, read by name and checked by type; refusing any the op does not list. */
import { ModelFormatError } from '../errors.js';
import { AttrType, type AttributeRef, type NodeRef } from './proto.js';

/**
 * A float attribute is 32-bit in the file: 1e-4 arrives as 0.0000999999974738. Take the shortest
 * decimal that is the same float32 (1e-4), which kernels (32-bit) see identically and people
 * read as written.
 */
export function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

/** A node's attributes, checked by name and type. */
export class Attrs {
  private readonly byName = new Map<string, AttributeRef>();

  constructor(private readonly node: NodeRef, private readonly where: string, private readonly opset: number) {
    for (const a of node.attributes) {
      if (this.byName.has(a.name)) throw new ModelFormatError(`${where}: attribute '${a.name}' is given twice`);
      this.byName.set(a.name, a);
    }
  }

  /** Refuse any attribute not listed (opset-1-5's `consumed_inputs` is always allowed: it is an optimization hint). */
  allow(...names: string[]): void {
    for (const a of this.node.attributes) {
      if (names.includes(a.name) || (a.name === 'consumed_inputs' && this.opset < 6)) continue;
      throw new ModelFormatError(`${this.where}: attribute '${a.name}' is not supported`);
    }
  }

  bad(name: string, problem: string): ModelFormatError {
    return new ModelFormatError(`${this.where}: attribute '${name}' ${problem}`);
  }

  private get(name: string, type: number): AttributeRef | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== 0 && a.type !== type) throw this.bad(name, `has type ${a.type}, expected ${type}`);
    if (a?.other) throw this.bad(name, 'holds a graph or sparse tensor');
    return a;
  }

  int(name: string, fallback?: number): number | undefined {
    const a = this.get(name, AttrType.INT);
    if (!a) return fallback;
    if (a.i === undefined || !Number.isSafeInteger(a.i)) throw this.bad(name, 'has no integer value');
    return a.i;
  }

  float(name: string, fallback: number): number {
    const a = this.get(name, AttrType.FLOAT);
    if (!a) return fallback;
    if (a.f === undefined || !Number.isFinite(a.f)) throw this.bad(name, 'has no finite float value');
    return shortestFloat32(a.f);
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name, AttrType.INTS);
    if (!a) return undefined;
    if (a.ints.some((v) => !Number.isSafeInteger(v))) throw this.bad(name, 'has an out-of-range value');
    return a.ints;
  }

  pair(name: string, fallback: [number, number]): [number, number] {
    const v = this.ints(name);
    if (!v) return fallback;
    if (v.length !== 2) throw this.bad(name, `[${v}] should have 2 values for a 2-D op`);
    return [v[0], v[1]];
  }

  string(name: string, fallback: string): string {
    const a = this.get(name, AttrType.STRING);
    return a?.s ?? fallback;
  }

  floats(name: string): number[] | undefined {
    const a = this.get(name, AttrType.FLOATS);
    return a ? a.floats.map(shortestFloat32) : undefined;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The raw attribute (Constant's value). */
  raw(name: string): AttributeRef | undefined {
    return this.byName.get(name);
  }
}
