/**
 * A tiny SVG line-chart writer for the analyses' curves (invariance, filter spectra). Plain
 * strings, no DOM: the CLI writes them to files, a page can put them in `innerHTML` or an
 * `<img src="data:image/svg+xml,...">`. Charts are self-contained `<svg>` documents with
 * `width`/`height` set, so `svgGrid` can place several in one picture.
 */

export interface Series {
  label: string;
  x: readonly number[];
  y: readonly number[];
  /** CSS colour; default: the palette in order. */
  color?: string;
}

export interface LineChartOptions {
  series: readonly Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Pixels (default 320 x 220). */
  width?: number;
  height?: number;
  /** Fix the y range (default: the data's, from 0 when all values are >= 0). */
  yMin?: number;
  yMax?: number;
  /** Draw the series labels (default: when there is more than one series). */
  legend?: boolean;
}

/** Colour-blind-safe palette (Okabe & Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of 10). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

const n2 = (v: number) => (Math.round(v * 100) / 100).toString();

/** A line chart with axes, ticks, labels, a marker at every point and an optional legend. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 320, height = options.height ?? 220;
  const series = options.series.filter((s) => s.x.length > 0);
  const pad = { left: 58, right: 12, top: options.title ? 26 : 12, bottom: options.xLabel ? 44 : 28 };
  const pw = width - pad.left - pad.right, ph = height - pad.top - pad.bottom;
  const xs = series.flatMap((s) => s.x.filter(Number.isFinite));
  const ys = series.flatMap((s) => s.y.filter(Number.isFinite));
  let x0 = xs.length ? Math.min(...xs) : 0, x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = options.yMin ?? (ys.length ? Math.min(...ys) : 0), y1 = options.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (options.yMin === undefined && y0 >= 0) y0 = 0;
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y1 = y0 === 0 ? 1 : y0 + Math.abs(y0) * 0.1; }
  // Round a free y range out to the next tick, so the top and bottom lines carry labels.
  const yt = niceTicks(y0, y1, 4);
  if (yt.length >= 2) {
    const step = yt[1] - yt[0];
    if (options.yMax === undefined && yt[yt.length - 1] < y1) y1 = yt[yt.length - 1] + step;
    if (options.yMin === undefined && yt[0] > y0) y0 = yt[0] - step;
  }
  const px = (x: number) => pad.left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number) => pad.top + ph - ((y - y0) / (y1 - y0)) * ph;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    'font-family="sans-serif" font-size="10">');
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (options.title) {
    parts.push(`<text x="${n2(pad.left + pw / 2)}" y="16" text-anchor="middle" font-size="12">${escapeXml(options.title)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 4)) {
    const y = n2(py(t));
    parts.push(`<line x1="${pad.left}" x2="${pad.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${pad.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 5)) {
    const x = n2(px(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${pad.top + ph}" y2="${pad.top + ph + 4}" stroke="#444"/>`);
    parts.push(`<text x="${x}" y="${pad.top + ph + 15}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${pad.left}" y="${pad.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  if (options.xLabel) {
    parts.push(`<text x="${n2(pad.left + pw / 2)}" y="${height - 8}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  }
  if (options.yLabel) {
    const cy = n2(pad.top + ph / 2);
    parts.push(`<text x="12" y="${cy}" text-anchor="middle" transform="rotate(-90 12 ${cy})">${escapeXml(options.yLabel)}</text>`);
  }
  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
    const points = s.x.map((x, k) => [x, s.y[k]] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const path = points.map(([x, y]) => `${n2(px(x))},${n2(py(y))}`).join(' ');
    parts.push(`<g><title>${escapeXml(s.label)}</title>`);
    if (points.length > 1) parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    for (const [x, y] of points) parts.push(`<circle cx="${n2(px(x))}" cy="${n2(py(y))}" r="2" fill="${color}"/>`);
    parts.push('</g>');
  });
  if ((options.legend ?? series.length > 1) && series.length > 0) {
    // Right-aligned in the plot, as wide as its longest label (about 5.5 px a character at 10 px
    // sans-serif), on white so the lines under it do not cross the text.
    const textWidth = Math.max(...series.map((s) => s.label.length)) * 5.5;
    const x = Math.max(pad.left + 4, pad.left + pw - 26 - textWidth);
    parts.push(`<rect x="${n2(x - 4)}" y="${pad.top + 3}" width="${n2(pad.left + pw - x)}" height="${series.length * 12 + 2}" ` +
      'fill="white" fill-opacity="0.85"/>');
    series.forEach((s, i) => {
      const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
      const y = pad.top + 10 + i * 12;
      parts.push(`<line x1="${n2(x)}" x2="${n2(x + 14)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<text x="${n2(x + 18)}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Several SVG documents (each with width and height attributes on its root) in a grid, row-major,
 * as one SVG; cells are as large as the largest chart.
 */
export function svgGrid(charts: readonly string[], options: { columns?: number; gap?: number } = {}): string {
  const sizes = charts.map((svg) => {
    const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
    const num = (name: string) => Number(new RegExp(`\\b${name}="([\\d.]+)"`).exec(root)?.[1] ?? 0);
    return { w: num('width'), h: num('height') };
  });
  const columns = Math.max(1, Math.min(charts.length, options.columns ?? Math.ceil(Math.sqrt(charts.length))));
  const gap = options.gap ?? 8;
  const cw = Math.max(0, ...sizes.map((s) => s.w)), ch = Math.max(0, ...sizes.map((s) => s.h));
  const rows = Math.ceil(charts.length / columns);
  const width = columns * cw + (columns - 1) * gap, height = rows * ch + Math.max(0, rows - 1) * gap;
  const cells = charts.map((svg, i) => {
    const x = (i % columns) * (cw + gap), y = Math.floor(i / columns) * (ch + gap);
    return svg.replace(/<svg\b/, `<svg x="${x}" y="${y}"`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<rect width="${width}" height="${height}" fill="white"/>\n${cells.join('\n')}\n</svg>`;
}
