/**
 * A Lit ReactiveController that owns the engine's Web Worker for one element: it starts the
 * worker when the element connects, stops it when the element leaves the page, and hands out
 * typed requests. The element never runs inference itself.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { EngineClient, type RequestOptions } from '../../src/worker/client.js';
import type { RequestOf, RequestType, ResultOf } from '../../src/worker/protocol.js';

/** How to start the worker; pages that host the files elsewhere pass their own URL or factory. */
export type WorkerFactory = () => Worker;

export function defaultWorker(): Worker {
  // Source and build both keep this literal form: Vite bundles the worker from it in
  // development, and rollup.config.mjs rewrites it to the built dist/components/zf-worker.js.
  return new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module', name: 'zf-visualizer engine' });
}

export class EngineController implements ReactiveController {
  private client?: EngineClient;
  /**
   * Increments whenever the worker is stopped: whatever it held (the model, the run) is gone,
   * so work keyed on the session starts again in the next worker.
   */
  session = 0;

  /** `factory` is asked for the worker when the first request needs one. */
  constructor(private readonly host: ReactiveControllerHost, private readonly factory: () => WorkerFactory = () => defaultWorker) {
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.stop();
  }

  /** Stop the worker (pending requests reject); the next request starts a new one. */
  stop(): void {
    if (!this.client) return;
    this.client.terminate();
    this.client = undefined;
    this.session += 1;
    this.host.requestUpdate();
  }

  request<T extends Exclude<RequestType, 'cancel'>>(request: RequestOf<T>, options?: RequestOptions): Promise<ResultOf[T]> {
    this.client ??= new EngineClient(this.factory()());
    return this.client.request(request, options);
  }
}
