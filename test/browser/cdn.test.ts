// The one-file CDN script, dist/zf-visualizer.min.js (npm run build), in pages that have nothing
// but its <script src> and the tag: a projection renders with every request off the page's origin
// blocked, the global ZF runs the engine, and a strict CSP page works.
//
// The pages are iframes of the Vitest page, served with dist/ as built under /zf-cdn/ by
// scripts/cdn/vite-plugin.mjs (page.html sits beside the script, with a real CSP header when
// asked). The browser runner cannot open file:// pages from its http page, so the file:// case
// (the same script from the installed package) is in test/pack.test.ts, through Playwright.
import { afterEach, beforeAll, expect, test } from 'vitest';
import { commands } from 'vitest/browser';

declare module 'vitest/browser' {
  interface BrowserCommands {
    blockNetwork(): Promise<void>;
    blockedRequests(): Promise<string[]>;
  }
}

const SCRIPT = '/zf-cdn/zf-visualizer.min.js';
const built = (await fetch(SCRIPT, { method: 'HEAD' }).catch(() => undefined))?.ok ?? false;
const model = (await fetch('/zf-cdn/models/zfnet-mini/manifest.json', { method: 'HEAD' }).catch(() => undefined))?.ok ?? false;

type ZFWindow = Window & typeof globalThis & { ZF: Record<string, any> };
const frames: HTMLIFrameElement[] = [];

/** An iframe with /zf-cdn/page.html: the script tag and the element ('tag') or the script only ('api'). */
async function open(body: 'tag' | 'api', csp?: string): Promise<ZFWindow> {
  const frame = document.createElement('iframe');
  frame.style.cssText = 'width: 1100px; height: 900px; border: 0';
  const query = new URLSearchParams({ body, ...(csp ? { csp } : {}) });
  frame.src = `/zf-cdn/page.html?${query}`;
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
  document.body.append(frame);
  frames.push(frame);
  await loaded;
  return frame.contentWindow as ZFWindow;
}

function event<T>(target: EventTarget, type: string, timeout = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeout} ms`)), timeout);
    target.addEventListener(type, (e) => { clearTimeout(timer); resolve((e as CustomEvent<T>).detail); }, { once: true });
  });
}

function deep(root: Element, ...selectors: string[]): Element {
  let at: Element | null = root;
  for (const s of selectors) {
    at = (at!.shadowRoot ?? at!).querySelector(s);
    if (!at) throw new Error(`nothing matches '${s}' (path ${selectors.join(' >> ')})`);
  }
  return at!;
}

/** Pixels of a canvas that are not the flat grey (128) of an empty projection. */
function nonGrey(canvas: HTMLCanvasElement): number {
  const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] !== 128 || data[i + 1] !== 128 || data[i + 2] !== 128) n++;
  return n;
}

/** <zf-visualizer> in `win`: its first projection shown, with no error on the way. */
async function firstProjection(win: ZFWindow): Promise<number> {
  await win.customElements.whenDefined('zf-visualizer');
  const el = win.document.querySelector('zf-visualizer')!;
  const errors: unknown[] = [];
  el.addEventListener('zf-error', (e) => errors.push((e as CustomEvent).detail));
  // The element may have shown it before we listen: wait for the canvas instead of the event.
  const deadline = performance.now() + 60_000;
  for (;;) {
    expect(errors).toEqual([]);
    try {
      const canvas = deep(el, 'zf-projection-view', 'canvas[data-role="projection"]') as HTMLCanvasElement;
      const n = canvas.width > 0 ? nonGrey(canvas) : 0;
      if (n > 10) return n;
    } catch { /* not rendered yet */ }
    if (performance.now() > deadline) throw new Error('no projection within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  await commands.blockNetwork();
  await commands.blockedRequests();
});

afterEach(() => { for (const f of frames.splice(0)) f.remove(); });

// 120 KB until the graph engine (op table, DAG importer) and the graph-model element parts came (151 KB).
test.runIf(built)('the script stays within its size budget (160 KB gzip: the elements, six analysis views, the engine and both wasm builds)', async () => {
  const bytes = new Uint8Array(await (await fetch(SCRIPT)).arrayBuffer());
  const gzip = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
  console.log(`dist/zf-visualizer.min.js: ${(bytes.length / 1024).toFixed(1)} KB, ${(gzip.length / 1024).toFixed(1)} KB gzip`);
  expect(gzip.length).toBeLessThanOrEqual(160 * 1024);
});

test.runIf(built && model)('a page with only the script tag and <zf-visualizer> renders a projection, offline', async () => {
  const win = await open('tag');
  expect(typeof win.ZF.loadModel).toBe('function');
  const n = await firstProjection(win);
  const el = win.document.querySelector('zf-visualizer') as Element & { model?: string };
  expect(el.model).toBe('zfnet-mini');
  expect(n).toBeGreaterThan(10);
  expect(await commands.blockedRequests()).toEqual([]);
});

test.runIf(built && model)('the ZF global loads the default model, classifies, projects and renders', async () => {
  const win = await open('api');
  const { ZF } = win;
  expect(ZF.MODELS_URL).toBe(new URL('/zf-cdn/models/', location.href).href);
  const model = await ZF.loadModel('zfnet-mini');
  const pixels = await ZF.pixels(new URL('/zf-cdn/models/samples/ankle-boot-1.png', location.href).href);
  const run = await model.forward(model.preprocess(pixels));
  const top = run.top(3);
  expect(top[0].label).toMatch(/ankle.?boot/i);
  const projection = await run.project({ layer: 'conv2', map: 0 });
  const image = ZF.projectionToImage(projection, 0, { preprocess: model.network.preprocess });
  expect([image.width, image.height]).toEqual([28, 28]);
  const input = ZF.inputToImage(model.preprocess(pixels), model.network.preprocess);
  expect(input.width).toBe(28);
  const canvas = ZF.toCanvas(image, 4);
  expect(canvas.width).toBe(112);
  expect(await commands.blockedRequests()).toEqual([]);
});

test.runIf(built && model)("a strict CSP page (script-src 'self' 'wasm-unsafe-eval') works", async () => {
  const violations: string[] = [];
  // (No style-src here: the next test adds style-src 'self'.)
  const csp = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' blob: data:";
  const win = await open('tag', csp);
  win.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  expect(typeof win.ZF?.loadModel).toBe('function');
  await firstProjection(win);
  // The worker came from a blob: URL (the script's own source), not from the script's URL again.
  const script = new URL(SCRIPT, location.href).href;
  expect(win.performance.getEntriesByType('resource').filter((e) => e.name === script)).toHaveLength(1);
  const model = await win.ZF.loadModel('zfnet-mini');
  expect(model.backend).toMatch(/simd|scalar/);
  expect(violations).toEqual([]);
});

test.runIf(built && model)("with style-src 'self' (no 'unsafe-inline') nothing is refused and the elements' styles apply", async () => {
  // The elements set their computed styles (bar widths, box positions...) through the CSSOM
  // (components/shared/style-props.ts), which style-src allows, never as style attributes, which
  // it refuses (Lit's styleMap writes its first render as one).
  const csp = "script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' blob: data:";
  // The page with the script only: listen before any element exists, then add <zf-visualizer>.
  const win = await open('api', csp);
  const violations: string[] = [];
  win.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  // And what the script itself may have been refused before we listened (buffered reports).
  type Report = { body: { effectiveDirective: string; blockedURL: string } };
  const reported: string[] = [];
  const add = (list: Report[]) => reported.push(...list.map((r) => `${r.body.effectiveDirective} ${r.body.blockedURL}`));
  const observer = new (win as any).ReportingObserver(add, { types: ['csp-violation'], buffered: true });
  observer.observe();
  const reports = () => { add(observer.takeRecords()); return reported; };
  const el = win.document.createElement('zf-visualizer');
  win.document.body.append(el);
  await firstProjection(win);

  // The class bars' fills are as wide as their probabilities (unstyled, each would fill its bar).
  let fills: Element[] = [];
  for (const deadline = performance.now() + 30_000; fills.length < 2; await new Promise((r) => setTimeout(r, 100))) {
    try { fills = [...deep(el, 'zf-class-bars').shadowRoot!.querySelectorAll('.fill')]; } catch { /* not yet */ }
    if (fills.length < 2 && performance.now() > deadline) throw new Error('no class bars');
  }
  const percents = fills.map((f) => Number(f.parentElement!.getAttribute('aria-valuenow')));
  expect(Math.min(...percents)).toBeLessThan(50);
  for (const [i, fill] of fills.entries()) {
    const width = fill.getBoundingClientRect().width;
    expect(Math.abs(width - Math.max(1, (percents[i] / 100) * fill.parentElement!.clientWidth))).toBeLessThan(2);
  }

  // The projection view's receptive-field boxes sit where their fields are on the input.
  const view = deep(el, 'zf-projection-view') as Element & { result: { full: { width: number; height: number }; units: { box: { x0: number; y0: number; x1: number; y1: number } }[] } };
  const frame = deep(view, '.frame').getBoundingClientRect();
  const first = deep(view, '.box.first');
  expect(win.getComputedStyle(first).position).toBe('absolute');
  const box = first.getBoundingClientRect();
  const { full, units: [{ box: field }] } = view.result;
  expect(win.getComputedStyle(deep(view, '.pair')).getPropertyValue('--_aspect').trim()).toBe(`${full.width} / ${full.height}`);
  expect(box.width).toBeGreaterThan(4);
  const near = (px: number, fraction: number, size: number) => expect(Math.abs(px - fraction * size)).toBeLessThan(2);
  near(box.left - frame.left, field.x0 / full.width, frame.width);
  near(box.top - frame.top, field.y0 / full.height, frame.height);
  near(box.width, (field.x1 - field.x0) / full.width, frame.width);
  near(box.height, (field.y1 - field.y0) / full.height, frame.height);

  await new Promise((r) => setTimeout(r, 100));
  const refused = [...violations, ...reports()];
  expect(refused.filter((v) => v.startsWith('style-src'))).toEqual([]);
  expect(refused).toEqual([]);
});

test.runIf(built && model)("with exactly script-src 'self' 'wasm-unsafe-eval' (no blob: workers), the script itself takes over as the worker", async () => {
  const csp = "script-src 'self' 'wasm-unsafe-eval'";
  const violations: string[] = [];
  const win = await open('tag', csp);
  win.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  await firstProjection(win);
  // Only the blob: worker was refused; the script, started again from its URL as a classic
  // worker, took over.
  expect(violations.every((v) => /blob/.test(v))).toBe(true);
  const script = new URL(SCRIPT, location.href).href;
  // Loaded twice: by the page's script tag, then as the worker.
  expect(win.performance.getEntriesByType('resource').filter((e) => e.name === script)).toHaveLength(2);
});
