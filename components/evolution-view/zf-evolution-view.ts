import { type PropertyValues, css, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { paint } from '../shared/canvas.js';
import { AnalysisView, analysisStyles } from '../shared/analysis-view.js';
import { fileName, jsonBlob, pngBlob } from '../shared/export.js';
import { parseFeature, type FeatureRef } from '../../src/analyses/evolution.js';
import type { EvolutionCellMessage, EvolutionResultMessage } from '../../src/worker/handlers/evolution.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import '../export-buttons/zf-export-buttons.js';
import { defaultLayers, findLayer, layerChoices } from '../analyses-panel/graph-layers.js';

/** zfnet-mini's saved epochs before a result says otherwise (its manifest lists these). */
const MINI_EPOCHS = [1, 2, 3, 5, 8];
const MAX_FEATURES = 32;
const MAX_IMAGES = 256;

let uid = 0;

/**
 * Feature evolution during training (Zeiler & Fergus, Fig. 4): for each chosen feature (a map
 * of a layer), its strongest activation over the sample images at each training snapshot,
 * projected to pixels; a grid with a row per feature and a column per snapshot. Snapshots are
 * zfnet-mini's saved epochs (and its final weights), or, for any other model, model files the
 * user picks (checkpoints of their own training, in name order).
 *
 * Default features: maps 0 and 1 of the first, middle and last conv layers. Fixed map numbers
 * (rather than each snapshot's strongest map) are what make a row one feature followed through
 * training, and first-to-last layers show the paper's point: low layers settle early.
 *
 * The element only shows: its host runs the analysis when it fires `zf-analysis-run`
 * (`detail.request`: `{ images, features, epochs }` or `{ images, features, snapshots }`), and
 * sets `result`, `running` and `progress`.
 *
 * @summary Feature evolution controls and its features x snapshots grid.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'evolution', request }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart controls - The row of settings and buttons.
 * @csspart input - The features text input and the snapshot files input.
 * @csspart snapshot - Each epoch's checkbox label.
 * @csspart error - The inline message about the settings.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart grid - The results table.
 * @csspart heading - Each column (snapshot) and row (feature) heading.
 * @csspart cell - Each cell's canvas.
 * @csspart export - The save buttons.
 * @cssprop [--zf-evolution-cell-size=96px] - The largest a cell's picture is shown.
 */
export class ZfEvolutionView extends AnalysisView<EvolutionResultMessage> {
  static styles = [theme, analysisStyles, css`
    .features input { width: 32em; max-width: 100%; }
    select[data-role='add-feature'] { max-width: 16em; }
    fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; align-items: center; gap: 2px 10px; }
    legend { padding: 0; font-size: 0.85em; color: var(--_muted); margin-bottom: 2px; }
    fieldset label { display: inline-flex; align-items: center; gap: 4px; font-size: 1em; color: var(--_fg); }
    .error { color: var(--_error); }
    .scroll { overflow-x: auto; margin-top: 10px; }
    table { border-collapse: separate; border-spacing: 6px 4px; }
    th { font-size: 0.8em; font-weight: 600; white-space: nowrap; }
    thead th { text-align: center; }
    tbody th { text-align: right; }
    td { text-align: center; vertical-align: top; }
    canvas { display: block; margin: 0 auto; max-width: var(--zf-evolution-cell-size, 96px); height: auto; border-radius: 3px; }
    .value { font-size: 0.75em; color: var(--_muted); font-variant-numeric: tabular-nums; }
  `];

  readonly analysis = 'evolution';

  /** The features to follow, e.g. `conv1:3, conv2:7, conv5:pool:0`; empty: the defaults for the model. */
  @property() features = '';

  /** zfnet-mini's snapshots to leave out (the others, and 'final', are chosen). */
  @state() private unchecked = new Set<number | 'final'>();
  /** Another model's snapshots: files, in name order. */
  @state() private files: File[] = [];
  @state() private invalid = '';
  /** Whether `invalid` is about the features text (it is then marked invalid). */
  @state() private badFeatures = false;

  /** zfnet-mini's saved epochs as the last result listed them. */
  private available = MINI_EPOCHS;
  private finalEpoch?: number;
  private painted?: EvolutionResultMessage;
  private readonly uid = `zf-evolution-${++uid}`;

  private get mini(): boolean {
    return this.info?.source === 'zfnet-mini';
  }

  /** Features and snapshot files typed or chosen for another model do not carry over. */
  protected modelChanged(): void {
    this.features = '';
    this.files = [];
    this.unchecked = new Set();
    this.invalid = '';
    this.badFeatures = false;
  }

  private get epochs(): (number | 'final')[] {
    return [...this.available, 'final' as const].filter((e) => !this.unchecked.has(e));
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (this.result?.available) {
      this.available = this.result.available;
      this.finalEpoch = this.result.finalEpoch;
    }
  }

  render() {
    const r = this.result;
    const id = (s: string) => `${this.uid}-${s}`;
    const text = this.features || defaultFeatures(this.info);
    const none = this.mini ? this.epochs.length === 0 : this.files.length === 0;
    return html`<div class="controls" part="controls" role="group" aria-label="Feature evolution settings">
        <label class="features" for=${id('features')}>Features (layer:map, comma-separated)
          <input id=${id('features')} part="input" type="text" .value=${text} ?disabled=${this.running}
              spellcheck="false" autocomplete="off" aria-invalid=${this.badFeatures ? 'true' : 'false'}
              aria-describedby=${this.badFeatures ? id('error') : nothing}
              @change=${this.onFeatures} @keydown=${this.onKey}>
        </label>
        ${this.info?.tensors ? this.addFeature(id('add'), text) : nothing}
        ${this.mini ? this.epochChoices() : this.fileChoice(id('files'))}
        ${this.runControls(this.onRun, { label: 'Run feature evolution', disabled: none || this.samples.length === 0 })}
      </div>
      ${this.invalid ? html`<p id=${id('error')} class="note error" part="error" role="alert">${this.invalid}</p>` : nothing}
      ${r ? this.grid(r) : html`<p class="note">${this.hint(none)}</p>`}`;
  }

  /**
   * An imported graph's layers and tensors, to add one as a feature (map 0; edit the number in the
   * text): a graph has too many tensors to remember their names.
   */
  private addFeature(selectId: string, text: string) {
    return html`<label for=${selectId}>Add
      <select id=${selectId} part="input" data-role="add-feature" ?disabled=${this.running}
          aria-label="Add a layer or tensor of the graph as a feature (map 0)"
          @change=${(e: Event) => {
            const select = e.target as HTMLSelectElement;
            if (!select.value) return;
            this.features = [text.trim(), `${select.value}:0`].filter(Boolean).join(', ');
            select.value = '';
            this.invalid = '';
            this.badFeatures = false;
            this.parse();
          }}>
        <option value="">a layer or tensor…</option>
        ${layerChoices(this.info).map((c) => html`<option value=${c.name}>${c.name} (${c.hint})</option>`)}
      </select>
    </label>`;
  }

  private epochChoices() {
    const name = (e: number | 'final') => (e === 'final' ? `final${this.finalEpoch !== undefined ? ` (epoch ${this.finalEpoch})` : ''}` : `epoch ${e}`);
    return html`<fieldset>
      <legend>Snapshots</legend>
      ${[...this.available, 'final' as const].map((e) => html`<label part="snapshot">
        <input type="checkbox" data-epoch=${e} .checked=${!this.unchecked.has(e)} ?disabled=${this.running}
            @change=${(ev: Event) => this.toggle(e, (ev.target as HTMLInputElement).checked)}>${name(e)}</label>`)}
    </fieldset>`;
  }

  private fileChoice(inputId: string) {
    return html`<label for=${inputId}>Snapshots (model files; columns in name order)
      <input id=${inputId} part="input" type="file" multiple accept=".onnx" ?disabled=${this.running}
          @change=${this.onFiles}>
    </label>
    ${this.files.length ? html`<span class="note">${this.files.map(fileLabel).join(' → ')}</span>` : nothing}`;
  }

  private hint(none: boolean): string {
    if (!this.ready) return 'Waiting for a model.';
    if (this.samples.length === 0) return 'There are no sample images to search.';
    if (none) return this.mini ? 'Choose at least one snapshot.' : 'Pick the snapshots: model files of your training.';
    return `Press Run to find each feature's strongest activation over ${Math.min(MAX_IMAGES, this.samples.length)} ` +
      'sample images at every snapshot, and project it to pixels.';
  }

  private grid(r: EvolutionResultMessage) {
    return html`<div class="scroll" aria-busy=${this.running ? 'true' : 'false'}>
        <table part="grid">
          <caption class="visually-hidden">Feature evolution: a row per feature, a column per snapshot; each cell is the
            feature's strongest activation over the images, projected to pixels.</caption>
          <thead><tr><th scope="col"><span class="visually-hidden">Feature</span></th>
            ${r.snapshots.map((s) => html`<th scope="col" part="heading">${s}</th>`)}</tr></thead>
          <tbody>${r.features.map((f, k) => html`<tr>
            <th scope="row" part="heading">${this.featureName(f)}</th>
            ${r.cells[k].map((c, s) => html`<td>
              <canvas class="pixels" part="cell" data-feature=${k} data-snapshot=${s} role="img"
                  aria-label=${this.describe(r, k, s, c)} title=${this.describe(r, k, s, c)}></canvas>
              <div class="value" aria-hidden="true">${fmt(c.value)}</div>
            </td>`)}
          </tr>`)}</tbody>
        </table>
      </div>
      <div class="results-bar">
        <p class="note">Strongest activation over ${r.images.length} images per cell, projected with the deconvnet and
          cropped to its receptive field; ${Math.round(r.ms)} ms in the worker.</p>
        <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
      </div>`;
  }

  /** 'conv2 map 7'; the point only when it is not the layer's feature map ('conv5 pool map 2'). */
  private featureName(f: { layer: string; point: string; map: number }): string {
    const usual = this.info?.layers.find((l) => l.name === f.layer)?.defaultPoint;
    return `${f.layer}${f.point !== usual && f.point !== 'tensor' ? ` ${f.point}` : ''} map ${f.map}`;
  }

  private describe(r: EvolutionResultMessage, k: number, s: number, c: EvolutionCellMessage): string {
    const where = c.value > 0 ? ` in ${r.images[c.image] ?? `image ${c.image}`} at (${c.y}, ${c.x})` : ' (no positive activation)';
    return `${this.featureName(r.features[k])}, ${r.snapshots[s]}: strongest activation ${fmt(c.value)}${where}`;
  }

  protected updated(): void {
    const r = this.result;
    if (!r || this.painted === r) return;
    this.painted = r;
    for (const canvas of this.renderRoot.querySelectorAll<HTMLCanvasElement>('canvas[part="cell"]')) {
      paint(canvas, r.rows[Number(canvas.dataset.feature)]?.[Number(canvas.dataset.snapshot)]);
    }
  }

  private exports(r: EvolutionResultMessage): ExportItem[] {
    const stem = ['zf-evolution', this.info?.name, `${r.features.length}x${r.snapshots.length}`];
    return [
      { label: 'PNG', what: 'the feature evolution grid', filename: fileName(...stem, '.png'), make: () => pngBlob(r.grid) },
      {
        label: 'JSON', what: 'the feature evolution as numbers', filename: fileName(...stem, '.json'),
        make: () => jsonBlob({
          model: this.info?.name, layout: 'cells[feature][snapshot]; image indexes images; box is the receptive field in input pixels',
          snapshots: r.snapshots, features: r.features, images: r.images, cells: r.cells,
        }),
      },
    ];
  }

  private toggle(e: number | 'final', on: boolean): void {
    const next = new Set(this.unchecked);
    if (on) next.delete(e); else next.add(e);
    this.unchecked = next;
  }

  private onFeatures = (e: Event) => {
    this.features = (e.target as HTMLInputElement).value.trim();
    this.invalid = '';
    this.badFeatures = false;
    this.parse();
  };

  private onFiles = (e: Event) => {
    const picked = [...((e.target as HTMLInputElement).files ?? [])];
    // Name order with numbers compared as numbers: checkpoint-2 before checkpoint-10.
    this.files = picked.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  };

  private onKey = (e: KeyboardEvent) => {
    if (e.key !== 'Enter') return;
    (e.target as HTMLInputElement).dispatchEvent(new Event('change'));
    this.onRun();
  };

  /** The features text, checked against the model's layers; sets `invalid` and gives undefined when it is wrong. */
  private parse(): FeatureRef[] | undefined {
    try {
      return parseFeatures(this.features || defaultFeatures(this.info), this.info);
    } catch (e) {
      this.invalid = (e as Error).message;
      this.badFeatures = true;
      return undefined;
    }
  }

  private onRun = () => {
    if (this.running || !this.ready) return;
    this.invalid = '';
    this.badFeatures = false;
    const features = this.parse();
    if (!features) return;
    const images = this.samples.slice(0, MAX_IMAGES).map((s) => ({ source: new URL(s.url, document.baseURI).href, name: s.label }));
    if (images.length === 0) {
      this.invalid = 'There are no sample images to search.';
      return;
    }
    if (this.mini) {
      if (this.epochs.length === 0) { this.invalid = 'Choose at least one snapshot.'; return; }
      this.requestRun({ images, features, epochs: this.epochs });
    } else {
      if (this.files.length === 0) { this.invalid = 'Pick the snapshots: model files of your training.'; return; }
      this.requestRun({ images, features, snapshots: this.files.map((f) => ({ source: f, label: fileLabel(f) })) });
    }
  };
}

/**
 * Maps 0 and 1 of the first, middle and last conv layers (fewer where a layer has one map); for
 * an imported graph the last is its last conv block's output (the analyses' layer 5: ResNet's
 * last ReLU, GoogLeNet's last concat), not the last conv in graph order (one branch of a block).
 */
export function defaultFeatures(info: ModelInfo | undefined): string {
  const convs = info?.layers.filter((l) => l.kind === 'conv') ?? [];
  if (convs.length === 0) return '';
  const middle = convs[Math.floor((convs.length - 1) / 2)];
  const block = info?.tensors ? findLayer(info, defaultLayers(info).block ?? '') : undefined;
  const last = block && typeof block !== 'string' && block.shape.length === 3 ? block : convs[convs.length - 1];
  const picked = [...new Map([convs[0], middle, last].map((l) => [l.name, l])).values()];
  return picked.flatMap((l) => [0, 1].filter((m) => m < l.shape[0]).map((m) => `${l.name}:${m}`)).join(', ');
}

/** 'conv1:3, conv5:pool:7' -> features, each checked against the model (layer, point, map count). */
export function parseFeatures(text: string, info: ModelInfo | undefined): FeatureRef[] {
  const specs = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length === 0) throw new Error('Give at least one feature, e.g. conv1:0, conv2:3.');
  if (specs.length > MAX_FEATURES) throw new Error(`At most ${MAX_FEATURES} features; there are ${specs.length}.`);
  return specs.map((spec) => {
    let f: FeatureRef;
    try {
      f = parseFeature(spec);
    } catch {
      throw new Error(`'${spec}' is not LAYER:MAP or LAYER:POINT:MAP (e.g. conv2:7 or conv5:pool:0).`);
    }
    if (!info) return f;
    const layer = info.layers.find((l) => l.name === f.layer);
    if (!layer && info.tensors) {
      // A tensor of the graph, by its name: it names its point already.
      const found = findLayer(info, f.layer);
      if (typeof found === 'string') throw new Error(`'${spec}': ${found}`);
      if (f.point !== undefined) throw new Error(`'${spec}': ${f.layer} is a tensor, which names its point already; write ${f.layer}:${f.map}.`);
      if (f.map >= found.shape[0]) throw new Error(`'${spec}': ${f.layer} has ${found.shape[0]} maps (0-${found.shape[0] - 1}).`);
      return f;
    }
    if (!layer) throw new Error(`'${spec}': this model has no layer ${f.layer}; it has ${info.layers.map((l) => l.name).join(', ')}.`);
    if (f.point !== undefined && !layer.points.includes(f.point as never)) {
      throw new Error(`'${spec}': ${layer.name} has no point ${f.point}; it has ${layer.points.join(', ')}.`);
    }
    if (f.map >= layer.shape[0]) throw new Error(`'${spec}': ${layer.name} has ${layer.shape[0]} maps (0-${layer.shape[0] - 1}).`);
    return f;
  });
}

/** A snapshot file's column label: its name without the extension. */
function fileLabel(file: File): string {
  return file.name.replace(/\.onnx$/i, '') || file.name;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

if (!customElements.get('zf-evolution-view')) customElements.define('zf-evolution-view', ZfEvolutionView);

declare global {
  interface HTMLElementTagNameMap { 'zf-evolution-view': ZfEvolutionView }
}
