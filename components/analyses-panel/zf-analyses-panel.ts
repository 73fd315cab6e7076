import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import type { AnalysisName, ZfAnalysisCancelDetail, ZfAnalysisPreviewsDetail, ZfAnalysisRunDetail } from '../shared/analysis-view.js';
import type { SampleImage } from '../image-input/zf-image-input.js';
import type { RequestOptions } from '../../src/worker/client.js';
import type { ImageResult, ModelInfo, Request, RequestType, ResultOf } from '../../src/worker/protocol.js';
import type { PreviewsResultMessage } from '../../src/worker/handlers/previews.js';
import '../occlusion-view/zf-occlusion-view.js';
import '../invariance-view/zf-invariance-view.js';
import '../scan-view/zf-scan-view.js';
import '../correspondence-view/zf-correspondence-view.js';
import '../diagnosis-view/zf-diagnosis-view.js';
import '../evolution-view/zf-evolution-view.js';

/** How the panel reaches the engine (<zf-visualizer>'s EngineController, or an EngineClient). */
export interface AnalysisEngine {
  request<T extends Exclude<RequestType, 'cancel'>>(request: Extract<Request, { type: T }>, options?: RequestOptions): Promise<ResultOf[T]>;
}

/** `zf-analysis-done`'s detail. */
export interface ZfAnalysisDoneDetail {
  analysis: AnalysisName;
  /** Milliseconds the worker spent. */
  workerMs: number;
}

/** `zf-analysis-busy`'s detail: the data-set analyses running now (the worker does one thing at a time). */
export interface ZfAnalysisBusyDetail { analyses: { name: AnalysisName; label: string }[] }

/** One analysis view's state: its last result, its progress, its failure. */
interface AnalysisState {
  result?: { ms: number };
  /** Network-input pictures the view asked for (correspondence's boxes are drawn on them). */
  previews?: PreviewsResultMessage;
  running: boolean;
  progress: number;
  error?: Error;
  controller?: AbortController;
}

interface Tab {
  name: AnalysisName;
  label: string;
  /** Analyses of the current image: a new image cancels and clears them. */
  ofImage: boolean;
  /** What the Run button does, for the error title. */
  failure: string;
}

const TABS: Tab[] = [
  { name: 'occlusion', label: 'Occlusion', ofImage: true, failure: 'Could not run the occlusion analysis' },
  { name: 'invariance', label: 'Invariance', ofImage: true, failure: 'Could not run the invariance sweeps' },
  { name: 'scan', label: 'Top-9 of a data set', ofImage: false, failure: 'Could not scan the images' },
  { name: 'correspondence', label: 'Correspondence', ofImage: false, failure: 'Could not measure the correspondence' },
  { name: 'diagnosis', label: 'Diagnosis', ofImage: false, failure: 'Could not diagnose the architecture' },
  { name: 'evolution', label: 'Evolution', ofImage: false, failure: 'Could not trace the features through training' },
];

const ignorable = (e: unknown) => e instanceof Error && (e.name === 'AbortError' || e.name === 'StaleRunError');

/**
 * The paper's analyses as tabs (<zf-visualizer>'s lower panel): each tab is a view element that
 * asks for a run (`zf-analysis-run`); this panel sends the request to the engine's worker, feeds
 * progress and the result back to the view, and cancels what a new image or model makes stale.
 *
 * @summary The analyses' tabs and the work behind them.
 * @fires zf-analysis-done - An analysis finished and is shown; `detail: { analysis, workerMs }`.
 * @fires zf-error - An analysis failed; `detail: { stage, name, message }` (`stage` is the analysis).
 * @fires zf-analysis-busy - The data-set analyses running changed (while one runs, the worker
 *   answers nothing else: a new image waits); `detail: { analyses: [{ name, label }] }`.
 * @csspart tabs - The tab list.
 * @csspart tab - A tab.
 * @csspart tab-selected - The open tab.
 * @csspart error - An analysis's error message.
 */
export class ZfAnalysesPanel extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .tabs { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px solid var(--_border); }
    [role='tab'] { font: inherit; padding: 5px 14px; cursor: pointer; background: var(--_surface); color: var(--_fg);
      border: 1px solid var(--_border); border-bottom: 0; border-radius: var(--_radius) var(--_radius) 0 0; }
    [role='tab'][aria-selected='true'] { background: var(--_accent); color: var(--_accent-fg); border-color: var(--_accent); }
    [role='tab']:focus-visible { outline: none; box-shadow: var(--_focus); }
    [role='tabpanel'] { padding-top: 8px; }
    [role='alert'] {
      color: var(--_error); border: 1px solid currentColor; border-radius: var(--_radius); margin-top: 8px;
      padding: 8px 10px; background: color-mix(in srgb, var(--_error) 8%, transparent); overflow-wrap: anywhere;
    }
    [role='alert'] strong { display: block; margin-bottom: 2px; }
  `];

  /** Where requests go. */
  @property({ attribute: false }) engine?: AnalysisEngine;

  /** The loaded model; a new one clears every result. */
  @property({ attribute: false }) info?: ModelInfo;

  /** The current image's result; a new one clears the image's analyses. */
  @property({ attribute: false }) image?: ImageResult;

  /** Sample images for the data-set analyses. */
  @property({ attribute: false }) samples: SampleImage[] = [];

  /** The open tab. */
  @property({ reflect: true }) analysis: AnalysisName = 'occlusion';

  @state() private states: Partial<Record<AnalysisName, AnalysisState>> = {};

  /**
   * Tabs opened so far: a view is made when its tab is first opened, then kept (with its
   * settings). Six views made up front cost the page's thread time while the model loads, and
   * correspondence would fetch its previews before anyone looked at it.
   */
  @state() private opened = new Set<AnalysisName>();

  protected willUpdate(changed: PropertyValues<this>): void {
    if (!this.opened.has(this.analysis)) this.opened = new Set([...this.opened, this.analysis]);
    const modelChanged = changed.has('info') && changed.get('info') !== undefined;
    const imageChanged = changed.has('image') && changed.get('image')?.run !== this.image?.run;
    if (!modelChanged && !imageChanged) return;
    const next = { ...this.states };
    for (const tab of TABS) {
      if (!modelChanged && !tab.ofImage) continue;
      next[tab.name]?.controller?.abort();
      delete next[tab.name];
    }
    this.states = next;
  }

  render() {
    return html`<div class="tabs" role="tablist" part="tabs" aria-label="Analyses" @keydown=${this.onTabKey}>
        ${TABS.map(({ name, label }) => {
          const selected = name === this.analysis;
          return html`<button type="button" role="tab" id=${`tab-${name}`} aria-controls=${`tabpanel-${name}`}
              aria-selected=${selected ? 'true' : 'false'} tabindex=${selected ? 0 : -1} data-analysis=${name}
              part=${selected ? 'tab tab-selected' : 'tab'} @click=${() => { this.analysis = name; }}>${label}</button>`;
        })}
      </div>
      ${TABS.map((tab) => {
        const s = this.states[tab.name] ?? { running: false, progress: 0 };
        return html`<div role="tabpanel" id=${`tabpanel-${tab.name}`} aria-labelledby=${`tab-${tab.name}`}
            ?hidden=${this.analysis !== tab.name} @zf-analysis-run=${this.onRun} @zf-analysis-cancel=${this.onCancel}
            @zf-analysis-previews=${this.onPreviews}>
          ${this.opened.has(tab.name) ? this.view(tab, s) : nothing}
          ${s.error ? html`<div role="alert" part="error"><strong>${tab.failure}</strong>${s.error.message}</div>` : nothing}
        </div>`;
      })}`;
  }

  /** The tab's element, with the state every view takes. */
  private view(tab: Tab, s: AnalysisState): TemplateResult {
    const ready = tab.ofImage ? !!this.image : !!this.info;
    const parts = 'controls, input, run, progress: analysis-progress, caption, export';
    switch (tab.name) {
      case 'occlusion': {
        const side = this.info?.input[1] ?? 224;
        const size = Math.max(2, Math.round(side / 7));
        return html`<zf-occlusion-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples} .inputSize=${side} .size=${size} .stride=${Math.max(1, Math.round(size / 2))}
            exportparts=${`${parts}, heatmap, legend`}></zf-occlusion-view>`;
      }
      case 'invariance':
        return html`<zf-invariance-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples} exportparts=${`${parts}, kind, chart`}></zf-invariance-view>`;
      case 'scan':
        return html`<zf-scan-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples} exportparts=${`${parts}, images, block`}></zf-scan-view>`;
      case 'correspondence':
        return html`<zf-correspondence-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples} .previews=${s.previews}
            exportparts=${`${parts}, choices, choice, image, stage, preview: part-preview, box: part-box, table`}></zf-correspondence-view>`;
      case 'evolution':
        return html`<zf-evolution-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples} exportparts=${`${parts}, snapshot, grid: evolution-grid, heading, cell`}></zf-evolution-view>`;
      case 'diagnosis':
        return html`<zf-diagnosis-view .result=${s.result} ?running=${s.running} .progress=${s.progress} ?ready=${ready}
            .info=${this.info} .samples=${this.samples}
            exportparts=${`${parts}, model, title, filters, summary, layer2, chart`}></zf-diagnosis-view>`;
      default:
        return html``;
    }
  }

  /** The data-set analyses running now (not the image's: a new image cancels those). */
  get busyWith(): { name: AnalysisName; label: string }[] {
    return TABS.filter((t) => !t.ofImage && this.states[t.name]?.running).map(({ name, label }) => ({ name, label }));
  }

  /** Cancel an analysis, or every data-set analysis running. */
  cancel(name?: AnalysisName): void {
    for (const t of TABS) if (name ? t.name === name : !t.ofImage) this.states[t.name]?.controller?.abort();
  }

  private busyKey = '';

  protected updated(): void {
    const busy = this.busyWith;
    const key = busy.map((b) => b.name).join();
    if (key === this.busyKey) return;
    this.busyKey = key;
    emit<ZfAnalysisBusyDetail>(this, 'zf-analysis-busy', { analyses: busy });
  }

  private onTabKey = (event: KeyboardEvent) => {
    const i = TABS.findIndex((a) => a.name === this.analysis);
    const to = event.key === 'ArrowRight' ? (i + 1) % TABS.length
      : event.key === 'ArrowLeft' ? (i - 1 + TABS.length) % TABS.length
        : event.key === 'Home' ? 0 : event.key === 'End' ? TABS.length - 1 : -1;
    if (to < 0) return;
    event.preventDefault();
    this.analysis = TABS[to].name;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${this.analysis}`)?.focus());
  };

  private onCancel = (event: CustomEvent<ZfAnalysisCancelDetail>) => {
    event.stopPropagation();
    this.states[event.detail.analysis]?.controller?.abort();
  };

  /** Fetch the pictures a view needs; failures show as the analysis's error. */
  private onPreviews = async (event: CustomEvent<ZfAnalysisPreviewsDetail>) => {
    event.stopPropagation();
    const { analysis, images } = event.detail;
    const engine = this.engine, info = this.info;
    if (!engine || !info) return;
    try {
      const previews = await engine.request({ type: 'previews', images });
      if (this.info !== info) return;
      this.states = { ...this.states, [analysis]: { running: false, progress: 0, ...this.states[analysis], previews } };
    } catch (e) {
      if (ignorable(e) || this.info !== info) return;
      const error = e instanceof Error ? e : new Error(String(e));
      this.states = { ...this.states, [analysis]: { running: false, progress: 0, ...this.states[analysis], error } };
      emit(this, 'zf-error', { stage: analysis, name: error.name, message: error.message });
    }
  };

  /** Run what a view asked for; the image's analyses get the current run. */
  private onRun = (event: CustomEvent<ZfAnalysisRunDetail>) => {
    event.stopPropagation();
    const { analysis, request } = event.detail;
    const tab = TABS.find((t) => t.name === analysis);
    const engine = this.engine;
    if (!tab || !engine || !this.info || (tab.ofImage && !this.image)) return;
    const message = { ...request, type: analysis, ...(tab.ofImage ? { run: this.image!.run } : {}) } as Request;
    void this.runAnalysis(tab, (signal, onProgress) =>
      engine.request(message as Extract<Request, { type: 'scan' }>, { signal, onProgress }) as Promise<{ ms: number }>);
  };

  private async runAnalysis(tab: Tab, send: (signal: AbortSignal, onProgress: (f: number) => void) => Promise<{ ms: number }>): Promise<void> {
    const name = tab.name;
    const previous = this.states[name];
    previous?.controller?.abort();
    const controller = new AbortController();
    const set = (patch: Partial<AnalysisState>) => {
      if (this.states[name]?.controller !== controller) return;
      this.states = { ...this.states, [name]: { ...this.states[name]!, ...patch } };
    };
    this.states = { ...this.states, [name]: { result: previous?.result, running: true, progress: 0, controller } };
    try {
      const result = await send(controller.signal, (progress) => set({ progress }));
      set({ result, running: false, progress: 1, error: undefined });
      if (this.states[name]?.controller === controller) {
        await this.updateComplete;
        await this.renderRoot.querySelector<LitElement>(`zf-${name}-view`)?.updateComplete;
        emit<ZfAnalysisDoneDetail>(this, 'zf-analysis-done', { analysis: name, workerMs: result.ms });
      }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      set({ running: false, error: ignorable(error) ? undefined : error });
      if (!ignorable(error)) emit(this, 'zf-error', { stage: name, name: error.name, message: error.message });
    }
  }
}

if (!customElements.get('zf-analyses-panel')) customElements.define('zf-analyses-panel', ZfAnalysesPanel);

declare global {
  interface HTMLElementTagNameMap { 'zf-analyses-panel': ZfAnalysesPanel }
  interface HTMLElementEventMap {
    'zf-analysis-done': CustomEvent<ZfAnalysisDoneDetail>;
    'zf-analysis-busy': CustomEvent<ZfAnalysisBusyDetail>;
  }
}
