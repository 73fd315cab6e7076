// The npm package's builds: the engine (ESM, no DOM) and the CLI. The wasm is already inlined
// as base64 by scripts/build-wasm.mjs, so no wasm plugin is needed.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { spawnSync } from 'node:child_process';

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

export default [
  { input: 'components/index.ts', output: { file: 'dist/components/zf-visualizer.js', format: 'es', sourcemap: true },
    external: browserExternal, plugins: [...browserPlugins, manifest] },
  { input: 'src/worker/worker.ts', output: { file: 'dist/components/zf-worker.js', format: 'es', sourcemap: true },
    external: browserExternal, plugins: browserPlugins },
  { input: 'src/index.ts', output: { file: 'dist/index.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'cli/main.ts', output: { file: 'dist/cli.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/main.ts', output: { file: 'dist/train.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/worker.ts', output: { file: 'dist/train-worker.js', format: 'es', sourcemap: true }, external, plugins },
];
