/**
 * What an analysis handler (handlers/*.ts) gets from the worker's host: the loaded model, the
 * current image, progress and cancellation, the browser's image decoder, and a way to load
 * another model (a second architecture, a training snapshot) without replacing the host's own.
 *
 * Handlers may run forward passes on `model` freely: the host computes the current image's run
 * again afterwards, whether the handler finished, failed or was cancelled.
 */
import type { Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import type { Pixels } from '../io/preprocess.js';
import type { ImageSource, ModelInfo } from './protocol.js';

/** An image of a data set sent by the page: a file, a URL the worker fetches, or pixels. */
export interface NamedImage { source: ImageSource; name: string }

export interface AnalysisContext {
  readonly model: Model;
  /** What the host reported when it loaded `model` (labels, layers, source). */
  readonly info: ModelInfo;
  /** Where the default model's folder is (its manifest lists the training snapshots), when known. */
  readonly modelsUrl?: string;
  /** The current image's network input (preprocessed), when there is one. */
  readonly input?: Tensor;
  readonly signal: AbortSignal;
  /** Report progress, 0 to 1. */
  progress(fraction: number): void;
  /** Decode an image (a Blob, a URL or pixels); `name` goes into the error if it cannot. */
  decode(source: ImageSource, name: string): Promise<Pixels>;
  /**
   * Load another model (a built-in name, `zfnet-mini` with `epoch`, a URL or a file). It is not
   * kept: drop it when done.
   */
  loadOther(source: string | Blob, options?: { seed?: number; epoch?: number; onProgress?: (fraction: number) => void }): Promise<Model>;
  /** Give queued messages (a cancel) a turn; throws AbortError once cancelled. */
  checkpoint(): Promise<void>;
  /**
   * Workers for a pool (analyses/pool.ts) that each hold a full copy of `model`, when this
   * worker can start them and the cores and memory allow at least two (at most 4, and 512 MB of
   * copies together); undefined: compute in this thread. Use it as PoolOptions:
   * `ModelPool.create(context.model, { ...context.pool, signal: context.signal })`, then pass
   * `pool` to scanDataset & co. and close it in a `finally` (also on cancel). Passing only
   * `workers: context.pool.workers` to scanDataset works too: the host made `spawnWorker` this
   * thread's default. A pool takes a moment to start: worth it for more than a few images.
   */
  readonly pool?: { readonly workers: number; readonly spawnWorker: () => Worker };
}
