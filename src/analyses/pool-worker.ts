/**
 * The worker side of the pool (pool.ts): holds one model and runs the jobs it is sent, one at a
 * time, with the same engine code the calling thread would run. `startPoolWorker` is exported
 * by the engine's module so a worker can import it (pool.ts writes the few lines that do).
 */
import { Model } from '../engine/model.js';
import type { Network } from '../graph/layers.js';
import type { Backend } from '../wasm/load.js';
import { occlusionJob, type OcclusionJob, type OcclusionJobResult } from './occlusion-engine.js';
import {
  scanForwardJob, scanProjectJob, type ScanForwardJob, type ScanForwardResult, type ScanProjectJob, type ScanProjectResult,
} from './scan-task.js';

/** Each job's arguments and result. */
export interface PoolTasks {
  occlusion: { args: OcclusionJob; result: OcclusionJobResult };
  'scan-forward': { args: ScanForwardJob; result: ScanForwardResult };
  'scan-project': { args: ScanProjectJob; result: ScanProjectResult };
}
export type TaskName = keyof PoolTasks;

/** What a job may keep between jobs on the same worker (e.g. the unoccluded image's activations). */
export interface WorkerContext {
  model: Model;
  state: Map<string, unknown>;
}

type Handler = (context: WorkerContext, args: never) => unknown;

const TASKS: Record<TaskName, Handler> = {
  'occlusion': occlusionJob as Handler,
  'scan-forward': scanForwardJob as Handler,
  'scan-project': scanProjectJob as Handler,
};

export interface WorkerPort {
  post(message: unknown, transfer?: Transferable[]): void;
  listen(listener: (message: unknown) => void): void;
}

type Incoming =
  | { type: 'load'; network: Network; backend: Backend; weights: Record<string, { weight: Float32Array; bias?: Float32Array }> }
  | { type: 'job'; id: number; task: TaskName; args: unknown };

/** Serve the pool's requests on `port` (a worker's parentPort or its global scope). */
export function startPoolWorker(port: WorkerPort): void {
  let context: WorkerContext | undefined;
  let queue: Promise<void> = Promise.resolve();
  port.listen((raw) => {
    const m = raw as Incoming;
    queue = queue.then(async () => {
      if (m.type === 'load') {
        try {
          const model = await Model.create(m.network, { backend: m.backend });
          for (const [layer, w] of Object.entries(m.weights)) {
            if (layer.startsWith('#')) model.setConstant(layer, w.weight);
            else model.setWeights(layer, w);
          }
          context = { model, state: new Map() };
          port.post({ kind: 'loaded' });
        } catch (e) {
          port.post({ kind: 'fatal', message: (e as Error)?.message ?? String(e) });
        }
        return;
      }
      try {
        if (!context) throw new Error('the worker has no model yet');
        const handler = Object.hasOwn(TASKS, m.task) ? TASKS[m.task] : undefined;
        if (!handler) throw new Error(`unknown job '${m.task}'`);
        const result = await handler(context, m.args as never);
        port.post({ kind: 'result', id: m.id, result }, resultTransfer(result));
      } catch (e) {
        const error = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
        port.post({ kind: 'error', id: m.id, error });
      }
    });
  });
  port.post({ kind: 'ready' });
}

function resultTransfer(value: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
  if (depth > 5 || value === null || typeof value !== 'object') return out;
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && !out.includes(b) && value.byteOffset === 0 && value.byteLength === b.byteLength) out.push(b);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) resultTransfer(v, out, depth + 1);
  return out;
}
