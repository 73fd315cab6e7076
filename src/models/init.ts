/**
 * Seeded weights for the built-in architectures (tests, benchmarks, architecture diagnosis):
 * He-uniform weights, which keep activations in range through deep ReLU stacks, and small
 * non-zero biases so every bias path is exercised. The same seed gives the same weights
 * everywhere (mulberry32 is exact in JS doubles).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fill `out` uniformly in [-limit, limit]. */
export function uniformFill(out: Float32Array, limit: number, random: () => number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * limit;
  return out;
}

export function heUniform(count: number, fanIn: number, random: () => number): Float32Array {
  return uniformFill(new Float32Array(count), Math.sqrt(6 / fanIn), random);
}
