import { css, html } from 'lit';
import { state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { AnalysisView, analysisStyles } from '../shared/analysis-view.js';
import { fileName, jsonBlob, svgBlob } from '../shared/export.js';
import type { InvarianceResultMessage } from '../../src/worker/protocol.js';
import type { TransformKind } from '../../src/analyses/transform.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import '../export-buttons/zf-export-buttons.js';
import { layerText } from '../analyses-panel/graph-layers.js';

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
 * it fires `zf-analysis-run` (`detail.request`: `{ kinds }`), and sets `result`, `running` and
 * `progress`.
 *
 * @summary Invariance sweep controls and charts.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'invariance', request: { kinds } }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart controls - The row of sweep checkboxes and buttons.
 * @csspart kind - A sweep's checkbox label.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart chart - Each sweep's charts (an inline SVG).
 * @csspart caption - Each chart's caption.
 * @csspart export - The save buttons.
 */
export class ZfInvarianceView extends AnalysisView<InvarianceResultMessage> {
  static styles = [theme, analysisStyles, css`
    .controls { align-items: center; gap: 8px 14px; }
    label { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; font-size: 1em; color: var(--_fg); }
    fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px 12px; }
    legend { padding: 0; font-size: 0.85em; color: var(--_muted); float: left; margin-right: 8px; }
    .charts { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; }
    .chart { background: #fff; color: #1d2330; border-radius: 3px; line-height: 0; }
    .chart svg { max-width: 100%; height: auto; }
    figcaption { font-size: 0.85em; font-weight: 600; }
  `];

  readonly analysis = 'invariance';

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
        ${this.runControls(this.onRun, { label: 'Run the invariance sweeps', disabled: this.kinds.size === 0 })}
      </div>
      ${r ? html`<div class="charts" aria-busy=${this.running ? 'true' : 'false'}>
          ${r.result.sweeps.map((s) => html`<figure>
            <figcaption part="caption">${KINDS.find((k) => k.kind === s.kind)?.label ?? s.kind}</figcaption>
            <div class="chart" part="chart" data-kind=${s.kind} role="img"
                aria-label=${chartLabel(r, s.kind)}></div>
          </figure>`)}
        </div>
        <div class="results-bar">
          <p class="note">Distances at ${r.result.layers.map((l) => layerText(l)).join(' and ')};
            P(${r.result.label}) = ${r.result.probability.toFixed(3)} on the original; ${Math.round(r.ms)} ms in the worker.</p>
          <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
        </div>`
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

  /** Every chart in one SVG (the paper's Fig. 5 layout), and the curves' numbers. */
  private exports(r: InvarianceResultMessage): ExportItem[] {
    const stem = ['zf-invariance', this.info?.name, r.result.label];
    return [
      { label: 'SVG', what: 'the invariance charts', filename: fileName(...stem, '.svg'), make: () => svgBlob(r.charts.all) },
      { label: 'JSON', what: 'the invariance curves as numbers', filename: fileName(...stem, '.json'), make: () => jsonBlob(r.result) },
    ];
  }

  private onRun = () => {
    if (this.kinds.size === 0) return;
    this.requestRun({ kinds: KINDS.map((k) => k.kind).filter((k) => this.kinds.has(k)) });
  };
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
}
