import { css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { emit } from '../shared/events.js';
import { paint } from '../shared/canvas.js';
import { AnalysisView, analysisStyles, type ZfAnalysisPreviewsDetail } from '../shared/analysis-view.js';
import { fileName, jsonBlob } from '../shared/export.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import type { SampleImage } from '../image-input/zf-image-input.js';
import type { Box } from '../../src/graph/shapes.js';
import type { RgbaImage } from '../../src/deconv/render.js';
import type { NamedImage } from '../../src/worker/context.js';
import type { ModelInfo } from '../../src/worker/protocol.js';
import type { CorrespondenceResultMessage } from '../../src/worker/handlers/correspondence.js';
import type { PreviewsResultMessage } from '../../src/worker/handlers/previews.js';
import '../export-buttons/zf-export-buttons.js';
import { defaultLayers as engineDefaults, findLayer, layerChoices, layerText } from '../analyses-panel/graph-layers.js';

/** The worker's limits (handlers/correspondence.ts), repeated here so the page needs no engine code. */
const MAX_IMAGES = 64;
const MAX_TRIALS = 100;

/**
 * The paper masked the same part in 5 images of one kind of object (dogs). Among the default
 * samples (Fashion-MNIST, two per class) the nearest is footwear: ankle boots, sandals and
 * sneakers all lie toe-left on the same sole line, so a box on the toe or heel marks the same
 * part in all six. Any other sample set: its first five.
 */
const FOOTWEAR = /\b(ankle boot|sandal|sneaker)\b/i;
function defaultChoice(samples: readonly SampleImage[]): string[] {
  const shoes = samples.filter((s) => FOOTWEAR.test(s.label));
  return (shoes.length >= 2 ? shoes : samples.slice(0, 5)).map((s) => s.url);
}

/** The centre of the input, half its height and width: a part-sized start to drag from. */
function defaultBox([, h, w]: readonly number[]): Box {
  const y0 = Math.floor(h / 4), x0 = Math.floor(w / 4);
  return { y0, x0, y1: h - y0, x1: w - x0 };
}

const EDGES = [
  { key: 'y0', label: 'Top row' }, { key: 'x0', label: 'Left column' },
  { key: 'y1', label: 'Bottom row (exclusive)' }, { key: 'x1', label: 'Right column (exclusive)' },
] as const;

let uid = 0;

/**
 * Correspondence (Zeiler & Fergus, Fig. 8 and its table): choose 2 or more images of one kind of
 * object, mark the same part on each (drag a box on the network's view of it, or type its
 * edges), and Run: each image is forwarded with and without the part masked, and per layer the
 * table shows Delta, the summed Hamming distance between the images' sign patterns of the
 * feature change, for the part and for random boxes of the same sizes. Lower is more consistent.
 *
 * The element only shows. Its host loads the model and sets `info` and `ready`; sets `previews`
 * when the element fires `zf-analysis-previews`; and runs the analysis when it fires
 * `zf-analysis-run` (`detail.request`: `{ images, boxes, layers, random, seed, fill }`, the
 * worker's CorrespondenceRequest), setting `result`, `running` and `progress`.
 *
 * @summary Correspondence: choose images, mark a part on each, and the consistency table.
 * @fires zf-analysis-previews - Pictures are needed; `detail: { analysis: 'correspondence', images: NamedImage[] }`.
 *   Answer with `el.previews = await client.request({ type: 'previews', images })`.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'correspondence', request }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart choices - The list of sample toggle buttons.
 * @csspart choice - One sample's toggle button.
 * @csspart image - One chosen image's figure (preview, box, edges).
 * @csspart stage - The area over a preview to drag a box on (focusable: arrow keys move the box, Shift+arrows resize it).
 * @csspart preview - The canvas showing the network's input.
 * @csspart box - The part box drawn over the preview.
 * @csspart input - Every number input and select.
 * @csspart controls - The row of layers, trials, seed, fill and buttons.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart table - The result table.
 * @csspart export - The save buttons.
 * @cssprop [--zf-correspondence-size=112px] - Display size of each preview.
 */
export class ZfCorrespondenceView extends AnalysisView<CorrespondenceResultMessage> {
  static styles = [theme, analysisStyles, css`
    fieldset { border: 0; padding: 0; margin: 0; }
    legend { padding: 0; font-size: 0.85em; color: var(--_muted); margin-bottom: 4px; }
    .choices { display: flex; flex-wrap: wrap; gap: 4px; list-style: none; margin: 0 0 10px; padding: 0; }
    .choices button { padding: 1px; line-height: 0; background: var(--_surface); border: 2px solid transparent; }
    .choices button[aria-pressed='true'] { border-color: var(--_accent); }
    .choices img { width: 36px; height: 36px; image-rendering: pixelated; border-radius: 2px; }
    .images { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-bottom: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; width: var(--zf-correspondence-size, 112px); }
    .stage { position: relative; cursor: crosshair; touch-action: none; user-select: none; border-radius: 3px; }
    .stage canvas { display: block; width: 100%; height: auto; background: var(--_surface); border-radius: 3px; }
    .box { position: absolute; border: 2px solid #ff3b30; box-shadow: 0 0 0 1px #fff; pointer-events: none; }
    figcaption { font-size: 0.8em; display: flex; justify-content: space-between; align-items: center; gap: 4px; }
    figcaption button { font-size: 0.85em; padding: 0 6px; }
    .edges { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 6px; }
    .edges label { display: flex; align-items: center; gap: 3px; font-size: 0.75em; }
    .edges input[type='number'] { width: 100%; min-width: 0; padding: 1px 3px; font-size: 1em; appearance: textfield; }
    .edges input::-webkit-inner-spin-button { appearance: none; margin: 0; }
    .edges input[aria-invalid='true'] { border-color: var(--_error); }
    .controls fieldset { display: flex; flex-wrap: wrap; gap: 2px 10px; }
    .controls fieldset label { display: inline-flex; align-items: center; gap: 3px; color: var(--_fg); }
    .controls label.layers input { width: 28em; max-width: 100%; }
    table { border-collapse: collapse; margin-top: 10px; font-variant-numeric: tabular-nums; font-size: 0.9em; }
    caption { caption-side: top; text-align: left; font-size: 0.85em; color: var(--_muted); padding-bottom: 4px; max-width: 60em; }
    th, td { padding: 3px 10px; border-bottom: 1px solid var(--_border); text-align: right; }
    th[scope='row'], thead th:first-child { text-align: left; }
    td.lower { font-weight: 600; }
  `];

  readonly analysis = 'correspondence';

  /** The network-input pictures of the chosen images (the host's answer to `zf-analysis-previews`). */
  @property({ attribute: false }) previews?: PreviewsResultMessage;

  /** URLs of the chosen samples, in the samples' order. */
  @state() private chosen: string[] = [];
  /** Part box per chosen URL (absent: the default box). */
  @state() private boxes: Record<string, Box> = {};
  /** Layers to score (absent: the paper's pair, the last conv and the last hidden fc layer). */
  @state() private layers?: string[];
  /** What a user typed in a graph's layers field (comma-separated names), while it does not parse. */
  @state() private layersError = '';
  @state() private trials = 5;
  @state() private seed = 1;
  @state() private fill: 'zero' | 'mean' = 'zero';
  @state() private invalid = '';

  /** Pictures by URL, from every `previews` answer that fits the current model's input. */
  private pictures = new Map<string, RgbaImage>();
  /** URLs asked for and not yet answered: asked once each, however often the view updates. */
  private asked = new Set<string>();
  /** Chosen images the worker could not read, and why: not asked again until chosen again. */
  @state() private unreadable = new Map<string, string>();
  private painted = new WeakMap<HTMLCanvasElement, RgbaImage>();
  private drag?: { url: string; y: number; x: number; pointer: number };
  private readonly uid = `zf-correspondence-${++uid}`;

  private get input(): readonly number[] | undefined { return this.info?.input; }

  /** Each sample's name: its label, made unique (previews come back keyed by name). */
  private get names(): Map<string, string> {
    const names = new Map<string, string>(), used = new Set<string>();
    this.samples.forEach((s, i) => {
      const name = used.has(s.label) ? `${s.label} (${i + 1})` : s.label;
      used.add(name);
      names.set(s.url, name);
    });
    return names;
  }

  private boxOf(url: string): Box {
    return this.boxes[url] ?? defaultBox(this.input!);
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (changed.has('samples')) {
      this.chosen = defaultChoice(this.samples);
      this.boxes = {};
    }
    const before = changed.get('info') as ModelInfo | undefined;
    if (changed.has('info') && before?.input.join() !== this.info?.input.join()) {
      // Another input size: old pictures and boxes are in the wrong coordinates.
      this.pictures.clear();
      this.asked.clear();
      this.boxes = {};
    }
    // Another model (every file's source is 'file': its network's name tells them apart): its own defaults.
    if (changed.has('info') && (before?.source !== this.info?.source || before?.name !== this.info?.name)) {
      this.layers = undefined;
      this.layersError = '';
    }
    // Ready again (a model (re)loaded): a request the host dropped meanwhile may be asked again.
    if (changed.has('ready') && this.ready) this.asked.clear();
    if (changed.has('previews') && this.previews && this.input) {
      const [, h, w] = this.input;
      const urls = new Map([...this.names].map(([url, name]) => [name, url]));
      const failed = new Map((this.previews.failures ?? []).map((f) => [f.name, f.message]));
      this.previews.names.forEach((name, i) => {
        const url = urls.get(name), picture = this.previews!.pictures[i];
        if (url && failed.has(name)) {
          this.asked.delete(url);
          this.unreadable = new Map(this.unreadable).set(url, failed.get(name)!);
        }
        // An answer for another model's input (the model changed meanwhile) is dropped.
        if (url && picture?.width === w && picture.height === h) {
          this.pictures.set(url, picture);
          this.asked.delete(url);
        }
      });
    }
  }

  protected updated(): void {
    for (const canvas of this.renderRoot.querySelectorAll<HTMLCanvasElement>('canvas[data-url]')) {
      const picture = this.pictures.get(canvas.dataset.url!);
      if (picture && this.painted.get(canvas) !== picture) {
        paint(canvas, picture);
        this.painted.set(canvas, picture);
      }
    }
    if (!this.info) return;
    const missing = this.chosen.filter((url) => !this.pictures.has(url) && !this.asked.has(url) && !this.unreadable.has(url));
    if (missing.length === 0) return;
    missing.forEach((url) => this.asked.add(url));
    const names = this.names;
    emit<ZfAnalysisPreviewsDetail>(this, 'zf-analysis-previews', {
      analysis: 'correspondence', images: missing.map((url) => ({ source: url, name: names.get(url)! })),
    });
  }

  render() {
    const names = this.names;
    const chosen = this.samples.filter((s) => this.chosen.includes(s.url));
    return html`
      <ul class="choices" part="choices" aria-label="Images to compare (choose at least 2 of one kind of object)">
        ${this.samples.map((s) => {
          const on = this.chosen.includes(s.url);
          return html`<li><button type="button" part="choice" aria-pressed=${on ? 'true' : 'false'} title=${names.get(s.url)!}
              aria-label=${names.get(s.url)!} ?disabled=${this.running || (!on && this.chosen.length >= MAX_IMAGES)}
              @click=${() => this.toggle(s.url)}><img src=${s.url} alt="" loading="lazy" decoding="async"></button></li>`;
        })}
      </ul>
      ${this.input
        ? html`<div class="images">${repeat(chosen, (s) => s.url, (s) => this.imageEditor(s.url, names.get(s.url)!))}</div>`
        : html`<p class="note">Waiting for a model.</p>`}
      ${this.controls()}
      ${this.invalid ? html`<p role="alert" class="note">${this.invalid}</p>` : nothing}
      ${this.unreadable.size ? html`<p role="alert" class="note" data-role="unreadable">Could not read
          ${[...this.unreadable].map(([url, why]) => `${names.get(url) ?? url} (${why})`).join('; ')}.</p>` : nothing}
      ${this.result ? this.table(this.result)
        : html`<p class="note">${this.ready ? 'Mark the same part on every image, then press Run.' : 'Waiting for a model.'}</p>`}`;
  }

  /** One chosen image: the preview to drag a box on, and the box's edges as numbers. */
  private imageEditor(url: string, name: string) {
    const [, h, w] = this.input!;
    const b = this.boxOf(url);
    const ok = !boxProblem(b, h, w);
    const pct = (v: number, of: number) => `${(100 * v) / of}%`;
    return html`<figure part="image" data-url=${url}>
      <div class="stage" part="stage" tabindex="0" role="group" aria-roledescription="box editor"
          aria-label=${`Part box on ${name}: rows ${b.y0} to ${b.y1 - 1}, columns ${b.x0} to ${b.x1 - 1}. ` +
            'Drag to draw it; arrow keys move it, Shift+arrow keys resize it.'}
          @pointerdown=${(e: PointerEvent) => this.onPointerDown(url, e)} @pointermove=${(e: PointerEvent) => this.onPointerMove(url, e)}
          @pointerup=${this.endDrag} @pointercancel=${this.endDrag} @lostpointercapture=${this.endDrag}
          @keydown=${(e: KeyboardEvent) => this.onKey(url, e)}>
        <canvas class="pixels" part="preview" data-url=${url} width=${w} height=${h} aria-hidden="true"></canvas>
        ${ok ? html`<div class="box" part="box" style=${styleProps({
            left: pct(b.x0, w), top: pct(b.y0, h), width: pct(b.x1 - b.x0, w), height: pct(b.y1 - b.y0, h),
          })}></div>` : nothing}
      </div>
      <figcaption><span>${name}</span>
        <button type="button" class="secondary" ?disabled=${this.running} title="Use this box for every image"
            aria-label=${`Use the box on ${name} for every image`}
            @click=${() => this.copyToAll(b)}>All</button></figcaption>
      <div class="edges">${EDGES.map(({ key, label }) => html`<label title=${label}><span aria-hidden="true">${key}</span>
        <input type="number" part="input" step="1" min=${key[1] === '0' ? 0 : 1} max=${key[0] === 'y' ? h : w}
          .value=${String(b[key])} data-edge=${key} aria-label=${`${label} (${key}) of the box on ${name}`}
          aria-invalid=${ok ? 'false' : 'true'} ?disabled=${this.running}
          @change=${(e: Event) => this.setBox(url, { ...b, [key]: (e.target as HTMLInputElement).valueAsNumber })}></label>`)}</div>
    </figure>`;
  }

  private controls() {
    const id = (s: string) => `${this.uid}-${s}`;
    const layers = this.layers ?? defaultLayers(this.info);
    return html`<div class="controls" part="controls" role="group" aria-label="Correspondence settings">
      ${this.info?.tensors ? this.graphLayersField(id('layers'), layers) : html`<fieldset><legend>Layers</legend>
        ${(this.info?.layers ?? []).map((l) => html`<label><input type="checkbox" data-layer=${l.name} .checked=${layers.includes(l.name)}
            ?disabled=${this.running} @change=${(e: Event) => this.toggleLayer(l.name, (e.target as HTMLInputElement).checked)}>${l.name}</label>`)}
      </fieldset>`}
      <label for=${id('trials')}>Random trials
        <input id=${id('trials')} part="input" type="number" min="0" max=${MAX_TRIALS} step="1" .value=${String(this.trials)}
            ?disabled=${this.running} aria-label="Random-box trials for the control (0 for none)"
            @change=${(e: Event) => { this.trials = (e.target as HTMLInputElement).valueAsNumber; }}></label>
      <label for=${id('seed')}>Seed
        <input id=${id('seed')} part="input" type="number" min="0" step="1" .value=${String(this.seed)} ?disabled=${this.running}
            aria-label="Seed of the random boxes" @change=${(e: Event) => { this.seed = (e.target as HTMLInputElement).valueAsNumber; }}></label>
      <label for=${id('fill')}>Mask with
        <select id=${id('fill')} part="input" ?disabled=${this.running} aria-label="What fills the masked box"
            @change=${(e: Event) => { this.fill = (e.target as HTMLSelectElement).value as 'zero' | 'mean'; }}>
          <option value="zero" ?selected=${this.fill === 'zero'}>zero (the preset's mean colour)</option>
          <option value="mean" ?selected=${this.fill === 'mean'}>the image's own mean</option>
        </select></label>
      ${this.runControls(this.onRun, { label: 'Run the correspondence analysis', disabled: this.chosen.length < 2 })}
    </div>`;
  }

  /**
   * An imported graph's layers: a comma-separated field (a graph has hundreds of tensors, too many
   * for a checkbox each) with its short names and tensors as suggestions; any tensor's name is taken.
   */
  private graphLayersField(inputId: string, layers: string[]) {
    return html`<label for=${inputId} class="layers">Layers (comma-separated)
      <input id=${inputId} part="input" type="text" data-role="layers" list=${`${inputId}-list`} spellcheck="false" autocomplete="off"
          .value=${layers.join(', ')} ?disabled=${this.running} aria-invalid=${this.layersError ? 'true' : 'false'}
          @change=${this.onLayersText}>
      <datalist id=${`${inputId}-list`}>${layerChoices(this.info).map((c) => html`<option value=${c.name}>${c.hint}</option>`)}</datalist>
    </label>`;
  }

  private onLayersText = (e: Event): void => {
    const names = (e.target as HTMLInputElement).value.split(',').map((n) => n.trim()).filter(Boolean);
    const bad = names.map((n) => findLayer(this.info, n)).find((f): f is string => typeof f === 'string');
    this.layersError = bad ?? '';
    this.invalid = bad ?? '';
    this.layers = [...new Set(names)];
  };

  /** The paper's table: a row per layer; Delta and mean ± std for the part and for the random control. */
  private table(r: CorrespondenceResultMessage) {
    const res = r.result;
    const trials = res.randomBoxes.length;
    return html`<table part="table">
        <caption>Correspondence across ${res.images} images (${r.names.join(', ')}): Δ sums, over the
          ${res.rows[0]?.part.pairs ?? 0} ordered pairs of images, the number of features whose sign of change
          (original − masked) differs. <strong>Lower is more consistent</strong>: masking the part changes the
          features alike in every image. Compare with random boxes of the same sizes.</caption>
        <thead><tr><th scope="col">Layer</th><th scope="col">Features</th><th scope="col">Part Δ</th>
          <th scope="col">Part mean ± std</th><th scope="col">Random Δ${trials > 1 ? ' ± std' : ''} (${trials} trial${trials === 1 ? '' : 's'})</th>
          <th scope="col">Random mean ± std</th></tr></thead>
        <tbody>${res.rows.map((row) => html`<tr data-layer=${row.layer}>
          <th scope="row">${layerText(row)}</th><td data-col="dims">${row.dims}</td>
          <td data-col="part-delta" class=${row.random && row.part.delta < row.random.delta ? 'lower' : ''}>${num(row.part.delta)}</td>
          <td data-col="part-mean">${row.part.mean.toFixed(4)} ± ${row.part.std.toFixed(4)}</td>
          ${row.random
            ? html`<td data-col="random-delta">${num(row.random.delta)}${trials > 1 ? ` ± ${num(row.random.deltaStd)}` : ''}</td>
                <td data-col="random-mean">${row.random.mean.toFixed(4)} ± ${row.random.std.toFixed(4)}</td>`
            : html`<td data-col="random-delta">–</td><td data-col="random-mean">–</td>`}
        </tr>`)}</tbody>
      </table>
      <div class="results-bar">
        <p class="note">mean ± std: the fraction of features whose sign change differs, per pair (the paper's table).
          Sign of zero: ${res.signOfZero} (a feature the mask leaves unchanged agrees only with another unchanged one).
          Seed ${res.seed}; masked with ${res.fill}; ${Math.round(r.ms)} ms in the worker.</p>
        <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
      </div>`;
  }

  private exports(r: CorrespondenceResultMessage): ExportItem[] {
    const stem = ['zf-correspondence', this.info?.name, `${r.result.images}-images`];
    return [
      { label: 'JSON', what: 'the correspondence result', filename: fileName(...stem, '.json'),
        make: () => jsonBlob({ names: r.names, ...r.result, table: r.table }) },
      { label: 'CSV', what: 'the correspondence table', filename: fileName(...stem, '.csv'),
        make: () => new Blob([correspondenceCsv(r)], { type: 'text/csv' }) },
    ];
  }

  private toggle(url: string): void {
    if (this.unreadable.has(url)) {
      const unreadable = new Map(this.unreadable);
      unreadable.delete(url);
      this.unreadable = unreadable;
    }
    this.chosen = this.chosen.includes(url) ? this.chosen.filter((u) => u !== url)
      : this.samples.map((s) => s.url).filter((u) => u === url || this.chosen.includes(u));
  }

  private toggleLayer(name: string, on: boolean): void {
    const now = this.layers ?? defaultLayers(this.info);
    const next = on ? [...now, name] : now.filter((l) => l !== name);
    // In the model's order, as the table's rows.
    this.layers = (this.info?.layers ?? []).map((l) => l.name).filter((l) => next.includes(l));
  }

  private setBox(url: string, box: Box): void {
    this.boxes = { ...this.boxes, [url]: box };
  }

  private copyToAll(box: Box): void {
    this.boxes = Object.fromEntries(this.chosen.map((url) => [url, { ...box }]));
  }

  /** The input pixel under the pointer, clamped to the input. */
  private pixelAt(e: PointerEvent): { y: number; x: number } {
    const [, h, w] = this.input!;
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const at = (v: number, size: number, n: number) => Math.min(n - 1, Math.max(0, Math.floor((v / size) * n)));
    return { y: at(e.clientY - rect.top, rect.height, h), x: at(e.clientX - rect.left, rect.width, w) };
  }

  private onPointerDown(url: string, e: PointerEvent): void {
    if (this.running || e.button !== 0 || !this.input) return;
    e.preventDefault();
    (e.currentTarget as HTMLElement).focus();
    // Capture keeps the drag going outside the preview; a synthetic event has no pointer to capture.
    try { (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId); } catch { /* drag within the preview only */ }
    const p = this.pixelAt(e);
    this.drag = { url, ...p, pointer: e.pointerId };
    this.setBox(url, { y0: p.y, x0: p.x, y1: p.y + 1, x1: p.x + 1 });
  }

  private onPointerMove(url: string, e: PointerEvent): void {
    const d = this.drag;
    if (!d || d.url !== url || d.pointer !== e.pointerId) return;
    const p = this.pixelAt(e);
    // Both corners' pixels are inside the box: the far edges are exclusive.
    this.setBox(url, { y0: Math.min(d.y, p.y), x0: Math.min(d.x, p.x), y1: Math.max(d.y, p.y) + 1, x1: Math.max(d.x, p.x) + 1 });
  }

  private endDrag = (): void => { this.drag = undefined; };

  private onKey(url: string, e: KeyboardEvent): void {
    const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!step || this.running || !this.input) return;
    e.preventDefault();
    const [, h, w] = this.input;
    const b = this.boxOf(url);
    const [dy, dx] = step;
    if (e.shiftKey) {
      this.setBox(url, { ...b, y1: clamp(b.y1 + dy, b.y0 + 1, h), x1: clamp(b.x1 + dx, b.x0 + 1, w) });
    } else {
      const y0 = clamp(b.y0 + dy, 0, h - (b.y1 - b.y0)), x0 = clamp(b.x0 + dx, 0, w - (b.x1 - b.x0));
      this.setBox(url, { y0, x0, y1: y0 + b.y1 - b.y0, x1: x0 + b.x1 - b.x0 });
    }
  }

  private onRun = (): void => {
    if (this.running || !this.ready || !this.input) return;
    const [, h, w] = this.input;
    const names = this.names;
    const layers = this.layers ?? defaultLayers(this.info);
    const bad = this.chosen.find((url) => boxProblem(this.boxOf(url), h, w));
    if (this.chosen.length < 2) this.invalid = 'Choose at least 2 images to compare.';
    else if (bad) this.invalid = `The box on ${names.get(bad)}: ${boxProblem(this.boxOf(bad), h, w)}`;
    else if (layers.length === 0) this.invalid = 'Choose at least one layer.';
    else if (this.layersError) this.invalid = this.layersError;
    else if (!Number.isInteger(this.trials) || this.trials < 0 || this.trials > MAX_TRIALS) {
      this.invalid = `Random trials must be a whole number from 0 to ${MAX_TRIALS}.`;
    } else if (!Number.isInteger(this.seed) || this.seed < 0) this.invalid = 'The seed must be a whole number, 0 or more.';
    else this.invalid = '';
    if (this.invalid) return;
    this.requestRun({
      images: this.chosen.map((url) => ({ source: url, name: names.get(url)! })),
      boxes: this.chosen.map((url) => ({ ...this.boxOf(url) })),
      layers, random: this.trials, seed: this.seed, fill: this.fill,
    });
  };
}

/** Why `b` is not a box inside an h x w input, or '' when it is. */
function boxProblem(b: Box, h: number, w: number): string {
  const whole = [b.y0, b.x0, b.y1, b.x1].every(Number.isInteger);
  return whole && b.y0 >= 0 && b.x0 >= 0 && b.y0 < b.y1 && b.x0 < b.x1 && b.y1 <= h && b.x1 <= w ? ''
    : `its edges must be whole numbers with 0 ≤ y0 < y1 ≤ ${h} and 0 ≤ x0 < x1 ≤ ${w} (it has y0 ${b.y0}, x0 ${b.x0}, y1 ${b.y1}, x1 ${b.x1}).`;
}

/**
 * The engine's default (analyses/invariance.ts, lastConvLayer and lastHiddenLayer): the paper's
 * layers 5 and 7; a graph's last conv block's output and the features its classifier reads.
 */
function defaultLayers(info: ModelInfo | undefined): string[] {
  const { block, hidden } = engineDefaults(info);
  return [...new Set([block, hidden].filter((p): p is string => !!p))];
}

/** The table as CSV: one row per layer, every number at full precision; empty random cells without a control. */
export function correspondenceCsv(r: CorrespondenceResultMessage): string {
  const head = ['layer', 'point', 'features', 'part_delta', 'part_mean', 'part_std', 'random_trials', 'random_delta',
    'random_delta_std', 'random_mean', 'random_std'];
  const cell = (v: string | number) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = r.result.rows.map((row) => [row.layer, row.point, row.dims, row.part.delta, row.part.mean, row.part.std,
    ...(row.random ? [row.random.trials, row.random.delta, row.random.deltaStd, row.random.mean, row.random.std] : ['', '', '', '', ''])]);
  return [head, ...rows].map((cells) => cells.map(cell).join(',')).join('\n') + '\n';
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

if (!customElements.get('zf-correspondence-view')) customElements.define('zf-correspondence-view', ZfCorrespondenceView);

declare global {
  interface HTMLElementTagNameMap { 'zf-correspondence-view': ZfCorrespondenceView }
}
