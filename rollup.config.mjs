// The npm package's builds: the engine (ESM, no DOM) and the CLI. The wasm is already inlined
// as base64 by scripts/build-wasm.mjs, so no wasm plugin is needed.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const external = (id) => /^node:/.test(id) || ['pngjs', 'jpeg-js', 'lit'].some((p) => id === p || id.startsWith(`${p}/`));
const plugins = [nodeResolve({ extensions: ['.ts', '.js'] }), esbuild({ target: 'es2022' })];

export default [
  { input: 'src/index.ts', output: { file: 'dist/index.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'cli/main.ts', output: { file: 'dist/cli.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/main.ts', output: { file: 'dist/train.js', format: 'es', sourcemap: true }, external, plugins },
  { input: 'src/train/worker.ts', output: { file: 'dist/train-worker.js', format: 'es', sourcemap: true }, external, plugins },
];
