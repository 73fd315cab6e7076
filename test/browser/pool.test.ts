// The analyses' worker pool (src/analyses/pool.ts) in real Chromium, started the way the page's
// engine worker starts it: from the engine worker's own script, named POOL_WORKER_NAME (no blob:
// URL). (1) Occlusion in the components' engine worker with its pool equals occlusion with the
// pool disabled, and the pool's workers really computed; (2) ModelPool in the page with
// spawnWorker runs occlusion jobs as this thread would, and close() stops its workers;
// (3) cancelling a pooled occlusion rejects with AbortError and stops every pool worker;
// (4) a pool that cannot start (a spawner that throws, a script that 404s, a worker that never
// says ready) is no pool: occlusion and the scan compute on one thread, and the host stops offering one.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EngineClient } from '../../src/worker/client.js';
import { EngineHost } from '../../src/worker/host.js';
import type { OcclusionResultMessage, ResponseMessage } from '../../src/worker/protocol.js';
import { defaultWorker } from '../../components/shared/engine-controller.js';
import { AbortError, ZFError } from '../../src/errors.js';
import { loadModel } from '../../src/models/load.js';
import { ModelPool, POOL_WORKER_NAME, setDefaultSpawnWorker } from '../../src/analyses/pool.js';
import { OcclusionEngine } from '../../src/analyses/occlusion-engine.js';
import { occluderBoxes, occlusionGrid } from '../../src/analyses/occlusion.js';

const SAMPLE = new URL('/models/samples/ankle-boot-1.png', location.href).href;
const MODELS = new URL('/models/', location.href).href;
const cores = navigator.hardwareConcurrency ?? 1;
/** zfnet-mini (28x28): 26 x 26 = 676 positions, enough that the pool joins in before the end. */
const OCCLUSION = { size: 3, stride: 1 } as const;

/** The engine worker's script as a pool worker (the literal form lets Vite bundle it). */
function poolWorker(): Worker {
  return new Worker(new URL('../../src/worker/worker.ts', import.meta.url), { type: 'module', name: 'zf-visualizer pool' });
}

/** Workers started through `spawn`, and which of them were terminated. */
function tracked(spawn: () => Worker) {
  const started: Worker[] = [];
  const stopped = new Set<Worker>();
  return {
    started, stopped,
    spawn: () => {
      const w = spawn();
      const terminate = w.terminate.bind(w);
      w.terminate = () => { stopped.add(w); terminate(); };
      started.push(w);
      return w;
    },
  };
}

/** Whether `worker` answers a job within `ms` (a terminated worker never does). */
function answers(worker: Worker, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { worker.removeEventListener('message', on); resolve(false); }, ms);
    const on = (e: MessageEvent) => {
      if (e.data?.id !== -1) return;
      clearTimeout(timer);
      worker.removeEventListener('message', on);
      resolve(true);
    };
    worker.addEventListener('message', on);
    worker.postMessage({ type: 'job', id: -1, task: 'no-such-task', args: null });
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function expectSameOcclusion(a: OcclusionResultMessage, b: OcclusionResultMessage): void {
  expect([a.rows, a.cols, a.classIndex, a.layer, a.map]).toEqual([b.rows, b.cols, b.classIndex, b.layer, b.map]);
  expect(maxDiff(a.probability, b.probability)).toBeLessThan(1e-5);
  expect(maxDiff(a.topProbability, b.topProbability)).toBeLessThan(1e-5);
  // Totals of a feature map: relative to its size.
  const scale = Math.max(1, ...Array.from(b.activation, Math.abs));
  expect(maxDiff(a.activation, b.activation) / scale).toBeLessThan(1e-5);
  expect(Array.from(a.top)).toEqual(Array.from(b.top));
}

describe('the engine worker\'s pool', () => {
  let client: EngineClient;
  beforeAll(() => { client = new EngineClient(defaultWorker()); });
  afterAll(() => client?.terminate());

  test('occlusion with the pool equals occlusion without it, and the pool computed (zfnet-mini)', async () => {
    await client.request({ type: 'load', source: 'zfnet-mini' });
    const { run } = await client.request({ type: 'image', image: SAMPLE });
    const t0 = performance.now();
    const alone = await client.request({ type: 'occlusion', run, ...OCCLUSION, workers: 1 });
    const t1 = performance.now();
    const pooled = await client.request({ type: 'occlusion', run, ...OCCLUSION });
    const t2 = performance.now();
    console.log(`zfnet-mini occlusion ${alone.rows}x${alone.cols}: ${(t1 - t0).toFixed(0)} ms in 1 thread, ` +
      `${(t2 - t1).toFixed(0)} ms on ${pooled.workers} threads (${cores} cores; from the dev server, the pool's ` +
      'workers load every module: see the built worker for timings)');
    expect(alone.workers).toBe(1);
    expectSameOcclusion(pooled, alone);
    // The pool's workers returned results: not only planned, they computed.
    if (cores > 1) expect(pooled.workers).toBeGreaterThan(1);
    else expect(pooled.workers).toBe(1);
    // 12 x 12 positions of zfnet-mini are too little work to pay for starting a pool.
    const small = await client.request({ type: 'occlusion', run, size: 7, stride: 2 });
    expect(small.rows * small.cols).toBe(144);
    expect(small.workers).toBe(1);
  });

  test('a bad workers count is refused, naming it', async () => {
    const { run } = await client.request({ type: 'image', image: SAMPLE });
    await expect(client.request({ type: 'occlusion', run, ...OCCLUSION, workers: 0 })).rejects.toThrow(/workers .*got 0/);
    await expect(client.request({ type: 'occlusion', run, ...OCCLUSION, workers: 1.5 })).rejects.toThrow(/got 1.5/);
  });

  test('a scan on the pool equals the one-thread scan', async () => {
    // 80 images: the 20 samples four times over, each its own name.
    const names = ['ankle-boot', 'bag', 'coat', 'dress', 'pullover', 'sandal', 'shirt', 'sneaker', 't-shirt', 'trouser'];
    const images = [1, 2, 3, 4].flatMap((copy) => names.flatMap((n) => [1, 2].map((k) => ({
      source: new URL(`/models/samples/${n}-${k}.png`, location.href).href, name: `${n}-${k} (copy ${copy})`,
    }))));
    const request = { type: 'scan' as const, images, layer: 'conv3', maps: [0, 1, 2, 3], top: 9 };
    const t0 = performance.now();
    const alone = await client.request({ ...request, workers: 1 });
    const t1 = performance.now();
    // zfnet-mini is too small for the pool to pay (POOL_FROM_MACS): ask for it.
    const pooled = await client.request({ ...request, workers: 4 });
    const auto = await client.request(request);
    const t2 = performance.now();
    console.log(`zfnet-mini scan of ${images.length} images: ${(t1 - t0).toFixed(0)} ms in 1 thread, ` +
      `${(t2 - t1).toFixed(0)} ms with ${pooled.workers} pool workers`);
    expect(alone.workers).toBe(1);
    expect(auto.workers).toBe(1);
    if (cores > 1) expect(pooled.workers).toBeGreaterThan(1);
    expect(pooled.index).toEqual(alone.index);
    expect(pooled.sheet.data).toEqual(alone.sheet.data);
  });

  test('cancelling a pooled occlusion rejects with AbortError; the worker goes on as before', async () => {
    const { run } = await client.request({ type: 'image', image: SAMPLE });
    const controller = new AbortController();
    const cancelled = client.request({ type: 'occlusion', run, ...OCCLUSION }, {
      signal: controller.signal, onProgress: (f) => { if (f > 0) controller.abort(); },
    });
    await expect(cancelled).rejects.toBeInstanceOf(AbortError);
    const again = await client.request({ type: 'occlusion', run, ...OCCLUSION });
    const alone = await client.request({ type: 'occlusion', run, ...OCCLUSION, workers: 1 });
    expectSameOcclusion(again, alone);
    if (cores > 1) expect(again.workers).toBeGreaterThan(1);
  });
});

describe('ModelPool in the page, spawnWorker from the engine worker script', () => {
  test('runs occlusion jobs as this thread does; close() stops its workers', async () => {
    expect(POOL_WORKER_NAME).toBe('zf-visualizer pool');
    const model = await loadModel('zfnet-mini', { baseUrl: MODELS });
    const input = model.preprocess(await pixelsOf(SAMPLE)).data;
    const workers = tracked(poolWorker);
    const pool = await ModelPool.create(model, { workers: 2, spawnWorker: workers.spawn });
    expect(pool.size).toBe(2);
    expect(workers.started.length).toBe(2);

    const [, h, w] = model.network.input;
    const boxes = occluderBoxes(occlusionGrid(h, w, 5, 3));
    const target = { classIndex: 9, op: model.layers.filter((l) => l.kind === 'conv').at(-1)!.op, map: 3 };
    const fill = new Float32Array(model.network.input[0]);
    const halves = [boxes.slice(0, 30), boxes.slice(30)];
    const results = await Promise.all(halves.map((part) => pool.run('occlusion', {
      base: 'sample', input, fill, target, boxes: part, batch: 8, layers: 'all',
    })));
    const engine = new OcclusionEngine(model, 8, target);
    engine.setBase(input);
    halves.forEach((part, i) => {
      const here = engine.evaluate(part, fill);
      const there = results[i];
      if (!('values' in there)) throw new Error('expected finished values from a full-model pool');
      expect(maxDiff(there.values.probability, here.probability)).toBeLessThan(1e-5);
      expect(maxDiff(there.values.activation, here.activation)).toBeLessThan(1e-5);
      expect(Array.from(there.values.top)).toEqual(Array.from(here.top));
    });

    // A job still queued when the pool closes rejects; the workers answer nothing any more.
    const late = pool.run('occlusion', { base: 'sample', input, fill, target, boxes, batch: 8, layers: 'all' });
    await pool.close();
    await expect(late).rejects.toBeInstanceOf(AbortError);
    await expect(pool.run('occlusion', { base: 'sample', input, fill, target, boxes, batch: 8, layers: 'all' }))
      .rejects.toThrow(/closed/);
    expect(workers.stopped.size).toBe(2);
    for (const wk of workers.started) expect(await answers(wk)).toBe(false);
    // The probe itself works: a live pool worker answers it (with an error: no model, no such task).
    const live = poolWorker();
    await new Promise((resolve) => live.addEventListener('message', resolve, { once: true }));
    expect(await answers(live)).toBe(true);
    live.terminate();
  });

  test('a worker that is not a pool worker, or a script that fails, gives a ZFError naming spawnWorker', async () => {
    const model = await loadModel('zfnet-mini', { baseUrl: MODELS });
    // A script that does not load: the error names spawnWorker and says what it must start.
    const broken = tracked(() => new Worker(new URL('/no-such-worker.js', location.href), { type: 'module' }));
    const error = await ModelPool.create(model, { workers: 1, spawnWorker: broken.spawn }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ZFError);
    expect((error as Error).message).toMatch(/spawnWorker.*startPoolWorker/s);
    expect(broken.stopped.size).toBe(1);
    await expect(ModelPool.create(model, { workers: 1, spawnWorker: () => { throw new DOMException('refused by CSP', 'SecurityError'); } }))
      .rejects.toThrow(/a pool worker started by spawnWorker could not be created: refused by CSP/);
    await expect(ModelPool.create(model, { workers: 1, spawnWorker: (() => ({})) as unknown as () => Worker }))
      .rejects.toThrow(/spawnWorker must return a Worker/);
    // Without spawnWorker: a blob: worker that imports engineUrl; when that fails, the error
    // names the URL and says to pass spawnWorker.
    const missing = new URL('/no-such-engine.js', location.href).href;
    await expect(ModelPool.create(model, { workers: 1, engineUrl: missing }))
      .rejects.toThrow(new RegExp(`could not start from ${missing} \\(a blob: module worker.*pass spawnWorker`, 's'));
  });
});

describe('EngineHost in the page: cancelling a pooled occlusion stops every pool worker', () => {
  test('AbortError, and no pool worker left running', async () => {
    const workers = tracked(poolWorker);
    const replies = new Map<number, ResponseMessage>();
    const progressed = new Set<number>();
    const host = new EngineHost((m) => {
      if (m.kind === 'progress') progressed.add(m.id);
      else replies.set(m.id, m);
    }, MODELS, { spawnPoolWorker: workers.spawn });
    try {
      const reply = async (id: number) => {
        await expect.poll(() => replies.has(id), { timeout: 60_000 }).toBe(true);
        const m = replies.get(id)!;
        if (m.kind === 'error') throw Object.assign(new Error(m.error.message), { name: m.error.name });
        return (m as { result: unknown }).result;
      };
      host.receive({ id: 1, type: 'load', source: 'zfnet-mini' });
      await reply(1);
      host.receive({ id: 2, type: 'image', image: SAMPLE });
      const { run } = await reply(2) as { run: number };
      // Full, for reference: the pool starts, computes and is closed.
      host.receive({ id: 3, type: 'occlusion', run, ...OCCLUSION });
      const full = await reply(3) as OcclusionResultMessage;
      if (cores > 1) expect(workers.started.length).toBeGreaterThan(0);
      await expect.poll(() => workers.stopped.size).toBe(workers.started.length);

      // Cancelled once the pool's workers are being started.
      const before = workers.started.length;
      host.receive({ id: 4, type: 'occlusion', run, ...OCCLUSION });
      await expect.poll(() => progressed.has(4) || replies.has(4)).toBe(true);
      host.receive({ id: 5, type: 'cancel', target: 4 });
      const error = await reply(4).catch((e: Error) => e);
      expect((error as Error).name).toBe('AbortError');
      if (cores > 1) expect(workers.started.length).toBeGreaterThan(before);
      // Every worker it started is terminated (a pool still starting stops as its creation fails).
      await expect.poll(() => workers.stopped.size, { timeout: 10_000 }).toBe(workers.started.length);
      for (const w of workers.started) expect(await answers(w, 300)).toBe(false);
      if (cores > 1) expect(full.workers).toBeGreaterThan(1);
    } finally {
      setDefaultSpawnWorker(undefined);
    }
  });
});

const BUILT = '/zf-cdn/components/zf-worker.js';
const built = (await fetch(BUILT, { method: 'HEAD' }).catch(() => undefined))?.ok ?? false;

describe('the built engine worker (dist/components/zf-worker.js, `npm run build`)', () => {
  test.runIf(built)("starts its pool from its own URL on a page whose CSP has worker-src 'self' (no blob:)", async () => {
    const csp = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'";
    const frame = document.createElement('iframe');
    frame.src = `/zf-cdn/page.html?${new URLSearchParams({ body: 'none', csp })}`;
    const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
    document.body.append(frame);
    await loaded;
    const win = frame.contentWindow as Window & typeof globalThis;
    const violations: string[] = [];
    win.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    // The CSP is in force: a blob: worker is refused.
    const blob = win.URL.createObjectURL(new win.Blob([''], { type: 'text/javascript' }));
    try { new win.Worker(blob).terminate(); } catch { /* refused at once, or by an event */ }
    await expect.poll(() => violations.some((v) => /^worker-src blob/.test(v))).toBe(true);
    violations.length = 0;

    const client = new EngineClient(new win.Worker(new URL(BUILT, location.href), { type: 'module', name: 'zf-visualizer engine' }));
    try {
      await client.request({ type: 'load', source: 'zfnet-mini' });
      const { run } = await client.request({ type: 'image', image: SAMPLE });
      const pooled = await client.request({ type: 'occlusion', run, ...OCCLUSION });
      const alone = await client.request({ type: 'occlusion', run, ...OCCLUSION, workers: 1 });
      expectSameOcclusion(pooled, alone);
      if (cores > 1) expect(pooled.workers).toBeGreaterThan(1);
      expect(violations).toEqual([]);
    } finally {
      client.terminate();
      frame.remove();
    }
  });
});

async function pixelsOf(url: string) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { width: bitmap.width, height: bitmap.height, data };
}

describe('EngineHost in the page: a pool that cannot start is no pool', () => {
  // The host offers a pool only on a machine with several cores: pretend to have 4.
  beforeAll(() => { Object.defineProperty(navigator, 'hardwareConcurrency', { value: 4, configurable: true }); });
  afterAll(() => { delete (navigator as unknown as Record<string, unknown>).hardwareConcurrency; });

  const images = ['ankle-boot', 'bag', 'coat', 'dress'].flatMap((n) => [1, 2].map((k) => ({
    source: new URL(`/models/samples/${n}-${k}.png`, location.href).href, name: `${n}-${k}`,
  })));
  const SCAN = { type: 'scan' as const, images, layer: 'conv3', maps: [0, 1, 2], top: 4 };
  type ScanResult = { workers: number; index: unknown; sheet: { data: Uint8ClampedArray } };

  /** A host in this page whose pool workers come from `spawn`; its requests, one at a time. */
  async function hostWith(spawn: () => Worker) {
    const replies = new Map<number, ResponseMessage>();
    const host = new EngineHost((m) => { if (m.kind !== 'progress') replies.set(m.id, m); }, MODELS, { spawnPoolWorker: spawn });
    let id = 0;
    const request = async <T>(message: Record<string, unknown>): Promise<T> => {
      const at = ++id;
      host.receive({ id: at, ...message } as never);
      await expect.poll(() => replies.has(at), { timeout: 60_000, interval: 20 }).toBe(true);
      const m = replies.get(at)!;
      if (m.kind === 'error') throw Object.assign(new Error(m.error.message), { name: m.error.name });
      return (m as unknown as { result: T }).result;
    };
    await request({ type: 'load', source: 'zfnet-mini' });
    const { run } = await request<{ run: number }>({ type: 'image', image: SAMPLE });
    return { request, run };
  }

  /** Occlusion and the scan, each on a pool it asks for, as on one thread; `calls()`: spawner calls so far. */
  async function fallsBack(spawn: () => Worker, calls: () => number) {
    try {
      // Occlusion first: its pool fails to start, this thread does every position.
      const a = await hostWith(spawn);
      const alone = await a.request<OcclusionResultMessage>({ type: 'occlusion', run: a.run, ...OCCLUSION, workers: 1 });
      expect(calls()).toBe(0);
      let t0 = performance.now();
      const fell = await a.request<OcclusionResultMessage>({ type: 'occlusion', run: a.run, ...OCCLUSION, workers: 2 });
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(calls()).toBeGreaterThan(0);
      expect(fell.workers).toBe(1);
      expectSameOcclusion(fell, alone);
      // The host offers no pool any more: neither occlusion nor the scan tries again.
      const spent = calls();
      const again = await a.request<OcclusionResultMessage>({ type: 'occlusion', run: a.run, ...OCCLUSION, workers: 2 });
      expect(again.workers).toBe(1);
      expectSameOcclusion(again, alone);
      const scanAlone = await a.request<ScanResult>({ ...SCAN, workers: 1 });
      const scanAfter = await a.request<ScanResult>({ ...SCAN, workers: 2 });
      expect(scanAfter.workers).toBe(1);
      expect(scanAfter.index).toEqual(scanAlone.index);
      expect(calls()).toBe(spent);

      // The scan first, on a new host: the same.
      const b = await hostWith(spawn);
      t0 = performance.now();
      const scanned = await b.request<ScanResult>({ ...SCAN, workers: 2 });
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(calls()).toBeGreaterThan(spent);
      expect(scanned.workers).toBe(1);
      expect(scanned.index).toEqual(scanAlone.index);
      expect(scanned.sheet.data).toEqual(scanAlone.sheet.data);
      const spentB = calls();
      expect((await b.request<ScanResult>({ ...SCAN, workers: 2 })).workers).toBe(1);
      expect((await b.request<OcclusionResultMessage>({ type: 'occlusion', run: b.run, ...OCCLUSION, workers: 2 })).workers).toBe(1);
      expect(calls()).toBe(spentB);
    } finally {
      setDefaultSpawnWorker(undefined);
    }
  }

  test('a spawner that throws (a SecurityError: the script is cross-origin)', async () => {
    let calls = 0;
    await fallsBack(() => {
      calls += 1;
      throw new DOMException("Failed to construct 'Worker': cross-origin script", 'SecurityError');
    }, () => calls);
  });

  test('a spawner whose worker script does not load (404)', async () => {
    const workers = tracked(() => new Worker(new URL('/no-such-zf-worker.js', location.href), { type: 'module', name: POOL_WORKER_NAME }));
    await fallsBack(workers.spawn, () => workers.started.length);
    expect(workers.stopped.size).toBe(workers.started.length);
  });

  test('a worker that never says ready: occlusion does not wait for it once this thread is done', async () => {
    const script = URL.createObjectURL(new Blob(['// listens to nothing, says nothing'], { type: 'text/javascript' }));
    const workers = tracked(() => new Worker(script, { type: 'module', name: POOL_WORKER_NAME }));
    try {
      const a = await hostWith(workers.spawn);
      const alone = await a.request<OcclusionResultMessage>({ type: 'occlusion', run: a.run, ...OCCLUSION, workers: 1 });
      const t0 = performance.now();
      const fell = await a.request<OcclusionResultMessage>({ type: 'occlusion', run: a.run, ...OCCLUSION, workers: 2 });
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(workers.started.length).toBeGreaterThan(0);
      expect(fell.workers).toBe(1);
      expectSameOcclusion(fell, alone);
      // Its creation was stopped: the silent worker is terminated at once, not after the ready timeout.
      await expect.poll(() => workers.stopped.size, { timeout: 5_000 }).toBe(workers.started.length);
    } finally {
      setDefaultSpawnWorker(undefined);
      URL.revokeObjectURL(script);
    }
  });
});
