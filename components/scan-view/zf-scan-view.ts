import { css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { AnalysisView, analysisStyles } from '../shared/analysis-view.js';
import { paint } from '../shared/canvas.js';
import { fileName, jsonBlob, pngBlob } from '../shared/export.js';
import type { LayerInfo } from '../../src/worker/protocol.js';
import type { NamedImage } from '../../src/worker/context.js';
import type { ScanMapMessage, ScanResultMessage } from '../../src/worker/handlers/scan.js';
import type { ExportItem } from '../export-buttons/zf-export-buttons.js';
import '../export-buttons/zf-export-buttons.js';
import { defaultLayers, findLayer, layerChoices, layerText } from '../analyses-panel/graph-layers.js';

/** Maps when none are typed: the worker's default, the first 16. */
const DEFAULT_MAPS = 16;
const MAX_TOP = 16;
/** Image files by name, for files whose type the system left empty (common for folders). */
const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp|avif)$/i;

/** The images a scan runs on: the page's samples, or files the user chose or dropped. */
interface ImageSet {
  kind: 'files' | 'folder';
  /** Said to the user: "12 chosen images", "folder shoes". */
  label: string;
  images: NamedImage[];
  /** Files that are not images, left out. */
  skipped: number;
}

let uid = 0;

/**
 * Top-9 across a data set (Zeiler & Fergus, Figs. 1-2): every image of a set goes through the
 * network; for each chosen feature map of a layer, its strongest activations over the whole set
 * (one per image) are projected alone to pixel space and shown beside the image patch each came
 * from (the unit's receptive field). The images are the page's samples, or files the user picks,
 * a folder, or files dropped on the view. The element only shows: its host runs the scan when it
 * fires `zf-analysis-run` (`detail.request`: `{ images, layer, maps, top }`, a worker `scan`
 * request without its type), and sets `result`, `running` and `progress`.
 *
 * @summary Data-set top-9 scan: image set, layer, maps, and each map's projections beside their patches.
 * @fires zf-analysis-run - The user pressed Run; `detail: { analysis: 'scan', request: { images, layer, maps, top } }`.
 * @fires zf-analysis-cancel - The user pressed Cancel.
 * @csspart controls - The row of image-set buttons, inputs and Run.
 * @csspart images - The image-set summary and its buttons.
 * @csspart input - The layer select and the maps and top inputs.
 * @csspart run - The Run (and Cancel) button.
 * @csspart progress - The progress bar while it runs.
 * @csspart block - Each map's picture (projections, then image patches).
 * @csspart caption - Each map's caption.
 * @csspart export - The save buttons.
 */
export class ZfScanView extends AnalysisView<ScanResultMessage> {
  static styles = [theme, analysisStyles, css`
    .set { display: grid; gap: 4px; }
    .set .summary { font-size: 0.85em; }
    .set .buttons { display: flex; flex-wrap: wrap; gap: 4px; }
    input[type='file'] { display: none; }
    input.maps { width: 8em; }
    input.layer { width: 22em; max-width: 100%; }
    input[aria-invalid='true'] { border-color: var(--_error); }
    .error { margin: 6px 0 0; font-size: 0.8em; color: var(--_error); }
    :host(.over) { outline: 2px dashed var(--_accent); outline-offset: 4px; }
    .blocks { display: flex; flex-wrap: wrap; gap: var(--_gap); margin-top: 10px; }
    figure { margin: 0; display: grid; gap: 4px; align-content: start; max-width: 100%; }
    canvas { max-width: 100%; height: auto; background: var(--_surface); border-radius: 3px; }
    figcaption { font-size: 0.8em; }
    .value { color: var(--_muted); font-variant-numeric: tabular-nums; }
  `];

  readonly analysis = 'scan';

  /**
   * The layer to scan (default: the model's last conv layer; for an imported graph, its last conv
   * block's output). A graph's layer is typed or picked from its list: a short name or any
   * [C, H, W] tensor's name.
   */
  @property() layer = '';

  /** The maps, as typed: "0-15", "0,3,7" (default: the first 16, or all when fewer). */
  @property() maps = '';

  /** Activations kept per map, 1 to 16. */
  @property({ type: Number }) top = 9;

  /**
   * Width in CSS pixels a map's picture is enlarged towards, by whole multiples so its pixels
   * stay square (zfnet-mini's 28 px patches are tiny at 1:1); never beyond the view's width.
   */
  @property({ type: Number, attribute: 'block-width' }) blockWidth = 360;

  /** Files the user chose or dropped; the samples when there are none. */
  @state() private chosen?: ImageSet;
  @state() private topError = '';
  /** The user typed in the maps field: its text counts even when empty. */
  @state() private mapsTyped = false;
  /** Say what is wrong with the maps once the user typed or pressed Run, not before. */
  @state() private showMapsError = false;
  /** What is wrong with the layer a user typed (graphs), said once they leave the field. */
  @state() private layerError = '';

  private readonly uid = `zf-scan-${++uid}`;
  private painted?: ScanResultMessage;

  /** A layer and maps chosen for another model do not carry over (the image set does). */
  protected modelChanged(): void {
    this.layer = '';
    this.maps = '';
    this.mapsTyped = false;
    this.showMapsError = false;
    this.layerError = '';
  }

  constructor() {
    super();
    // Files dropped anywhere on the view become the image set.
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', () => this.classList.remove('over'));
    this.addEventListener('drop', this.onDrop);
  }

  /** The images the next run scans. */
  get images(): NamedImage[] {
    return this.chosen?.images ?? this.samples.map((s) => ({ source: s.url, name: s.label }));
  }

  /** Use these files as the image set (what the file inputs and dropping do); non-images are skipped. */
  chooseFiles(files: Iterable<File>, kind: ImageSet['kind'] = 'files'): void {
    const all = [...files];
    const images = all.filter((f) => f.type.startsWith('image/') || (!f.type && IMAGE_NAME.test(f.name)));
    // Folders arrive in no particular order; by path, a scan is the same every time.
    const named = images.map((f) => ({ source: f as Blob, name: f.webkitRelativePath || f.name }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const folder = kind === 'folder' ? named[0]?.name.split('/')[0] : undefined;
    this.chosen = {
      kind, images: named, skipped: all.length - images.length,
      label: folder ? `folder ${folder}` : `${named.length} chosen image${named.length === 1 ? '' : 's'}`,
    };
  }

  /** Go back to the page's sample images. */
  useSamples(): void {
    this.chosen = undefined;
  }

  render() {
    const layers = this.spatialLayers();
    const layer = this.currentLayer();
    const maps = this.parsedMaps();
    const mapsError = typeof maps === 'string' && this.showMapsError ? maps : '';
    const images = this.images;
    const id = this.uid;
    return html`<div class="controls" part="controls" role="group" aria-label="Top-9 scan settings">
        ${this.imageSetControls(images.length)}
        ${this.info?.tensors ? this.graphLayerField(id) : html`<label for=${`${id}-layer`}>Layer
          <select id=${`${id}-layer`} part="input" ?disabled=${this.running || layers.length === 0}
              @change=${(e: Event) => { this.layer = (e.target as HTMLSelectElement).value; }}>
            ${layers.map((l) => html`<option value=${l.name} ?selected=${l.name === layer?.name}>${l.name} (${l.shape[0]} maps)</option>`)}
          </select>
        </label>`}
        <label for=${`${id}-maps`}>Maps
          <input id=${`${id}-maps`} class="maps" part="input" type="text" inputmode="numeric" spellcheck="false"
              .value=${this.mapsText(layer)} ?disabled=${this.running}
              aria-invalid=${mapsError ? 'true' : 'false'} aria-describedby=${mapsError ? `${id}-maps-error` : nothing}
              @input=${(e: Event) => {
                this.maps = (e.target as HTMLInputElement).value;
                this.mapsTyped = this.showMapsError = true;
              }}
              @keydown=${this.onKey}>
        </label>
        <label for=${`${id}-top`}>Top
          <input id=${`${id}-top`} part="input" type="number" min="1" max=${MAX_TOP} step="1" .value=${String(this.top)}
              ?disabled=${this.running} aria-invalid=${this.topError ? 'true' : 'false'}
              aria-describedby=${this.topError ? `${id}-top-error` : nothing}
              @change=${(e: Event) => { this.top = (e.target as HTMLInputElement).valueAsNumber; this.topError = ''; }}
              @keydown=${this.onKey}>
        </label>
        ${this.runControls(this.onRun, { label: 'Run the top-9 scan', disabled: images.length === 0 || !layer })}
      </div>
      ${this.layerError ? html`<p class="error" id=${`${id}-layer-error`} role="alert">${this.layerError}</p>` : nothing}
      ${mapsError ? html`<p class="error" id=${`${id}-maps-error`} role="alert">${mapsError}</p>` : nothing}
      ${this.topError ? html`<p class="error" id=${`${id}-top-error`} role="alert">${this.topError}</p>` : nothing}
      ${this.results()}`;
  }

  /**
   * An imported graph's layer: a text field with the graph's short names and [C, H, W] tensors
   * as suggestions (the browser's list filters them as one types); any such tensor's name is taken.
   */
  private graphLayerField(id: string) {
    const choices = layerChoices(this.info, { spatial: true });
    return html`<label for=${`${id}-layer`}>Layer
      <input id=${`${id}-layer`} class="layer" part="input" type="text" data-role="layer" list=${`${id}-layers`}
          spellcheck="false" autocomplete="off" .value=${this.layer || (defaultLayers(this.info).block ?? '')}
          ?disabled=${this.running} aria-invalid=${this.layerError ? 'true' : 'false'}
          aria-describedby=${this.layerError ? `${id}-layer-error` : nothing}
          @change=${this.onLayer} @keydown=${this.onKey}>
      <datalist id=${`${id}-layers`}>${choices.map((c) => html`<option value=${c.name}>${c.hint}</option>`)}</datalist>
    </label>`;
  }

  private onLayer = (e: Event) => {
    const value = (e.target as HTMLInputElement).value.trim();
    this.layer = value;
    const found = findLayer(this.info, value || (defaultLayers(this.info).block ?? ''), { spatial: true });
    this.layerError = typeof found === 'string' ? found : '';
  };

  private imageSetControls(count: number) {
    const set = this.chosen;
    const what = set ? set.label : 'the sample images';
    return html`<div class="set" part="images" role="group" aria-label="Images to scan">
      <span class="summary" aria-live="polite">
        <strong>${count}</strong> image${count === 1 ? '' : 's'}: ${what}${set?.skipped
          ? html` <span class="muted">(skipped ${set.skipped} file${set.skipped === 1 ? '' : 's'} that ${set.skipped === 1 ? 'is' : 'are'} not ${set.skipped === 1 ? 'an image' : 'images'})</span>`
          : nothing}
      </span>
      <span class="buttons">
        <button type="button" class="secondary" data-role="choose-files" ?disabled=${this.running}
            @click=${() => this.fileInput('files')?.click()}>Choose images…</button>
        <button type="button" class="secondary" data-role="choose-folder" ?disabled=${this.running}
            @click=${() => this.fileInput('folder')?.click()}>Choose folder…</button>
        ${set && this.samples.length ? html`<button type="button" class="secondary" data-role="samples"
            ?disabled=${this.running} @click=${() => this.useSamples()}>Use the samples</button>` : nothing}
      </span>
      <input type="file" data-kind="files" multiple accept="image/*" aria-hidden="true" tabindex="-1" @change=${this.onFiles}>
      <input type="file" data-kind="folder" webkitdirectory aria-hidden="true" tabindex="-1" @change=${this.onFiles}>
    </div>`;
  }

  private results() {
    const r = this.result;
    if (!r) {
      return html`<p class="note">${this.ready
        ? 'Press Run to find each map\'s strongest activations over the images (or drop image files here).'
        : 'Waiting for the model.'}</p>`;
    }
    return html`<div class="blocks" aria-busy=${this.running ? 'true' : 'false'}>
        ${r.maps.map((m) => html`<figure>
          <canvas class="pixels" part="block" data-map=${m.map} role="img" aria-label=${blockLabel(r, m)}
              style=${styleProps({ width: `${m.block.width * this.scaleOf(m.block.width)}px` })}></canvas>
          <figcaption part="caption"><strong>map ${m.map}</strong>
            <span class="value">strongest ${m.units.length ? fmt(m.units[0].value) : '–'}</span></figcaption>
        </figure>`)}
      </div>
      <div class="results-bar">
        <p class="note">${r.images} image${r.images === 1 ? '' : 's'} scanned; ${layerText(r)}, top ${r.top} per map,
          ${r.mode}; ${Math.round(r.ms)} ms in the worker.</p>
        <zf-export-buttons .items=${this.exports(r)} exportparts="export"></zf-export-buttons>
      </div>`;
  }

  protected updated(changed: PropertyValues<this>): void {
    super.updated(changed);
    const r = this.result;
    // Paint once per result: the blocks are large and other properties change often while running.
    if (!r || r === this.painted) return;
    for (const m of r.maps) paint(this.renderRoot.querySelector<HTMLCanvasElement>(`canvas[data-map="${m.map}"]`), m.block);
    this.painted = r;
  }

  private exports(r: ScanResultMessage): ExportItem[] {
    const stem = ['zf-scan', this.info?.name, r.layer];
    return [
      { label: 'PNG', what: `the ${r.layer} top-${r.top} sheet`, filename: fileName(...stem, '.png'), make: () => pngBlob(r.sheet) },
      { label: 'JSON', what: 'the kept activations (value, image, position, receptive box)', filename: fileName(...stem, '.json'),
        make: () => jsonBlob(r.index) },
    ];
  }

  private spatialLayers(): LayerInfo[] {
    return this.info?.layers.filter((l) => l.shape.length === 3) ?? [];
  }

  /**
   * The chosen layer, or the last conv layer (the worker's default) when none or an unknown one is
   * chosen. A graph's: the typed name when it is a [C, H, W] layer or tensor (else none: the field
   * says why), or the last conv block's output.
   */
  private currentLayer(): { name: string; shape: number[] } | undefined {
    if (this.info?.tensors) {
      const found = findLayer(this.info, this.layer || (defaultLayers(this.info).block ?? ''), { spatial: true });
      return typeof found === 'string' ? undefined : found;
    }
    const layers = this.spatialLayers();
    return layers.find((l) => l.name === this.layer) ?? layers.filter((l) => l.kind === 'conv').at(-1) ?? layers.at(-1);
  }

  /** The maps to scan, or what is wrong with the text. */
  private parsedMaps(): number[] | string {
    const layer = this.currentLayer();
    if (!layer) return this.layerError || 'No layer to scan yet.';
    return parseMaps(this.mapsText(layer), layer.shape[0], layer.name);
  }

  /** What the maps field holds: the text set or typed, else the default for the layer. */
  private mapsText(layer: { shape: number[] } | undefined): string {
    return this.mapsTyped || this.maps ? this.maps : defaultMapsText(layer);
  }

  private scaleOf(width: number): number {
    return Math.max(1, Math.floor(this.blockWidth / width));
  }

  private fileInput(kind: ImageSet['kind']): HTMLInputElement | null {
    return this.renderRoot.querySelector<HTMLInputElement>(`input[type=file][data-kind="${kind}"]`);
  }

  private onFiles = (event: Event) => {
    const input = event.target as HTMLInputElement;
    if (input.files?.length) this.chooseFiles(input.files, input.dataset.kind === 'folder' ? 'folder' : 'files');
    input.value = '';
  };

  private onDragOver = (event: DragEvent) => {
    if (this.running || !event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    // On the host: the outline goes round the whole view, which is the drop target.
    this.classList.add('over');
  };

  private onDrop = async (event: DragEvent) => {
    this.classList.remove('over');
    if (this.running || !event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    const { files, folder } = await droppedFiles(event.dataTransfer);
    this.chooseFiles(files, folder ? 'folder' : 'files');
  };

  private onKey = (e: KeyboardEvent) => {
    if (e.key !== 'Enter') return;
    (e.target as HTMLInputElement).dispatchEvent(new Event('change'));
    this.onRun();
  };

  private onRun = () => {
    const layer = this.currentLayer();
    if (!layer && this.info?.tensors) {
      const found = findLayer(this.info, this.layer, { spatial: true });
      this.layerError = typeof found === 'string' ? found : '';
      return;
    }
    const maps = this.parsedMaps();
    if (typeof maps === 'string') {
      this.showMapsError = true;
      return;
    }
    if (!Number.isInteger(this.top) || this.top < 1 || this.top > MAX_TOP) {
      this.topError = `Top must be a whole number from 1 to ${MAX_TOP}.`;
      return;
    }
    const images = this.images;
    if (!layer || images.length === 0) return;
    this.requestRun({ images, layer: layer.name, maps, top: this.top });
  };
}

/** "0-15" for a layer of 16 maps or more, "0-5" for one of 6. */
function defaultMapsText(layer: { shape: number[] } | undefined): string {
  const n = Math.min(DEFAULT_MAPS, layer?.shape[0] ?? DEFAULT_MAPS);
  return n === 1 ? '0' : `0-${n - 1}`;
}

/**
 * "0-15", "0,3,7", "2, 5-8" as map indices in the order written, or a sentence saying what is
 * wrong: a part that is not a number or range, a map beyond the layer's, a map listed twice.
 */
export function parseMaps(text: string, count: number, layer: string): number[] | string {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) return `List at least one map of ${layer}, e.g. 0-15 or 0,3,7.`;
  const maps: number[] = [];
  for (const part of parts) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return `"${part}" is not a map number or a range like 0-15.`;
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `The range ${part} runs backwards; write it as ${b}-${a}.`;
    if (b >= count) return `Map ${b} is out of range: ${layer} has ${count} maps (0-${count - 1}).`;
    for (let k = a; k <= b; k++) {
      if (maps.includes(k)) return `Map ${k} is listed twice.`;
      maps.push(k);
    }
  }
  return maps;
}

/** Files of a drop, with folders read through (the File and Directory Entries API where there is one). */
async function droppedFiles(data: DataTransfer): Promise<{ files: File[]; folder: boolean }> {
  const entries = [...data.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0 || !entries.some((e) => e.isDirectory)) return { files: [...data.files], folder: false };
  const files: File[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      // Keep the path inside the folder as the name: sample names repeat across sub-folders.
      files.push(new File([file], `${path}${file.name}`, { type: file.type, lastModified: file.lastModified }));
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries hands out a directory in chunks (100 in Chromium) until it returns none.
    for (;;) {
      const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (chunk.length === 0) break;
      for (const child of chunk) await walk(child, `${path}${entry.name}/`);
    }
  };
  for (const entry of entries) await walk(entry, '');
  return { files, folder: entries.length === 1 && entries[0].isDirectory };
}

function blockLabel(r: ScanResultMessage, m: ScanMapMessage): string {
  const n = m.units.length;
  const from = [...new Set(m.units.map((u) => u.name))].slice(0, 3).join(', ');
  return `${r.layer} map ${m.map}: its ${n} strongest activation${n === 1 ? '' : 's'} over ${r.images} images, ` +
    `each projected to pixels (${r.mode}, left block) beside the image patch it came from (right block), ` +
    `strongest first; from ${from}${n > 3 ? ' and others' : ''}`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

if (!customElements.get('zf-scan-view')) customElements.define('zf-scan-view', ZfScanView);

declare global {
  interface HTMLElementTagNameMap { 'zf-scan-view': ZfScanView }
}
