import { LitElement, css, html, nothing, unsafeCSS, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import type { LayerInfo, TensorInfo } from '../../src/worker/protocol.js';
import {
  describeTensor, groupsOf, offeredTensors, shapeText, tensorTree, visibleRows, type TreeGroup, type TreeRow,
} from './tensor-tree.js';

let uid = 0;

/**
 * Picks the layer whose feature maps are shown.
 *
 * Built-in models (`layers`): a row of radio buttons, one per convolution layer with feature
 * maps; Tab moves into the group, the arrow keys move between layers.
 *
 * Imported graphs (`tensors`, ModelInfo.tensors): every tensor a projection can start from
 * ([C, H, W] maps and dense layers' outputs), as a tree grouped by module scope (collapsible;
 * deeper scopes shown relative to their parent) with each tensor's shape, and a search box that
 * filters by substring of the name (or the short layer name, `conv12`, or the op kind). Keyboard:
 * typing filters, the up and down arrows move through the rows, right and left open and close a
 * group, Enter picks the tensor (or opens the group), Escape clears the search.
 *
 * @summary The layers (or a graph's tensors) with feature maps; pick one.
 * @fires zf-layer-change - The user picked a layer; `detail: { layer }` (a layer or tensor name).
 * @csspart group - The radio group (built-in models).
 * @csspart option - One layer's button (a label around a radio input).
 * @csspart option-checked - The picked layer's button.
 * @csspart search - The search box (graphs).
 * @csspart tree - The tree of tensors (graphs).
 * @csspart scope - A group's row (graphs).
 * @csspart tensor - A tensor's row (graphs).
 * @csspart tensor-selected - The picked tensor's row.
 * @cssprop [--zf-accent=#3b6fd8] - Colour of the picked layer.
 * @cssprop [--zf-tree-max-height=320px] - Height of the tensor tree before it scrolls.
 */
export class ZfLayerPicker extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
    .options { display: flex; flex-wrap: wrap; gap: 4px; }
    label {
      display: inline-flex; flex-direction: column; align-items: center; cursor: pointer;
      padding: 4px 10px; border: 1px solid var(--_border); border-radius: var(--_radius);
      background: var(--_surface); line-height: 1.2; user-select: none;
    }
    label:has(input:focus-visible) { box-shadow: var(--_focus); }
    label.checked { background: var(--_accent); color: var(--_accent-fg); border-color: var(--_accent); }
    .shape { font-size: 0.75em; opacity: 0.8; font-variant-numeric: tabular-nums; }
    label input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }

    .graph { display: grid; gap: 4px; min-width: 0; }
    .current { font-size: 0.8em; color: var(--_muted); overflow-wrap: anywhere; }
    .current b { color: var(--_fg); font-weight: 600; }
    input[type='search'] {
      font: inherit; color: inherit; width: 100%; padding: 4px 8px; border: 1px solid var(--_border);
      border-radius: var(--_radius); background: var(--_bg);
    }
    .tree {
      max-height: var(--zf-tree-max-height, 320px); overflow: auto; border: 1px solid var(--_border);
      border-radius: var(--_radius); background: var(--_surface); padding: 2px 0; font-size: 0.85em;
    }
    .row {
      display: flex; align-items: baseline; gap: 6px; padding: 1px 6px 1px calc(6px + var(--_depth, 0) * 12px);
      cursor: pointer; white-space: nowrap; line-height: 1.45; user-select: none;
      /* Off-screen rows cost no layout or paint until scrolled to. */
      content-visibility: auto; contain-intrinsic-size: auto 1.6em;
    }
    ${unsafeCSS(Array.from({ length: 23 }, (_, d) => `.row[aria-level="${d + 2}"] { --_depth: ${d + 1}; }`).join('\n'))}
    .row:hover { background: color-mix(in srgb, var(--_accent) 10%, transparent); }
    .row.active { outline: 2px solid var(--_accent); outline-offset: -2px; }
    .row.selected { background: var(--_accent); color: var(--_accent-fg); }
    .row.selected .meta { color: inherit; opacity: 0.85; }
    .name { overflow: hidden; text-overflow: ellipsis; min-width: 0; flex: 1 1 auto; }
    .scope .name { font-weight: 600; }
    .twisty { display: inline-block; width: 0.9em; flex: none; color: var(--_muted); }
    .meta { flex: none; color: var(--_muted); font-size: 0.9em; font-variant-numeric: tabular-nums; }
    .badge { flex: none; font-size: 0.8em; border: 1px solid currentColor; border-radius: 3px; padding: 0 3px; opacity: 0.75; }
    .count { margin: 0; font-size: 0.75em; color: var(--_muted); }
    .none { padding: 4px 8px; color: var(--_muted); }
  `];

  /** The model's layers (from `zf-model-loaded`'s detail); only those with [C, H, W] maps are offered. */
  @property({ attribute: false }) layers: LayerInfo[] = [];

  /**
   * An imported graph's tensors (ModelInfo.tensors). When set, the picker is a searchable tree
   * of the tensors a projection can start from, instead of the layers' radio group.
   */
  @property({ attribute: false }) tensors?: TensorInfo[];

  /** The picked layer's name, e.g. `conv5`, or a tensor's name. */
  @property({ reflect: true }) value = '';

  /** Accessible name of the group. */
  @property() label = 'Layer';

  /** The graph's search text. */
  @state() private query = '';
  /** The open groups' scopes (without a search). */
  @state() private expanded = new Set<string>();
  /** The row the keyboard is on: `t:` + a tensor name or `g:` + a group's scope. */
  @state() private active = '';

  private readonly name = `zf-layer-${++uid}`;
  private tree?: { from: TensorInfo[]; offered: TensorInfo[]; root: TreeGroup };
  private rows: TreeRow[] = [];
  /**
   * Rows in the DOM: a search that matches hundreds of tensors shows them a slice per frame (as
   * the feature grid builds its thumbnails), so no task on the page's thread grows long.
   */
  static readonly SLICE = 100;
  private limit = ZfLayerPicker.SLICE;
  private limitQuery = '';
  private frame = 0;
  /** Scroll the active row into view after the next render (it moved by the keyboard or a new value). */
  private reveal = false;

  private get graph() {
    const tensors = this.tensors;
    if (!tensors?.length) return undefined;
    if (this.tree?.from !== tensors) {
      const offered = offeredTensors(tensors);
      this.tree = { from: tensors, offered, root: tensorTree(offered) };
    }
    return this.tree;
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    const graph = this.graph;
    if (!graph) return;
    if (changed.has('tensors')) {
      this.query = '';
      this.expanded = new Set();
      // A graph that is one group at the top opens it.
      const top = graph.root.children;
      if (top.length === 1 && top[0].type === 'group') this.expanded.add(top[0].scope);
    }
    if (changed.has('value') || changed.has('tensors')) {
      // The picked tensor's groups open, and the keyboard starts from it.
      const path = groupsOf(graph.root, this.value);
      if (path.some((s) => !this.expanded.has(s))) this.expanded = new Set([...this.expanded, ...path]);
      if (path.length || graph.offered.some((t) => t.name === this.value)) this.active = `t:${this.value}`;
      this.reveal = true;
    }
  }

  render() {
    const graph = this.graph;
    return graph ? this.renderGraph(graph) : this.renderLayers();
  }

  private renderLayers() {
    const layers = this.layers.filter((l) => l.shape.length === 3);
    return html`<fieldset part="group" role="radiogroup" aria-label=${this.label}>
      <legend class="visually-hidden">${this.label}</legend>
      <div class="options">
        ${layers.map((l) => {
          const checked = l.name === this.value;
          const [c, h, w] = l.shape;
          return html`<label part=${checked ? 'option option-checked' : 'option'} class=${checked ? 'checked' : ''}>
            <input type="radio" name=${this.name} .value=${l.name} .checked=${checked}
                   aria-label=${`${l.name}, ${c} maps of ${h} by ${w}`}
                   @change=${() => this.pick(l.name)}>
            <span>${l.name}</span><span class="shape" aria-hidden="true">${c}×${h}×${w}</span>
          </label>`;
        })}
      </div>
    </fieldset>`;
  }

  private renderGraph(graph: NonNullable<ZfLayerPicker['tree']>) {
    const rows = this.rows = visibleRows(graph.root, this.expanded, this.query);
    const index = new Map(rows.map((r, i) => [r, i]));
    const id = (row: TreeRow) => `${this.name}-${index.get(row)}`;
    const at = rows.findIndex((r) => keyOf(r) === this.active);
    const activeRow = rows[at];
    if (this.query !== this.limitQuery) {
      this.limitQuery = this.query;
      this.limit = ZfLayerPicker.SLICE;
    }
    // The active row is always in the DOM (aria-activedescendant names it).
    this.limit = Math.min(rows.length, Math.max(this.limit, ZfLayerPicker.SLICE, at + 1));
    const shown = this.limit < rows.length ? rows.slice(0, this.limit) : rows;
    const picked = graph.offered.find((t) => t.name === this.value);
    const matching = this.query.trim() ? rows.filter((r) => r.type === 'tensor').length : graph.offered.length;
    const treeId = `${this.name}-tree`;
    return html`<div class="graph">
      <div class="current" aria-live="polite">${picked
        ? html`<b>${picked.name}</b> · ${shapeText(picked.shape)}${picked.layer ? ` · ${picked.layer} ${picked.point}` : ''}`
        : 'No tensor picked'}</div>
      <input type="search" part="search" role="combobox" aria-expanded="true" aria-haspopup="tree"
          aria-autocomplete="list" aria-controls=${treeId} aria-activedescendant=${activeRow ? id(activeRow) : nothing}
          aria-label=${`${this.label}: search the model's ${graph.offered.length} tensors; arrow keys move, Enter picks`}
          placeholder=${`Search ${graph.offered.length} tensors…`} autocomplete="off" spellcheck="false"
          .value=${this.query} @input=${this.onInput} @keydown=${this.onKey}>
      <div class="tree" part="tree" role="tree" id=${treeId} tabindex="-1"
          aria-label=${`${this.label}: the model's tensors by module`} @click=${this.onClick} @keydown=${this.onKey}>
        ${rows.length ? repeat(shown, keyOf, (row) => this.renderRow(row, id(row), row === activeRow))
          : html`<div class="none">No tensor matches “${this.query}”.</div>`}
      </div>
      <p class="count" aria-live="polite">${this.query.trim()
        ? `${matching} of ${graph.offered.length} tensors match`
        : `${graph.offered.length} tensors in ${countGroups(graph.root)} groups`}</p>
    </div>`;
  }

  private renderRow(row: TreeRow, id: string, active: boolean) {
    if (row.type === 'group') {
      const g = row.group;
      return html`<div class="row scope${active ? ' active' : ''}" part="scope" role="treeitem" id=${id}
          data-key=${keyOf(row)} aria-level=${row.depth + 1} aria-expanded=${row.expanded ? 'true' : 'false'}
          aria-label=${`${g.scope}, ${g.count} tensors`}>
        <span class="twisty" aria-hidden="true">${row.expanded ? '▾' : '▸'}</span>
        <span class="name" title=${g.scope}>${g.label}</span><span class="meta">${g.count}</span>
      </div>`;
    }
    const t = row.item.tensor;
    const selected = t.name === this.value;
    return html`<div class="row${selected ? ' selected' : ''}${active ? ' active' : ''}"
        part=${selected ? 'tensor tensor-selected' : 'tensor'} role="treeitem" id=${id} data-key=${keyOf(row)}
        aria-level=${row.depth + 1} aria-selected=${selected ? 'true' : 'false'} aria-label=${describeTensor(t)}>
      <span class="twisty" aria-hidden="true"></span>
      <span class="name" title=${t.name}>${row.item.label}</span>
      ${t.layer ? html`<span class="badge" aria-hidden="true">${t.layer}</span>` : nothing}
      <span class="meta" aria-hidden="true">${shapeText(t.shape)}</span>
    </div>`;
  }

  protected updated(): void {
    if (this.limit < this.rows.length && !this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        if (!this.isConnected) return;
        this.limit += ZfLayerPicker.SLICE;
        this.requestUpdate();
      });
    }
    if (!this.reveal) return;
    this.reveal = false;
    const row = this.renderRoot.querySelector<HTMLElement>(`.row[data-key="${CSS.escape(this.active)}"]`);
    const tree = row?.closest<HTMLElement>('.tree');
    // Scroll the tree only (never the page): the row into the tree's view.
    if (row && tree) {
      const top = row.offsetTop - tree.offsetTop, bottom = top + row.offsetHeight;
      if (top < tree.scrollTop) tree.scrollTop = top;
      else if (bottom > tree.scrollTop + tree.clientHeight) tree.scrollTop = bottom - tree.clientHeight;
    }
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  /** True once every row of the tree (or the search's matches) is in the DOM. */
  get complete(): boolean {
    return !this.graph || this.limit >= this.rows.length;
  }

  private onInput = (e: Event) => {
    this.query = (e.target as HTMLInputElement).value;
    // The keyboard goes to the first match (Enter picks it); with no text, back to the picked tensor.
    const first = visibleRows(this.graph!.root, this.expanded, this.query).find((r) => r.type === 'tensor');
    this.active = this.query.trim() ? (first ? keyOf(first) : '') : `t:${this.value}`;
    this.reveal = true;
  };

  private onClick = (e: MouseEvent) => {
    const row = (e.target as Element).closest<HTMLElement>('.row');
    const key = row?.dataset.key;
    if (!key) return;
    this.active = key;
    if (key.startsWith('g:')) this.toggle(key.slice(2));
    else this.pick(key.slice(2));
  };

  private onKey = (e: KeyboardEvent) => {
    const rows = this.rows;
    if (e.key === 'Escape') {
      if (!this.query) return;
      e.preventDefault();
      this.query = '';
      this.active = `t:${this.value}`;
      this.reveal = true;
      return;
    }
    if (!rows.length) return;
    const at = rows.findIndex((r) => keyOf(r) === this.active);
    const row = rows[at];
    const input = e.target instanceof HTMLInputElement ? e.target : undefined;
    // In the search box, left and right move the caret unless it is at the end of the text.
    const caretFree = !input || input.value === '' || (input.selectionStart === input.value.length && input.selectionEnd === input.value.length);
    // While searching, the groups are only headings: the arrows go from match to match.
    const stops = this.query.trim() ? rows.flatMap((r, i) => (r.type === 'tensor' ? [i] : [])) : rows.map((_, i) => i);
    const move = (to: number) => {
      e.preventDefault();
      this.active = keyOf(rows[to]);
      this.reveal = true;
    };
    const step = (by: number) => {
      if (!stops.length) return;
      const here = stops.indexOf(at);
      const from = here >= 0 ? here : by > 0 ? -1 : stops.length;
      move(stops[Math.max(0, Math.min(stops.length - 1, from + by))]);
    };
    switch (e.key) {
      case 'ArrowDown': return step(1);
      case 'ArrowUp': return step(-1);
      case 'PageDown': return step(10);
      case 'PageUp': return step(-10);
      case 'Home': if (!input && stops.length) move(stops[0]); return;
      case 'End': if (!input && stops.length) move(stops[stops.length - 1]); return;
      case 'ArrowRight':
        if (!caretFree || !row || this.query.trim()) return;
        if (row.type === 'group') {
          e.preventDefault();
          if (!row.expanded) this.toggle(row.group.scope);
          else move(at + 1);
        }
        return;
      case 'ArrowLeft': {
        if (!caretFree || !row || this.query.trim()) return;
        if (row.type === 'group' && row.expanded) {
          e.preventDefault();
          this.toggle(row.group.scope);
        } else if (row.parent) {
          // To the enclosing group's row.
          const parent = row.parent;
          move(rows.findIndex((r) => r.type === 'group' && r.group === parent));
        }
        return;
      }
      case 'Enter':
        if (!row) return;
        e.preventDefault();
        if (row.type === 'group') this.toggle(row.group.scope);
        else this.pick(row.item.tensor.name);
        return;
      default:
    }
  };

  private toggle(scope: string): void {
    const expanded = new Set(this.expanded);
    if (!expanded.delete(scope)) expanded.add(scope);
    this.expanded = expanded;
  }

  private pick(layer: string): void {
    this.value = layer;
    emit(this, 'zf-layer-change', { layer });
  }
}

function keyOf(row: TreeRow): string {
  return row.type === 'group' ? `g:${row.group.scope}` : `t:${row.item.tensor.name}`;
}

function countGroups(group: TreeGroup): number {
  return group.children.reduce((n, c) => n + (c.type === 'group' ? 1 + countGroups(c) : 0), 0);
}

if (!customElements.get('zf-layer-picker')) customElements.define('zf-layer-picker', ZfLayerPicker);

declare global {
  interface HTMLElementTagNameMap { 'zf-layer-picker': ZfLayerPicker }
}
