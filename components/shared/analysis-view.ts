/**
 * What every analysis view shares: the host (<zf-visualizer>, or any page with an EngineClient)
 * runs the analysis when the view fires `zf-analysis-run` with the request's fields, and sets
 * `result`, `running` and `progress`; the view only shows. Views also get the model's
 * description (`info`: layers, labels) and the page's sample images (`samples`).
 */
import { LitElement, css, html, type PropertyValues, type TemplateResult } from 'lit';
import { property } from 'lit/decorators.js';
import { emit } from './events.js';
import type { ModelInfo, RequestOf } from '../../src/worker/protocol.js';
import type { NamedImage } from '../../src/worker/context.js';
import type { SampleImage } from '../image-input/zf-image-input.js';

export type AnalysisName = 'occlusion' | 'invariance' | 'scan' | 'correspondence' | 'diagnosis' | 'evolution';

/** `zf-analysis-run`'s detail: the worker request's fields, but for `type` and the image `run`. */
export interface ZfAnalysisRunDetail<T extends AnalysisName = AnalysisName> {
  analysis: T;
  request: Omit<RequestOf<T>, 'type' | 'run'>;
}

/**
 * `zf-analysis-previews`'s detail: the images whose network-input pictures a view needs (to
 * mark boxes on them). The host answers by setting the view's `previews` to the worker's reply
 * to `{ type: 'previews', images }` (several answers may arrive; the view keeps what it got).
 */
export interface ZfAnalysisPreviewsDetail { analysis: AnalysisName; images: NamedImage[] }

/** `zf-analysis-cancel`'s detail. */
export interface ZfAnalysisCancelDetail { analysis: AnalysisName }

/** The controls row, buttons, inputs and notes, alike in every view. */
export const analysisStyles = css`
  :host { display: block; }
  .controls { display: flex; flex-wrap: wrap; align-items: end; gap: 8px 12px; }
  label { display: grid; gap: 2px; font-size: 0.85em; color: var(--_muted); }
  input, select { font: inherit; padding: 3px 6px; border: 1px solid var(--_border); border-radius: var(--_radius);
    background: var(--_bg); color: var(--_fg); }
  input[type='number'] { width: 6em; }
  input:focus-visible, button:focus-visible, select:focus-visible { outline: none; box-shadow: var(--_focus); }
  button { font: inherit; padding: 4px 14px; border-radius: var(--_radius); cursor: pointer;
    border: 1px solid var(--_accent); background: var(--_accent); color: var(--_accent-fg); }
  button.secondary { background: var(--_surface); color: var(--_fg); border-color: var(--_border); }
  button:disabled { opacity: 0.5; cursor: default; }
  progress { width: 160px; height: 8px; accent-color: var(--_accent); }
  .percent { color: var(--_muted); font-variant-numeric: tabular-nums; font-size: 0.85em; }
  .note { margin: 6px 0 0; font-size: 0.8em; color: var(--_muted); }
  .results-bar { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 6px; margin-top: 8px; }
`;

export abstract class AnalysisView<R> extends LitElement {
  /** Which analysis this view shows (the worker request's `type`). */
  abstract readonly analysis: AnalysisName;

  /** The last result (the worker's result message for this analysis). */
  @property({ attribute: false }) result?: R;

  /** True while the analysis runs. */
  @property({ type: Boolean }) running = false;

  /** Fraction done while running. */
  @property({ type: Number }) progress = 0;

  /** False until the analysis can run (a model, and an image where the analysis needs one). */
  @property({ type: Boolean }) ready = false;

  /** The loaded model's description (layers, labels, input size). */
  @property({ attribute: false }) info?: ModelInfo;

  /** The page's sample images (the default model's, or the ones the page gave). */
  @property({ attribute: false }) samples: SampleImage[] = [];

  protected willUpdate(changed: PropertyValues<this>): void {
    const before = changed.get('info') as ModelInfo | undefined;
    if (changed.has('info') && before && before !== this.info) this.modelChanged();
  }

  /**
   * The model changed (not the first one): settings chosen for the old model (a class, a layer,
   * map numbers) may mean nothing for the new one. Views put theirs back to the defaults here.
   */
  protected modelChanged(): void {}

  /** Ask the host to run the analysis with these settings. */
  protected requestRun(request: ZfAnalysisRunDetail['request']): void {
    if (this.running || !this.ready) return;
    emit<ZfAnalysisRunDetail>(this, 'zf-analysis-run', { analysis: this.analysis, request } as ZfAnalysisRunDetail);
  }

  protected requestCancel = (): void => {
    emit<ZfAnalysisCancelDetail>(this, 'zf-analysis-cancel', { analysis: this.analysis });
  };

  /** The Run button, or Cancel and the progress bar while running. */
  protected runControls(onRun: () => void, options: { disabled?: boolean; label: string }): TemplateResult {
    return this.running
      ? html`<button type="button" class="secondary" part="run" data-role="cancel" @click=${this.requestCancel}>Cancel</button>
          <progress part="progress" max="1" .value=${this.progress} aria-label=${`${options.label}: progress`}></progress>
          <span class="percent" aria-live="polite">${Math.round(this.progress * 100)}%</span>`
      : html`<button type="button" part="run" data-role="run" ?disabled=${!this.ready || !!options.disabled}
            aria-label=${options.label} @click=${onRun}>Run</button>`;
  }
}

declare global {
  interface HTMLElementEventMap {
    'zf-analysis-run': CustomEvent<ZfAnalysisRunDetail>;
    'zf-analysis-cancel': CustomEvent<ZfAnalysisCancelDetail>;
    'zf-analysis-previews': CustomEvent<ZfAnalysisPreviewsDetail>;
  }
}
