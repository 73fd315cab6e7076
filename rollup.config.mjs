// The npm package's builds: the engine (ESM, no DOM), the CLI, the web components and the
// one-file CDN script. The wasm is already inlined
// as base64 by scripts/build-wasm.mjs, so no wasm plugin is needed.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const external = (id) => /^node:/.test(id) || ['pngjs', 'jpeg-js', 'lit'].some((p) => id === p || id.startsWith(`${p}/`));
const plugins = [nodeResolve({ extensions: ['.ts', '.js'] }), esbuild({ target: 'es2022' })];

// The web components (Lit bundled in, production build) and the engine's worker, side by side in
// dist/components/: the same depth below the package root as their sources, so the relative
// URLs of the worker, the models and the samples hold in both.
const browserExternal = (id) => /^node:/.test(id);
const WORKER_SOURCE = "new URL('../../src/worker/worker.ts', import.meta.url)";
const workerUrl = {
  name: 'zf-worker-url',
  transform(code, id) {
    if (!id.endsWith('components/shared/engine-controller.ts')) return null;
    if (!code.includes(WORKER_SOURCE)) this.error(`engine-controller.ts no longer says ${WORKER_SOURCE}`);
    return { code: code.replace(WORKER_SOURCE, "new URL('./zf-worker.js', import.meta.url)"), map: null };
  },
};
// custom-elements.json, from the elements' class comments, after each build of the components.
const manifest = {
  name: 'custom-elements-manifest',
  writeBundle() {
    const run = spawnSync(process.execPath, ['node_modules/@custom-elements-manifest/analyzer/cem.js', 'analyze',
      '--config', 'custom-elements-manifest.config.mjs', '--quiet'], { stdio: 'inherit' });
    if (run.status !== 0) this.error('the custom elements manifest analyzer failed');
  },
};
const browserPlugins = [workerUrl, nodeResolve({ extensions: ['.ts', '.js'], browser: true }), esbuild({ target: 'es2022', minify: true })];

// The one-file CDN script, dist/zf-visualizer.min.js: a classic script that is also its own
// engine worker. In a page (a document exists) it defines the elements and sets the global `ZF`;
// in a worker it serves the engine (scripts/cdn/main.ts). The elements (Lit and the components,
// which touch the DOM when evaluated) are built first, apart, as CommonJS code that takes the
// engine's modules from the main bundle (one copy of each) and becomes the body of a function,
// defineElements(), called in pages only. The whole script is wrapped in a named function
// (zfBundle) whose source text (Function.prototype.toString) start-worker.ts runs as the worker
// from a Blob URL, or the script's own URL when blob: workers are refused. Lit is bundled;
// node: imports are stubbed. Every import.meta.url becomes the script's own URL
// (document.currentScript.src, captured when the script runs; in the worker, the page's script
// URL), as if each module sat where its relative paths find dist/models/.
const SCRIPT_URL = `var __zfScriptUrl = typeof document !== 'undefined'
  ? (document.currentScript && document.currentScript.src) || document.baseURI
  : self.ZF_SCRIPT_URL || self.location.href;`;
// node:fs/promises (the engine's file: branch) reads file: URLs through the page instead
// (scripts/cdn/file-url.ts); any other node: module is a stub that says why it is missing.
const fileUrlModule = fileURLToPath(new URL('./scripts/cdn/file-url.ts', import.meta.url));
const nodeStub = {
  name: 'zf-node-stub',
  resolveId(id) {
    if (id === 'node:fs/promises') return fileUrlModule;
    return /^node:/.test(id) ? `\0zf-node:${id}` : null;
  },
  load(id) {
    if (!id.startsWith('\0zf-node:')) return null;
    const name = id.slice('\0zf-node:'.length);
    return `export default new Proxy({}, { get() { throw new Error('${name} is not available in browsers'); } });`;
  },
};
const scriptUrlMeta = {
  name: 'zf-script-url',
  resolveImportMeta(property, { moduleId }) {
    if (property !== 'url') return null;
    // default-model.ts looks one folder up for models/ (as dist/index.js); samples.ts two.
    const depth = moduleId.endsWith('default-model.ts') ? 'zf/' : 'zf/zf/';
    return `new URL(${JSON.stringify(`${depth}zf.js`)}, __zfScriptUrl).href`;
  },
};
const cdnWorkerStart = {
  name: 'zf-cdn-worker-start',
  transform(code, id) {
    if (!id.endsWith('components/shared/engine-controller.ts')) return null;
    const call = /new Worker\(new URL\('\.\.\/\.\.\/src\/worker\/worker\.ts', import\.meta\.url\), \{[^}]*\}\)/;
    if (!call.test(code)) this.error('engine-controller.ts no longer starts its worker as rollup.config.mjs expects');
    return {
      code: `import { startWorker as __zfStartWorker } from ${JSON.stringify(fileURLToPath(new URL('./scripts/cdn/start-worker.ts', import.meta.url)))};\n` +
        code.replace(call, '__zfStartWorker()'),
      map: null,
    };
  },
};
const cdnElements = 'build/zf-visualizer.elements.cjs';
const engineDirs = ['src', 'scripts/cdn'].map((d) => fileURLToPath(new URL(`./${d}/`, import.meta.url)));
// In the elements' pass: the engine's modules (src/, scripts/cdn/) stay imports (require calls,
// by absolute path), which the main pass satisfies from its own copies.
const engineExternal = {
  name: 'zf-engine-external',
  async resolveId(source, importer) {
    if (!importer) return null;
    const resolved = await this.resolve(source, importer, { skipSelf: true });
    if (resolved && !resolved.external && engineDirs.some((d) => resolved.id.startsWith(d))) return { id: resolved.id, external: true };
    return null;
  },
};
// In the main pass: `zf:elements`, the elements' code as the body of defineElements(), its
// require() calls answered by the main bundle's modules.
const elementsModule = {
  name: 'zf-elements',
  resolveId(id) { return id === 'zf:elements' ? '\0zf:elements' : null; },
  async load(id) {
    if (id !== '\0zf:elements') return null;
    const { readFile } = await import('node:fs/promises');
    this.addWatchFile(cdnElements);
    const code = await readFile(cdnElements, 'utf8');
    // Each require() of an engine module becomes a namespace import of it (no paths in the output).
    const deps = [];
    const body = code.replace(/\brequire\((?:"([^"]+)"|'([^']+)')\)/g, (_, a, b) => {
      const dep = a ?? b;
      if (!engineDirs.some((e) => dep.startsWith(e))) this.error(`the elements require ${dep}, not an engine module`);
      if (!deps.includes(dep)) deps.push(dep);
      return `__zfDep${deps.indexOf(dep)}`;
    });
    if (/\brequire\b/.test(body)) this.error(`${cdnElements} still calls require()`);
    return deps.map((d, i) => `import * as __zfDep${i} from ${JSON.stringify(d)};\n`).join('') +
      `export function defineElements() {\n  const exports = {};\n${body}\n  return exports;\n}\n`;
  },
};
// The last step: the whole script as one named function expression, called at once; its own
// source text (__zfBundle.toString()) is what start-worker.ts runs as the worker.
const selfWrap = {
  name: 'zf-self-wrap',
  renderChunk(code) {
    return { code: `(function zfBundle(){var __zfBundle=zfBundle;\n${code.trimEnd()}\n})();\n`, map: null };
  },
};
// The default model (final weights and manifest; the training snapshots stay in models/ for
// the engine and the CLI) and its samples, copied beside the script, each with a `.js` twin
// that registers its bytes for pages opened from file:// (scripts/cdn/file-url.ts).
const copyModels = {
  name: 'zf-copy-models',
  async writeBundle() {
    const { readFile, writeFile, readdir, mkdir, rm } = await import('node:fs/promises');
    await rm('dist/models', { recursive: true, force: true });
    const copy = async (from, to) => {
      const bytes = await readFile(from);
      await writeFile(to, bytes);
      await writeFile(`${to}.js`, '(self.ZF_FILES=self.ZF_FILES||{})[document.currentScript.src.slice(0,-3)]=' +
        `"${bytes.toString('base64')}";\n`);
    };
    for (const [from, to, keep] of [
      // The final weights and the training snapshots the manifest lists (the evolution view).
      ['models/zfnet-mini', 'dist/models/zfnet-mini', (f) => f.endsWith('.f16.bin') || f === 'manifest.json'],
      ['models/samples', 'dist/models/samples', (f) => f.endsWith('.png')],
    ]) {
      await mkdir(to, { recursive: true });
      for (const f of await readdir(from)) if (keep(f)) await copy(`${from}/${f}`, `${to}/${f}`);
    }
    await writeFile('dist/models/samples/LICENSE.md', await readFile('models/samples/LICENSE.md'));
  },
};
// ASCII only (non-ASCII characters as \u escapes), so pages without <meta charset> read the
// elements' text right.
const asciiOnly = {
  name: 'zf-ascii-only',
  renderChunk(code) {
    return { code: code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), map: null };
  },
};
const cdnPlugins = [nodeStub, scriptUrlMeta, nodeResolve({ extensions: ['.ts', '.js'], browser: true })];
export default [
  { input: 'components/index.ts', output: { file: 'dist/components/zf-visualizer.js', format: 'es', sourcemap: true },
    external: browserExternal, plugins: [...browserPlugins, manifest] },
  { input: 'src/worker/worker.ts', output: { file: 'dist/components/zf-worker.js', format: 'es', sourcemap: true },
    external: browserExternal, plugins: browserPlugins },
  { input: 'components/index.ts', makeAbsoluteExternalsRelative: false,
    output: { file: cdnElements, format: 'cjs', exports: 'named', esModule: false, strict: false, interop: 'esModule', inlineDynamicImports: true },
    plugins: [engineExternal, cdnWorkerStart, ...cdnPlugins, esbuild({ target: 'es2022' })] },
  { input: 'scripts/cdn/main.ts', output: { file: 'dist/zf-visualizer.min.js', format: 'iife', intro: SCRIPT_URL, inlineDynamicImports: true },
    plugins: [elementsModule, ...cdnPlugins, esbuild({ target: 'es2022', minify: true, legalComments: 'none' }), asciiOnly, selfWrap, copyModels] },
  { input: 'src/index.ts', output: { file: 'dist/index.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'cli/main.ts', output: { file: 'dist/cli.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/main.ts', output: { file: 'dist/train.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/worker.ts', output: { file: 'dist/train-worker.js', format: 'es', sourcemap: true }, external, plugins },
];
