import { LitElement, css, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import { paint } from '../shared/canvas.js';
import type { OcclusionResultMessage } from '../../src/worker/protocol.js';

/** `zf-occlusion-run`'s detail. */
export interface ZfOcclusionRunDetail { size: number; stride: number }

let uid = 0;

/**
 * Occlusion sensitivity (Zeiler & Fergus, Fig. 7): a grey square of `size` pixels slides over
 * the image by `stride`; three maps over the image show (a) the probability of the top class,
 * (b) the total activation of the last conv layer's strongest map, (c) the most probable class,
 * at each position of the square. The element only shows: its host runs the analysis when it
 * fires `zf-occlusion-run`, and sets `result`, `running` and `progress`.
 *
 * @summary Occlusion controls and its three heatmaps.
 * @fires zf-occlusion-run - The user pressed Run; `detail: { size, stride }`.
 * @fires zf-occlusion-cancel - The user pressed Cancel.
 * @csspart controls - The row of size / stride inputs and buttons.
 * @csspart input - The size and stride inputs.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart heatmap - Each heatmap canvas.
 * @csspart caption - Each heatmap's caption.
 * @csspart legend - The class legend of the most-probable-class map.
 * @cssprop [--zf-heatmap-size=200px] - Display size of each heatmap.
 */
export class ZfOcclusionView extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .controls { display: flex; flex-wrap: wrap; align-items: end; gap: 8px 12px; }
    label { display: grid; gap: 2px; font-size: 0.85em; color: var(--_muted); }
    input { width: 6em; font: inherit; padding: 3px 6px; border: 1px solid var(--_border); border-radius: var(--_radius);
      background: var(--_bg); color: var(--_fg); }
    input:focus-visible, button:focus-visible { outline: none; box-shadow: var(--_focus); }
    button { font: inherit; padding: 4px 14px; border-radius: var(--_radius); cursor: pointer;
      border: 1px solid var(--_accent); background: var(--_accent); color: var(--_accent-fg); }
    button.secondary { background: var(--_surface); color: var(--_fg); border-color: var(--_border); }
    button:disabled { opacity: 0.5; cursor: default; }
    progress { width: 160px; height: 8px; accent-color: var(--_accent); }
    .maps { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; max-width: var(--zf-heatmap-size, 200px); }
    canvas { width: var(--zf-heatmap-size, 200px); height: auto; aspect-ratio: 1; border-radius: 3px; background: var(--_surface); }
    figcaption { font-size: 0.8em; }
    .range { color: var(--_muted); font-variant-numeric: tabular-nums; }
    ul { list-style: none; margin: 2px 0 0; padding: 0; display: grid; gap: 2px; font-size: 0.8em; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
    .note { margin: 6px 0 0; font-size: 0.8em; color: var(--_muted); }
  `];

  /** The last result (an `occlusion` result of the engine's worker). */
  @property({ attribute: false }) result?: OcclusionResultMessage;

  /** True while the analysis runs. */
  @property({ type: Boolean }) running = false;

  /** Fraction done while running. */
  @property({ type: Number }) progress = 0;

  /** False until there is an image to analyse. */
  @property({ type: Boolean }) ready = false;

  /** The occluder's side in input pixels (the input's size / 7 suits: 32 at 224). */
  @property({ type: Number }) size = 32;

  /** The step between positions in input pixels. */
  @property({ type: Number }) stride = 16;

  /** The network input's side, to bound the inputs. */
  @property({ type: Number, attribute: 'input-size' }) inputSize = 224;

  @state() private invalid = '';

  private readonly uid = `zf-occlusion-${++uid}`;

  render() {
    const r = this.result;
    return html`<div class="controls" part="controls" role="group" aria-label="Occlusion settings">
        <label for=${`${this.uid}-size`}>Square (px)
          <input id=${`${this.uid}-size`} part="input" type="number" min="1" max=${this.inputSize} step="1"
              .value=${String(this.size)} ?disabled=${this.running} aria-label="Occluder size in input pixels"
              @change=${(e: Event) => { this.size = (e.target as HTMLInputElement).valueAsNumber; }}
              @keydown=${this.onKey}>
        </label>
        <label for=${`${this.uid}-stride`}>Stride (px)
          <input id=${`${this.uid}-stride`} part="input" type="number" min="1" max=${this.inputSize} step="1"
              .value=${String(this.stride)} ?disabled=${this.running} aria-label="Occluder stride in input pixels"
              @change=${(e: Event) => { this.stride = (e.target as HTMLInputElement).valueAsNumber; }}
              @keydown=${this.onKey}>
        </label>
        ${this.running
          ? html`<button type="button" class="secondary" part="run" data-role="cancel" @click=${this.onCancel}>Cancel</button>
              <progress part="progress" max="1" .value=${this.progress}
                  aria-label="Occlusion progress"></progress>
              <span class="range" aria-live="polite">${Math.round(this.progress * 100)}%</span>`
          : html`<button type="button" part="run" data-role="run" ?disabled=${!this.ready} @click=${this.onRun}
                aria-label="Run occlusion sensitivity">Run</button>`}
      </div>
      ${this.invalid ? html`<p role="alert" class="note">${this.invalid}</p>` : nothing}
      ${r ? html`<div class="maps" aria-busy=${this.running ? 'true' : 'false'}>
          ${r.pictures.map((p, i) => html`<figure>
            <canvas class="pixels" part="heatmap" data-map=${p.which} role="img"
                aria-label=${`${p.title} with a ${r.size} pixel square at each of ${r.rows} by ${r.cols} positions, over the image`}></canvas>
            <figcaption part="caption"><strong>(${'abc'[i]}) ${p.title}</strong>
              ${p.which === 'top'
                ? html`<ul part="legend" aria-label="Classes of the map">${r.classes.slice(0, 6).map((c) => html`<li>
                    <span class="swatch" style="background: ${c.color}" aria-hidden="true"></span>${c.label}
                    <span class="range">(${c.positions})</span></li>`)}</ul>`
                : html`<div class="range">${fmt(p.min)} (blue) – ${fmt(p.max)} (red);
                    unoccluded ${fmt(p.which === 'probability' ? r.baseline.probability : r.baseline.activation)}</div>`}
            </figcaption>
          </figure>`)}
        </div>
        <p class="note">${r.rows}×${r.cols} positions of a ${r.size} px square, stride ${r.stride};
          ${r.layer} ${r.point}; ${Math.round(r.ms)} ms in the worker.</p>`
      : html`<p class="note">${this.ready ? 'Press Run to slide a grey square over the image.' : 'Waiting for an image.'}</p>`}`;
  }

  protected updated(): void {
    const r = this.result;
    if (!r) return;
    for (const p of r.pictures) {
      paint(this.renderRoot.querySelector<HTMLCanvasElement>(`canvas[data-map="${p.which}"]`), p.picture);
    }
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
    this.invalid = '';
    emit<ZfOcclusionRunDetail>(this, 'zf-occlusion-run', { size: this.size, stride: this.stride });
  };

  private onCancel = () => emit(this, 'zf-occlusion-cancel', {});
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

if (!customElements.get('zf-occlusion-view')) customElements.define('zf-occlusion-view', ZfOcclusionView);

declare global {
  interface HTMLElementTagNameMap { 'zf-occlusion-view': ZfOcclusionView }
  interface HTMLElementEventMap {
    'zf-occlusion-run': CustomEvent<ZfOcclusionRunDetail>;
    'zf-occlusion-cancel': CustomEvent<Record<string, never>>;
  }
}
