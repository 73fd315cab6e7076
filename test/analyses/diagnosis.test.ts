// Architecture diagnosis (Fig. 6): filter statistics by hand (a zero filter is dead, a constant
// filter is all low frequency, a checkerboard all high, RMS by hand), the DFT against Parseval
// and a direct sum, dead-by-activity on a tiny network, layer-2 features against a brute-force
// maximum, and the pictures' and charts' geometry.
import { describe, expect, test } from 'vitest';
import { AbortError, Model, type Network } from '../../src/index.js';
import { conv, dense, maxpool } from '../../src/models/architectures.js';
import {
  binRadius, dft2, diagnoseArchitecture, diagnosisCharts, diagnosisSummary, filterGrid, filterStatistics, layer2Grid,
  sideBySide,
} from '../../src/analyses/diagnosis.js';

const relu = { kind: 'relu' } as const;

function checker(n: number, amplitude = 1): number[] {
  return Array.from({ length: n * n }, (_, i) => (((Math.floor(i / n) + (i % n)) % 2) ? -amplitude : amplitude));
}

describe('the DFT and the bands', () => {
  test('dft2 matches a direct double sum and Parseval', () => {
    const h = 3, w = 5;
    const x = Array.from({ length: h * w }, (_, i) => Math.sin(i * 1.3) + i * 0.1);
    const { re, im } = dft2(x, h, w);
    let energy = 0, sq = 0;
    for (let u = 0; u < h; u++) {
      for (let v = 0; v < w; v++) {
        let r = 0, q = 0;
        for (let y = 0; y < h; y++) {
          for (let k = 0; k < w; k++) {
            const a = -2 * Math.PI * (u * y / h + v * k / w);
            r += x[y * w + k] * Math.cos(a);
            q += x[y * w + k] * Math.sin(a);
          }
        }
        expect(re[u * w + v]).toBeCloseTo(r, 10);
        expect(im[u * w + v]).toBeCloseTo(q, 10);
        energy += r * r + q * q;
      }
    }
    for (const v of x) sq += v * v;
    expect(energy).toBeCloseTo(h * w * sq, 8);
    expect(binRadius(0, 0, 7, 7)).toBe(0);
    expect(binRadius(4, 0, 8, 8)).toBe(1);
    expect(binRadius(4, 4, 8, 8)).toBeCloseTo(Math.SQRT2, 12);
  });

  test('zero filter dead, constant all low, checkerboard high, RMS by hand', () => {
    const k = 7, plane = k * k;
    const random = Array.from({ length: plane }, (_, i) => Math.sin(i * 2.1) * 0.3);
    const w = new Float32Array([...new Array(plane).fill(0), ...new Array(plane).fill(0.5), ...checker(k, 2), ...random]);
    const stats = filterStatistics(w, [4, 1, k, k]);
    const [zero, constant, board, rnd] = stats;
    expect(zero.dead && zero.deadByWeight).toBe(true);
    expect(zero.rms).toBe(0);
    expect(zero.bands).toEqual({ low: 0, mid: 0, high: 0 });
    expect([constant.dead, board.dead, rnd.dead]).toEqual([false, false, false]);
    expect(constant.rms).toBeCloseTo(0.5, 7);
    expect(constant.bands.low).toBeCloseTo(1, 12);
    expect(constant.dominant).toBe('low');
    // Energy of a constant 0.5 filter: all at DC, |X(0,0)|^2 = (49 * 0.5)^2.
    expect(constant.energy.low).toBeCloseTo((plane * 0.5) ** 2, 6);
    expect(board.rms).toBeCloseTo(2, 7);
    // At an odd size there is no exact Nyquist bin; most energy still lands in the high band.
    expect(board.bands.high).toBeGreaterThan(0.8);
    expect(board.dominant).toBe('high');
    const rms = Math.sqrt(random.reduce((a, v) => a + Math.fround(v) ** 2, 0) / plane);
    expect(rnd.rms).toBeCloseTo(rms, 7);
    const even = filterStatistics(new Float32Array(checker(8)), [1, 1, 8, 8])[0];
    expect(even.bands.high).toBeCloseTo(1, 12);
  });

  test('bands are averaged over input channels', () => {
    // Channel 0 constant 1 (energy 64^2 at DC), channel 1 a +-1 checkerboard (64^2 at Nyquist).
    const w = new Float32Array([...new Array(64).fill(1), ...checker(8)]);
    const [f] = filterStatistics(w, [1, 2, 8, 8]);
    expect(f.energy.low).toBeCloseTo(64 ** 2 / 2, 6);
    expect(f.energy.high).toBeCloseTo(64 ** 2 / 2, 6);
    expect(f.energy.mid).toBeCloseTo(0, 6);
    expect(f.bands.low).toBeCloseTo(0.5, 12);
    expect(f.rms).toBe(1);
  });

  test('near-zero norm relative to the median is dead', () => {
    const w = new Float32Array(4 * 9);
    for (let i = 0; i < 9; i++) { w[i] = 1; w[9 + i] = 1.1; w[18 + i] = 0.9; w[27 + i] = 0.01; }
    expect(filterStatistics(w, [4, 1, 3, 3]).map((f) => f.dead)).toEqual([false, false, false, true]);
    expect(filterStatistics(w, [4, 1, 3, 3], { deadRatio: 0 }).map((f) => f.dead)).toEqual([false, false, false, false]);
  });
});

describe('a tiny network', () => {
  const net = (stride: number): Network => ({
    name: `tiny-s${stride}`, input: [3, 20, 20], preprocess: 'caffe',
    ops: [conv(6, 5, stride, 2), relu, maxpool(2, 2), conv(5, 3, 1, 1), relu, maxpool(2, 2),
      { kind: 'flatten' }, dense(4), { kind: 'softmax' }],
  });
  const images = Array.from({ length: 5 }, (_, k) => ({
    shape: [1, 3, 20, 20], data: new Float32Array(1200).map((_, i) => 20 * Math.sin(i * 0.07 * (k + 1)) + 5 * Math.cos(i * 0.3)),
  }));

  async function model(stride: number): Promise<Model> {
    const m = await Model.create(net(stride));
    m.initWeights(5);
    // Filter 2: a large negative bias, so it is never active; filter 4: zero weights.
    const { weight, bias } = m.getWeights('conv1');
    bias![2] = -1e6;
    weight.fill(0, 4 * 75, 5 * 75);
    m.setWeights('conv1', { weight, bias });
    return m;
  }

  test('dead by weight and by activity; layer-2 features are the brute-force maxima, projected', async () => {
    const m = await model(1);
    const d = await diagnoseArchitecture(m, { images, layer2: { maps: [0, 3, 4] }, batch: 2 });
    expect(d.conv1).toEqual({ layer: 'conv1', filters: 6, channels: 3, kernel: [5, 5], stride: [1, 1], pads: [2, 2, 2, 2] });
    expect(d.summary.deadByWeight).toEqual([4]);
    expect(d.summary.deadByActivity).toContain(2);
    expect(d.summary.dead).toEqual(expect.arrayContaining([2, 4]));
    expect(d.filters[2].activeFraction).toBe(0);
    expect(d.filters[0].activeFraction).toBeGreaterThan(0);
    expect(d.summary.samples).toBe(5);

    // Brute force: every image alone, every position of the map.
    const l2 = d.layer2!;
    expect(l2.layer).toBe('conv2');
    l2.units.forEach((u, k) => {
      let best = -Infinity, image = -1, at = -1;
      images.forEach((img, i) => {
        const a = m.forwardSync(img).activation('conv2', 'relu').data.subarray(u.map * 100, (u.map + 1) * 100);
        a.forEach((v, p) => { if (v > best) { best = v; image = i; at = p; } });
      });
      expect([u.image, u.y * 10 + u.x]).toEqual([image, at]);
      expect(u.value).toBe(best);
      const p = m.forwardSync(images[image]).projectSync({ layer: 'conv2', map: u.map, keep: 'max' });
      let diff = 0;
      p.data.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - l2.projections[k].data[i])); });
      expect(diff).toBeLessThan(1e-5);
    });
  });

  test('pictures: filter grid (dead framed red), layer-2 grid, two models side by side, charts, JSON', async () => {
    const a = await diagnoseArchitecture(await model(1), { images });
    const b = await diagnoseArchitecture(await model(2), { images });
    expect(b.conv1.stride).toEqual([2, 2]);
    const ga = filterGrid(a, { scale: 4, columns: 3 });
    // 6 filters, 3 columns: 2 rows of 20 px cells with 2 px gaps.
    expect([ga.width, ga.height]).toEqual([3 * 20 + 2 * 2, 2 * 20 + 2]);
    // Filter 4 (row 1, column 1) is dead: its top-left pixel is red; filter 0 is not.
    const px = (img: typeof ga, x: number, y: number) => Array.from(img.data.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
    expect(px(ga, 22, 22)).toEqual([220, 0, 0, 255]);
    expect(px(ga, 0, 0)).not.toEqual([220, 0, 0, 255]);
    const l2 = layer2Grid(a)!;
    expect(l2.width).toBeGreaterThan(0);
    const both = sideBySide([ga, filterGrid(b, { scale: 4, columns: 3 })]);
    expect(both.width).toBe(2 * ga.width + 16);
    const charts = diagnosisCharts([a, b]);
    expect(charts.spectrum).toContain('tiny-s1 (5x5/1)');
    expect(charts.rms.match(/<polyline/g)).toHaveLength(2);
    const json = JSON.parse(JSON.stringify(diagnosisSummary(a)));
    expect(json.filters).toHaveLength(6);
    expect(json.weights).toBeUndefined();
    const without = await diagnoseArchitecture(await model(1));
    expect(without.layer2).toBeNull();
    expect(without.summary.deadByActivity).toBeNull();
    expect(layer2Grid(without)).toBeNull();
  });

  test('cancellation', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(diagnoseArchitecture(await model(1), { images, signal: stop.signal })).rejects.toThrow(AbortError);
  });
});
