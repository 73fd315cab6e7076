/**
 * A pool of workers, each holding its own copy of one model, that run the analyses' jobs
 * (occlusion positions, data-set images) in parallel: worker_threads in Node, Web Workers in
 * browsers. Every worker runs the same engine code as the calling thread
 * (src/analyses/pool-worker.ts), so results do not depend on where a job ran.
 *
 * Jobs are dealt out in the order they were submitted, to the least busy worker, up to two per
 * worker (so a worker goes on with its next job even while the calling thread is busy and has
 * not yet read the last result). Aborting a job's signal rejects it at once; a job already
 * posted to a worker still runs there and its result is dropped (jobs are kept short: a batch
 * of positions or images). `close()` stops the workers.
 *
 * How the workers start, first that applies:
 * 1. `spawnWorker`: a function that starts a Web Worker already running `startPoolWorker` on its
 *    global scope. zf-visualizer's engine worker (src/worker/worker.ts) is one when it is named
 *    POOL_WORKER_NAME, so the engine worker starts its pool from its own script: no blob: URL
 *    (which a strict CSP's worker-src refuses) and no second bundle.
 * 2. `engineUrl`: the ES module that exports `startPoolWorker`; each worker is a few lines that
 *    import it (Node: an eval'd worker_threads script; browsers: a blob: module worker).
 * 3. This thread's default spawner, `setDefaultSpawnWorker` (the engine worker's host sets it,
 *    so analyses that start their own pool, like occlusion, start it that way).
 * 4. `engineUrl`'s default: the package's `dist/index.js` (beside the bundle that is running, or,
 *    when running from the TypeScript sources, the built one: run `npm run build` first). In
 *    browsers that needs blob: workers and an unbundled dist/; errors say to pass spawnWorker.
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
  /**
   * Browsers: start one Web Worker that runs `startPoolWorker` (pool-worker.ts) on its global
   * scope, e.g. `() => new Worker(engineWorkerUrl, { type: 'module', name: POOL_WORKER_NAME })`
   * for zf-visualizer's engine worker script. Called once per worker; the pool terminates them.
   */
  spawnWorker?: () => Worker;
  /** The ES module the workers import the engine from (see above; ignored with spawnWorker). */
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

/**
 * The `name` that makes zf-visualizer's engine worker script (src/worker/worker.ts, built as
 * dist/components/zf-worker.js) serve as a pool worker instead of an engine.
 */
export const POOL_WORKER_NAME = 'zf-visualizer pool';

let defaultSpawnWorker: (() => Worker) | undefined;

/**
 * Make `spawn` how this thread's pools start their workers when given neither `spawnWorker` nor
 * `engineUrl` (undefined: back to the default engine URL). Returns the previous one. It is per
 * thread on purpose: how a worker can be started (which script URL the page's CSP allows) is a
 * property of where this code was loaded from, not of any one analysis, and analyses that start
 * their own pool (occlusion, the scans) then need no option of their own to pass it along.
 */
export function setDefaultSpawnWorker(spawn: (() => Worker) | undefined): (() => Worker) | undefined {
  if (spawn !== undefined && typeof spawn !== 'function') {
    throw new ArgumentError(`the default spawnWorker must be a function that returns a Worker, got ${typeof spawn}`);
  }
  const previous = defaultSpawnWorker;
  defaultSpawnWorker = spawn;
  return previous;
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

/**
 * How long a worker may take to say it is ready (its script loaded and ran). A worker that runs
 * something else (an engine worker started without POOL_WORKER_NAME) would never say so; the
 * pool must not wait for it forever. Generous: a slow phone loading a cold 1 MB script.
 */
const READY_TIMEOUT_MS = 60_000;

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
    if (options.spawnWorker !== undefined && typeof options.spawnWorker !== 'function') {
      throw new ArgumentError(`spawnWorker must be a function that returns a Worker, got ${typeof options.spawnWorker}`);
    }
    const names = model.layers.map((l) => l.name);
    const layers = options.layers ? [...options.layers] : names;
    for (const l of layers) if (!names.includes(l)) throw new ArgumentError(`unknown layer '${l}'; this model has ${names.join(', ')}`);
    const start = launcher(options);
    // Aborted by the caller, or by the first worker that fails: the others stop waiting then.
    const stop = new AbortController();
    const relay = () => stop.abort();
    options.signal?.addEventListener('abort', relay, { once: true });
    // The workers boot (compile the engine) while the weights are copied out here.
    const spawning = Array.from({ length: count }, () => spawn(start, stop.signal));
    try {
      const weights = shareWeights(model, layers);
      const ready = await Promise.all(spawning);
      await Promise.all(ready.map((w) => loadInto(w, model.network, model.backend, weights, start.from, stop.signal)));
      return new ModelPool(ready, model.network, layers, names.every((n) => layers.includes(n)));
    } catch (e) {
      stop.abort();
      // A spawn that failed has stopped its own worker; these are the ones that started.
      for (const r of await Promise.allSettled(spawning)) if (r.status === 'fulfilled') r.value.terminate();
      throw options.signal?.aborted ? new AbortError('cancelled') : e;
    } finally {
      options.signal?.removeEventListener('abort', relay);
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
  // Every other op's constants too (batch norm, Add/Mul constants of graph models): small, and a
  // copy without them would compute other numbers.
  for (const [key, data] of Object.entries(model.otherConstants())) out[key] = { weight: data };
  return out;
}

function loadInto(w: Endpoint, network: Network, backend: Backend,
                  weights: Record<string, { weight: Float32Array; bias?: Float32Array }>, from: string,
                  signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new AbortError('cancelled')); return; }
    const abort = () => reject(new AbortError('cancelled'));
    signal?.addEventListener('abort', abort, { once: true });
    w.on((m) => {
      if (m.kind === 'loaded') { signal?.removeEventListener('abort', abort); resolve(); }
      if (m.kind === 'fatal') reject(new ZFError(`a pool worker ${from} could not load the model: ${m.message}`));
    }, (e) => reject(new ZFError(`a pool worker ${from} failed while loading the model: ${e.message}`)));
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
      'pass spawnWorker (browsers), or engineUrl, the URL of an ES module that exports startPoolWorker, or use workers: 1');
  }
  // From the sources (src/analyses/pool.ts): the built engine. From a bundle in dist/: dist/index.js.
  return /\.ts($|\?)/.test(here) ? new URL('../../dist/index.js', here).href : new URL('./index.js', here).href;
}

/** How this pool starts each worker, and how errors name it. */
interface Launcher {
  open(): Promise<Endpoint>;
  /** Where the workers come from, for messages: "from URL", "started by spawnWorker"... */
  from: string;
  /** What to do about a worker that did not start. */
  hint: string;
}

function launcher(options: PoolOptions): Launcher {
  if (options.spawnWorker) return spawned(options.spawnWorker, 'spawnWorker');
  if (options.engineUrl === undefined && defaultSpawnWorker) return spawned(defaultSpawnWorker, "this thread's default spawnWorker (setDefaultSpawnWorker)");
  const url = String(options.engineUrl ?? defaultEngineUrl());
  const built = /dist\/index\.js$/.test(url) ? ' (run `npm run build` first)' : '';
  if (isNode()) return { open: () => nodeWorker(url), from: `from ${url}`, hint: built };
  return {
    open: async () => blobWorker(url),
    from: `from ${url} (a blob: module worker that imports it)`,
    hint: `${built}. In browsers, pass spawnWorker: a function that starts a worker running startPoolWorker ` +
      `(zf-visualizer's engine worker script does when named '${POOL_WORKER_NAME}'); a blob: worker needs a CSP ` +
      'whose worker-src allows blob: and an engineUrl that is an unbundled ES module; or use workers: 1',
  };
}

function spawned(spawn: () => Worker, by: string): Launcher {
  return {
    open: async () => webEndpoint(spawn()),
    from: `started by ${by}`,
    hint: `; ${by} must start a worker that runs startPoolWorker (for zf-visualizer's engine worker script: ` +
      `a module worker named '${POOL_WORKER_NAME}'), from a URL the page's CSP worker-src allows`,
  };
}

/** Start one worker and wait until it listens; a worker that does not get there is stopped. */
async function spawn(start: Launcher, signal?: AbortSignal): Promise<Endpoint> {
  if (signal?.aborted) throw new AbortError('cancelled');
  let endpoint: Endpoint;
  try {
    endpoint = await start.open();
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    // E.g. a SecurityError: the page's CSP refuses the worker's URL.
    throw new ZFError(`a pool worker ${start.from} could not be created: ${(e as Error)?.message ?? e}${start.hint}`);
  }
  // A cancel that came while the worker was being opened: its abort event has passed, and the
  // listener below would never hear it (create()'s cleanup would wait the ready timeout).
  if (signal?.aborted) {
    endpoint.terminate();
    throw new AbortError('cancelled');
  }
  try {
    await new Promise<void>((resolve, reject) => {
      // Every way out clears the timer: a pending one would keep a Node process alive for a minute.
      const settle = <T>(then: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        then(value);
      };
      const ok = settle<void>(resolve), no = settle<Error>(reject);
      const timer = setTimeout(() => no(new ZFError(
        `a pool worker ${start.from} did not say it was ready within ${READY_TIMEOUT_MS / 1000} s${start.hint}`)), READY_TIMEOUT_MS);
      // Node: waiting for a worker is no reason to keep the process running.
      (timer as { unref?: () => void }).unref?.();
      const abort = () => no(new AbortError('cancelled'));
      signal?.addEventListener('abort', abort, { once: true });
      endpoint.on((m) => {
        if (m.kind === 'ready') ok();
        if (m.kind === 'fatal') no(new ZFError(`a pool worker could not load the engine ${start.from}: ${m.message}${start.hint}`));
      }, (e) => no(new ZFError(`a pool worker could not start ${start.from}: ${e.message}${start.hint}`)));
    });
  } catch (e) {
    endpoint.terminate();
    throw e;
  }
  return endpoint;
}

async function nodeWorker(url: string): Promise<Endpoint> {
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
  return {
    post: (message, transfer) => worker.postMessage(message, transfer as never),
    on: (listener, failed) => { listeners.push(listener); failures.push(failed); },
    hold: (busy) => { if (busy) worker.ref(); else worker.unref(); },
    terminate: () => { void worker.terminate(); },
  };
}

/** A module worker from a blob: URL whose few lines import the engine from `url`. */
function blobWorker(url: string): Endpoint {
  const source = `import { startPoolWorker } from ${JSON.stringify(url)};
startPoolWorker({ post: (m, t) => self.postMessage(m, t), listen: (l) => self.addEventListener('message', (e) => l(e.data)) });`;
  const blob = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  let worker: Worker;
  try {
    worker = new Worker(blob, { type: 'module' });
  } catch (e) {
    URL.revokeObjectURL(blob);
    throw e;
  }
  return webEndpoint(worker, () => URL.revokeObjectURL(blob));
}

/** A Web Worker as an Endpoint. */
function webEndpoint(worker: Worker, cleanup?: () => void): Endpoint {
  if (!worker || typeof worker.postMessage !== 'function' || typeof worker.addEventListener !== 'function') {
    throw new ArgumentError(`spawnWorker must return a Worker, got ${worker === null ? 'null' : typeof worker}`);
  }
  const listeners: ((m: FromWorker) => void)[] = [];
  const failures: ((e: Error) => void)[] = [];
  const failed = (e: Error) => { for (const f of [...failures]) f(e); };
  worker.addEventListener('message', (e: MessageEvent<FromWorker>) => { for (const l of [...listeners]) l(e.data); });
  worker.addEventListener('error', (e: Event) => {
    // Not the page's error: the pool reports it (a script that failed to load gives a bare Event).
    e.preventDefault();
    failed(new Error((e as ErrorEvent).message || 'its script could not be loaded, or threw before it listened'));
  });
  // A result this thread cannot deserialize: without it the job would never settle.
  worker.addEventListener('messageerror', () => failed(new Error('a message from the worker could not be read')));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer ?? []),
    on: (listener, fail) => { listeners.push(listener); failures.push(fail); },
    hold: () => {},
    terminate: () => { worker.terminate(); cleanup?.(); },
  };
}
