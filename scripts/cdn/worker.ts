/**
 * The CDN script's engine worker: the same EngineHost as src/worker/worker.ts, built as a classic
 * IIFE and inlined as a string into dist/zf-visualizer.min.js (started from a Blob URL), and also
 * written beside it as dist/zf-visualizer.worker.js for pages whose CSP allows no blob: workers.
 * The default model is found relative to the script: <script dir>/models/.
 */
/// <reference path="./globals.d.ts" />
import { EngineHost } from '../../src/worker/host.js';
import type { RequestMessage } from '../../src/worker/protocol.js';
import { fileFetch, takeReply } from './file-url.js';

const scope = self as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<RequestMessage>) => void): void;
};
const host = new EngineHost((message, transfer) => scope.postMessage(message, transfer), new URL('models/', __zfScriptUrl).href);
// A page opened from file://: images and models come through the page (file-url.ts).
if (__zfScriptUrl.startsWith('file:')) self.fetch = fileFetch(self.fetch.bind(self), __zfScriptUrl);
scope.addEventListener('message', (event) => {
  if (!takeReply(event.data)) host.receive(event.data);
});
scope.postMessage('zf-worker-ready', []); // start-worker.ts's READY
