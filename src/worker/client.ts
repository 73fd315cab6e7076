/**
 * The page's side of the protocol (protocol.ts): one promise per request, settled by the
 * worker's one reply. Aborting a request's signal rejects it at once with an AbortError and
 * tells the worker to stop; whatever the worker still sends for it is dropped.
 */
import { AbortError, ZFError } from '../errors.js';
import {
  transferables, type ErrorInfo, type RequestMessage, type RequestOf, type RequestType, type ResponseMessage, type ResultOf,
} from './protocol.js';

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (fraction: number) => void;
  cleanup(): void;
}

/** An error from the worker, with the engine's error name (ArgumentError, ImageDecodeError...). */
export class WorkerError extends ZFError {
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = info.name;
  }
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure?: Error;

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (event: MessageEvent<ResponseMessage>) => this.receive(event.data));
    worker.addEventListener('error', (event: ErrorEvent) => {
      event.preventDefault?.();
      this.failAll(new ZFError(`the engine's worker failed: ${event.message || 'its script could not be loaded'}`));
    });
    worker.addEventListener('messageerror', () => this.failAll(new ZFError('a message from the engine\'s worker could not be read')));
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number { return this.pending.size; }

  request<T extends Exclude<RequestType, 'cancel'>>(request: RequestOf<T>, options: RequestOptions = {}): Promise<ResultOf[T]> {
    const { signal, onProgress } = options;
    if (this.failure) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(new AbortError('cancelled'));
    const id = this.nextId++;
    return new Promise<ResultOf[T]>((resolve, reject) => {
      const abort = () => {
        if (!this.pending.has(id)) return;
        this.settle(id);
        this.worker.postMessage({ id: this.nextId++, type: 'cancel', target: id } satisfies RequestMessage);
        reject(new AbortError('cancelled'));
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (value: unknown) => void, reject, onProgress,
        cleanup: () => signal?.removeEventListener('abort', abort),
      });
      const message = { ...request, id } as RequestMessage;
      this.worker.postMessage(message, transferables(request));
    });
  }

  /** Stop the worker; every pending request rejects. */
  terminate(): void {
    this.worker.terminate();
    this.failAll(new AbortError('the engine was stopped'));
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.cleanup();
    return p;
  }

  private receive(message: ResponseMessage): void {
    if (message.kind === 'progress') {
      this.pending.get(message.id)?.onProgress?.(message.fraction);
      return;
    }
    const p = this.settle(message.id);
    if (!p) return;
    if (message.kind === 'result') p.resolve(message.result);
    else p.reject(new WorkerError(message.error));
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }
}
