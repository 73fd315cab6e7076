import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { emit } from '../shared/events.js';
import { paint } from '../shared/canvas.js';
import type { RgbaImage } from '../../src/deconv/render.js';
import type { GradcamResultMessage, ProjectResult } from '../../src/worker/protocol.js';
import type { ProjectionMode } from '../../src/deconv/walk.js';

/** What the view shows: a projection mode, or Grad-CAM (a class's evidence at the layer). */
export type ViewMode = ProjectionMode | 'gradcam';

export const VIEW_MODES: { mode: ViewMode; label: string; title: string }[] = [
  { mode: 'deconvnet', label: 'Deconvnet', title: 'Zeiler & Fergus: unpool, rectify, transposed filters' },
  { mode: 'guided', label: 'Guided', title: 'Guided backpropagation' },
  { mode: 'gradient', label: 'Gradient', title: 'Plain gradient (saliency)' },
  { mode: 'gradcam', label: 'Grad-CAM', title: 'Grad-CAM: where the layer holds the evidence for a class, and guided Grad-CAM' },
];

/** Up to this many classes, the Grad-CAM class is a select; past it, a text field with suggestions (as the occlusion view's). */
const MAX_SELECT_CLASSES = 50;

let uid = 0;

/**
 * A feature map's projection to pixel space: the strongest activation projected over the whole
 * input, beside the input with the receptive fields of the strongest positions outlined; then
 * each of the strongest positions (up to nine) projected alone, beside its receptive-field patch
 * of the image (the paper's Fig. 2 pairs). A radio group switches deconvnet / guided / gradient
 * / Grad-CAM. In `gradcam` mode it shows `gradcam` instead (a `gradcam` result of the worker):
 * the class's cam over the image and guided Grad-CAM beside it, with a choice of the class.
 *
 * @summary Deconvnet projections of a map, beside their image patches; or Grad-CAM.
 * @fires zf-mode-change - The user picked a projection mode; `detail: { mode }`.
 * @fires zf-class-change - The user picked the class Grad-CAM explains; `detail: { classIndex }` (-1: the top class).
 * @csspart modes - The mode radio group.
 * @csspart mode - One mode's button.
 * @csspart projection - The canvas of the strongest activation's projection (whole input).
 * @csspart input - The canvas of the input image.
 * @csspart box - A receptive-field outline on the input.
 * @csspart units - The grid of projection / patch pairs.
 * @csspart unit - One pair with its caption.
 * @csspart unit-projection - The image of one position's projection, cropped to its field.
 * @csspart unit-patch - The image of one position's image patch.
 * @csspart gradcam - The canvas of the Grad-CAM overlay.
 * @csspart guided-gradcam - The canvas of guided Grad-CAM.
 * @csspart class - The Grad-CAM class select (or text field).
 * @cssprop [--zf-projection-size=224px] - Display width of the whole-input pictures.
 * @cssprop [--zf-patch-size=64px] - Display width of each projection and patch.
 * @cssprop [--zf-box-color=#ffcc00] - Colour of the receptive-field outlines.
 */
export class ZfProjectionView extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 8px; }
    .title { font-weight: 600; font-variant-numeric: tabular-nums; min-width: 0; overflow-wrap: anywhere; }
    fieldset { border: 0; padding: 0; margin: 0; display: inline-flex; border: 1px solid var(--_border); border-radius: var(--_radius); overflow: hidden; }
    label { padding: 4px 10px; cursor: pointer; background: var(--_surface); user-select: none; }
    label + label { border-left: 1px solid var(--_border); }
    label.checked { background: var(--_accent); color: var(--_accent-fg); }
    label:has(input:focus-visible) { box-shadow: inset var(--_focus); }
    input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
    .pair { display: flex; flex-wrap: wrap; gap: 8px; }
    figure { margin: 0; }
    figcaption { font-size: 0.78em; color: var(--_muted); margin-top: 2px; font-variant-numeric: tabular-nums; }
    .big { width: var(--zf-projection-size, 224px); aspect-ratio: var(--_aspect, 1); display: block; background: #808080; border-radius: 3px; }
    .frame { position: relative; width: var(--zf-projection-size, 224px); }
    .box { position: absolute; border: 1px solid var(--zf-box-color, #ffcc00); opacity: 0.55; pointer-events: none; }
    .box.first { border-width: 2px; opacity: 1; }
    .units { display: grid; grid-template-columns: repeat(auto-fill, minmax(calc(2 * var(--zf-patch-size, 64px) + 12px), 1fr)); gap: 10px 8px; margin-top: 12px; }
    .unit { display: grid; grid-template-columns: auto auto; justify-content: start; gap: 2px; }
    .unit img {
      width: var(--zf-patch-size, 64px); height: var(--zf-patch-size, 64px); object-fit: contain;
      display: block; border-radius: 2px; background: var(--_surface); image-rendering: pixelated;
    }
    .unit figcaption { grid-column: 1 / -1; }
    .pending { opacity: 0.55; transition: opacity 0.2s; }
    .empty { color: var(--_muted); }
    .classes { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-bottom: 8px; font-size: 0.9em; }
    .classes select, .classes input { font: inherit; max-width: 14em; }
    .note { font-size: 0.85em; color: var(--_muted); margin: 6px 0 0; }
    .invalid { font-size: 0.85em; color: var(--_error); margin: 0 0 6px; }
  `];

  /** The projections to show (a `project` result of the engine's worker). */
  @property({ attribute: false }) result?: ProjectResult;

  /** The network's input as a picture, shown beside the projection. */
  @property({ attribute: false }) input?: RgbaImage;

  /** The mode: `deconvnet` (the paper), `guided`, `gradient`, or `gradcam`. */
  @property({ reflect: true }) mode: ViewMode = 'deconvnet';

  /** Grad-CAM to show in `gradcam` mode (a `gradcam` result of the engine's worker). */
  @property({ attribute: false }) gradcam?: GradcamResultMessage;

  /** The model's class names, for the Grad-CAM class choice. */
  @property({ attribute: false }) labels: string[] = [];

  /** The class Grad-CAM explains; -1: the image's top class. */
  @property({ type: Number, attribute: 'class-index' }) classIndex = -1;

  /** Why Grad-CAM uses another layer than the one picked (shown under it), if it does. */
  @property() note = '';

  @state() private invalidClass = '';
  /** The class names' suggestions are made (the class field was focused; many classes). */
  @state() private suggest = false;

  /** Shown dimmed: a newer projection is on its way. */
  @property({ type: Boolean, reflect: true }) pending = false;

  private readonly name = `zf-mode-${++uid}`;
  private painted?: ProjectResult;
  private paintedInput?: RgbaImage;

  render() {
    const r = this.result;
    const g = this.gradcam;
    const cam = this.mode === 'gradcam';
    const title = cam
      ? (g ? `${g.layer} · Grad-CAM · ${g.label}` : 'Grad-CAM')
      : (r ? `${r.layer} · map ${r.map} · ${r.mode}` : 'Projection');
    return html`
      <div class="top">
        <span class="title" aria-live="polite">${title}</span>
        <fieldset part="modes" role="radiogroup" aria-label="Projection mode">
          ${VIEW_MODES.map(({ mode, label, title }) => html`<label title=${title} part="mode" class=${mode === this.mode ? 'checked' : ''}>
            <input type="radio" name=${this.name} .value=${mode} .checked=${mode === this.mode}
                   @change=${() => this.pick(mode)}>${label}</label>`)}
        </fieldset>
      </div>
      ${cam ? this.renderGradcam(g)
        : r ? this.renderResult(r) : html`<p class="empty">${this.pending ? 'Projecting…' : 'Pick a feature map to project it.'}</p>`}`;
  }

  private renderGradcam(g: GradcamResultMessage | undefined) {
    const [h, w] = g ? [g.overlay.height, g.overlay.width] : [1, 1];
    return html`<div class="classes">${this.classControl()}</div>
      ${this.invalidClass ? html`<p class="invalid" role="alert">${this.invalidClass}</p>` : nothing}
      ${g ? html`<div class=${this.pending ? 'pending' : ''} aria-busy=${this.pending ? 'true' : 'false'}>
          <div class="pair" style=${styleProps({ '--_aspect': `${w} / ${h}` })}>
            <figure>
              <canvas class="big pixels" part="gradcam" role="img" data-role="gradcam"
                  aria-label=${`Grad-CAM of ${g.label} at ${g.layer}, over the input image`}></canvas>
              <figcaption>Grad-CAM: ${g.label} (${(100 * g.probability).toFixed(1)}%), ${g.shape[0]}×${g.shape[1]} at ${g.layer}</figcaption>
            </figure>
            ${g.guided ? html`<figure>
              <canvas class="big pixels" part="guided-gradcam" role="img" data-role="guided-gradcam"
                  aria-label=${`Guided Grad-CAM of ${g.label} at ${g.layer}`}></canvas>
              <figcaption>guided Grad-CAM (guided backprop × cam)</figcaption>
            </figure>` : nothing}
          </div>
          ${this.note ? html`<p class="note">${this.note}</p>` : nothing}
        </div>`
      : html`<p class="empty">${this.pending ? 'Computing Grad-CAM…' : 'Grad-CAM shows once an image has been classified.'}</p>`}`;
  }

  /**
   * The class Grad-CAM explains, as the occlusion view's class of map (a): a select for a few
   * classes; for many (ImageNet's 1000) a text field taking a name or a number, whose name
   * suggestions are made only once it is focused (a thousand options cost the page's thread).
   */
  private classControl() {
    const labels = this.labels;
    const id = `${this.name}-class`;
    const label = 'Class Grad-CAM explains';
    if (labels.length <= MAX_SELECT_CLASSES) {
      return html`<label for=${id}>Class</label>
        <select id=${id} part="class" aria-label=${label}
            @change=${(e: Event) => this.pickClass(Number((e.target as HTMLSelectElement).value))}>
          <option value="-1" ?selected=${this.classIndex < 0}>Top class${this.gradcam && this.classIndex < 0 ? ` (${this.gradcam.label})` : ''}</option>
          ${labels.map((name, i) => html`<option value=${i} ?selected=${this.classIndex === i}>${name}</option>`)}
        </select>`;
    }
    return html`<label for=${id}>Class</label>
      <input id=${id} part="class" type="text" list=${`${id}-names`} placeholder="top class"
          .value=${this.classIndex >= 0 ? labels[this.classIndex] ?? '' : ''}
          aria-label=${`${label}: a name or a number from 0 to ${labels.length - 1}; empty for the top class`}
          @focus=${() => { this.suggest = true; }}
          @change=${(e: Event) => this.onClassText((e.target as HTMLInputElement).value)}>
      <datalist id=${`${id}-names`}>${this.suggest ? labels.map((name) => html`<option value=${name}></option>`) : nothing}</datalist>`;
  }

  private onClassText(text: string): void {
    const labels = this.labels;
    const t = text.trim();
    const lower = t.toLowerCase();
    const index = t === '' ? -1 : /^\d+$/.test(t) ? Number(t) : labels.findIndex((l) => l.toLowerCase() === lower);
    if (index >= labels.length || (t !== '' && index < 0)) {
      this.invalidClass = `No class '${t}': give a class name or a number from 0 to ${labels.length - 1}, or leave it empty for the top class.`;
      return;
    }
    this.invalidClass = '';
    this.pickClass(index);
  }

  private pickClass(classIndex: number): void {
    if (classIndex === this.classIndex) return;
    this.classIndex = classIndex;
    emit(this, 'zf-class-change', { classIndex });
  }

  private renderResult(r: ProjectResult) {
    const [h, w] = [r.full.height, r.full.width];
    const best = r.units[0];
    return html`<div class=${this.pending ? 'pending' : ''} aria-busy=${this.pending ? 'true' : 'false'}>
      <div class="pair" style=${styleProps({ '--_aspect': `${w} / ${h}` })}>
        <figure>
          <canvas class="big pixels" part="projection" role="img" data-role="projection"
                  aria-label=${`${r.mode} projection of the strongest activation of ${r.layer} map ${r.map}`}></canvas>
          <figcaption>strongest: ${best ? `(${best.y}, ${best.x}) = ${best.value.toPrecision(3)}` : '—'}</figcaption>
        </figure>
        <figure>
          <div class="frame">
            <canvas class="big pixels" part="input" role="img" data-role="input" aria-label="The input image"></canvas>
            ${r.units.map((u, i) => html`<div part="box" class=${i === 0 ? 'box first' : 'box'} style=${styleProps({
              left: `${(100 * u.box.x0) / w}%`, top: `${(100 * u.box.y0) / h}%`,
              width: `${(100 * (u.box.x1 - u.box.x0)) / w}%`, height: `${(100 * (u.box.y1 - u.box.y0)) / h}%`,
            })}></div>`)}
          </div>
          <figcaption>input, top-${r.units.length} receptive fields</figcaption>
        </figure>
      </div>
      <div class="units" part="units" role="list" aria-label=${`The ${r.units.length} strongest positions, each projected beside its image patch`}>
        ${r.units.map((u, i) => html`<figure class="unit" part="unit" role="listitem">
          <img part="unit-projection" data-unit=${i} data-kind="projection" src=${this.urlOf(u.projectionPng)}
               width=${u.projection.width} height=${u.projection.height} decoding="async"
               alt=${`projection of position ${u.y}, ${u.x}`}>
          <img part="unit-patch" data-unit=${i} data-kind="patch" src=${this.urlOf(u.patchPng)}
               width=${u.patch.width} height=${u.patch.height} decoding="async"
               alt=${`image patch of position ${u.y}, ${u.x}`}>
          <figcaption>#${i + 1} (${u.y}, ${u.x}) ${u.value.toPrecision(3)}</figcaption>
        </figure>`)}
      </div>
    </div>`;
  }

  /** Object URLs of the pairs' PNGs, for the current result only. */
  private urls = new Map<Blob, string>();
  private urlsFor?: ProjectResult;

  private urlOf(png: Blob): string {
    if (this.urlsFor !== this.result) {
      for (const url of this.urls.values()) URL.revokeObjectURL(url);
      this.urls.clear();
      this.urlsFor = this.result;
    }
    let url = this.urls.get(png);
    if (!url) this.urls.set(png, (url = URL.createObjectURL(png)));
    return url;
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
    this.urlsFor = undefined;
    this.painted = undefined;
    this.paintedCam = undefined;
  }

  private paintedCam?: GradcamResultMessage;

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('labels') && changed.get('labels') !== undefined) {
      this.invalidClass = '';
      this.suggest = false;
    }
  }

  protected updated(_changed: PropertyValues<this>): void {
    const g = this.mode === 'gradcam' ? this.gradcam : undefined;
    const root = this.renderRoot;
    const camCanvas = root.querySelector<HTMLCanvasElement>('canvas[data-role="gradcam"]');
    // Canvases come and go with the mode: paint whenever the one on screen is not this result's.
    if (g && camCanvas && (g !== this.paintedCam || camCanvas.dataset.painted !== '1')) {
      paint(camCanvas, g.overlay);
      camCanvas.dataset.painted = '1';
      paint(root.querySelector<HTMLCanvasElement>('canvas[data-role="guided-gradcam"]'), g.guided);
      this.paintedCam = g;
    }
    if (this.mode === 'gradcam') return;
    const projectionCanvas = root.querySelector<HTMLCanvasElement>('canvas[data-role="projection"]');
    if (projectionCanvas && projectionCanvas.dataset.painted !== '1') this.painted = undefined;
    const r = this.result;
    if (r && (r !== this.painted || this.input !== this.paintedInput)) {
      paint(projectionCanvas, r.full);
      if (projectionCanvas) projectionCanvas.dataset.painted = '1';
      paint(root.querySelector<HTMLCanvasElement>('canvas[data-role="input"]'), this.input);
      this.painted = r;
      this.paintedInput = this.input;
    }
  }

  /** Resolves once the current result is on screen: the canvases painted, the pairs' images decoded. */
  async whenPainted(): Promise<void> {
    await this.updateComplete;
    const images = [...this.renderRoot.querySelectorAll<HTMLImageElement>('img[data-unit]')];
    await Promise.all(images.map((img) => img.decode().catch(() => undefined)));
  }

  /** The canvas holding the whole-input projection (for reading its pixels). */
  get projectionCanvas(): HTMLCanvasElement | null {
    return this.renderRoot.querySelector('canvas[data-role="projection"]');
  }

  /** The canvas holding the Grad-CAM overlay, in `gradcam` mode (for reading its pixels). */
  get gradcamCanvas(): HTMLCanvasElement | null {
    return this.renderRoot.querySelector('canvas[data-role="gradcam"]');
  }

  private pick(mode: ViewMode): void {
    this.mode = mode;
    emit(this, 'zf-mode-change', { mode });
  }
}

if (!customElements.get('zf-projection-view')) customElements.define('zf-projection-view', ZfProjectionView);

declare global {
  interface HTMLElementTagNameMap { 'zf-projection-view': ZfProjectionView }
}
