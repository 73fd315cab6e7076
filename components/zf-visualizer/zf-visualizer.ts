import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Task, TaskStatus, initialState } from '@lit/task';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import { EngineController, defaultWorker, type WorkerFactory } from '../shared/engine-controller.js';
import { defaultSamples } from './samples.js';
import '../image-input/zf-image-input.js';
import '../class-bars/zf-class-bars.js';
import '../layer-picker/zf-layer-picker.js';
import '../feature-grid/zf-feature-grid.js';
import '../projection-view/zf-projection-view.js';
import '../filter-grid/zf-filter-grid.js';
import '../analyses-panel/zf-analyses-panel.js';
import type { AnalysisName } from '../shared/analysis-view.js';
import type { ZfAnalysesPanel, ZfAnalysisBusyDetail } from '../analyses-panel/zf-analyses-panel.js';
import type { ImageSelection, SampleImage } from '../image-input/zf-image-input.js';
import type { ViewMode, ZfProjectionView } from '../projection-view/zf-projection-view.js';
import type {
  GradcamResultMessage, ImageResult, ImageSource, LayerInfo, MapsResult, ModelInfo, ProjectResult, TensorInfo,
} from '../../src/worker/protocol.js';
import type { Pixels } from '../../src/io/preprocess.js';

/** The name of the shipped default model. */
export const DEFAULT_MODEL = 'zfnet-mini';

/** `zf-error`'s detail. */
export interface ZfErrorDetail {
  /** Where it happened: `model`, `image`, `maps`, `projection`, `gradcam`, `filters`, or an analysis (`occlusion`, `scan`...). */
  stage: 'model' | 'image' | 'maps' | 'projection' | 'gradcam' | 'filters' | AnalysisName;
  /** The engine's error name: `ArgumentError`, `ImageDecodeError`, `ModelFormatError`... */
  name: string;
  message: string;
}

/** `zf-selection-changed`'s detail. */
export interface ZfSelectionDetail {
  layer: string;
  /** The chosen map; -1 means "the strongest", resolved once the layer's maps are known. */
  map: number;
  mode: ViewMode;
}

/** `zf-gradcam-shown`'s detail. */
export interface ZfGradcamShownDetail {
  /** The layer the cam is at (the picked one, or the default when the picked one has no maps larger than 1 x 1). */
  layer: string;
  class: number;
  label: string;
  probability: number;
  /** Whether guided Grad-CAM is shown beside it. */
  guided: boolean;
  /** Milliseconds the worker spent. */
  workerMs: number;
}

/** `zf-projection-shown`'s detail. */
export interface ZfProjectionShownDetail {
  layer: string;
  map: number;
  mode: ViewMode;
  units: number;
  /** Milliseconds the worker spent projecting. */
  workerMs: number;
  /** For the first projection after `model` was set: milliseconds since then. */
  sinceModelSet?: number;
}

interface ChosenImage {
  source: ImageSource;
  name: string;
  /** The sample's URL, when it is one (marks it in the gallery). */
  url?: string;
}

const ignorable = (e: unknown) => e instanceof Error && (e.name === 'AbortError' || e.name === 'StaleRunError');

/**
 * See inside a convolutional network: pick an image, read the network's top classes, browse
 * every feature map of a layer, and see what a map responds to, projected back to pixels with
 * Zeiler & Fergus's deconvnet (or guided backpropagation, or the gradient), beside the image
 * patches that drive it; or Grad-CAM, where the layer holds the evidence for a class. Everything
 * runs in a Web Worker on WebAssembly: the page never waits, no server, no WebGL.
 *
 * Imported graphs (ONNX: ResNets, Inception, DenseNets...) have every tensor as a layer: the
 * layer picker becomes a searchable tree of the graph's tensors grouped by module, and the view
 * starts on the last conv block's output.
 *
 * ```html
 * <script type="module" src="zf-visualizer/dist/components/zf-visualizer.js"></script>
 * <zf-visualizer></zf-visualizer>                      <!-- the default model and its samples -->
 * <zf-visualizer model="https://example.org/zfnet512.onnx" src="cat.jpg" layer="conv5"></zf-visualizer>
 * ```
 *
 * With no image chosen, the first sample is shown (the default model's samples, or `samples`).
 * Keyboard: Tab through the image controls, the layer radio group (arrow keys), the feature-map
 * list (arrow keys, Home, End; the selection follows) and the projection mode (arrow keys).
 *
 * @summary The whole tool: image, classes, layers, feature maps, projections, filters.
 *
 * @fires zf-model-loaded - The model is ready; `detail`: `{ name, backend, input, classes, labels, layers, ms, ... }`.
 * @fires zf-image-changed - A new image went through the network; `detail: { name, width, height, top }`.
 * @fires zf-selection-changed - The user changed the layer, map or mode; `detail: { layer, map, mode }`.
 * @fires zf-projection-shown - A projection was painted; `detail: { layer, map, mode, units, workerMs, sinceModelSet? }`.
 * @fires zf-gradcam-shown - Grad-CAM was painted (`gradcam` mode); `detail: { layer, class, label, probability, guided, workerMs }`.
 * @fires zf-analysis-done - An analysis (occlusion, invariance, scan, correspondence, diagnosis, evolution) finished and is shown; `detail: { analysis, workerMs }`.
 * @fires zf-error - Something failed (and is shown in the element); `detail: { stage, name, message }`.
 *
 * @csspart base - The element's frame.
 * @csspart header - The title row with the model's name.
 * @csspart progress - The progress bar while the model loads.
 * @csspart waiting - The note shown while a data-set analysis keeps the engine busy.
 * @csspart open-model - The "Open model…" button (an ONNX file from the user's disk).
 * @csspart error - An error message.
 * @csspart panel - Each of the columns (image, maps, projection, filters).
 * @csspart dropzone - (image input) The drop / paste target.
 * @csspart preview - (image input) The network's input picture.
 * @csspart button - (image input) The "Choose image" button.
 * @csspart sample - (image input) A sample's button.
 * @csspart bar - (class bars) A bar's track.
 * @csspart fill - (class bars) A bar's fill.
 * @csspart option - (layer picker) A layer's button.
 * @csspart search - (layer picker, graphs) The tensor search box.
 * @csspart tree - (layer picker, graphs) The tree of tensors.
 * @csspart scope - (layer picker, graphs) A module group's row.
 * @csspart tensor - (layer picker, graphs) A tensor's row.
 * @csspart tensor-selected - (layer picker, graphs) The picked tensor's row.
 * @csspart map - (feature grid) A map thumbnail.
 * @csspart map-selected - (feature grid) The selected thumbnail.
 * @csspart projection - (projection view) The whole-input projection.
 * @csspart unit - (projection view) A projection / patch pair.
 * @csspart mode - (projection view) A mode button.
 * @csspart gradcam - (projection view) The Grad-CAM overlay.
 * @csspart guided-gradcam - (projection view) Guided Grad-CAM.
 * @csspart class - (projection view) The Grad-CAM class choice.
 * @csspart tabs - The analyses' tab list.
 * @csspart tab - An analysis's tab.
 * @csspart tab-selected - The open analysis's tab.
 * @csspart controls - (analysis views) The row of settings and buttons.
 * @csspart input - (analysis views) A setting's input or select.
 * @csspart run - (analysis views) The Run / Cancel button.
 * @csspart analysis-progress - (analysis views) The progress bar while an analysis runs.
 * @csspart caption - (analysis views) A picture's or chart's caption.
 * @csspart export - (analysis views) A save button (PNG, SVG, JSON).
 * @csspart heatmap - (occlusion view) A heatmap over the image.
 * @csspart legend - (occlusion view) The classes of the most-probable-class map.
 * @csspart chart - (invariance, diagnosis views) A chart (inline SVG).
 * @csspart images - (scan view) The image set's summary and buttons.
 * @csspart block - (scan view) A map's projections beside its image patches.
 * @csspart choices - (correspondence view) The sample toggles.
 * @csspart choice - (correspondence view) A sample's toggle.
 * @csspart image - (correspondence view) A chosen image with its box editor.
 * @csspart stage - (correspondence view) The area a box is dragged on.
 * @csspart part-preview - (correspondence view) The network-input picture a box is drawn on.
 * @csspart part-box - (correspondence view) The part box.
 * @csspart table - (correspondence view) The consistency table.
 * @csspart model - (diagnosis view) A model's column.
 * @csspart title - (diagnosis view) A model's name.
 * @csspart filters - (diagnosis view) A model's conv1 filter grid.
 * @csspart summary - (diagnosis view) A model's numbers.
 * @csspart layer2 - (diagnosis view) A model's layer-2 projections.
 * @csspart snapshot - (evolution view) An epoch's checkbox.
 * @csspart evolution-grid - (evolution view) The features x snapshots table.
 * @csspart heading - (evolution view) A row or column heading.
 * @csspart cell - (evolution view) A cell's picture.
 *
 * @cssprop [--zf-accent=#3b6fd8] - Accent colour: bars, selection, buttons (lighter in dark mode).
 * @cssprop [--zf-accent-contrast=#ffffff] - Text on the accent colour.
 * @cssprop [--zf-color=#1d2330] - Text colour.
 * @cssprop [--zf-background=#ffffff] - Background of the element.
 * @cssprop [--zf-surface=#f3f5f8] - Background of panels and controls.
 * @cssprop [--zf-border-color=#d5dae2] - Borders.
 * @cssprop [--zf-muted-color=#5b6475] - Secondary text.
 * @cssprop [--zf-error-color=#b3261e] - Error messages.
 * @cssprop [--zf-radius=6px] - Corner radius.
 * @cssprop [--zf-gap=12px] - Space between panels.
 * @cssprop [--zf-font=system-ui] - Font family.
 * @cssprop [--zf-thumb-size=56px] - Feature map thumbnail size.
 * @cssprop [--zf-projection-size=224px] - Size of the whole-input projection.
 * @cssprop [--zf-patch-size=64px] - Size of each projection / patch picture.
 */
export class ZfVisualizer extends LitElement {
  static styles = [theme, css`
    :host { display: block; container-type: inline-size; background: var(--_bg); border-radius: var(--_radius); }
    .base { display: grid; gap: var(--_gap); padding: var(--_gap); }
    header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; }
    h2 { margin: 0; font-size: 1.15em; }
    .model { color: var(--_muted); font-size: 0.9em; font-variant-numeric: tabular-nums; }
    .open { margin-left: auto; font-size: 0.85em; border: 1px solid var(--_border); background: var(--_surface);
      border-radius: var(--_radius); padding: 2px 10px; cursor: pointer; }
    .loading { display: flex; align-items: center; gap: 8px; flex: 1 1 200px; color: var(--_muted); font-size: 0.9em; }
    progress { flex: 1; max-width: 320px; height: 8px; accent-color: var(--_accent); }
    .layout { display: grid; gap: var(--_gap); grid-template-columns: minmax(180px, 230px) minmax(240px, 1fr) minmax(280px, 1.25fr); align-items: start; }
    .panel { min-width: 0; display: grid; gap: 8px; align-content: start; }
    .panel > h3 { margin: 4px 0 0; }
    .row { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
    .order { white-space: nowrap; font-size: 0.8em; border: 1px solid var(--_border); background: var(--_surface); border-radius: var(--_radius); padding: 2px 8px; cursor: pointer; }
    [role='alert'] {
      color: var(--_error); border: 1px solid currentColor; border-radius: var(--_radius);
      padding: 8px 10px; background: color-mix(in srgb, var(--_error) 8%, transparent); overflow-wrap: anywhere;
    }
    [role='alert'] strong { display: block; margin-bottom: 2px; }
    .waiting { margin: 0; color: var(--_muted); font-size: 0.9em; }
    .filters, .analyses { border-top: 1px solid var(--_border); padding-top: 8px; }
    .dim { opacity: 0.55; transition: opacity 0.2s; }
    @container (max-width: 940px) {
      .layout { grid-template-columns: minmax(170px, 230px) 1fr; }
      .projection { grid-column: 1 / -1; }
    }
    @container (max-width: 560px) {
      .layout { grid-template-columns: 1fr; }
    }
  `];

  /**
   * The model: `zfnet-mini` (the shipped default, trained on Fashion-MNIST), a built-in
   * architecture with seeded random weights (`zfnet`, `alexnet`, `alexnet-bvlc`, `caffenet`), or
   * the URL of an ONNX model (relative URLs resolve against the page).
   */
  @property({ reflect: true }) model = DEFAULT_MODEL;

  /**
   * An ONNX model file (a File from a file input or a drop, or any Blob): loaded instead of
   * `model` while set. The "Open model…" button sets it; setting `model` clears it.
   */
  @property({ attribute: false }) modelFile?: Blob;

  /** URL of an image to show (relative URLs resolve against the page). */
  @property() src = '';

  /**
   * The layer whose maps are shown: `conv1`..., or for imported graphs any tensor name
   * (`/layer4/layer4.1/relu_1/Relu_output_0`). Empty or unknown: the last convolution (graphs:
   * the last conv block's output).
   */
  @property({ reflect: true }) layer = '';

  /** The feature map projected; -1: the strongest map of the layer for this image. */
  @property({ type: Number, reflect: true }) map = -1;

  /**
   * Projection mode: `deconvnet` (the paper), `guided` (guided backprop) or `gradient`; or
   * `gradcam`: Grad-CAM of a class at the layer over the image, beside guided Grad-CAM.
   */
  @property({ reflect: true }) mode: ViewMode = 'deconvnet';

  /** The class Grad-CAM explains; -1: the image's top class. */
  @property({ type: Number, attribute: 'class-index' }) classIndex = -1;

  /** How the feature maps are ordered: `strength` (strongest first) or `index`. */
  @property({ reflect: true }) order: 'strength' | 'index' = 'strength';

  /** How many of the map's strongest positions are projected beside their patches (1-16). */
  @property({ type: Number }) top = 9;

  /** Seed of the built-in architectures' random weights. */
  @property({ type: Number }) seed = 1;

  /** Where the default model's files are (a URL ending in `/`); default: next to the engine. */
  @property({ attribute: 'model-base-url' }) modelBaseUrl = '';

  /**
   * Sample images for the gallery: `{ url, label }[]`. Default (undefined): the default model's
   * samples (Fashion-MNIST test images, models/samples/), which any model can take; `[]` for none.
   */
  @property({ attribute: false }) samples?: SampleImage[];

  /** Start the engine's worker some other way (e.g. from a copy hosted elsewhere). */
  @property({ attribute: false }) workerFactory?: WorkerFactory;

  @state() private chosen?: ChosenImage;
  @state() private progress = 0;
  /** Data-set analyses the worker is busy with (a new image waits for them). */
  @state() private waitingOn: string[] = [];

  private readonly engine = new EngineController(this, () => this.workerFactory ?? defaultWorker);
  private modelSetAt = performance.now();
  private firstShown = false;
  private shown?: ProjectResult;

  private readonly modelTask = new Task(this, {
    task: async ([source, file, base, seed]: readonly [string, Blob | undefined, string, number, number], { signal }) => {
      this.progress = 0;
      return this.engine.request({
        type: 'load', source: file ?? resolveModel(source), seed, modelBaseUrl: base ? absolute(base) : undefined,
      }, { signal, onProgress: (f) => { this.progress = f; } });
    },
    args: () => [this.model, this.modelFile, this.modelBaseUrl, this.seed, this.engine.session] as const,
    onComplete: (info) => emit(this, 'zf-model-loaded', info),
    onError: (e) => this.report('model', e),
  });

  private readonly imageTask = new Task(this, {
    task: async ([info, image]: readonly [ModelInfo | undefined, ChosenImage | undefined], { signal }) => {
      if (!info || !image) return initialState;
      return this.engine.request({ type: 'image', image: image.source, name: image.name }, { signal });
    },
    args: () => [done(this.modelTask), this.chosen] as const,
    onComplete: (r) => emit(this, 'zf-image-changed', { name: r.name, width: r.width, height: r.height, top: r.top }),
    onError: (e) => this.report('image', e),
  });

  private readonly mapsTask = new Task(this, {
    task: async ([image, layer]: readonly [ImageResult | undefined, string | undefined], { signal }) => {
      if (!image || !layer) return initialState;
      return this.engine.request({ type: 'maps', run: image.run, layer }, { signal });
    },
    args: () => [done(this.imageTask), this.activeLayer?.name] as const,
    onError: (e) => this.report('maps', e),
  });

  private readonly projectionTask = new Task(this, {
    task: async ([maps, layer, map, mode, top]: readonly [MapsResult | undefined, string | undefined, number, ViewMode, number],
                 { signal }) => {
      if (!maps || maps.layer !== layer || map < 0 || mode === 'gradcam') return initialState;
      return this.engine.request({ type: 'project', run: maps.run, layer: maps.layer, point: maps.point, map, mode, top }, { signal });
    },
    args: () => [done(this.mapsTask), this.activeLayer?.name, this.activeMap, this.mode, clampTop(this.top)] as const,
    onError: (e) => this.report('projection', e),
  });

  /** Grad-CAM, in `gradcam` mode only: at the active layer (or the default when it has no maps), with guided Grad-CAM. */
  private readonly gradcamTask = new Task(this, {
    task: async ([image, layer, classIndex, on]: readonly [ImageResult | undefined, string | undefined, number, boolean], { signal }) => {
      if (!image || !layer || !on) return initialState;
      const labels = done(this.modelTask)?.labels.length ?? 0;
      const c = Number.isInteger(classIndex) && classIndex >= 0 && classIndex < labels ? classIndex : undefined;
      return this.engine.request({ type: 'gradcam', run: image.run, layer, class: c, guided: true }, { signal });
    },
    args: () => [done(this.imageTask), this.gradcamLayer?.name, this.classIndex, this.mode === 'gradcam'] as const,
    onError: (e) => this.report('gradcam', e),
  });

  private readonly filtersTask = new Task(this, {
    task: async ([info]: readonly [ModelInfo | undefined], { signal }) => {
      if (!info || !info.layers.some((l) => l.kind === 'conv')) return initialState;
      return this.engine.request({ type: 'filters' }, { signal });
    },
    args: () => [done(this.modelTask)] as const,
    onError: (e) => this.report('filters', e),
  });

  /** The loaded model's description, once loaded. */
  get modelInfo(): ModelInfo | undefined { return done(this.modelTask); }

  /** The current image's top classes, once classified. */
  get topClasses() { return done(this.imageTask)?.top ?? []; }

  /** True while the model loads or work is in flight. */
  get busy(): boolean {
    return [this.modelTask, this.imageTask, this.mapsTask, this.projectionTask, this.gradcamTask].some((t) => t.status === TaskStatus.PENDING);
  }

  /**
   * The layer shown: `layer` if the model has it with feature maps, else its last convolution.
   * Imported graphs: `layer` if it names a tensor the picker offers (or a short-named layer,
   * `conv12`, at its default point), else the last conv block's output (ModelInfo.defaultLayer);
   * its `name` is the tensor's, its point the one it is.
   */
  get activeLayer(): LayerInfo | undefined {
    const info = done(this.modelTask);
    if (info?.tensors) {
      const offered = this.offered(info);
      let t = offered.byName.get(this.layer);
      const short = !t && this.layer ? info.layers.find((l) => l.name === this.layer) : undefined;
      if (short) t = offered.list.find((x) => x.layer === short.name && x.point === short.defaultPoint);
      t ??= offered.byName.get(info.defaultLayer ?? '') ?? offered.list[offered.list.length - 1];
      return t && tensorLayer(t);
    }
    const spatial = info?.layers.filter((l) => l.shape.length === 3) ?? [];
    return spatial.find((l) => l.name === this.layer) ?? spatial[spatial.length - 1];
  }

  private offeredFor?: { info: ModelInfo; list: TensorInfo[]; byName: Map<string, TensorInfo> };

  /** The tensors the picker offers, by name (once per model). */
  private offered(info: ModelInfo) {
    if (this.offeredFor?.info !== info) {
      const list = (info.tensors ?? []).filter((t) => t.projectable);
      this.offeredFor = { info, list, byName: new Map(list.map((t) => [t.name, t])) };
    }
    return this.offeredFor;
  }

  /**
   * Where Grad-CAM is computed: the active layer when it has maps larger than 1 x 1, else the
   * model's default layer (a dense layer's units or a pooled 1 x 1 map hold no "where").
   */
  private get gradcamLayer(): LayerInfo | undefined {
    const layer = this.activeLayer;
    const info = done(this.modelTask);
    if (!layer || !info) return undefined;
    if (layer.shape.length === 3 && layer.shape[1] * layer.shape[2] > 1) return layer;
    const fallback = info.tensors ? this.offered(info).byName.get(info.defaultLayer ?? '') : info.layers.find((l) => l.name === info.defaultLayer);
    if (!fallback) return layer;
    return 'projectable' in fallback ? tensorLayer(fallback) : fallback;
  }

  /** The map projected: `map` when valid for the layer, else the strongest map for this image. */
  get activeMap(): number {
    const maps = done(this.mapsTask);
    if (!maps) return -1;
    return this.map >= 0 && this.map < maps.shape[0] ? this.map : maps.order[0];
  }

  /**
   * Show an image: a File or Blob, a URL (relative to the page), an ImageData (copied), or RGBA
   * pixels `{ width, height, data }`.
   */
  setImage(image: Blob | string | ImageData | Pixels, name?: string): void {
    if (typeof image === 'string') {
      const url = absolute(image);
      this.chosen = { source: url, name: name ?? fileName(url), url };
    } else if (image instanceof Blob) {
      this.chosen = { source: image, name: name ?? ((image as File).name || 'image') };
    } else {
      // Copied: the pixels are transferred to the worker, which would empty the caller's array.
      this.chosen = { source: { width: image.width, height: image.height, data: new Uint8ClampedArray(image.data) }, name: name ?? 'image' };
    }
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    // A new way to start the worker applies from a fresh worker on.
    if (changed.has('workerFactory') && this.hasUpdated) this.engine.stop();
    // A model named after a file was opened replaces the file (the first update sets no model).
    if (changed.has('model') && changed.get('model') !== undefined && !changed.has('modelFile')) this.modelFile = undefined;
    if (changed.has('model') || changed.has('modelFile')) {
      this.modelSetAt = performance.now();
      this.firstShown = false;
    }
    if (changed.has('src') && this.src) this.setImage(this.src);
    if (!this.chosen && done(this.modelTask)) {
      const first = this.gallery[0];
      if (first) this.chosen = { source: first.url, name: first.label, url: first.url };
    }
  }

  /** What the model is called until it has loaded: the file's name, or `model`. */
  private get modelName(): string {
    return this.modelFile ? (this.modelFile as File).name || 'model file' : this.model;
  }

  private get modelInput(): HTMLInputElement | null {
    return this.renderRoot.querySelector<HTMLInputElement>('input[data-role="model-file"]');
  }

  private onModelFile = (event: Event) => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) this.modelFile = file;
    input.value = '';
  };

  /** The gallery's samples: `samples`, or the default model's. */
  get gallery(): SampleImage[] {
    return this.samples ?? (this.defaults ??= defaultSamples());
  }

  private defaults?: SampleImage[];

  /**
   * The gallery with absolute URLs, for the analyses: the worker fetches them, and it would
   * resolve a page-relative URL against its own script. The same array while the gallery is.
   */
  private get absoluteGallery(): SampleImage[] {
    const gallery = this.gallery;
    if (this.absolutes?.from !== gallery) this.absolutes = { from: gallery, to: gallery.map((s) => ({ ...s, url: absolute(s.url) })) };
    return this.absolutes.to;
  }

  private absolutes?: { from: SampleImage[]; to: SampleImage[] };

  render() {
    const info = done(this.modelTask);
    const loading = this.modelTask.status === TaskStatus.PENDING;
    // What failed upstream takes what depended on it off the screen; what is pending stays, dimmed.
    const failed = (t: Task<readonly unknown[], unknown>) => t.status === TaskStatus.ERROR && !ignorable(t.error);
    const modelFailed = failed(this.modelTask);
    const imageFailed = modelFailed || failed(this.imageTask);
    const image = modelFailed ? undefined : this.imageTask.value;
    const maps = imageFailed ? undefined : this.mapsTask.value;
    const projection = imageFailed || failed(this.mapsTask) ? undefined : this.projectionTask.value;
    const gradcam = imageFailed || this.mode !== 'gradcam' ? undefined : this.gradcamTask.value;
    const layer = this.activeLayer;
    const camLayer = this.mode === 'gradcam' ? this.gradcamLayer : undefined;
    const camNote = camLayer && layer && camLayer.name !== layer.name
      ? `${layer.name} has no spatial maps (${layer.shape.join('×')}): Grad-CAM is shown at ${camLayer.name}.` : '';
    return html`<section class="base" part="base" aria-label="Convolutional network visualizer"
        aria-busy=${this.busy ? 'true' : 'false'}>
      <header part="header">
        <h2>What the network sees</h2>
        ${info ? html`<span class="model" data-role="model">${info.name} · ${info.backend === 'simd' ? 'WebAssembly SIMD' : 'WebAssembly'}
          · ${info.input.join('×')} · ${info.classes} classes</span>` : nothing}
        ${loading ? html`<span class="loading"><progress part="progress" max="1" .value=${this.progress}
            aria-label=${`Loading the model ${this.modelName}`}></progress>
          Loading ${this.modelName}… ${Math.round(this.progress * 100)}%</span>` : nothing}
        <button type="button" class="open" part="open-model" @click=${() => this.modelInput?.click()}
            aria-label="Open an ONNX model file">Open model…</button>
        <input type="file" accept=".onnx,application/octet-stream" hidden data-role="model-file" @change=${this.onModelFile}>
      </header>
      ${this.errorBox(this.modelTask, `Could not load the model “${this.modelName}”`)}
      ${this.waitingOn.length && [this.imageTask, this.mapsTask, this.projectionTask].some((t) => t.status === TaskStatus.PENDING)
        ? html`<p class="waiting" role="status" part="waiting">The engine is busy with ${this.waitingOn.join(' and ')}
            (below); this view follows when it ends.
            <button type="button" class="order" @click=${() => this.renderRoot.querySelector<ZfAnalysesPanel>('zf-analyses-panel')?.cancel()}
              >Cancel it</button></p>` : nothing}
      <div class=${loading ? 'layout dim' : 'layout'}>
        <div class="panel image" part="panel">
          <h3 class="heading">Image</h3>
          <zf-image-input .samples=${this.gallery} .preview=${image?.input} .name=${this.chosen?.name ?? ''}
              selected=${this.chosen?.url ?? ''} ?disabled=${!info}
              exportparts="dropzone, preview, button, gallery, sample, sample-selected"
              @zf-image-select=${this.onImageSelect}></zf-image-input>
          ${this.errorBox(this.imageTask, 'Could not use this image')}
          <h3 class="heading">Prediction</h3>
          <zf-class-bars class=${this.imageTask.status === TaskStatus.PENDING ? 'dim' : ''}
              .scores=${image?.top ?? []} exportparts="bar, fill, label, value"></zf-class-bars>
        </div>
        <div class="panel maps" part="panel">
          <h3 class="heading">Layer</h3>
          <zf-layer-picker .layers=${info?.layers ?? []} .tensors=${info?.tensors} .value=${layer?.name ?? ''}
              exportparts="option, option-checked, search, tree, scope, tensor, tensor-selected" @zf-layer-change=${this.onLayer}></zf-layer-picker>
          <div class="row">
            <h3 class="heading">Feature maps${maps ? html` <span class="muted">(${maps.shape[0]}, ${this.order === 'strength' ? 'strongest first' : 'in order'})</span>` : nothing}</h3>
            <button class="order" type="button" @click=${this.onOrder}
                aria-label=${`Feature maps are ${this.order === 'strength' ? 'strongest first' : 'in order of number'}; sort by ${this.order === 'strength' ? 'number' : 'strength'}`}
                >Sort by ${this.order === 'strength' ? 'number' : 'strength'}</button>
          </div>
          <zf-feature-grid class=${this.mapsTask.status === TaskStatus.PENDING ? 'dim' : ''}
              .maps=${maps} .selected=${this.activeMap} .order=${this.order}
              exportparts="grid, map, map-selected" @zf-map-select=${this.onMap}></zf-feature-grid>
          ${this.errorBox(this.mapsTask, 'Could not read the feature maps')}
        </div>
        <div class="panel projection" part="panel">
          <h3 class="heading">${this.mode === 'gradcam' ? 'Grad-CAM' : 'Projection to pixel space'}</h3>
          <zf-projection-view .result=${projection} .input=${image?.input} .mode=${this.mode}
              .gradcam=${gradcam} .labels=${info?.labels ?? []} .classIndex=${this.classIndex} .note=${camNote}
              ?pending=${(this.mode === 'gradcam' ? this.gradcamTask : this.projectionTask).status === TaskStatus.PENDING}
              exportparts="projection, unit, mode, modes, box, gradcam, guided-gradcam, class"
              @zf-mode-change=${this.onMode} @zf-class-change=${this.onClass}></zf-projection-view>
          ${this.mode === 'gradcam' ? this.errorBox(this.gradcamTask, 'Could not compute Grad-CAM') : this.errorBox(this.projectionTask, 'Could not project this map')}
        </div>
      </div>
      <div class="panel filters" part="panel">
        <h3 class="heading">First-layer filters</h3>
        <zf-filter-grid .filters=${modelFailed ? undefined : this.filtersTask.value}></zf-filter-grid>
        ${this.errorBox(this.filtersTask, 'Could not show the filters')}
      </div>
      ${this.analysesPanel(info, modelFailed || imageFailed ? undefined : done(this.imageTask))}
    </section>`;
  }

  private analysesPanel(info: ModelInfo | undefined, image: ImageResult | undefined) {
    return html`<div class="panel analyses" part="panel">
      <h3 class="heading">Analyses</h3>
      <zf-analyses-panel @zf-analysis-busy=${(e: CustomEvent<ZfAnalysisBusyDetail>) => { this.waitingOn = e.detail.analyses.map((a) => a.label); }}
          .engine=${this.engine} .info=${info} .image=${image} .samples=${this.absoluteGallery}
          exportparts="tabs, tab, tab-selected, error, controls, input, run, analysis-progress, caption, export, heatmap, legend, kind, chart, images, block, choices, choice, image, stage, part-preview, part-box, table, snapshot, evolution-grid, heading, cell, model, title, filters, summary, layer2"
          ></zf-analyses-panel>
    </div>`;
  }

  private errorBox(task: Task<readonly unknown[], unknown>, title: string) {
    if (task.status !== TaskStatus.ERROR || ignorable(task.error)) return nothing;
    const e = task.error as Error;
    return html`<div role="alert" part="error"><strong>${title}</strong>${e?.message ?? String(e)}</div>`;
  }

  protected async updated(): Promise<void> {
    void this.gradcamShown();
    const projection = done(this.projectionTask);
    if (!projection || projection === this.shown) return;
    this.shown = projection;
    const view = this.renderRoot.querySelector<ZfProjectionView>('zf-projection-view');
    await view?.whenPainted();
    if (done(this.projectionTask) !== projection) return;
    const detail: ZfProjectionShownDetail = {
      layer: projection.layer, map: projection.map, mode: projection.mode, units: projection.units.length,
      workerMs: projection.ms,
    };
    if (!this.firstShown) {
      this.firstShown = true;
      detail.sinceModelSet = performance.now() - this.modelSetAt;
    }
    emit(this, 'zf-projection-shown', detail);
  }

  private shownCam?: GradcamResultMessage;

  /** zf-gradcam-shown, once per Grad-CAM result, after it is painted. */
  private async gradcamShown(): Promise<void> {
    const cam = this.mode === 'gradcam' ? done(this.gradcamTask) : undefined;
    if (!cam || cam === this.shownCam) return;
    this.shownCam = cam;
    await this.renderRoot.querySelector<ZfProjectionView>('zf-projection-view')?.whenPainted();
    if (done(this.gradcamTask) !== cam || this.mode !== 'gradcam') return;
    emit<ZfGradcamShownDetail>(this, 'zf-gradcam-shown', {
      layer: cam.layer, class: cam.class, label: cam.label, probability: cam.probability, guided: !!cam.guided, workerMs: cam.ms,
    });
  }

  private report(stage: ZfErrorDetail['stage'], e: unknown): void {
    if (ignorable(e)) return;
    const error = e instanceof Error ? e : new Error(String(e));
    emit<ZfErrorDetail>(this, 'zf-error', { stage, name: error.name, message: error.message });
  }

  private selectionChanged(): void {
    emit<ZfSelectionDetail>(this, 'zf-selection-changed', { layer: this.activeLayer?.name ?? this.layer, map: this.map, mode: this.mode });
  }

  private onImageSelect = (event: CustomEvent<ImageSelection>) => {
    const { source, name } = event.detail;
    if (typeof source === 'string') {
      const url = absolute(source);
      this.chosen = { source: url, name, url };
    } else {
      this.chosen = { source, name };
    }
  };

  private onLayer = (event: CustomEvent<{ layer: string }>) => {
    this.layer = event.detail.layer;
    this.map = -1;
    this.selectionChanged();
  };

  private onMap = (event: CustomEvent<{ map: number }>) => {
    this.map = event.detail.map;
    this.selectionChanged();
  };

  private onMode = (event: CustomEvent<{ mode: ViewMode }>) => {
    this.mode = event.detail.mode;
    this.selectionChanged();
  };

  private onClass = (event: CustomEvent<{ classIndex: number }>) => {
    this.classIndex = event.detail.classIndex;
  };

  private onOrder = () => {
    this.order = this.order === 'strength' ? 'index' : 'strength';
  };
}

/** A graph tensor as a layer of the element (its name is the tensor's; one point, the one it is). */
function tensorLayer(t: TensorInfo): LayerInfo {
  const point = t.point ?? 'tensor';
  return { name: t.name, kind: t.shape.length === 3 ? 'conv' : 'dense', points: [point], defaultPoint: point, shape: t.shape };
}

/** A task's value when it completed for its current arguments, else undefined. */
function done<T>(task: Task<readonly unknown[], T>): T | undefined {
  return task.status === TaskStatus.COMPLETE ? task.value : undefined;
}

function clampTop(top: number): number {
  return Number.isFinite(top) ? Math.max(1, Math.min(16, Math.round(top))) : 9;
}

function absolute(url: string): string {
  return new URL(url, document.baseURI).href;
}

function fileName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
  } catch {
    return url;
  }
}

/** Built-in names stay names; anything that looks like a path or URL becomes absolute. */
function resolveModel(model: string): string {
  return /[/.:]/.test(model) ? absolute(model) : model;
}

if (!customElements.get('zf-visualizer')) customElements.define('zf-visualizer', ZfVisualizer);

declare global {
  interface HTMLElementTagNameMap { 'zf-visualizer': ZfVisualizer }
  interface HTMLElementEventMap {
    'zf-model-loaded': CustomEvent<ModelInfo>;
    'zf-image-changed': CustomEvent<{ name: string; width: number; height: number; top: { index: number; label: string; probability: number }[] }>;
    'zf-selection-changed': CustomEvent<ZfSelectionDetail>;
    'zf-projection-shown': CustomEvent<ZfProjectionShownDetail>;
    'zf-gradcam-shown': CustomEvent<ZfGradcamShownDetail>;
    'zf-error': CustomEvent<ZfErrorDetail>;
  }
}
