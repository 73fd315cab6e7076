/**
 * Architecture diagnosis (paper, Fig. 6): what the visualisation of AlexNet's first layers showed
 * wrong, and what ZFNet changed because of it (conv1 11x11 stride 4 -> 7x7 stride 2):
 *
 * - the conv1 filters as a picture (each filter contrast-stretched on its own);
 * - per filter: RMS (one filter dominating shows as an outlier, Fig. 6b), dead filters (near-zero
 *   norm, or never active on a sample set), and frequency content: the energy of the filter's
 *   2-D DFT in low, mid and high frequency bands (AlexNet's filters: extremes, few mids);
 * - layer-2 features: for a few conv2 maps, the strongest activation over a sample set, projected
 *   to pixels (the large conv1 stride shows as aliasing, a grid pattern, Fig. 6d);
 * - two models side by side in one report.
 *
 * Frequency bands. A filter of kh x kw taps has DFT bins u = 0..kh-1, v = 0..kw-1 at frequencies
 * fu = min(u, kh - u) / kh and fv = min(v, kw - v) / kw cycles per pixel (0 to 0.5, Nyquist).
 * Its normalised radius is rho = sqrt(fu^2 + fv^2) / 0.5 (0 at DC, 1 at Nyquist along one axis,
 * up to sqrt 2 in the corners). Bands: low rho < 1/3, mid 1/3 <= rho < 2/3, high rho >= 2/3.
 * Energy is |X|^2, computed per input channel and averaged over the channels; fractions are of
 * the filter's total. DC counts as low, so a constant filter is all low and a checkerboard all
 * (or, at odd sizes, mostly) high.
 */
import { ArgumentError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Preprocess } from '../graph/layers.js';
import type { NamedLayer } from '../graph/names.js';
import type { Projection } from '../deconv/project.js';
import type { ProjectionMode } from '../deconv/walk.js';
import { tileImages, type RgbaImage } from '../deconv/render.js';
import { PRESETS } from '../io/preprocess.js';
import { enlargeNearest } from './transform.js';
import { lineChart, svgGrid } from './svg.js';
import { throwIfAborted, imagesOf, checkBatch, stack, yieldToEventLoop, type ImageSet } from './invariance.js';
import { projectActivations, projectionRow, strongestActivations, type StrongestActivation } from './evolution.js';

export type Band = 'low' | 'mid' | 'high';
export const BANDS: readonly Band[] = ['low', 'mid', 'high'];
/** Band edges in normalised radius (1 = Nyquist along one axis). */
export const BAND_EDGES = [1 / 3, 2 / 3] as const;
/** Bins of the radial spectrum profile over rho in [0, sqrt 2]. */
export const SPECTRUM_BINS = 6;

export type BandValues = Record<Band, number>;

/** The 2-D DFT of a real h x w array (separable, direct sums: filters are small). */
export function dft2(data: ArrayLike<number>, h: number, w: number): { re: Float64Array; im: Float64Array } {
  if (data.length !== h * w) throw new ArgumentError(`a ${h} x ${w} array needs ${h * w} values, got ${data.length}`);
  // Along rows: T[y][v] = sum_x data[y][x] e^{-2 pi i v x / w}.
  const tr = new Float64Array(h * w), ti = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let v = 0; v < w; v++) {
      let r = 0, i = 0;
      for (let x = 0; x < w; x++) {
        const a = (-2 * Math.PI * v * x) / w;
        r += data[y * w + x] * Math.cos(a);
        i += data[y * w + x] * Math.sin(a);
      }
      tr[y * w + v] = r;
      ti[y * w + v] = i;
    }
  }
  // Along columns: X[u][v] = sum_y T[y][v] e^{-2 pi i u y / h}.
  const re = new Float64Array(h * w), im = new Float64Array(h * w);
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) {
      let r = 0, i = 0;
      for (let y = 0; y < h; y++) {
        const a = (-2 * Math.PI * u * y) / h;
        const c = Math.cos(a), s = Math.sin(a);
        r += tr[y * w + v] * c - ti[y * w + v] * s;
        i += tr[y * w + v] * s + ti[y * w + v] * c;
      }
      re[u * w + v] = r;
      im[u * w + v] = i;
    }
  }
  return { re, im };
}

/** The normalised radius rho of DFT bin (u, v) of an h x w array. */
export function binRadius(u: number, v: number, h: number, w: number): number {
  const fu = Math.min(u, h - u) / h, fv = Math.min(v, w - v) / w;
  return Math.sqrt(fu * fu + fv * fv) / 0.5;
}

export function bandOf(rho: number): Band {
  return rho < BAND_EDGES[0] - 1e-12 ? 'low' : rho < BAND_EDGES[1] - 1e-12 ? 'mid' : 'high';
}

/** DFT energy |X|^2 of one h x w plane per band, and its radial profile (SPECTRUM_BINS bins). */
export function planeEnergy(data: ArrayLike<number>, h: number, w: number): { bands: BandValues; profile: number[] } {
  const { re, im } = dft2(data, h, w);
  const bands: BandValues = { low: 0, mid: 0, high: 0 };
  const profile = new Array<number>(SPECTRUM_BINS).fill(0);
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) {
      const e = re[u * w + v] ** 2 + im[u * w + v] ** 2;
      const rho = binRadius(u, v, h, w);
      bands[bandOf(rho)] += e;
      profile[Math.min(SPECTRUM_BINS - 1, Math.floor((rho / Math.SQRT2) * SPECTRUM_BINS))] += e;
    }
  }
  return { bands, profile };
}

export interface FilterStats {
  index: number;
  /** Root mean square of the filter's weights (all channels and taps). */
  rms: number;
  /** L2 norm of the filter. */
  norm: number;
  /** Dead by weight: norm <= deadRatio x the layer's median norm (a zero filter always). */
  deadByWeight: boolean;
  /** Never active (ReLU output 0 at every position of every sample image); null without samples. */
  deadByActivity: boolean | null;
  dead: boolean;
  /** Fraction of positions (over the samples) where the filter's ReLU output is > 0; null without samples. */
  activeFraction: number | null;
  /** Largest ReLU output over the samples; null without samples. */
  maxActivation: number | null;
  /** DFT energy per band, averaged over input channels. */
  energy: BandValues;
  /** The same as fractions of the total (all 0 for a zero filter). */
  bands: BandValues;
  /** The band with the largest share. */
  dominant: Band;
  /** Fraction of the energy in each of SPECTRUM_BINS radial bins. */
  profile: number[];
}

/**
 * Weight statistics of conv filters [F, C, kh, kw]: RMS, norm, dead by weight, band energies.
 * `deadRatio` (default 0.05): a filter is dead when its norm is at most this fraction of the
 * layer's median filter norm.
 */
export function filterStatistics(weight: Float32Array, shape: readonly number[], options: { deadRatio?: number } = {}): FilterStats[] {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 1) || weight.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new ArgumentError(`filters must be [F, C, kh, kw] with matching data, got [${shape.join(', ')}] and ${weight.length} values`);
  }
  const deadRatio = options.deadRatio ?? 0.05;
  if (!Number.isFinite(deadRatio) || deadRatio < 0) throw new ArgumentError(`deadRatio must be a number >= 0, got ${deadRatio}`);
  const [f, c, kh, kw] = shape;
  const per = c * kh * kw, plane = kh * kw;
  const norms = Array.from({ length: f }, (_, k) => {
    let s = 0;
    for (let i = k * per; i < (k + 1) * per; i++) s += weight[i] * weight[i];
    return Math.sqrt(s);
  });
  const sorted = [...norms].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return norms.map((norm, k) => {
    const energy: BandValues = { low: 0, mid: 0, high: 0 };
    const profile = new Array<number>(SPECTRUM_BINS).fill(0);
    for (let ch = 0; ch < c; ch++) {
      const e = planeEnergy(weight.subarray(k * per + ch * plane, k * per + (ch + 1) * plane), kh, kw);
      for (const b of BANDS) energy[b] += e.bands[b] / c;
      e.profile.forEach((v, i) => { profile[i] += v / c; });
    }
    const total = energy.low + energy.mid + energy.high;
    const bands: BandValues = { low: total > 0 ? energy.low / total : 0, mid: total > 0 ? energy.mid / total : 0,
      high: total > 0 ? energy.high / total : 0 };
    const dominant = BANDS.reduce((a, b) => (bands[b] > bands[a] ? b : a), 'low' as Band);
    const deadByWeight = norm === 0 || norm <= deadRatio * median;
    return {
      index: k, rms: norm / Math.sqrt(per), norm, deadByWeight, deadByActivity: null, dead: deadByWeight,
      activeFraction: null, maxActivation: null, energy, bands, dominant,
      profile: profile.map((v) => (total > 0 ? v / total : 0)),
    };
  });
}

export interface DiagnosisOptions {
  /** Sample images: for dead-by-activity and the layer-2 projections (without them both are skipped). */
  images?: ImageSet;
  /** The layer whose filters are examined (default the first conv layer; a tensor name that is one of its points names it too). */
  layer?: string;
  /**
   * The layer-2 features: which layer (default the conv layer after `layer` in topological order,
   * at its default point; any tensor name of a graph) and which maps (default the first 16).
   */
  layer2?: { layer?: string; point?: string; maps?: readonly number[] };
  deadRatio?: number;
  mode?: ProjectionMode;
  batch?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface LayerGeometry {
  layer: string;
  filters: number;
  channels: number;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
}

export interface ArchitectureDiagnosis {
  model: string;
  preprocess: Preprocess;
  conv1: LayerGeometry;
  /** The filters [F, C, kh, kw], for pictures. */
  weights: { shape: number[]; data: Float32Array };
  filters: FilterStats[];
  summary: {
    filters: number;
    dead: number[];
    deadByWeight: number[];
    deadByActivity: number[] | null;
    rms: { min: number; median: number; max: number; maxOverMedian: number };
    /** Mean band fractions over the filters that are not dead by weight. */
    bands: BandValues;
    /** How many filters each band dominates. */
    dominant: BandValues;
    /** Mean radial profile (fractions per bin) over the filters that are not dead by weight. */
    profile: number[];
    samples: number;
  };
  /** Layer-2 features (with sample images): the strongest activation of each map, projected. */
  layer2: { layer: string; point: string; units: StrongestActivation[]; projections: Projection[] } | null;
}

/**
 * The diagnosis of one model. With `images`, conv1's activity over them and the layer-2
 * projections are included. The model must not be used by anything else until it settles.
 */
export async function diagnoseArchitecture(model: Model, options: DiagnosisOptions = {}): Promise<ArchitectureDiagnosis> {
  return model.exclusive('architecture diagnosis', (held) => diagnoseArchitectureHeld(held, options));
}

async function diagnoseArchitectureHeld(model: Model, options: DiagnosisOptions = {}): Promise<ArchitectureDiagnosis> {
  const convs = model.layers.filter((l) => l.kind === 'conv');
  if (convs.length === 0) throw new ArgumentError(`${model.network.name} has no conv layer to diagnose`);
  const layerName = options.layer ?? convs[0].name;
  const layer = convs.find((l) => l.name === layerName) ?? convOfTensor(model, layerName);
  if (!layer) throw new ArgumentError(`'${layerName}' is not a conv layer of ${model.network.name}; conv layers: ${convs.map((l) => l.name).join(', ')}`);
  const op = model.network.ops[layer.op];
  if (op.kind !== 'conv') throw new ArgumentError(`${layerName} is not a convolution`);
  const batch = checkBatch(options.batch);
  throwIfAborted(options.signal, 'the diagnosis');
  const shape = model.weightShapes()[layer.name].weight;
  const weights = { shape: [...shape], data: model.getWeights(layer.name).weight };
  const filters = filterStatistics(weights.data, shape, { deadRatio: options.deadRatio });

  let samples = 0;
  let layer2: ArchitectureDiagnosis['layer2'] = null;
  if (options.images !== undefined) {
    const list = imagesOf(model, options.images);
    samples = list.length;
    const { op: actOp } = model.resolve(layer.name);
    const [maps, h, w] = model.shapes[actOp];
    const plane = h * w;
    const active = new Float64Array(maps), peak = new Float64Array(maps);
    for (let start = 0; start < list.length; start += batch) {
      await yieldToEventLoop();
      throwIfAborted(options.signal, 'the diagnosis');
      const chunk = list.slice(start, start + batch);
      const data = model.forwardSync(stack(model, chunk)).opOutput(actOp).data;
      for (let i = 0; i < chunk.length; i++) {
        for (let m = 0; m < maps; m++) {
          const base = (i * maps + m) * plane;
          for (let p = 0; p < plane; p++) {
            const v = data[base + p];
            if (v > 0) active[m] += 1;
            if (v > peak[m]) peak[m] = v;
          }
        }
      }
      options.onProgress?.(0.5 * Math.min(1, (start + batch) / list.length));
    }
    filters.forEach((f, m) => {
      f.activeFraction = active[m] / (plane * list.length);
      f.maxActivation = peak[m];
      f.deadByActivity = active[m] === 0;
      f.dead = f.deadByWeight || f.deadByActivity;
    });

    const second = options.layer2?.layer ?? convs[convs.indexOf(layer) + 1]?.name;
    if (second !== undefined) {
      const r = model.resolve(second, options.layer2?.point);
      if (r.op < 0) throw new ArgumentError(`layer2 '${second}' is the network input: give a layer after ${layer.name}`);
      const count = model.shapes[r.op][0];
      const maps2 = options.layer2?.maps ?? Array.from({ length: Math.min(16, count) }, (_, i) => i);
      const features = maps2.map((map) => ({ layer: r.layer.name, point: r.point, map }));
      const set = stack(model, list);
      const units = await strongestActivations(model, set, features, { batch, signal: options.signal });
      const projections = await projectActivations(model, set, units, { mode: options.mode, batch, signal: options.signal });
      layer2 = { layer: r.layer.name, point: r.point, units, projections };
    }
  }
  options.onProgress?.(1);

  const live = filters.filter((f) => !f.deadByWeight);
  const mean = (pick: (f: FilterStats) => number) => (live.length ? live.reduce((a, f) => a + pick(f), 0) / live.length : 0);
  const rmsSorted = filters.map((f) => f.rms).sort((a, b) => a - b);
  const median = rmsSorted.length % 2 ? rmsSorted[(rmsSorted.length - 1) / 2]
    : (rmsSorted[rmsSorted.length / 2 - 1] + rmsSorted[rmsSorted.length / 2]) / 2;
  const dominant: BandValues = { low: 0, mid: 0, high: 0 };
  for (const f of live) dominant[f.dominant] += 1;
  return {
    model: model.network.name, preprocess: model.network.preprocess,
    conv1: {
      layer: layer.name, filters: shape[0], channels: shape[1] * op.groups, kernel: [...op.kernel],
      stride: [...op.stride], pads: [...op.pads],
    },
    weights, filters,
    summary: {
      filters: filters.length,
      dead: filters.filter((f) => f.dead).map((f) => f.index),
      deadByWeight: filters.filter((f) => f.deadByWeight).map((f) => f.index),
      deadByActivity: samples > 0 ? filters.filter((f) => f.deadByActivity).map((f) => f.index) : null,
      rms: { min: rmsSorted[0], median, max: rmsSorted[rmsSorted.length - 1], maxOverMedian: median > 0 ? rmsSorted[rmsSorted.length - 1] / median : 0 },
      bands: { low: mean((f) => f.bands.low), mid: mean((f) => f.bands.mid), high: mean((f) => f.bands.high) },
      dominant,
      profile: Array.from({ length: SPECTRUM_BINS }, (_, i) => mean((f) => f.profile[i])),
      samples,
    },
    layer2,
  };
}

/**
 * The conv layer a tensor of an imported graph is a point of (its output, or its ReLU...), so a
 * layer may be named by a tensor name as anywhere else; undefined for any other tensor.
 */
function convOfTensor(model: Model, name: string): NamedLayer | undefined {
  if (!model.network.tensors?.has(name)) return undefined;
  const { layer, point } = model.resolve(name);
  return point !== 'tensor' && layer.kind === 'conv' ? model.layers.find((l) => l.name === layer.name) : undefined;
}

/**
 * The filters as a grid of pictures: each filter contrast-stretched on its own (128 + 127 v /
 * max |v|, grey = 0, as projections), channels shown as RGB in the model's channel order (BGR
 * reordered; one channel as grey; other counts as the channel mean), enlarged `scale` times
 * (default: to about 42 px). Dead filters get a red frame (`markDead`, default true).
 */
export function filterGrid(diagnosis: ArchitectureDiagnosis,
                           options: { scale?: number; columns?: number; gap?: number; markDead?: boolean } = {}): RgbaImage {
  const [f, c, kh, kw] = diagnosis.weights.shape;
  const per = c * kh * kw, plane = kh * kw;
  const data = diagnosis.weights.data;
  const channels = PRESETS[diagnosis.preprocess]?.channels ?? [];
  const sources = c === 3 && channels.length === 3
    ? (['R', 'G', 'B'] as const).map((ch) => Math.max(0, channels.indexOf(ch))) : [0, 1, 2];
  const scale = options.scale ?? Math.max(1, Math.round(42 / Math.max(kh, kw)));
  const images: RgbaImage[] = [];
  for (let k = 0; k < f; k++) {
    const w = data.subarray(k * per, (k + 1) * per);
    let m = 0;
    for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i]));
    const gain = m > 0 ? 127 / m : 0;
    const img = new Uint8ClampedArray(plane * 4);
    for (let i = 0; i < plane; i++) {
      for (let ch = 0; ch < 3; ch++) {
        let v: number;
        if (c === 1) v = w[i];
        else if (c === 3) v = w[sources[ch] * plane + i];
        else { v = 0; for (let q = 0; q < c; q++) v += w[q * plane + i] / c; }
        img[i * 4 + ch] = 128 + gain * v;
      }
      img[i * 4 + 3] = 255;
    }
    let big = enlargeNearest({ width: kw, height: kh, data: img }, scale);
    if ((options.markDead ?? true) && diagnosis.filters[k]?.dead) big = frame(big, [220, 0, 0]);
    images.push(big);
  }
  return tileImages(images, { columns: options.columns, gap: options.gap ?? 2 });
}

function frame(img: RgbaImage, rgb: readonly [number, number, number]): RgbaImage {
  const data = img.data.slice();
  const t = Math.max(1, Math.floor(Math.min(img.width, img.height) / 16));
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (y < t || x < t || y >= img.height - t || x >= img.width - t) data.set([rgb[0], rgb[1], rgb[2], 255], (y * img.width + x) * 4);
    }
  }
  return { width: img.width, height: img.height, data };
}

/** The layer-2 projections (cropped to each unit's receptive box) as a grid; null without samples. */
export function layer2Grid(diagnosis: ArchitectureDiagnosis, options: { columns?: number; gap?: number; minCell?: number } = {}):
    RgbaImage | null {
  const l2 = diagnosis.layer2;
  if (!l2 || l2.units.length === 0) return null;
  const cells = projectionRow(l2.units.map((u, i) => ({ projection: l2.projections[i], box: u.box })), diagnosis.preprocess,
    { minCell: options.minCell ?? 64 });
  return tileImages(cells, { columns: options.columns, gap: options.gap ?? 4 });
}

/** Several models' pictures side by side (left to right in the order given), on a light grey background. */
export function sideBySide(images: readonly RgbaImage[], gap = 16): RgbaImage {
  return tileImages(images, { columns: images.length, gap, background: [235, 235, 235] });
}

/** Charts comparing models: the mean radial spectrum of conv1 and the sorted filter RMS. */
export function diagnosisCharts(diagnoses: readonly ArchitectureDiagnosis[]): { spectrum: string; rms: string; all: string } {
  const centres = Array.from({ length: SPECTRUM_BINS }, (_, i) => Number((((i + 0.5) / SPECTRUM_BINS) * Math.SQRT2).toFixed(3)));
  const spectrum = lineChart({
    title: 'conv1 spectrum (mean over filters)', xLabel: 'frequency (1 = Nyquist)', yLabel: 'energy fraction',
    series: diagnoses.map((d) => ({ label: `${d.model} (${d.conv1.kernel[0]}x${d.conv1.kernel[1]}/${d.conv1.stride[0]})`, x: centres, y: d.summary.profile })),
    yMin: 0, legend: true, width: 400,
  });
  const rms = lineChart({
    title: 'conv1 filter RMS, sorted', xLabel: 'filter rank (fraction of filters)', yLabel: 'RMS',
    series: diagnoses.map((d) => {
      const sorted = d.filters.map((f) => f.rms).sort((a, b) => b - a);
      return { label: d.model, x: sorted.map((_, i) => (sorted.length > 1 ? i / (sorted.length - 1) : 0)), y: sorted };
    }),
    legend: true, width: 400,
  });
  return { spectrum, rms, all: svgGrid([spectrum, rms], { columns: 2 }) };
}

/** The diagnosis without tensors (weights, projections), for JSON. */
export function diagnosisSummary(d: ArchitectureDiagnosis) {
  return {
    model: d.model, conv1: d.conv1, summary: d.summary, filters: d.filters,
    layer2: d.layer2 && { layer: d.layer2.layer, point: d.layer2.point, units: d.layer2.units },
  };
}
