import { css, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { paint } from '../shared/canvas.js';
import { AnalysisView, analysisStyles } from '../shared/analysis-view.js';
import { fileName, jsonBlob, pngBlob } from '../shared/export.js';
import { tileImages } from '../../src/deconv/render.js';
import type { OcclusionResultMessage } from '../../src/worker/protocol.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import '../export-buttons/zf-export-buttons.js';
import { defaultLayers, findLayer, layerChoices, layerText } from '../analyses-panel/graph-layers.js';

let uid = 0;

/** Up to this many classes, the class of map (a) is a select; past it, a text field with suggestions. */
const MAX_SELECT_CLASSES = 50;

/**
 * Occlusion sensitivity (Zeiler & Fergus, Fig. 7): a grey square of `size` pixels slides over
 * the image by `stride`; three maps over the image show (a) the probability of the chosen class
 * (default: the top class), (b) the total activation of the chosen feature map (default: the
 * last conv layer's strongest map on the unoccluded image), (c) the most probable class, at each
 * position of the square. The element only shows: its host runs the analysis when it fires
 * `zf-analysis-run` (`detail.request`: `{ size, stride, classIndex?, layer?, map? }`), and sets
 * `result`, `running` and `progress`.
 *
 * @summary Occlusion controls and its three heatmaps.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'occlusion', request }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart controls - The row of settings and buttons.
 * @csspart input - The size, stride and map inputs, and the class and layer selects.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart heatmap - Each heatmap canvas.
 * @csspart caption - Each heatmap's caption.
 * @csspart legend - The class legend of the most-probable-class map.
 * @csspart export - The save buttons.
 * @cssprop [--zf-heatmap-size=200px] - Display size of each heatmap.
 */
export class ZfOcclusionView extends AnalysisView<OcclusionResultMessage> {
  static styles = [theme, analysisStyles, css`
    .maps { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; max-width: var(--zf-heatmap-size, 200px); }
    canvas { width: var(--zf-heatmap-size, 200px); height: auto; aspect-ratio: 1; border-radius: 3px; background: var(--_surface); }
    figcaption { font-size: 0.8em; }
    .range { color: var(--_muted); font-variant-numeric: tabular-nums; }
    ul { list-style: none; margin: 2px 0 0; padding: 0; display: grid; gap: 2px; font-size: 0.8em; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
    select { max-width: 12em; }
    input.map { width: 8.5em; }
    input.layer { width: 22em; max-width: 100%; }
    input.class { width: 12em; }
  `];

  readonly analysis = 'occlusion';

  /** The occluder's side in input pixels (the input's size / 7 suits: 32 at 224). */
  @property({ type: Number }) size = 32;

  /** The step between positions in input pixels. */
  @property({ type: Number }) stride = 16;

  /** The network input's side, to bound the inputs. */
  @property({ type: Number, attribute: 'input-size' }) inputSize = 224;

  /** The class whose probability map (a) shows; -1: the image's top class. */
  @property({ type: Number, attribute: 'class-index' }) classIndex = -1;

  /**
   * The layer of map (b); empty: the last conv layer (for an imported graph, its last conv block's
   * output). A graph's is typed or picked from its list: a short name or any [C, H, W] tensor's name.
   */
  @property() layer = '';

  /** The feature map of (b); -1: the strongest on the unoccluded image. */
  @property({ type: Number }) map = -1;

  @state() private invalid = '';

  /** The class names' suggestions are made (the class field was focused). */
  @state() private suggest = false;

  private readonly uid = `zf-occlusion-${++uid}`;

  /** Conv layers (map (b) sums a spatial map). */
  private get convLayers() {
    return this.info?.layers.filter((l) => l.kind === 'conv' && l.shape.length === 3) ?? [];
  }

  render() {
    const r = this.result;
    const id = (s: string) => `${this.uid}-${s}`;
    const labels = this.info?.labels ?? [];
    const convs = this.convLayers;
    return html`<div class="controls" part="controls" role="group" aria-label="Occlusion settings">
        <label for=${id('size')}>Square (px)
          <input id=${id('size')} part="input" type="number" min="1" max=${this.inputSize} step="1"
              .value=${String(this.size)} ?disabled=${this.running} aria-label="Occluder size in input pixels"
              @change=${(e: Event) => { this.size = (e.target as HTMLInputElement).valueAsNumber; }} @keydown=${this.onKey}>
        </label>
        <label for=${id('stride')}>Stride (px)
          <input id=${id('stride')} part="input" type="number" min="1" max=${this.inputSize} step="1"
              .value=${String(this.stride)} ?disabled=${this.running} aria-label="Occluder stride in input pixels"
              @change=${(e: Event) => { this.stride = (e.target as HTMLInputElement).valueAsNumber; }} @keydown=${this.onKey}>
        </label>
        <label for=${id('class')}>Class of (a)${this.classControl(id('class'), labels)}</label>
        ${this.info?.tensors ? html`<label for=${id('layer')}>Layer of (b)
          <input id=${id('layer')} class="layer" part="input" type="text" data-role="layer" list=${id('layers')} spellcheck="false"
              autocomplete="off" .value=${this.layer || (defaultLayers(this.info).block ?? '')} ?disabled=${this.running}
              aria-label="Layer or tensor of the feature map (b) shows"
              @change=${(e: Event) => { this.layer = (e.target as HTMLInputElement).value.trim(); this.map = -1; }} @keydown=${this.onKey}>
          <datalist id=${id('layers')}>${layerChoices(this.info, { spatial: true }).map((c) => html`<option value=${c.name}>${c.hint}</option>`)}</datalist>
        </label>` : html`<label for=${id('layer')}>Layer of (b)
          <select id=${id('layer')} part="input" ?disabled=${this.running} aria-label="Layer of the feature map (b) shows"
              @change=${(e: Event) => { this.layer = (e.target as HTMLSelectElement).value; this.map = -1; }}>
            ${convs.map((l, i) => html`<option value=${l.name}
                ?selected=${this.layer ? this.layer === l.name : i === convs.length - 1}>${l.name} (${l.shape[0]} maps)</option>`)}
          </select>
        </label>`}
        <label for=${id('map')}>Map of (b)
          <input id=${id('map')} class="map" part="input" type="number" min="-1" step="1" placeholder="strongest"
              .value=${this.map >= 0 ? String(this.map) : ''} ?disabled=${this.running}
              aria-label="Feature map (b) shows; empty for the strongest"
              @change=${(e: Event) => { const v = (e.target as HTMLInputElement).value; this.map = v === '' ? -1 : Number(v); }}
              @keydown=${this.onKey}>
        </label>
        ${this.runControls(this.onRun, { label: 'Run occlusion sensitivity' })}
      </div>
      ${this.invalid ? html`<p role="alert" class="note">${this.invalid}</p>` : nothing}
      ${r ? html`<div class="maps" aria-busy=${this.running ? 'true' : 'false'}>
          ${r.pictures.map((p, i) => html`<figure>
            <canvas class="pixels" part="heatmap" data-map=${p.which} role="img"
                aria-label=${`${p.title} with a ${r.size} pixel square at each of ${r.rows} by ${r.cols} positions, over the image`}></canvas>
            <figcaption part="caption"><strong>(${'abc'[i]}) ${p.title}</strong>
              ${p.which === 'top'
                ? html`<ul part="legend" aria-label="Classes of the map">${r.classes.slice(0, 6).map((c) => html`<li>
                    <span class="swatch" style=${styleProps({ background: c.color })} aria-hidden="true"></span>${c.label}
                    <span class="range">(${c.positions})</span></li>`)}</ul>`
                : html`<div class="range">${fmt(p.min)} (blue) – ${fmt(p.max)} (red);
                    unoccluded ${fmt(p.which === 'probability' ? r.baseline.probability : r.baseline.activation)}</div>`}
            </figcaption>
          </figure>`)}
        </div>
        <div class="results-bar">
          <p class="note">${r.rows}×${r.cols} positions of a ${r.size} px square, stride ${r.stride};
            ${layerText(r)}; ${Math.round(r.ms)} ms in the worker.</p>
          <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
        </div>`
      : html`<p class="note">${this.ready ? 'Press Run to slide a grey square over the image.' : 'Waiting for an image.'}</p>`}`;
  }

  /**
   * The class of map (a): a select for a few classes; for many (ImageNet's 1000) a text field
   * that takes a name or a number, with the names as suggestions made only once it is focused
   * (a thousand options cost the page's thread ~25 ms while the model loads).
   */
  private classControl(id: string, labels: string[]) {
    const label = 'Class whose probability map (a) shows';
    if (labels.length <= MAX_SELECT_CLASSES) {
      return html`<select id=${id} part="input" ?disabled=${this.running} aria-label=${label}
          @change=${(e: Event) => { this.classIndex = Number((e.target as HTMLSelectElement).value); }}>
        <option value="-1" ?selected=${this.classIndex < 0}>Top class</option>
        ${labels.map((name, i) => html`<option value=${i} ?selected=${this.classIndex === i}>${name}</option>`)}
      </select>`;
    }
    return html`<input id=${id} class="class" part="input" type="text" list=${`${id}-names`} placeholder="top class"
        .value=${this.classIndex >= 0 ? labels[this.classIndex] ?? '' : ''} ?disabled=${this.running}
        aria-label=${`${label}: a name or a number from 0 to ${labels.length - 1}; empty for the top class`}
        @focus=${() => { this.suggest = true; }} @change=${(e: Event) => this.onClassText((e.target as HTMLInputElement).value, labels)}
        @keydown=${this.onKey}>
      <datalist id=${`${id}-names`}>${this.suggest ? labels.map((name) => html`<option value=${name}></option>`) : nothing}</datalist>`;
  }

  private onClassText(text: string, labels: string[]): void {
    const t = text.trim();
    const lower = t.toLowerCase();
    const index = t === '' ? -1 : /^\d+$/.test(t) ? Number(t) : labels.findIndex((l) => l.toLowerCase() === lower);
    if (index >= labels.length || (t !== '' && index < 0)) {
      this.invalid = `No class '${t}': give a class name or a number from 0 to ${labels.length - 1}, or leave it empty for the top class.`;
      this.classIndex = NaN;
      return;
    }
    this.invalid = '';
    this.classIndex = index;
  }

  protected updated(): void {
    const r = this.result;
    if (!r) return;
    for (const p of r.pictures) {
      paint(this.renderRoot.querySelector<HTMLCanvasElement>(`canvas[data-map="${p.which}"]`), p.picture);
    }
  }

  protected modelChanged(): void {
    this.classIndex = -1;
    this.layer = '';
    this.map = -1;
    this.invalid = '';
    this.suggest = false;
  }

  /** The three heatmaps side by side, and the maps' numbers. */
  private exports(r: OcclusionResultMessage): ExportItem[] {
    const stem = ['zf-occlusion', this.info?.name, r.label, r.layer, `map${r.map}`];
    return [
      {
        label: 'PNG', what: 'the three occlusion maps', filename: fileName(...stem, '.png'),
        make: () => pngBlob(tileImages(r.pictures.map((p) => p.picture), { columns: 3, gap: 4, background: [255, 255, 255, 255] })),
      },
      {
        label: 'JSON', what: 'the occlusion maps as numbers', filename: fileName(...stem, '.json'),
        make: () => jsonBlob({
          model: this.info?.name, size: r.size, stride: r.stride, rows: r.rows, cols: r.cols,
          classIndex: r.classIndex, label: r.label, layer: r.layer, point: r.point, map: r.map, baseline: r.baseline,
          layout: '[rows][cols] row-major; position (i, j) puts the square at y = i * stride, x = j * stride',
          probability: r.probability, activation: r.activation, top: r.top, topProbability: r.topProbability,
          classes: r.classes.map(({ index, label, positions }) => ({ index, label, positions })),
        }),
      },
    ];
  }

  private onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      (e.target as HTMLInputElement).dispatchEvent(new Event('change'));
      this.onRun();
    }
  };

  private onRun = () => {
    if (this.running || !this.ready) return;
    const ok = (v: number) => Number.isInteger(v) && v >= 1 && v <= this.inputSize;
    if (!ok(this.size) || !ok(this.stride)) {
      this.invalid = `Size and stride must be whole numbers from 1 to ${this.inputSize}.`;
      return;
    }
    if (Number.isNaN(this.classIndex)) return; // the class field says what is wrong
    let layer: { name: string; shape: number[] } | undefined;
    if (this.info?.tensors) {
      const found = findLayer(this.info, this.layer || (defaultLayers(this.info).block ?? ''), { spatial: true });
      if (typeof found === 'string') {
        this.invalid = found;
        return;
      }
      layer = found;
    } else {
      layer = this.convLayers.find((l) => l.name === this.layer) ?? this.convLayers[this.convLayers.length - 1];
    }
    const maps = layer?.shape[0] ?? 0;
    if (this.map >= 0 && (!Number.isInteger(this.map) || this.map >= maps)) {
      this.invalid = `Map must be a whole number from 0 to ${maps - 1} (${layer?.name} has ${maps} maps), or empty for the strongest.`;
      return;
    }
    this.invalid = '';
    this.requestRun({
      size: this.size, stride: this.stride,
      classIndex: this.classIndex >= 0 ? this.classIndex : undefined,
      layer: layer?.name, map: this.map >= 0 ? this.map : undefined,
    });
  };
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

if (!customElements.get('zf-occlusion-view')) customElements.define('zf-occlusion-view', ZfOcclusionView);

declare global {
  interface HTMLElementTagNameMap { 'zf-occlusion-view': ZfOcclusionView }
}
