import { LitElement, css, html, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { theme } from '../shared/theme.js';
import { styleProps } from '../shared/style-props.js';
import { emit } from '../shared/events.js';
import { paint } from '../shared/canvas.js';
import type { RgbaImage } from '../../src/deconv/render.js';

/** A sample image offered in the gallery. */
export interface SampleImage {
  /** Absolute or page-relative URL. */
  url: string;
  /** Shown as the button's label and tooltip. */
  label: string;
}

/** What `zf-image-select` carries: a file (picked, dropped or pasted) or a URL (a sample, a dropped link). */
export interface ImageSelection {
  source: Blob | string;
  name: string;
}

/**
 * Where an image comes from: a file picker, drag and drop, paste (focus the drop zone and press
 * Ctrl+V / Cmd+V), or a gallery of sample images. Shows the image as the network sees it.
 *
 * @summary Image picker: file, drop, paste, samples.
 * @fires zf-image-select - The user chose an image; `detail: { source: Blob | string, name }`.
 * @csspart dropzone - The focusable drop / paste target around the preview.
 * @csspart preview - The canvas showing the network's input.
 * @csspart button - The "Choose image" button.
 * @csspart gallery - The list of sample buttons.
 * @csspart sample - One sample's button.
 * @csspart sample-selected - The sample being shown.
 * @cssprop [--zf-preview-size=160px] - Display size of the preview.
 * @cssprop [--zf-sample-size=40px] - Display size of a sample thumbnail.
 */
export class ZfImageInput extends LitElement {
  static styles = [theme, css`
    :host { display: block; }
    .zone {
      display: grid; justify-items: center; gap: 6px; padding: 10px; text-align: center;
      border: 2px dashed var(--_border); border-radius: var(--_radius); background: var(--_surface);
    }
    .zone.over { border-color: var(--_accent); background: color-mix(in srgb, var(--_accent) 10%, var(--_surface)); }
    canvas.preview { width: var(--zf-preview-size, 160px); aspect-ratio: var(--_aspect, 1); background: var(--_bg); border-radius: 3px; display: block; }
    .placeholder { width: var(--zf-preview-size, 160px); aspect-ratio: 1; display: grid; place-items: center; color: var(--_muted); font-size: 0.85em; }
    .hint { font-size: 0.78em; color: var(--_muted); }
    .name { font-size: 0.85em; max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    button.choose {
      padding: 5px 12px; border-radius: var(--_radius); border: 1px solid var(--_accent);
      background: var(--_accent); color: var(--_accent-fg); cursor: pointer;
    }
    button:disabled { opacity: 0.5; cursor: default; }
    input[type='file'] { display: none; }
    .gallery { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 8px; padding: 0; list-style: none; }
    .sample {
      padding: 1px; border: 2px solid transparent; border-radius: 4px; background: var(--_surface); cursor: pointer; line-height: 0;
    }
    .sample[aria-pressed='true'] { border-color: var(--_accent); }
    .sample img { width: var(--zf-sample-size, 40px); height: var(--zf-sample-size, 40px); object-fit: cover; image-rendering: pixelated; border-radius: 2px; }
  `];

  /** Sample images for the gallery. */
  @property({ attribute: false }) samples: SampleImage[] = [];

  /** URL of the sample being shown (marks it pressed). */
  @property() selected = '';

  /** The image as the network sees it (after preprocessing). */
  @property({ attribute: false }) preview?: RgbaImage;

  /** Name of the current image. */
  @property() name = '';

  /** Refuse input (while no model is ready). */
  @property({ type: Boolean, reflect: true }) disabled = false;

  @state() private over = false;

  render() {
    const p = this.preview;
    return html`
      <div class=${this.over ? 'zone over' : 'zone'} part="dropzone" tabindex="0" role="group"
           aria-label="Image: drop a file here, paste one, or choose a file"
           @dragover=${this.onDragOver} @dragleave=${() => (this.over = false)} @drop=${this.onDrop}
           @paste=${this.onPaste}>
        ${p ? html`<canvas class="preview pixels" part="preview" role="img" style=${styleProps({ '--_aspect': `${p.width} / ${p.height}` })}
                           aria-label=${`The network's input: ${this.name || 'image'}`}></canvas>`
            : html`<div class="placeholder">No image</div>`}
        ${this.name ? html`<span class="name" title=${this.name}>${this.name}</span>` : null}
        <button class="choose" part="button" type="button" ?disabled=${this.disabled}
                @click=${() => this.renderRoot.querySelector<HTMLInputElement>('input[type=file]')?.click()}>Choose image…</button>
        <input type="file" accept="image/*" aria-hidden="true" tabindex="-1" @change=${this.onFile}>
        <span class="hint">or drop / paste an image</span>
      </div>
      ${this.samples.length ? html`<ul class="gallery" part="gallery" aria-label="Sample images">
        ${this.samples.map((s) => {
          const on = s.url === this.selected;
          return html`<li><button class="sample" type="button" part=${on ? 'sample sample-selected' : 'sample'}
              aria-pressed=${on ? 'true' : 'false'} title=${s.label} aria-label=${`Sample: ${s.label}`}
              ?disabled=${this.disabled} @click=${() => this.choose(s.url, s.label)}>
            <img src=${s.url} alt="" loading="lazy" decoding="async"></button></li>`;
        })}
      </ul>` : null}`;
  }

  protected updated(changed: PropertyValues<this>): void {
    if (changed.has('preview')) paint(this.renderRoot.querySelector<HTMLCanvasElement>('canvas.preview'), this.preview);
  }

  /** Choose an image as the user would (emits `zf-image-select`). */
  choose(source: Blob | string, name?: string): void {
    if (this.disabled) return;
    const label = name ?? (typeof source === 'string' ? source.split('/').pop() ?? source
      : (source as File).name ?? 'pasted image');
    emit<ImageSelection>(this, 'zf-image-select', { source, name: label });
  }

  private onFile = (event: Event) => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) this.choose(file, file.name);
    input.value = '';
  };

  private onDragOver = (event: DragEvent) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    this.over = true;
  };

  private onDrop = (event: DragEvent) => {
    event.preventDefault();
    this.over = false;
    const data = event.dataTransfer;
    const file = data?.files?.[0];
    if (file) {
      this.choose(file, file.name);
      return;
    }
    const url = data?.getData('text/uri-list')?.split('\n').find((l) => l && !l.startsWith('#')) || data?.getData('text/plain');
    if (url) this.choose(url.trim());
  };

  private onPaste = (event: ClipboardEvent) => {
    const item = [...(event.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    const file = item?.getAsFile();
    if (!file) return;
    event.preventDefault();
    this.choose(file, file.name && file.name !== 'image.png' ? file.name : 'pasted image');
  };
}

if (!customElements.get('zf-image-input')) customElements.define('zf-image-input', ZfImageInput);

declare global {
  interface HTMLElementTagNameMap { 'zf-image-input': ZfImageInput }
}
