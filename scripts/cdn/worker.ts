/**
 * The CDN script in a worker: dist/zf-visualizer.min.js is its own engine worker (started by
 * start-worker.ts from the script's own source, or from the script's URL when blob: workers are
 * refused). There it starts the same EngineHost as src/worker/worker.ts, and nothing else.
 * The default model is found relative to the script: <script dir>/models/.
 */
/// <reference path="./globals.d.ts" />
import { EngineHost } from '../../src/worker/host.js';
import type { RequestMessage } from '../../src/worker/protocol.js';
import { fileFetch, takeReply } from './file-url.js';
import { READY } from './start-worker.js';

/** Serve the engine from this worker (main.ts calls it when there is no document). */
export function startHost(): void {
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
  scope.postMessage(READY, []);
}
