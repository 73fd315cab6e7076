// Feature evolution (Fig. 4) on a tiny network whose "snapshots" are weight sets built here:
// for every snapshot and feature, the chosen image and position equal a brute-force maximum over
// separate batch-1 forward passes, and the projection equals the deconvnet of that image with
// keep 'max'. Plus the grid's geometry and the feature syntax.
import { describe, expect, test } from 'vitest';
import { AbortError, ArgumentError, Model, type Network } from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import {
  evolutionGrid, evolutionSummary, featureEvolution, parseFeature, strongestActivations, type FeatureRef, type Snapshot,
} from '../../src/analyses/evolution.js';

const relu = { kind: 'relu' } as const;
const tiny: Network = {
  name: 'tiny', input: [1, 14, 14], preprocess: 'grayscale',
  ops: [conv(4, 3, 1, 1), relu, maxpool(3, 2, { ceil: true }), conv(5, 3, 1, 1), relu, maxpool(2, 2),
    { kind: 'flatten' }, dense(8), relu, dense(3), { kind: 'softmax' }],
};

const images = Array.from({ length: 6 }, (_, k) => ({
  shape: [1, 1, 14, 14], data: new Float32Array(196).map((_, i) => Math.sin(i * (0.13 + 0.07 * k)) * (1 + k / 5)),
}));

/** Snapshot weights: seeded sets, the last one scaled so its features grow, as training does. */
async function snapshotModel(k: number): Promise<Model> {
  const m = await Model.create(tiny);
  m.initWeights(100 + (k % 2));
  if (k === 2) {
    for (const layer of ['conv1', 'conv2']) {
      const w = m.getWeights(layer);
      m.setWeights(layer, { weight: w.weight.map((v, i) => v * (1 + (i % 3))), bias: w.bias });
    }
  }
  return m;
}

const features: FeatureRef[] = [
  { layer: 'conv1', map: 2 }, { layer: 'conv2', map: 4 }, { layer: 'conv2', point: 'pool', map: 1 }, { layer: 'fc3', map: 5 },
];

describe('feature evolution', () => {
  test('per snapshot: the strongest activation is the brute-force maximum, projected as keep max', async () => {
    const snapshots: Snapshot[] = [0, 1, 2].map((k) => ({ label: `epoch ${k + 1}`, model: () => snapshotModel(k) }));
    const progress: number[] = [];
    const result = await featureEvolution(snapshots, images, features, { batch: 4, onProgress: (f) => progress.push(f) });
    expect(result.snapshots).toEqual(['epoch 1', 'epoch 2', 'epoch 3']);
    expect(result.features.map((f) => `${f.layer} ${f.point} ${f.map}`)).toEqual(['conv1 relu 2', 'conv2 relu 4', 'conv2 pool 1', 'fc3 relu 5']);
    expect(progress[progress.length - 1]).toBe(1);
    let worst = 0;
    for (let s = 0; s < 3; s++) {
      const m = await snapshotModel(s);
      result.features.forEach((f, k) => {
        // Brute force: every image alone, every position, strict > (first wins ties).
        let best = -Infinity, image = -1, at = -1, w = 1;
        images.forEach((img, i) => {
          const a = m.forwardSync(img).activation(f.layer, f.point);
          const shape = a.shape.slice(1);
          const plane = shape.length === 3 ? shape[1] * shape[2] : 1;
          w = shape.length === 3 ? shape[2] : 1;
          a.data.subarray(f.map * plane, (f.map + 1) * plane).forEach((v, p) => { if (v > best) { best = v; image = i; at = p; } });
        });
        const cell = result.cells[k][s];
        expect([cell.image, cell.y, cell.x]).toEqual([image, Math.floor(at / w), at % w]);
        expect(Math.abs(cell.value - best)).toBeLessThan(1e-5);
        const p = m.forwardSync(images[image]).projectSync({ layer: f.layer, point: f.point, map: f.map, keep: 'max' });
        expect(p.units[0]).toMatchObject({ y: cell.y, x: cell.x });
        p.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - cell.projection.data[i])); });
      });
    }
    expect(worst).toBeLessThan(1e-4);
    console.log(`evolution: largest difference from direct projections ${worst.toExponential(2)}`);
    // Snapshots differ: the scaled third snapshot's conv1 feature is stronger than the first's.
    expect(result.cells[0][2].value).not.toBe(result.cells[0][0].value);

    const grid = evolutionGrid(result, { crop: false, minCell: 28, gap: 4 });
    // 4 rows x 3 columns of 28 px cells (14 px enlarged twice).
    expect([grid.width, grid.height]).toEqual([3 * 28 + 2 * 4, 4 * 28 + 3 * 4]);
    const cropped = evolutionGrid(result);
    expect(cropped.width).toBeGreaterThan(0);
    const summary = JSON.parse(JSON.stringify(evolutionSummary(result)));
    expect(summary.cells[1][2].projection).toBeUndefined();
    expect(summary.cells[1][2].box).toEqual(result.cells[1][2].box);
  });

  test('models given directly, mismatched inputs and cancellation', async () => {
    const m = await snapshotModel(0);
    const r = await featureEvolution([{ label: 'a', model: m }], images, [{ layer: 'conv1', map: 0 }]);
    expect(r.cells[0]).toHaveLength(1);
    const other = await Model.create({ ...tiny, name: 'other', input: [1, 16, 16] });
    await expect(featureEvolution([{ label: 'a', model: m }, { label: 'b', model: other }], images, [{ layer: 'conv1', map: 0 }]))
      .rejects.toThrow(/same input/);
    const stop = new AbortController();
    stop.abort();
    await expect(strongestActivations(m, images, features, { signal: stop.signal })).rejects.toThrow(AbortError);
    await expect(strongestActivations(m, images, [{ layer: 'conv1', map: 4 }])).rejects.toThrow(/map 4 is out of range/);
  });

  test('feature syntax', () => {
    expect(parseFeature('conv1:3')).toEqual({ layer: 'conv1', map: 3 });
    expect(parseFeature('conv5:pool:7')).toEqual({ layer: 'conv5', point: 'pool', map: 7 });
    expect(() => parseFeature('conv1')).toThrow(ArgumentError);
    expect(() => parseFeature('conv1:x')).toThrow(/LAYER:MAP/);
  });
});
