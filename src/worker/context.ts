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
}
