import { css, html, nothing } from 'lit';
import { state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { paint } from '../shared/canvas.js';
import { AnalysisView, analysisStyles } from '../shared/analysis-view.js';
import { fileName, jsonBlob, pngBlob, svgBlob } from '../shared/export.js';
import { tileImages, type RgbaImage } from '../../src/deconv/render.js';
import type { DiagnosedModel, DiagnosisRequest, DiagnosisResultMessage } from '../../src/worker/handlers/diagnosis.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import '../export-buttons/zf-export-buttons.js';
import { layerText } from '../analyses-panel/graph-layers.js';

/** The handler's MAX_DIAGNOSIS_IMAGES (not imported: that module brings the engine's analyses with it). */
const MAX_IMAGES = 64;
/** zfnet-mini's training snapshots (models/zfnet-mini/manifest.json). */
const EPOCHS = [1, 2, 3, 5, 8];
const ARCHITECTURES = [
  { name: 'zfnet', label: 'ZFNet (conv1 7×7 stride 2)' },
  { name: 'alexnet', label: 'AlexNet, torchvision (11×11 stride 4)' },
  { name: 'alexnet-bvlc', label: 'AlexNet, BVLC (11×11 stride 4, groups)' },
  { name: 'caffenet', label: 'CaffeNet (11×11 stride 4)' },
];

let uid = 0;

/**
 * Architecture diagnosis (Zeiler & Fergus, Fig. 6): the first layer's filters as pictures (dead
 * ones framed red), each filter's RMS (one dominating filter stands out), dead filters, how their
 * energy splits between low, mid and high spatial frequencies, and the strongest layer-2 features
 * projected to pixels (a large conv1 stride shows as aliasing), for the current model and, side
 * by side, for another: an earlier training snapshot of zfnet-mini, a built-in architecture with
 * random weights, or an ONNX file. The element only shows: its host runs the diagnosis when it
 * fires `zf-analysis-run` (`detail.request`: `{ images?, compare?, layer2Maps? }`), and sets
 * `result`, `running` and `progress`.
 *
 * @summary Architecture diagnosis of one or two models, side by side.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'diagnosis', request }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart controls - The row of settings and buttons.
 * @csspart input - The compare select, the samples checkbox and the layer-2 maps input.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart model - Each model's column.
 * @csspart title - A model's name.
 * @csspart filters - A model's conv1 filter grid (canvas).
 * @csspart summary - A model's numbers.
 * @csspart layer2 - A model's layer-2 projections (canvas).
 * @csspart chart - Each comparison chart (an inline SVG).
 * @csspart caption - Each picture's and chart's caption.
 * @csspart export - The save buttons.
 */
export class ZfDiagnosisView extends AnalysisView<DiagnosisResultMessage> {
  static styles = [theme, analysisStyles, css`
    .models { display: flex; flex-wrap: wrap; gap: calc(2 * var(--_gap)); margin-top: 10px; align-items: start; }
    section { display: grid; gap: 8px; min-width: 0; }
    h3 { margin: 0; font-size: 1em; }
    figure { margin: 0; display: grid; gap: 4px; justify-items: start; }
    canvas { max-width: 100%; height: auto; border-radius: 3px; }
    figcaption { font-size: 0.8em; color: var(--_muted); }
    dl { display: grid; grid-template-columns: auto auto; gap: 2px 10px; margin: 0; font-size: 0.85em; justify-content: start; }
    dt { color: var(--_muted); }
    dd { margin: 0; font-variant-numeric: tabular-nums; }
    .charts { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 12px; }
    .chart { background: #fff; color: #1d2330; border-radius: 3px; line-height: 0; }
    .chart svg { max-width: 100%; height: auto; }
    label.inline { display: inline-flex; align-items: center; gap: 4px; align-self: center; font-size: 1em; color: inherit; }
    input[type='file'] { display: none; }
  `];

  readonly analysis = 'diagnosis';

  /** What to compare with: 'none', 'epoch:N' (zfnet-mini's snapshot), 'arch:NAME', 'onnx'. */
  @state() private compare = 'none';
  @state() private file?: File;
  @state() private useSamples = true;
  @state() private layer2Maps = 16;

  private readonly uid = `zf-diagnosis-${++uid}`;

  render() {
    const id = (s: string) => `${this.uid}-${s}`;
    const needsFile = this.compare === 'onnx' && !this.file;
    const samples = this.samples.length;
    return html`<div class="controls" part="controls" role="group" aria-label="Architecture diagnosis settings">
        <label for=${id('compare')}>Compare ${this.info?.name ?? 'the model'} with
          <select id=${id('compare')} part="input" ?disabled=${this.running} @change=${this.onCompare}>
            <option value="none" ?selected=${this.compare === 'none'}>Nothing (this model alone)</option>
            <optgroup label="zfnet-mini during training">
              ${EPOCHS.map((e) => html`<option value=${`epoch:${e}`} ?selected=${this.compare === `epoch:${e}`}>zfnet-mini epoch ${e}</option>`)}
            </optgroup>
            <optgroup label="Architectures, random weights">
              ${ARCHITECTURES.map((a) => html`<option value=${`arch:${a.name}`} ?selected=${this.compare === `arch:${a.name}`}>${a.label}</option>`)}
            </optgroup>
            <option value="onnx" ?selected=${this.compare === 'onnx'}>${this.file ? `ONNX file: ${this.file.name}` : 'ONNX file…'}</option>
          </select>
        </label>
        ${this.compare === 'onnx' ? html`<button type="button" class="secondary" ?disabled=${this.running}
            aria-label="Choose the ONNX file to compare with" @click=${() => this.fileInput?.click()}>Choose file…</button>` : nothing}
        <input type="file" id=${id('file')} accept=".onnx,application/octet-stream" aria-label="ONNX model to compare with"
            @change=${this.onFile}>
        <label class="inline"><input type="checkbox" part="input" data-role="samples" .checked=${this.useSamples && samples > 0}
            ?disabled=${this.running || samples === 0} @change=${(e: Event) => { this.useSamples = (e.target as HTMLInputElement).checked; }}>
          Use the ${Math.min(samples, MAX_IMAGES)} sample images</label>
        <label for=${id('maps')}>Layer-2 maps
          <input id=${id('maps')} part="input" type="number" min="1" max="64" step="1" .value=${String(this.layer2Maps)}
              ?disabled=${this.running || !this.useSamples || samples === 0} aria-label="How many layer-2 maps to project"
              @change=${(e: Event) => { this.layer2Maps = (e.target as HTMLInputElement).valueAsNumber; }}>
        </label>
        ${this.runControls(this.onRun, { label: 'Run the architecture diagnosis', disabled: needsFile || !this.mapsValid })}
      </div>
      ${needsFile ? html`<p class="note">Choose an ONNX file to compare with.</p>` : nothing}
      ${!this.mapsValid ? html`<p class="note" role="alert">Layer-2 maps must be a whole number from 1 to 64.</p>` : nothing}
      ${this.result ? this.results(this.result) : html`<p class="note">${this.ready
        ? 'Press Run to examine the first layers\' filters.' : 'Waiting for a model.'}</p>`}`;
  }

  private results(r: DiagnosisResultMessage) {
    return html`<div class="models" aria-busy=${this.running ? 'true' : 'false'}>
        ${r.models.map((m, i) => this.column(m, i))}
      </div>
      <div class="charts">
        ${(['spectrum', 'rms'] as const).map((which) => html`<figure>
          <div class="chart" part="chart" data-chart=${which} role="img" aria-label=${chartLabel(r, which)}></div>
          <figcaption part="caption">${which === 'spectrum'
            ? 'Mean radial spectrum of conv1 (DC at 0, Nyquist at 1)' : 'conv1 filter RMS, largest first'}</figcaption>
        </figure>`)}
      </div>
      <div class="results-bar">
        <p class="note">${r.models.length} model${r.models.length > 1 ? 's' : ''}; ${Math.round(r.ms)} ms in the worker.</p>
        <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
      </div>`;
  }

  /** One model: its filters, its numbers, its layer-2 features. */
  private column(m: DiagnosedModel, i: number) {
    const { conv1, summary: s } = m.summary;
    const l2 = m.summary.layer2;
    const titleId = `${this.uid}-model-${i}`;
    const dead = s.dead.length ? `${s.dead.length}: ${s.dead.join(', ')}` : 'none';
    return html`<section part="model" data-model=${i} aria-labelledby=${titleId}>
      <h3 id=${titleId} part="title">${m.label}</h3>
      <figure>
        <canvas class="pixels" part="filters" data-model=${i} role="img" aria-label=${`${conv1.filters} conv1 filters of ${m.label}, ` +
          `${conv1.kernel[0]} by ${conv1.kernel[1]}, stride ${conv1.stride[0]}; ${s.dead.length} dead, framed red`}></canvas>
        <figcaption part="caption">${conv1.layer}: ${conv1.filters} filters, ${conv1.channels}×${conv1.kernel[0]}×${conv1.kernel[1]},
          stride ${conv1.stride[0]}; dead ones framed red</figcaption>
      </figure>
      <dl part="summary" aria-label=${`Numbers of ${m.label}'s conv1`}>
        <dt>Filters</dt><dd data-stat="filters">${s.filters}</dd>
        <dt>Dead</dt><dd data-stat="dead" title=${`by weight: ${s.deadByWeight.join(', ') || 'none'}; ` +
          `never active: ${s.deadByActivity ? s.deadByActivity.join(', ') || 'none' : 'not measured (no images)'}`}>${dead}</dd>
        <dt>RMS min / median / max</dt><dd data-stat="rms">${num(s.rms.min)} / ${num(s.rms.median)} / ${num(s.rms.max)}</dd>
        <dt>Max / median RMS</dt><dd data-stat="ratio">${num(s.rms.maxOverMedian)}</dd>
        <dt>Energy low / mid / high</dt><dd data-stat="bands">${pct(s.bands.low)} / ${pct(s.bands.mid)} / ${pct(s.bands.high)}</dd>
      </dl>
      ${m.layer2 && l2 ? html`<figure>
          <canvas class="pixels" part="layer2" data-model=${i} role="img"
              aria-label=${`${l2.units.length} ${l2.layer} features of ${m.label}, projected to pixels`}></canvas>
          <figcaption part="caption">${layerText(l2)}, maps 0–${l2.units.length - 1}: the strongest activation over
            ${s.samples} images, projected</figcaption>
        </figure>`
        : html`<p class="note">${s.samples ? `${conv1.layer} is the only conv layer.` : 'Layer-2 projections need the sample images.'}</p>`}
    </section>`;
  }

  protected updated(): void {
    const r = this.result;
    if (!r) return;
    r.models.forEach((m, i) => {
      paintOnce(this.renderRoot.querySelector<HTMLCanvasElement>(`canvas[part="filters"][data-model="${i}"]`), m.filters);
      paintOnce(this.renderRoot.querySelector<HTMLCanvasElement>(`canvas[part="layer2"][data-model="${i}"]`), m.layer2 ?? undefined);
    });
    for (const which of ['spectrum', 'rms'] as const) {
      const box = this.renderRoot.querySelector<HTMLElement>(`.chart[data-chart="${which}"]`);
      // The engine's own SVG (numbers, and labels it escapes); set once per result.
      if (box && (box as { shown?: string }).shown !== r.charts[which]) {
        box.innerHTML = r.charts[which];
        (box as { shown?: string }).shown = r.charts[which];
      }
    }
  }

  private exports(r: DiagnosisResultMessage): ExportItem[] {
    const stem = ['zf-diagnosis', ...r.models.map((m) => m.label)];
    const layer2 = r.models.map((m) => m.layer2).filter((p): p is RgbaImage => !!p);
    return [
      { label: 'PNG filters', what: 'the conv1 filters side by side', filename: fileName(...stem, 'conv1.png'),
        make: () => pngBlob(sideBySide(r.models.map((m) => m.filters))) },
      ...(layer2.length ? [{ label: 'PNG layer 2', what: 'the layer-2 projections side by side', filename: fileName(...stem, 'layer2.png'),
        make: () => pngBlob(sideBySide(layer2)) }] : []),
      { label: 'SVG spectrum', what: 'the spectrum chart', filename: fileName(...stem, 'spectrum.svg'), make: () => svgBlob(r.charts.spectrum) },
      { label: 'SVG RMS', what: 'the filter RMS chart', filename: fileName(...stem, 'rms.svg'), make: () => svgBlob(r.charts.rms) },
      { label: 'JSON', what: 'every model\'s numbers', filename: fileName(...stem, '.json'),
        make: () => jsonBlob({ analysis: 'diagnosis', models: r.models.map((m) => ({ label: m.label, ...m.summary })) }) },
    ];
  }

  private get fileInput() {
    return this.renderRoot.querySelector<HTMLInputElement>('input[type="file"]');
  }

  private get mapsValid() {
    return Number.isInteger(this.layer2Maps) && this.layer2Maps >= 1 && this.layer2Maps <= 64;
  }

  private onCompare = (e: Event) => {
    this.compare = (e.target as HTMLSelectElement).value;
    // Choosing "ONNX file…" opens the picker at once (the select's change is the user's gesture).
    if (this.compare === 'onnx' && !this.file) this.fileInput?.click();
  };

  private onFile = (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) { this.file = file; this.compare = 'onnx'; }
  };

  private onRun = () => {
    const request: Omit<DiagnosisRequest, 'type'> = {};
    if (this.useSamples && this.samples.length) {
      // Page-relative sample URLs resolve against the page, not the worker's script.
      request.images = this.samples.slice(0, MAX_IMAGES).map((s) => ({ source: new URL(s.url, document.baseURI).href, name: s.label }));
      request.layer2Maps = this.layer2Maps;
    }
    const [kind, value] = this.compare.split(':');
    if (kind === 'epoch') request.compare = { source: 'zfnet-mini', epoch: Number(value), label: `zfnet-mini epoch ${value}` };
    else if (kind === 'arch') request.compare = { source: value, seed: 1, label: `${value} (random)` };
    else if (kind === 'onnx' && this.file) request.compare = { source: this.file, label: this.file.name };
    this.requestRun(request);
  };
}

/** Paint a canvas only when its picture changed (updated() runs on every progress tick). */
function paintOnce(canvas: HTMLCanvasElement | null, image: RgbaImage | undefined): void {
  if (!canvas || !image || (canvas as { shown?: RgbaImage }).shown === image) return;
  paint(canvas, image);
  (canvas as { shown?: RgbaImage }).shown = image;
}

/** The models' pictures left to right on light grey (as the engine's sideBySide). */
function sideBySide(images: RgbaImage[]): RgbaImage {
  return tileImages(images, { columns: images.length, gap: 16, background: [235, 235, 235] });
}

/** A number as shown (3 significant digits: RMS is often exactly the renormalisation radius), with its exact value for machines. */
function num(v: number) {
  return html`<data value=${v}>${Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(3)}</data>`;
}

function pct(v: number) {
  return html`<data value=${v}>${(v * 100).toFixed(0)}%</data>`;
}

function chartLabel(r: DiagnosisResultMessage, which: 'spectrum' | 'rms'): string {
  return which === 'spectrum'
    ? `Spectrum of conv1, mean over filters: ${r.models.map((m) => {
      const b = m.summary.summary.bands;
      return `${m.label} ${pct100(b.low)} low, ${pct100(b.mid)} mid, ${pct100(b.high)} high`;
    }).join('; ')}`
    : `conv1 filter RMS, sorted: ${r.models.map((m) => {
      const s = m.summary.summary.rms;
      return `${m.label} from ${s.max.toPrecision(3)} down to ${s.min.toPrecision(3)}, largest ${s.maxOverMedian.toFixed(1)} times the median`;
    }).join('; ')}`;
}

const pct100 = (v: number) => `${(v * 100).toFixed(0)}%`;

if (!customElements.get('zf-diagnosis-view')) customElements.define('zf-diagnosis-view', ZfDiagnosisView);

declare global {
  interface HTMLElementTagNameMap { 'zf-diagnosis-view': ZfDiagnosisView }
}
