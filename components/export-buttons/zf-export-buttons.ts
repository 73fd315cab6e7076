import { LitElement, css, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { download } from '../shared/export.js';

/** One file the user can save: made only when asked for (a PNG of a big sheet takes a moment). */
export interface ExportItem {
  /** The button's text, e.g. `PNG`, `SVG`, `JSON`. */
  label: string;
  /** What the file holds, for the button's accessible name, e.g. "the occlusion maps". */
  what: string;
  filename: string;
  make: () => Blob | Promise<Blob>;
}

/** `zf-export`'s detail. */
export interface ZfExportDetail { filename: string; blob: Blob }

/**
 * A row of "save as" buttons for a view's results. Pressing one makes the file and hands it to
 * the browser's download; `zf-export` fires first with the file (cancel it to keep the download
 * from happening, e.g. to upload the file instead).
 *
 * @summary Save a result as PNG, SVG or JSON.
 * @fires zf-export - A file was made; `detail: { filename, blob }`. Cancelable: cancelling skips the download.
 * @csspart export - Each button.
 */
export class ZfExportButtons extends LitElement {
  static styles = [theme, css`
    :host { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 4px; }
    .label { font-size: 0.8em; color: var(--_muted); margin-right: 2px; }
    button { font-size: 0.8em; padding: 2px 8px; border-radius: var(--_radius); cursor: pointer;
      border: 1px solid var(--_border); background: var(--_surface); color: var(--_fg); }
    button:disabled { opacity: 0.5; cursor: default; }
    .error { color: var(--_error); font-size: 0.8em; }
  `];

  @property({ attribute: false }) items: ExportItem[] = [];

  @property({ type: Boolean }) disabled = false;

  @state() private busy = '';
  @state() private error = '';

  render() {
    if (this.items.length === 0) return nothing;
    return html`<span class="label" aria-hidden="true">Save</span>
      ${this.items.map((item) => html`<button type="button" part="export" data-export=${item.label.toLowerCase()}
          ?disabled=${this.disabled || !!this.busy} aria-label=${`Save ${item.what} as ${item.label} (${item.filename})`}
          @click=${() => this.save(item)}>${this.busy === item.filename ? '…' : item.label}</button>`)}
      ${this.error ? html`<span class="error" role="alert">${this.error}</span>` : nothing}`;
  }

  private async save(item: ExportItem): Promise<void> {
    this.busy = item.filename;
    this.error = '';
    try {
      const blob = await item.make();
      const event = new CustomEvent<ZfExportDetail>('zf-export', {
        detail: { filename: item.filename, blob }, bubbles: true, composed: true, cancelable: true,
      });
      if (this.dispatchEvent(event)) download(blob, item.filename);
    } catch (e) {
      this.error = `Could not make ${item.filename}: ${(e as Error).message}`;
    } finally {
      this.busy = '';
    }
  }
}


if (!customElements.get('zf-export-buttons')) customElements.define('zf-export-buttons', ZfExportButtons);

declare global {
  interface HTMLElementTagNameMap { 'zf-export-buttons': ZfExportButtons }
  interface HTMLElementEventMap { 'zf-export': CustomEvent<ZfExportDetail> }
}
