// Region-limited projection (the default: only the region that can be non-zero is computed)
// must equal the full computation (`fullMaps: true`), on the full-size ZFNet: conv1..conv5 at
// every point, several maps, every mode, and units at the corners and edges of each map, where
// the region is clipped by the image border, by the padding and by ceil-mode pool windows that
// hang past the edge.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModel, type Model, type ProjectionMode, type Run } from '../../src/index.js';
import { Mulberry32 } from '../../src/models/init.js';

const MODES: ProjectionMode[] = ['deconvnet', 'guided', 'gradient'];
/** Region vs full may sum in another order: allow float32 rounding, nothing more. */
const TOLERANCE = 1e-6;

let model: Model;
let run: Run;
const worst = new Map<string, number>();

beforeAll(async () => {
  model = await loadModel('zfnet');
  // Caffe-preprocessed pixels are ~±128: LRN then really normalises.
  const data = new Mulberry32(7).fillUniform(new Float32Array(3 * 224 * 224), 128);
  run = model.forwardSync({ shape: [1, 3, 224, 224], data });
});

function compare(options: Parameters<Run['projectSync']>[0], label: string): void {
  const region = run.projectSync(options);
  const full = run.projectSync({ ...options, fullMaps: true });
  expect(region.shape, label).toEqual(full.shape);
  expect(region.units, label).toEqual(full.units);
  expect(region.boxes, label).toEqual(full.boxes);
  let diff = 0, ref = 0;
  for (let i = 0; i < full.data.length; i++) {
    diff = Math.max(diff, Math.abs(region.data[i] - full.data[i]));
    ref = Math.max(ref, Math.abs(full.data[i]));
  }
  const rel = ref === 0 ? (diff === 0 ? 0 : Infinity) : diff / ref;
  const key = `${options.mode}`;
  worst.set(key, Math.max(worst.get(key) ?? 0, rel));
  // A projection of nothing would make the comparison vacuous: the choices below all reach the input.
  expect(ref, `${label}: the projection is not all zero`).toBeGreaterThan(0);
  expect(rel, label).toBeLessThanOrEqual(TOLERANCE);
}

/** Two maps of a point whose activation is not all zero (and so whose max projects something). */
function liveMaps(layer: string, point: string, count: number, start: number): number[] {
  const a = run.activation(layer, point);
  const [, maps, h, w] = a.shape;
  const out: number[] = [];
  for (let k = 0; k < maps && out.length < count; k++) {
    const m = (start + 37 * k) % maps;
    if (a.data.subarray(m * h * w, (m + 1) * h * w).some((v) => v > 0)) out.push(m);
  }
  return out;
}

const POINTS: Record<string, string[]> = {
  conv1: ['conv', 'relu', 'pool', 'norm'],
  conv2: ['conv', 'relu', 'pool', 'norm'],
  conv3: ['conv', 'relu'],
  conv4: ['conv', 'relu'],
  conv5: ['conv', 'relu', 'pool'],
};

describe('zfnet: region-limited projection equals the full one', () => {
  for (const [layer, points] of Object.entries(POINTS)) {
    test(`${layer}: every point, two maps, every mode (max; top-3 and all at the last point)`, () => {
      points.forEach((point, p) => {
        for (const map of liveMaps(layer, point, 2, 5 + 11 * p)) {
          for (const mode of MODES) compare({ layer, point, map, mode, keep: 'max' }, `${layer}/${point} map ${map} max ${mode}`);
        }
      });
      const last = points[points.length - 1];
      const [map] = liveMaps(layer, last, 1, 3);
      for (const mode of MODES) {
        compare({ layer, point: last, map, mode, keep: 'top-3' }, `${layer}/${last} map ${map} top-3 ${mode}`);
        compare({ layer, point: last, map, mode, keep: 'all' }, `${layer}/${last} map ${map} all ${mode}`);
      }
    });

    test(`${layer}: units at the corners and edges of the map`, () => {
      // The conv point (non-zero almost everywhere, so the deconvnet seed is non-zero too) and the
      // pool point where there is one (ceil-mode windows hanging past the bottom/right edge).
      for (const point of points.filter((p) => p === 'conv' || p === 'pool')) {
        const [, maps, h, w] = run.activation(layer, point).shape;
        const positions = [[0, 0], [0, w - 1], [h - 1, 0], [h - 1, w - 1], [0, w >> 1], [h >> 1, 0], [h - 1, w >> 1], [h >> 1, w - 1]];
        positions.forEach(([y, x], k) => {
          const map = (13 * k + 2) % maps;
          const modes: ProjectionMode[] = point === 'conv' ? MODES : ['gradient'];
          for (const mode of modes) {
            const projection = run.projectSync({ layer, point, map, mode, keep: { y, x } });
            // A pool unit whose window is all zero after ReLU projects nothing in any mode; skip those.
            if (!projection.data.some((v) => v !== 0)) continue;
            compare({ layer, point, map, mode, keep: `${y},${x}` }, `${layer}/${point} map ${map} at ${y},${x} ${mode}`);
          }
        });
      }
    });
  }

  test('summary', () => {
    console.log(`zfnet region vs full, max relative difference per mode: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    expect(worst.size).toBe(MODES.length);
  });
});
