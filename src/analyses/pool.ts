/**
 * A pool of workers, each holding its own copy of one model, that run the analyses' jobs
 * (occlusion positions, data-set images) in parallel: worker_threads in Node, module Web
 * Workers in browsers. Every worker runs the same engine code as the calling thread
 * (src/analyses/pool-worker.ts, loaded from the engine's ES module), so results do not depend on
 * where a job ran.
 *
 * Jobs are dealt out in the order they were submitted, to the least busy worker, up to two per
 * worker (so a worker goes on with its next job even while the calling thread is busy and has
 * not yet read the last result). Aborting a job's signal rejects it at once; a job already
 * posted to a worker still runs there and its result is dropped (jobs are kept short: a batch
 * of positions or images). `close()` stops the workers.
 *
 * Where the workers load the engine from (`engineUrl`): the ES module that exports
 * `startPoolWorker`. By default, the package's `dist/index.js` (beside the bundle that is
 * running, or, when running from the TypeScript sources, the built one: run `npm run build`
 * first). A bundler that moves the engine elsewhere passes the URL of its own chunk.
 */
import { AbortError, ArgumentError, ZFError } from '../errors.js';
import type { Model } from '../engine/model.js';
import type { Network } from '../graph/layers.js';
import type { Region } from '../memory/arena.js';
import type { Backend } from '../wasm/load.js';
import type { PoolTasks, TaskName } from './pool-worker.js';

export type { PoolTasks, TaskName } from './pool-worker.js';

export interface PoolOptions {
  /** How many workers (default: the number of cores, at least 1). */
  workers?: number;
  /** The ES module the workers import the engine from (see above). */
  engineUrl?: string | URL;
  /**
   * Only these layers' weights go to the workers (default: all). A job that needs only the
   * convolutions (occlusion's spatial part) starts much faster without ZFNet's 234 MB of fc
   * weights, and the workers' memory holds none of them.
   */
  layers?: readonly string[];
  signal?: AbortSignal;
}

export interface JobOptions {
  signal?: AbortSignal;
  /** Buffers of the arguments to move to the worker instead of copying (they become unusable here). */
  transfer?: Transferable[];
}

/** The workers' messages. */
type FromWorker =
  | { kind: 'ready' }
  | { kind: 'loaded' }
  | { kind: 'fatal'; message: string }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: { name: string; message: string } };

/** The pool's messages to a worker. */
export type ToWorker =
  | { type: 'load'; network: Network; backend: Backend; weights: Record<string, { weight: Float32Array; bias?: Float32Array }> }
  | { type: 'job'; id: number; task: string; args: unknown };

/** One worker, whatever the platform. */
interface Endpoint {
  post(message: ToWorker, transfer?: Transferable[]): void;
  on(listener: (message: FromWorker) => void, failed: (error: Error) => void): void;
  /** Node: keep the process alive while the worker has work (an idle pool does not hold it open). */
  hold(busy: boolean): void;
  terminate(): void;
}

interface Job {
  id: number;
  task: string;
  args: unknown;
  transfer: Transferable[];
  resolve(value: unknown): void;
  reject(error: Error): void;
  cleanup(): void;
}

/** The number of cores this thread can use (1 where unknown). */
export async function availableCores(): Promise<number> {
  if (isNode()) {
    const os = await import(/* @vite-ignore */ nodeModule('os')) as typeof import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, n ?? 1);
}

/** Jobs posted ahead to one worker: it starts the next as soon as one ends, even while this thread is busy. */
const DEPTH = 2;

export class ModelPool {
  /** Jobs posted to each worker and not answered yet. */
  private readonly load = new Map<Endpoint, number>();
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, { job: Job; worker: Endpoint }>();
  private nextId = 1;
  private failure?: Error;
  private closed = false;

  private constructor(private readonly workers: Endpoint[], readonly network: Network,
                      /** The layers whose weights the workers hold. */
                      readonly layers: readonly string[],
                      /** Whether they hold every layer's weights. */
                      readonly complete: boolean) {
    for (const w of workers) {
      this.load.set(w, 0);
      w.on((m) => this.receive(w, m), (e) => this.fail(e));
      w.hold(false);
    }
  }

  /**
   * Start `workers` workers, each with a copy of `model` (its network and current weights).
   * Resolves when every worker has its model.
   */
  static async create(model: Model, options: PoolOptions = {}): Promise<ModelPool> {
    const count = options.workers ?? await availableCores();
    if (!Number.isInteger(count) || count < 1) throw new ArgumentError(`workers must be a positive integer, got ${count}`);
    if (options.signal?.aborted) throw new AbortError('cancelled');
    const url = String(options.engineUrl ?? defaultEngineUrl());
    // The workers boot (compile the engine) while the weights are copied out here.
    const names = model.layers.map((l) => l.name);
    const layers = options.layers ? [...options.layers] : names;
    for (const l of layers) if (!names.includes(l)) throw new ArgumentError(`unknown layer '${l}'; this model has ${names.join(', ')}`);
    const spawning = Array.from({ length: count }, () => spawn(url));
    try {
      const weights = shareWeights(model, layers);
      const ready = await Promise.all(spawning);
      await Promise.all(ready.map((w) => loadInto(w, model.network, model.backend, weights, url, options.signal)));
      return new ModelPool(ready, model.network, layers, names.every((n) => layers.includes(n)));
    } catch (e) {
      for (const r of await Promise.allSettled(spawning)) if (r.status === 'fulfilled') r.value.terminate();
      throw e;
    }
  }

  get size(): number { return this.workers.length; }

  /** Jobs a caller should keep submitted to keep every worker busy. */
  get capacity(): number { return this.workers.length * DEPTH; }

  /** Run one job on the least busy worker. */
  run<K extends TaskName>(task: K, args: PoolTasks[K]['args'], options: JobOptions = {}): Promise<PoolTasks[K]['result']> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new AbortError('the worker pool was closed'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError('cancelled'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const abort = () => {
        const at = this.queue.findIndex((j) => j.id === id);
        if (at >= 0) this.queue.splice(at, 1);
        // A posted job still runs on its worker; its result is dropped (see receive).
        const started = this.running.get(id);
        if (started) started.job.resolve = () => {};
        reject(new AbortError('cancelled'));
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.queue.push({
        id, task, args, transfer: options.transfer ?? [], resolve: resolve as (v: unknown) => void, reject,
        cleanup: () => signal?.removeEventListener('abort', abort),
      });
      this.dispatch();
    });
  }

  /** Stop every worker; jobs not finished reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new AbortError('the worker pool was closed');
    for (const job of this.queue.splice(0)) { job.cleanup(); job.reject(error); }
    for (const { job } of this.running.values()) { job.cleanup(); job.reject(error); }
    this.running.clear();
    for (const w of this.workers) w.terminate();
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      let worker: Endpoint | undefined;
      for (const [w, n] of this.load) if (n < DEPTH && (!worker || n < this.load.get(worker)!)) worker = w;
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.set(job.id, { job, worker });
      this.load.set(worker, this.load.get(worker)! + 1);
      worker.hold(true);
      worker.post({ type: 'job', id: job.id, task: job.task, args: job.args }, job.transfer);
    }
  }

  private receive(worker: Endpoint, m: FromWorker): void {
    if (m.kind === 'fatal') { this.fail(new ZFError(`a worker failed: ${m.message}`)); return; }
    if (m.kind !== 'result' && m.kind !== 'error') return;
    const entry = this.running.get(m.id);
    this.running.delete(m.id);
    const left = Math.max(0, this.load.get(worker)! - 1);
    this.load.set(worker, left);
    if (left === 0) worker.hold(false);
    if (entry) {
      entry.job.cleanup();
      if (m.kind === 'result') entry.job.resolve(m.result);
      else entry.job.reject(rebuildError(m.error));
    }
    this.dispatch();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const job of this.queue.splice(0)) { job.cleanup(); job.reject(error); }
    for (const { job } of this.running.values()) { job.cleanup(); job.reject(error); }
    this.running.clear();
  }
}

function rebuildError(info: { name: string; message: string }): Error {
  const e = info.name === 'AbortError' ? new AbortError(info.message)
    : info.name === 'ArgumentError' ? new ArgumentError(info.message) : new ZFError(info.message);
  if (!['AbortError', 'ArgumentError'].includes(info.name)) e.name = info.name;
  return e;
}

/**
 * The model's weights, once, in shared memory where the platform has it (workers read them
 * without a copy each). Copied straight from the model's memory: fresh memory is slow to touch,
 * so it is touched once.
 */
function shareWeights(model: Model, layers: readonly string[]): Record<string, { weight: Float32Array; bias?: Float32Array }> {
  const canShare = typeof SharedArrayBuffer !== 'undefined' && (isNode() ||
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true);
  const copy = (region: Region | undefined) => {
    if (!region) return undefined;
    const view = model.arena.f32(region);
    const out = canShare ? new Float32Array(new SharedArrayBuffer(view.byteLength)) : new Float32Array(view.length);
    out.set(view);
    return out;
  };
  const out: Record<string, { weight: Float32Array; bias?: Float32Array }> = {};
  for (const layer of model.layers) {
    if (!layers.includes(layer.name)) continue;
    const p = model.paramsAt(layer.op)!;
    out[layer.name] = { weight: copy(p.weight)!, bias: copy(p.bias) };
  }
  return out;
}

function loadInto(w: Endpoint, network: Network, backend: Backend,
                  weights: Record<string, { weight: Float32Array; bias?: Float32Array }>, url: string,
                  signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new AbortError('cancelled')); return; }
    const abort = () => reject(new AbortError('cancelled'));
    signal?.addEventListener('abort', abort, { once: true });
    w.on((m) => {
      if (m.kind === 'loaded') { signal?.removeEventListener('abort', abort); resolve(); }
      if (m.kind === 'fatal') reject(new ZFError(`a worker could not start the engine from ${url}: ${m.message}`));
    }, (e) => reject(new ZFError(`a worker could not start the engine from ${url}: ${e.message}`)));
    w.post({ type: 'load', network, backend, weights });
  });
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** 'node:' + name, built at run time so browser bundlers do not try to resolve it. */
function nodeModule(name: string): string {
  return ['node', name].join(':');
}

function defaultEngineUrl(): string {
  const here = import.meta.url;
  if (!here) {
    throw new ArgumentError('cannot tell where the engine module is (this bundle has no import.meta.url): ' +
      'pass engineUrl, the URL of an ES module that exports startPoolWorker, or use workers: 1');
  }
  // From the sources (src/analyses/pool.ts): the built engine. From a bundle in dist/: dist/index.js.
  return /\.ts($|\?)/.test(here) ? new URL('../../dist/index.js', here).href : new URL('./index.js', here).href;
}

/** Start one worker and wait until it listens. */
async function spawn(url: string): Promise<Endpoint> {
  let endpoint: Endpoint;
  if (isNode()) {
    const { Worker } = await import(/* @vite-ignore */ nodeModule('worker_threads')) as typeof import('node:worker_threads');
    // A CommonJS bootstrap that imports the engine's ES module and hands it the port.
    const boot = `const { parentPort } = require('node:worker_threads');
import(${JSON.stringify(url)}).then((m) => m.startPoolWorker({
  post: (message, transfer) => parentPort.postMessage(message, transfer),
  listen: (listener) => parentPort.on('message', listener),
})).catch((e) => parentPort.postMessage({ kind: 'fatal', message: String(e && e.message || e) }));`;
    const worker = new Worker(boot, { eval: true });
    const listeners: ((m: FromWorker) => void)[] = [];
    const failures: ((e: Error) => void)[] = [];
    worker.on('message', (m: FromWorker) => { for (const l of [...listeners]) l(m); });
    worker.on('error', (e: Error) => { for (const f of [...failures]) f(e); });
    endpoint = {
      post: (message, transfer) => worker.postMessage(message, transfer as never),
      on: (listener, failed) => { listeners.push(listener); failures.push(failed); },
      hold: (busy) => { if (busy) worker.ref(); else worker.unref(); },
      terminate: () => { void worker.terminate(); },
    };
  } else {
    const source = `import { startPoolWorker } from ${JSON.stringify(url)};
startPoolWorker({ post: (m, t) => self.postMessage(m, t), listen: (l) => self.addEventListener('message', (e) => l(e.data)) });`;
    const blob = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const worker = new Worker(blob, { type: 'module' });
    const listeners: ((m: FromWorker) => void)[] = [];
    const failures: ((e: Error) => void)[] = [];
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => { for (const l of [...listeners]) l(e.data); });
    worker.addEventListener('error', (e: ErrorEvent) => {
      e.preventDefault?.();
      for (const f of [...failures]) f(new Error(e.message || 'the worker script could not be loaded'));
    });
    endpoint = {
      post: (message, transfer) => worker.postMessage(message, transfer ?? []),
      on: (listener, failed) => { listeners.push(listener); failures.push(failed); },
      hold: () => {},
      terminate: () => { worker.terminate(); URL.revokeObjectURL(blob); },
    };
  }
  await new Promise<void>((resolve, reject) => {
    endpoint.on((m) => {
      if (m.kind === 'ready') resolve();
      if (m.kind === 'fatal') reject(new ZFError(`a worker could not load the engine from ${url}: ${m.message}` +
        (/dist\/index\.js/.test(url) ? ' (run `npm run build` first)' : '')));
    }, (e) => reject(new ZFError(`a worker could not start: ${e.message}`)));
  });
  return endpoint;
}
