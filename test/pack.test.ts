// The npm package as users get it: `npm pack`, the tarball's file list, then an install of the
// tarball into an empty folder (its dependencies from npm's cache when they are there), where
// (1) `npx zf-vis classify` runs with the default model, (2) Node imports the package and runs a
// projection, (3) TypeScript finds the declarations of both entries, and (4) headless Chromium
// opens a file:// page beside the installed dist/zf-visualizer.min.js that has only its script
// tag and <zf-visualizer>, with every request but file:, blob: and data: blocked: a projection
// renders, and the page's ZF global classifies and projects. (The same script over http, and
// under a strict CSP, is in test/browser/cdn.test.ts.) Needs `npm run build` (`npm test` builds
// first).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
let dir = '';
let app = '';
let files: string[] = [];
let tarball = '';

interface Result { code: number; stdout: string; stderr: string }

function run(command: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 1 << 26, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
  });
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(root, 'dist/types/src/index.d.ts'))) {
    throw new Error('dist/ is not built: run `npm run build` first');
  }
  dir = mkdtempSync(join(tmpdir(), 'zf-pack-'));
  const packed = await run(npm, ['pack', '--json', '--pack-destination', dir], root);
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  files = info.files.map((f) => f.path).sort();
  tarball = join(dir, info.filename);
  console.log(`${info.filename}: ${(info.size / 1024).toFixed(0)} KB packed, ${(info.unpackedSize / 1024).toFixed(0)} KB unpacked, ${files.length} files`);

  app = join(dir, 'app');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'zf-pack-test', private: true, type: 'module' }));
  // Offline first (CI has the dependencies in npm's cache); the registry only when it has not.
  const flags = ['install', tarball, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts'];
  let installed = await run(npm, [...flags, '--offline'], app);
  if (installed.code !== 0) installed = await run(npm, [...flags, '--prefer-offline'], app);
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds what users need and nothing else', () => {
  for (const f of [
    'package.json', 'README.md', 'cli/zf-vis.js', 'dist/cli.js', 'dist/index.js', 'dist/types/src/index.d.ts',
    'dist/components/zf-visualizer.js', 'dist/components/zf-worker.js', 'dist/types/components/index.d.ts',
    'dist/custom-elements.json', 'dist/zf-visualizer.min.js',
    'dist/models/zfnet-mini/manifest.json', 'dist/models/zfnet-mini/weights.f16.bin', 'dist/models/samples/ankle-boot-1.png',
    'models/zfnet-mini/manifest.json', 'models/zfnet-mini/weights.f16.bin', 'models/samples/ankle-boot-1.png',
  ]) expect(files, f).toContain(f);
  const allowed = /^(package\.json|README\.md|LICENSE(\.md)?|cli\/zf-vis\.js|dist\/.+\.(js|d\.ts|json|bin|png|md)|models\/(zfnet-mini\/[^/]+\.(bin|json)|samples\/[^/]+\.(png|md)))$/;
  expect(files.filter((f) => !allowed.test(f))).toEqual([]);
  // No tests, sources, maps, training code or the model's test subset.
  expect(files.filter((f) => /^(test|src|assembly|components|scripts|bench|demo|build)\/|\.map$|\.ts$(?<!\.d\.ts)|train|test-500/.test(f))).toEqual([]);
  // Every file the manifests name is there.
  for (const base of ['models/zfnet-mini/', 'dist/models/zfnet-mini/']) {
    const manifest = JSON.parse(readFileSync(join(root, base, 'manifest.json'), 'utf8'));
    expect(files).toContain(base + manifest.files.final);
  }
  const manifest = JSON.parse(readFileSync(join(root, 'models/zfnet-mini/manifest.json'), 'utf8'));
  for (const file of Object.values(manifest.files.epochs) as string[]) {
    expect(files).toContain(`models/zfnet-mini/${file}`);
    // The one-file script's copy too (the evolution view loads snapshots from it), with its file:// twin.
    expect(files).toContain(`dist/models/zfnet-mini/${file}`);
    expect(files).toContain(`dist/models/zfnet-mini/${file}.js`);
  }
});

// 120 KB held until the graph engine (op table, DAG importer and its folding, 18 op kinds with
// their kernels) added about 27 KB gzip and the graph-model element parts (tensor picker,
// Grad-CAM) 6 KB; the kernels are deflated inside (scripts/build-wasm.mjs). 151 KB now.
test('the CDN script is within its budget (160 KB gzip)', () => {
  const script = readFileSync(join(app, 'node_modules/zf-visualizer/dist/zf-visualizer.min.js'));
  const gzip = gzipSync(script, { level: 9 }).length;
  console.log(`dist/zf-visualizer.min.js: ${(script.length / 1024).toFixed(1)} KB, ${(gzip / 1024).toFixed(1)} KB gzip`);
  expect(gzip).toBeLessThanOrEqual(160 * 1024);
});

test('npx zf-vis classify runs in the installed package with the default model', async () => {
  const sample = join(app, 'node_modules/zf-visualizer/models/samples/ankle-boot-1.png');
  const r = await run(npx, ['--no-install', 'zf-vis', 'classify', '--image', sample, '--json'], app);
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as { model: string; top: { index: number; label: string; probability: number }[] };
  expect(result.model).toBe('zfnet-mini');
  expect(result.top[0].label).toMatch(/ankle.?boot/i);
  expect(result.top[0].probability).toBeGreaterThan(0.5);
  const version = await run(npx, ['--no-install', 'zf-vis', '--version'], app);
  expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
});

test('Node imports the installed package and runs a projection', async () => {
  writeFileSync(join(app, 'project.mjs'), `
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { loadModel, projectionToImage, MODES } from 'zf-visualizer';
const png = PNG.sync.read(readFileSync(new URL('./node_modules/zf-visualizer/models/samples/ankle-boot-1.png', import.meta.url)));
const model = await loadModel('zfnet-mini');
const run = await model.forward(model.preprocess({ width: png.width, height: png.height, data: png.data }));
const projection = await run.project({ layer: 'conv2', map: 0 });
const image = projectionToImage(projection, 0, { preprocess: model.network.preprocess });
let nonGrey = 0;
for (let i = 0; i < image.data.length; i += 4) if (image.data[i] !== 128) nonGrey++;
console.log(JSON.stringify({
  top: run.top(1)[0].label, modes: MODES, size: [image.width, image.height], nonGrey,
  elements: import.meta.resolve('zf-visualizer/elements'),
  cdn: import.meta.resolve('zf-visualizer/zf-visualizer.min.js'),
}));
`);
  const r = await run(process.execPath, ['project.mjs'], app);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.top).toMatch(/ankle.?boot/i);
  expect(out.size).toEqual([28, 28]);
  expect(out.nonGrey).toBeGreaterThan(10);
  expect(out.elements).toMatch(/node_modules\/zf-visualizer\/dist\/components\/zf-visualizer\.js$/);
  expect(out.cdn).toMatch(/node_modules\/zf-visualizer\/dist\/zf-visualizer\.min\.js$/);
});

test('TypeScript finds the declarations of both entries', async () => {
  writeFileSync(join(app, 'consumer.ts'), `
import { loadModel, type Model, type Projection } from 'zf-visualizer';
import { ZfVisualizer, type WorkerFactory } from 'zf-visualizer/elements';
export async function f(): Promise<[Model, Projection]> {
  const model = await loadModel('zfnet-mini');
  const run = await model.forward(model.preprocess({ width: 28, height: 28, data: new Uint8Array(28 * 28 * 4) }));
  return [model, await run.project({ layer: 'conv1', map: 0 })];
}
export const tag: string = ZfVisualizer.name;
export const factory: WorkerFactory | undefined = undefined;
`);
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const r = await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--lib', 'es2022,dom', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'),
    '--skipLibCheck', 'consumer.ts'], app);
  expect(r.code, r.stdout + r.stderr).toBe(0);
});

test.runIf(existsSync(chromium))('a file:// page with only the script tag and <zf-visualizer> works offline, ZF included', async () => {
  const { chromium: browserType } = await import('playwright-core');
  const distDir = join(app, 'node_modules/zf-visualizer/dist');
  writeFileSync(join(distDir, 'page.html'),
    '<!doctype html>\n<script src="zf-visualizer.min.js"></script>\n<zf-visualizer></zf-visualizer>\n');
  const browser = await browserType.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext();
    const blocked: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (/^(file|data|blob):/.test(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${distDir}/page.html`);
    const result = await page.evaluate(async () => {
      const el = document.querySelector('zf-visualizer')!;
      const deadline = performance.now() + 60_000;
      let nonGrey = 0;
      while (performance.now() < deadline) {
        const error = el.shadowRoot?.querySelector('[part~="error"]')?.textContent?.trim();
        if (error) return { error };
        const view = el.shadowRoot?.querySelector('zf-projection-view');
        const canvas = view?.shadowRoot?.querySelector<HTMLCanvasElement>('canvas[data-role="projection"]');
        if (canvas && canvas.width > 0) {
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          nonGrey = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i] !== 128 || data[i + 1] !== 128 || data[i + 2] !== 128) nonGrey++;
          if (nonGrey > 10) break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const ZF = (window as unknown as { ZF: Record<string, any> }).ZF;
      const model = await ZF.loadModel('zfnet-mini');
      const run = await model.forward(model.preprocess(await ZF.pixels(new URL('models/samples/trouser-1.png', location.href).href)));
      const projection = await run.project({ layer: 'conv1', map: 0 });
      const image = ZF.projectionToImage(projection, 0, { preprocess: model.network.preprocess });
      return { nonGrey, top: run.top(1)[0].label as string, size: [image.width, image.height], models: ZF.MODELS_URL as string };
    });
    expect(result.error).toBeUndefined();
    expect(result.nonGrey).toBeGreaterThan(10);
    expect(result.top).toMatch(/trouser/i);
    expect(result.size).toEqual([28, 28]);
    expect(result.models).toBe(`file://${distDir}/models/`);
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
  } finally {
    await browser.close();
  }
});
