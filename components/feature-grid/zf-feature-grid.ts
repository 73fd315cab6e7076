import { LitElement, css, html, type PropertyValues } from 'lit';
import { property } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { emit } from '../shared/events.js';
import type { MapsResult } from '../../src/worker/protocol.js';

/**
 * Every feature map of one layer as a thumbnail, labelled with its number and its strongest
 * activation, ordered by strength (or by number). One colour scale for the whole layer, so a
 * brighter map is a stronger one. A listbox: the arrow keys (by row and column), Home and End
 * move the selection; clicking a map selects it.
 *
 * @summary Thumbnails of all feature maps of a layer; pick one.
 * @fires zf-map-select - A map was selected by click or keyboard; `detail: { map }`.
 * @csspart grid - The listbox holding the thumbnails.
 * @csspart map - One thumbnail (an option).
 * @csspart map-selected - The selected thumbnail.
 * @csspart thumb - A thumbnail's picture.
 * @csspart caption - A thumbnail's number and strength.
 * @cssprop [--zf-thumb-size=56px] - Width and height of a thumbnail.
 * @cssprop [--zf-accent=#3b6fd8] - Outline of the selected map.
 */
export class ZfFeatureGrid extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .grid {
      display: grid; gap: 6px; padding: 3px;
      grid-template-columns: repeat(auto-fill, minmax(calc(var(--_t) + 8px), 1fr));
      --_t: var(--zf-thumb-size, 56px);
      max-height: var(--zf-grid-max-height, 420px); overflow: auto;
    }
    .map {
      display: flex; flex-direction: column; align-items: stretch; gap: 2px; cursor: pointer;
      padding: 2px; border-radius: 4px; border: 2px solid transparent; min-width: 0;
      /* Off-screen thumbnails cost no layout or paint until scrolled to. */
      content-visibility: auto; contain-intrinsic-size: auto calc(var(--_t) + 24px);
    }
    .map:hover { border-color: var(--_border); }
    .map[aria-selected='true'] { border-color: var(--_accent); background: var(--_surface); }
    .thumb {
      width: var(--_t); aspect-ratio: var(--_aspect); align-self: center; display: block; border-radius: 2px;
      background-color: #440154; background-image: var(--_sheet); background-repeat: no-repeat;
      background-size: calc(var(--_t) * var(--_sw) / var(--_w)) auto;
      image-rendering: pixelated;
    }
    .caption {
      font-size: 0.72em; line-height: 1.15; display: flex; justify-content: space-between; gap: 2px;
      font-variant-numeric: tabular-nums; color: var(--_muted); white-space: nowrap; overflow: hidden;
    }
    .caption b { color: var(--_fg); font-weight: 600; }
    .empty { color: var(--_muted); }
  `];

  /** The maps to show (a `maps` result of the engine's worker). */
  @property({ attribute: false }) maps?: MapsResult;

  /** The selected map's number, -1 for none. */
  @property({ type: Number, reflect: true }) selected = -1;

  /** `strength` (strongest first, the default) or `index` (map 0 first). */
  @property({ reflect: true }) order: 'strength' | 'index' = 'strength';

  /** Accessible name of the listbox (default: "Feature maps of LAYER"). */
  @property() label = '';

  /**
   * The thumbnails are plain DOM built here rather than by the template: a layer can have
   * hundreds of maps, and building them a slice per frame, then touching only the two whose
   * selection changes, keeps every task on the page's thread short.
   */
  private built?: { maps: MapsResult; order: string; sequence: number[]; count: number; byMap: Map<number, HTMLElement> };
  private frame = 0;
  static readonly SLICE = 32;

  /** The sheet's object URL, and the sheet it was made from. */
  private url?: string;
  private urlFor?: Blob;

  /** True once every map of `maps` has its thumbnail in the DOM. */
  get complete(): boolean {
    return !this.maps || (this.built?.maps === this.maps && this.built.order === this.order && this.built.count >= this.maps.shape[0]);
  }

  private get sequence(): number[] {
    const maps = this.maps;
    if (!maps) return [];
    return this.order === 'index' ? Array.from({ length: maps.shape[0] }, (_, i) => i) : maps.order;
  }

  render() {
    const maps = this.maps;
    if (!maps) return html`<p class="empty">No feature maps yet.</p>`;
    const [c, h, w] = maps.shape;
    const url = this.sheetUrl(maps.sheet);
    const sheetWidth = maps.columns * (w + maps.gap) - maps.gap;
    const style = { '--_sheet': `url("${url}")`, '--_sw': `${sheetWidth}`, '--_w': `${w}`, '--_aspect': `${w} / ${h}` };
    return html`<div class="grid" part="grid" role="listbox" tabindex="-1" style=${styleProps(style)}
        aria-label=${this.label || `Feature maps of ${maps.layer} (${c} maps of ${h} by ${w})`}
        @keydown=${this.onKey} @click=${this.onClick}></div>`;
  }

  private get grid(): HTMLElement | null {
    return this.renderRoot.querySelector('.grid');
  }

  protected updated(changed: PropertyValues<this>): void {
    const grid = this.grid;
    const maps = this.maps;
    if (!grid || !maps) {
      this.built = undefined;
      return;
    }
    if (this.built?.maps !== maps || this.built.order !== this.order || !grid.firstChild) {
      grid.replaceChildren();
      this.built = { maps, order: this.order, sequence: this.sequence, count: 0, byMap: new Map() };
      this.buildSlice();
    }
    this.markSelection();
    if (changed.has('selected') && this.matches(':focus-within')) this.focusMap(this.selected);
  }

  /** Add the next slice of thumbnails, and schedule the one after. */
  private buildSlice(): void {
    const built = this.built!;
    const grid = this.grid!;
    const { maps, sequence, byMap } = built;
    const [c, h, w] = maps.shape;
    const end = Math.min(sequence.length, built.count + ZfFeatureGrid.SLICE);
    const fragment = document.createDocumentFragment();
    for (let rank = built.count; rank < end; rank++) {
      const m = sequence[rank];
      const item = document.createElement('div');
      item.className = 'map';
      item.setAttribute('role', 'option');
      item.setAttribute('part', 'map');
      item.setAttribute('aria-selected', 'false');
      item.tabIndex = -1;
      item.dataset.map = String(m);
      item.setAttribute('aria-label', `map ${m}, strongest activation ${format(maps.strengths[m])}, rank ${rank + 1} of ${c}`);
      const thumb = document.createElement('span');
      thumb.className = 'thumb';
      thumb.setAttribute('part', 'thumb');
      const x = (m % maps.columns) * (w + maps.gap), y = Math.floor(m / maps.columns) * (h + maps.gap);
      thumb.style.backgroundPosition = `calc(var(--_t) * -${x} / ${w}) calc(var(--_t) * -${y} / ${w})`;
      const caption = document.createElement('span');
      caption.className = 'caption';
      caption.setAttribute('part', 'caption');
      caption.setAttribute('aria-hidden', 'true');
      const number = document.createElement('b');
      number.textContent = String(m);
      const value = document.createElement('span');
      value.textContent = format(maps.strengths[m]);
      caption.append(number, value);
      item.append(thumb, caption);
      fragment.append(item);
      byMap.set(m, item);
    }
    grid.append(fragment);
    built.count = end;
    this.markSelection();
    // The map picked by the keyboard (End, PageDown) may have just been built.
    const selected = byMap.get(this.selected);
    if (selected && this.matches(':focus-within') && !selected.matches(':focus')) selected.focus();
    if (end < sequence.length && !this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        if (this.built === built && this.isConnected) this.buildSlice();
      });
    }
  }

  private marked?: HTMLElement;

  /** aria-selected, the selected part and the one tab stop: on the selected map (or the first). */
  private markSelection(): void {
    const built = this.built;
    if (!built) return;
    const target = built.byMap.get(this.selected) ?? built.byMap.get(built.sequence[0]);
    if (this.marked && this.marked !== target) {
      this.marked.setAttribute('aria-selected', 'false');
      this.marked.setAttribute('part', 'map');
      this.marked.tabIndex = -1;
    }
    this.marked = target;
    if (!target) return;
    const on = Number(target.dataset.map) === this.selected;
    if (target.getAttribute('aria-selected') !== String(on)) {
      target.setAttribute('aria-selected', String(on));
      target.setAttribute('part', on ? 'map map-selected' : 'map');
    }
    target.tabIndex = 0;
  }

  private sheetUrl(sheet: Blob): string {
    if (sheet !== this.urlFor) {
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(sheet);
      this.urlFor = sheet;
    }
    return this.url!;
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = this.urlFor = undefined;
    this.built = undefined;
    this.marked = undefined;
    this.grid?.replaceChildren();
    this.requestUpdate();
  }

  /** Select a map as the user would (emits `zf-map-select`). */
  select(map: number): void {
    if (!this.maps || !(map >= 0 && map < this.maps.shape[0])) return;
    const changed = map !== this.selected;
    this.selected = map;
    this.focusMap(map);
    if (changed) emit(this, 'zf-map-select', { map });
  }

  private focusMap(map: number): void {
    this.built?.byMap.get(map)?.focus({ preventScroll: false });
  }

  private columns(): number {
    const options = [...(this.grid?.children ?? [])] as HTMLElement[];
    if (options.length < 2) return 1;
    const top = options[0].offsetTop;
    const n = options.findIndex((o) => o.offsetTop !== top);
    return n < 0 ? options.length : n;
  }

  private onClick = (event: MouseEvent) => {
    const option = (event.target as Element).closest<HTMLElement>('[role="option"]');
    if (option) this.select(Number(option.dataset.map));
  };

  private onKey = (event: KeyboardEvent) => {
    const sequence = this.sequence;
    if (!sequence.length) return;
    const at = Math.max(0, sequence.indexOf(this.selected));
    const cols = this.columns();
    const moves: Record<string, number> = {
      ArrowRight: at + 1, ArrowLeft: at - 1, ArrowDown: at + cols, ArrowUp: at - cols,
      Home: 0, End: sequence.length - 1, PageDown: at + cols * 4, PageUp: at - cols * 4,
    };
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.select(sequence[at]);
      return;
    }
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = Math.max(0, Math.min(sequence.length - 1, moves[event.key]));
    this.select(sequence[next]);
  };
}

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(2);
  return v.toExponential(0);
}

if (!customElements.get('zf-feature-grid')) customElements.define('zf-feature-grid', ZfFeatureGrid);

declare global {
  interface HTMLElementTagNameMap { 'zf-feature-grid': ZfFeatureGrid }
}
