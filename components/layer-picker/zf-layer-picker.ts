import { LitElement, css, html } from 'lit';
import { property } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { emit } from '../shared/events.js';
import type { LayerInfo } from '../../src/worker/protocol.js';

let uid = 0;

/**
 * Picks one of a model's convolution layers (the ones with feature maps), as a row of radio
 * buttons: Tab moves into the group, the arrow keys move between layers.
 *
 * @summary A radio group of the layers with feature maps.
 * @fires zf-layer-change - The user picked a layer; `detail: { layer }`.
 * @csspart group - The radio group.
 * @csspart option - One layer's button (a label around a radio input).
 * @csspart option-checked - The picked layer's button.
 * @cssprop [--zf-accent=#3b6fd8] - Colour of the picked layer.
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
    input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
  `];

  /** The model's layers (from `zf-model-loaded`'s detail); only those with [C, H, W] maps are offered. */
  @property({ attribute: false }) layers: LayerInfo[] = [];

  /** The picked layer's name, e.g. `conv5`. */
  @property({ reflect: true }) value = '';

  /** Accessible name of the group. */
  @property() label = 'Layer';

  private readonly name = `zf-layer-${++uid}`;

  render() {
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

  private pick(layer: string): void {
    this.value = layer;
    emit(this, 'zf-layer-change', { layer });
  }
}

if (!customElements.get('zf-layer-picker')) customElements.define('zf-layer-picker', ZfLayerPicker);

declare global {
  interface HTMLElementTagNameMap { 'zf-layer-picker': ZfLayerPicker }
}
