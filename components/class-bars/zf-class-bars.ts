import { LitElement, css, html } from 'lit';
import { property } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import type { ClassScore } from '../../src/engine/run.js';

/**
 * The most probable classes of an image, as labelled bars, most probable first.
 *
 * @summary Top-k class probabilities as bars.
 * @csspart list - The list of classes.
 * @csspart item - One class row.
 * @csspart label - A class name.
 * @csspart bar - The track of a bar.
 * @csspart fill - The filled part of a bar; its width is the probability.
 * @csspart value - The probability, as a percentage.
 * @cssprop [--zf-accent=#3b6fd8] - Colour of the bars.
 * @cssprop [--zf-bar-height=8px] - Height of a bar.
 */
export class ZfClassBars extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    ol { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
    li { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 2px 8px; align-items: baseline; }
    .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    li:first-child .label { font-weight: 600; }
    .value { font-variant-numeric: tabular-nums; color: var(--_muted); font-size: 0.9em; }
    .bar {
      grid-column: 1 / -1; height: var(--zf-bar-height, 8px); border-radius: 999px;
      background: var(--_surface); overflow: hidden; border: 1px solid var(--_border);
    }
    .fill { height: 100%; background: var(--_accent); border-radius: inherit; min-width: 1px; }
    li:not(:first-child) .fill { opacity: 0.6; }
  `];

  /** The classes to show: `{ index, label, probability }`, most probable first (e.g. `run.top(5)`). */
  @property({ attribute: false }) scores: ClassScore[] = [];

  /** Accessible name of the list. */
  @property() label = 'Predicted classes';

  render() {
    if (!this.scores.length) return html`<p class="muted">No prediction yet.</p>`;
    return html`<ol part="list" aria-label=${this.label}>
      ${this.scores.map((s) => {
        const percent = (s.probability * 100);
        const text = percent >= 99.95 ? '100%' : percent < 0.1 ? '<0.1%' : `${percent.toFixed(1)}%`;
        return html`<li part="item" data-class=${s.index}>
          <span class="label" part="label" title=${s.label}>${s.label}</span>
          <span class="value" part="value">${text}</span>
          <div class="bar" part="bar" role="meter" aria-label=${s.label} aria-valuemin="0" aria-valuemax="100"
               aria-valuenow=${percent.toFixed(1)} aria-valuetext=${text}>
            <div class="fill" part="fill" style=${styleProps({ width: `${Math.max(0, Math.min(100, percent))}%` })}></div>
          </div>
        </li>`;
      })}
    </ol>`;
  }
}

if (!customElements.get('zf-class-bars')) customElements.define('zf-class-bars', ZfClassBars);

declare global {
  interface HTMLElementTagNameMap { 'zf-class-bars': ZfClassBars }
}
