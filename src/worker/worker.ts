/**
 * The engine's Web Worker (a module worker): `new Worker(url, { type: 'module' })`, then speak
 * the protocol in protocol.ts, most easily through EngineClient (client.ts).
 *
 * Started with `name: POOL_WORKER_NAME` (pool.ts), the same script is instead one worker of an
 * analyses' pool (pool-worker.ts): the engine worker starts its pool's workers that way, from
 * its own URL, so a pool needs neither a blob: URL (a strict CSP's worker-src may refuse them)
 * nor a second bundle, and runs exactly the engine code of the worker that started it.
 */
import { EngineHost } from './host.js';
import type { RequestMessage } from './protocol.js';
import { POOL_WORKER_NAME } from '../analyses/pool.js';
import { startPoolWorker } from '../analyses/pool-worker.js';

const scope = self as unknown as {
  name: string;
  location: { href: string };
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
};

if (scope.name === POOL_WORKER_NAME) {
  // Listening now, during the module's evaluation: the pool's first message may already wait.
  startPoolWorker({
    post: (message, transfer) => scope.postMessage(message, transfer ?? []),
    listen: (listener) => scope.addEventListener('message', (event) => listener(event.data)),
  });
} else {
  // This file sits two folders below the package root both as source (src/worker/) and as built
  // (dist/components/), so the default model's folder is found the same way from either.
  // (A variable, so bundlers do not treat the folder as an asset.)
  const relative = '../../models/';
  const modelsUrl = new URL(relative, import.meta.url).href;
  // The script this worker was started from: whatever wraps this module (Vite's dev worker, a
  // page's bundler) then starts the pool worker the same way. A blob: URL (a page that copied
  // the script into one) may be revoked already: this module's own URL instead.
  const here = scope.location.href.startsWith('blob:') ? import.meta.url : scope.location.href;
  // Nested workers: not in every browser's workers (Safari before 15.5); without, no pool.
  const spawnPoolWorker = typeof Worker === 'function'
    ? () => new Worker(here, { type: 'module', name: POOL_WORKER_NAME })
    : undefined;
  const host = new EngineHost((message, transfer) => scope.postMessage(message, transfer), modelsUrl, { spawnPoolWorker });
  scope.addEventListener('message', (event: MessageEvent<RequestMessage>) => host.receive(event.data));
}
