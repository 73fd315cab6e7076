/**
 * The custom properties every zf- element reads, with light and dark defaults. A page themes
 * all of them at once by setting the properties on <zf-visualizer> (or any ancestor).
 */
import { css } from 'lit';

export const theme = css`
  :host {
    --_fg: var(--zf-color, #1d2330);
    --_bg: var(--zf-background, #ffffff);
    --_muted: var(--zf-muted-color, #5b6475);
    --_surface: var(--zf-surface, #f3f5f8);
    --_border: var(--zf-border-color, #d5dae2);
    --_accent: var(--zf-accent, #3b6fd8);
    --_accent-fg: var(--zf-accent-contrast, #ffffff);
    --_error: var(--zf-error-color, #b3261e);
    --_radius: var(--zf-radius, 6px);
    --_gap: var(--zf-gap, 12px);
    --_focus: var(--zf-focus-ring, 0 0 0 3px color-mix(in srgb, var(--_accent) 45%, transparent));
    font-family: var(--zf-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    font-size: var(--zf-font-size, 14px);
    color: var(--_fg);
    color-scheme: light dark;
    box-sizing: border-box;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_fg: var(--zf-color, #e6e9ef);
      --_bg: var(--zf-background, #161a22);
      --_muted: var(--zf-muted-color, #9aa3b2);
      --_surface: var(--zf-surface, #1f2430);
      --_border: var(--zf-border-color, #343b4a);
      --_accent: var(--zf-accent, #7ea6ff);
      --_accent-fg: var(--zf-accent-contrast, #0d1220);
      --_error: var(--zf-error-color, #ff8a80);
    }
  }
  *, *::before, *::after { box-sizing: inherit; }
  [hidden] { display: none !important; }
  canvas.pixels { image-rendering: pixelated; image-rendering: crisp-edges; }
  .heading {
    margin: 0 0 6px; font-size: 0.78em; font-weight: 600; letter-spacing: 0.06em;
    text-transform: uppercase; color: var(--_muted);
  }
  .muted { color: var(--_muted); }
  button { font: inherit; color: inherit; }
  :focus-visible { outline: none; box-shadow: var(--_focus); }
  .visually-hidden {
    position: absolute !important; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0); white-space: nowrap;
  }
`;
