/**
 * dist/zf-visualizer.min.js: one classic script that, in a page, defines the elements
 * (<zf-visualizer> and its parts) and the global `ZF`, the engine API on the page's own thread:
 *
 *   const model = await ZF.loadModel('zfnet-mini');            // files beside the script
 *   const run = model.forward(model.preprocess(await ZF.pixels(img)));
 *   run.top(3); run.project({ layer: 'conv2', map: 5 }); ZF.projectionToImage(...)
 *
 * In a worker (no document) the same script is the elements' engine worker (worker.ts):
 * start-worker.ts starts it from the script's own source. The wasm kernels are inlined; the
 * default model sits in <script dir>/models/.
 */
/// <reference path="./globals.d.ts" />
import * as api from './api.js';
import { startHost } from './worker.js';
import { defineElements } from 'zf:elements';

const page = self as unknown as { ZF?: object };
if (typeof document !== 'undefined') {
  // The elements (Lit and the components) are evaluated here only: never in the worker. A second
  // copy of the script on the page keeps the first's ZF: its element classes are the registered
  // ones (the second copy's could not be, and `new ZF.ZfVisualizer()` would throw).
  page.ZF ??= { ...api, ...defineElements() };
} else {
  startHost();
}
