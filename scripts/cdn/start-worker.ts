/**
 * How the CDN script starts its engine worker: the script is its own worker (main.ts serves the
 * engine when there is no document). The worker is started from a Blob URL holding the script's
 * own source text (Function.prototype.toString of the function that wraps the whole script, see
 * rollup.config.mjs: no fetch, no eval, works for a script on any origin, a CDN included), or,
 * when the page's CSP forbids blob: workers, from the script's own URL as a classic worker
 * (same-origin scripts only). A CSP refusal shows only as an error event, so requests wait until
 * the worker says it is ready; if the blob worker fails first, the file's worker takes over with
 * the same queue.
 */
/// <reference path="./globals.d.ts" />
import { FILE_REPLY, FILE_REQUEST, loadTwin } from './file-url.js';

const NAME = 'zf-visualizer engine';
/** What the CDN script posts first in a worker (worker.ts). */
export const READY = 'zf-worker-ready';
let blobUrl: string | undefined;
let blobBlocked = false;

/** `<script dir>/models/`: where the default model and its samples are. */
export const MODELS_URL = new URL('models/', __zfScriptUrl).href;

function blobWorker(): Worker {
  blobUrl ??= URL.createObjectURL(new Blob([
    `self.ZF_SCRIPT_URL=${JSON.stringify(__zfScriptUrl)};(`, String(__zfBundle), ')();\n',
  ], { type: 'text/javascript' }));
  return new Worker(blobUrl, { name: NAME });
}

function fileWorker(): Worker {
  return new Worker(__zfScriptUrl, { name: NAME });
}

/** A Worker look-alike over the blob worker or, failing that, the file's. */
class EngineWorker extends EventTarget {
  private worker!: Worker;
  private ready = false;
  private queue: [unknown, Transferable[]][] = [];

  constructor() {
    super();
    let worker: Worker | undefined;
    if (!blobBlocked) {
      try {
        worker = blobWorker();
      } catch {
        blobBlocked = true;
      }
    }
    this.attach(worker ?? fileWorker(), !worker);
  }

  private attach(worker: Worker, last: boolean): void {
    this.worker = worker;
    worker.addEventListener('message', (event: MessageEvent) => {
      if (worker !== this.worker) return;
      if (event.data?.kind === FILE_REQUEST) {
        // The worker reads a file: URL (a page opened from file://) through this page.
        const { id, href } = event.data as { id: number; href: string };
        loadTwin(href).then(
          (bytes) => worker.postMessage({ kind: FILE_REPLY, id, bytes }, [bytes.buffer]),
          (e: Error) => worker.postMessage({ kind: FILE_REPLY, id, error: e.message }));
        return;
      }
      if (event.data === READY) {
        this.ready = true;
        for (const [message, transfer] of this.queue.splice(0)) worker.postMessage(message, transfer);
        return;
      }
      this.dispatchEvent(new MessageEvent('message', { data: event.data }));
    });
    worker.addEventListener('error', (event: ErrorEvent) => {
      if (worker !== this.worker) return;
      event.preventDefault();
      if (!this.ready && !last) {
        // The blob worker never started (a CSP without blob: workers): use the script's URL instead.
        blobBlocked = true;
        worker.terminate();
        this.attach(fileWorker(), true);
        return;
      }
      this.dispatchEvent(new ErrorEvent('error', { message: event.message }));
    });
    worker.addEventListener('messageerror', () => {
      if (worker === this.worker) this.dispatchEvent(new MessageEvent('messageerror'));
    });
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.ready) this.worker.postMessage(message, transfer);
    else this.queue.push([message, transfer]);
  }

  terminate(): void {
    this.worker.terminate();
    this.queue = [];
  }
}

export function startWorker(): Worker {
  return new EngineWorker() as unknown as Worker;
}
