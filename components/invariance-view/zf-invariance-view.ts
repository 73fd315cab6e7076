import { LitElement, css, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import type { InvarianceResultMessage } from '../../src/worker/protocol.js';
import type { TransformKind } from '../../src/analyses/transform.js';

/** `zf-invariance-run`'s detail. */
export interface ZfInvarianceRunDetail { kinds: TransformKind[] }

const KINDS: { kind: TransformKind; label: string }[] = [
  { kind: 'translate', label: 'Vertical translation' },
  { kind: 'scale', label: 'Scale' },
  { kind: 'rotate', label: 'Rotation' },
];

/**
 * Invariance (Zeiler & Fergus, Fig. 5): the image is shifted vertically, scaled and rotated by
 * increasing amounts; charts show the Euclidean distance between the original's and the
 * transformed image's feature vectors at the first layer and the last hidden layer, and the
 * probability of the image's top class. The element only shows: its host runs the sweeps when
 * it fires `zf-invariance-run`, and sets `result`, `running` and `progress`.
 *
 * @summary Invariance sweep controls and charts.
 * @fires zf-invariance-run - The user pressed Run; `detail: { kinds }`.
 * @fires zf-invariance-cancel - The user pressed Cancel.
 * @csspart controls - The row of sweep checkboxes and buttons.
 * @csspart kind - A sweep's checkbox label.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart chart - Each sweep's charts (an inline SVG).
 * @csspart caption - Each chart's caption.
 */
export class ZfInvarianceView extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; }
    fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px 12px; }
    legend { padding: 0; font-size: 0.85em; color: var(--_muted); float: left; margin-right: 8px; }
    label { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; }
    input:focus-visible, button:focus-visible { outline: none; box-shadow: var(--_focus); }
    button { font: inherit; padding: 4px 14px; border-radius: var(--_radius); cursor: pointer;
      border: 1px solid var(--_accent); background: var(--_accent); color: var(--_accent-fg); }
    button.secondary { background: var(--_surface); color: var(--_fg); border-color: var(--_border); }
    button:disabled { opacity: 0.5; cursor: default; }
    progress { width: 160px; height: 8px; accent-color: var(--_accent); }
    .charts { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; }
    .chart { background: #fff; color: #1d2330; border-radius: 3px; line-height: 0; }
    .chart svg { max-width: 100%; height: auto; }
    figcaption { font-size: 0.85em; font-weight: 600; }
    .note { margin: 6px 0 0; font-size: 0.8em; color: var(--_muted); }
  `];

  /** The last result (an `invariance` result of the engine's worker). */
  @property({ attribute: false }) result?: InvarianceResultMessage;

  @property({ type: Boolean }) running = false;

  @property({ type: Number }) progress = 0;

  /** False until there is an image to analyse. */
  @property({ type: Boolean }) ready = false;

  @state() private kinds = new Set<TransformKind>(KINDS.map((k) => k.kind));

  render() {
    const r = this.result;
    return html`<div class="controls" part="controls">
        <fieldset aria-label="Sweeps to run">
          <legend>Sweeps</legend>
          ${KINDS.map(({ kind, label }) => html`<label part="kind">
            <input type="checkbox" .checked=${this.kinds.has(kind)} ?disabled=${this.running} data-kind=${kind}
                @change=${(e: Event) => this.toggle(kind, (e.target as HTMLInputElement).checked)}>${label}</label>`)}
        </fieldset>
        ${this.running
          ? html`<button type="button" class="secondary" part="run" data-role="cancel" @click=${this.onCancel}>Cancel</button>
              <progress part="progress" max="1" .value=${this.progress} aria-label="Invariance progress"></progress>
              <span class="note" aria-live="polite">${Math.round(this.progress * 100)}%</span>`
          : html`<button type="button" part="run" data-role="run" ?disabled=${!this.ready || this.kinds.size === 0}
                aria-label="Run the invariance sweeps" @click=${this.onRun}>Run</button>`}
      </div>
      ${r ? html`<div class="charts" aria-busy=${this.running ? 'true' : 'false'}>
          ${r.result.sweeps.map((s) => html`<figure>
            <figcaption part="caption">${KINDS.find((k) => k.kind === s.kind)?.label ?? s.kind}</figcaption>
            <div class="chart" part="chart" data-kind=${s.kind} role="img"
                aria-label=${chartLabel(r, s.kind)}></div>
          </figure>`)}
        </div>
        <p class="note">Distances at ${r.result.layers.map((l) => `${l.layer} ${l.point}`).join(' and ')};
          P(${r.result.label}) = ${r.result.probability.toFixed(3)} on the original; ${Math.round(r.ms)} ms in the worker.</p>`
      : html`<p class="note">${this.ready ? 'Press Run to shift, scale and rotate the image.' : 'Waiting for an image.'}</p>`}`;
  }

  protected updated(): void {
    const r = this.result;
    if (!r) return;
    for (const s of r.result.sweeps) {
      const box = this.renderRoot.querySelector<HTMLElement>(`.chart[data-kind="${s.kind}"]`);
      const svg = r.charts.byKind[s.kind];
      // The engine's own SVG (numbers, and labels it escapes); set once per result.
      if (box && svg && (box as { shown?: string }).shown !== svg) {
        box.innerHTML = svg;
        (box as { shown?: string }).shown = svg;
      }
    }
  }

  private toggle(kind: TransformKind, on: boolean): void {
    const next = new Set(this.kinds);
    if (on) next.add(kind); else next.delete(kind);
    this.kinds = next;
  }

  private onRun = () => {
    if (this.running || !this.ready || this.kinds.size === 0) return;
    emit<ZfInvarianceRunDetail>(this, 'zf-invariance-run', { kinds: KINDS.map((k) => k.kind).filter((k) => this.kinds.has(k)) });
  };

  private onCancel = () => emit(this, 'zf-invariance-cancel', {});
}

function chartLabel(r: InvarianceResultMessage, kind: TransformKind): string {
  const s = r.result.sweeps.find((x) => x.kind === kind)!;
  const lo = s.amounts[0], hi = s.amounts[s.amounts.length - 1];
  const p = s.probability;
  return `${kind} from ${lo} to ${hi} ${s.unit}: feature distance at ${r.result.layers.map((l) => l.layer).join(' and ')}, ` +
    `and P(${r.result.label}) from ${Math.min(...p).toFixed(2)} to ${Math.max(...p).toFixed(2)}`;
}

if (!customElements.get('zf-invariance-view')) customElements.define('zf-invariance-view', ZfInvarianceView);

declare global {
  interface HTMLElementTagNameMap { 'zf-invariance-view': ZfInvarianceView }
  interface HTMLElementEventMap {
    'zf-invariance-run': CustomEvent<ZfInvarianceRunDetail>;
    'zf-invariance-cancel': CustomEvent<Record<string, never>>;
  }
}
