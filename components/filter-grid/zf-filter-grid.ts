import { LitElement, css, html } from 'lit';
import { property } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { paint } from '../shared/canvas.js';
import type { FiltersResult } from '../../src/worker/protocol.js';

/**
 * A convolution layer's filters (the first layer's, by default) as one sheet of small pictures:
 * each filter stretched on its own around grey, in the image's colours.
 *
 * @summary The first layer's filters as pictures.
 * @csspart canvas - The sheet of filters.
 * @csspart caption - What the sheet shows.
 * @cssprop [--zf-filter-size=28px] - Display size of one filter.
 */
export class ZfFilterGrid extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    canvas { display: block; max-width: 100%; height: auto; }
    p { margin: 4px 0 0; font-size: 0.8em; color: var(--_muted); }
  `];

  /** The filters to show (a `filters` result of the engine's worker). */
  @property({ attribute: false }) filters?: FiltersResult;

  render() {
    const f = this.filters;
    if (!f) return html`<p>No filters yet.</p>`;
    const [n, c, kh, kw] = f.shape;
    const size = Number.parseFloat(getComputedStyle(this).getPropertyValue('--zf-filter-size')) || 28;
    const scale = Math.max(1, size / Math.max(kh, kw));
    return html`<canvas class="pixels" part="canvas" role="img"
        aria-label=${`${n} filters of ${f.layer}, ${c} channel(s) of ${kh} by ${kw}`}
        style=${styleProps({ width: `${f.sheet.width * scale}px`, 'aspect-ratio': `${f.sheet.width} / ${f.sheet.height}` })}></canvas>
      <p part="caption">${f.layer}: ${n} filters, ${c}×${kh}×${kw}</p>`;
  }

  protected updated(): void {
    paint(this.renderRoot.querySelector('canvas'), this.filters?.sheet);
  }
}

if (!customElements.get('zf-filter-grid')) customElements.define('zf-filter-grid', ZfFilterGrid);

declare global {
  interface HTMLElementTagNameMap { 'zf-filter-grid': ZfFilterGrid }
}
