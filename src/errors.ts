/**
 * Every error a user can cause is one of these, with a message that names what is at fault
 * (the file, the layer, the value) and what to do about it. The CLI prints `message` alone.
 */
export class ZFError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A call's arguments are wrong: unknown layer, map out of range, tensor of the wrong shape. */
export class ArgumentError extends ZFError {}

/** A model file (ONNX or our own weights) is corrupt, hostile or uses what we do not support. */
export class ModelFormatError extends ZFError {}

/** A model could not be downloaded: a network failure or an HTTP error status. */
export class FetchError extends ZFError {}

/** An image file could not be decoded (not PNG/JPEG, truncated, absurd dimensions). */
export class ImageDecodeError extends ZFError {}

/** A .npy file is corrupt or not a float32 tensor we can read. */
export class NpyFormatError extends ZFError {}

/** A run's buffers were overwritten by a later forward pass on the same model. */
export class StaleRunError extends ZFError {}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends ZFError {}

/** A kernel trapped. Inputs are validated before any kernel runs, so this is our bug: report it. */
export class KernelError extends ZFError {}

/**
 * The model is in use by a long analysis (occlusion, scan, invariance, correspondence,
 * diagnosis, evolution): another forward pass, projection or weight change on it would
 * overwrite the analysis's buffers. Wait for the analysis to settle (or cancel it), or use a
 * second model.
 */
export class BusyError extends ZFError {}

/** The model was released with dispose(): its memory is gone; load or create it again. */
export class DisposedError extends ZFError {}

/** A forward pass produced NaN or Infinity; the message names the first op whose output did. */
export class NonFiniteError extends ZFError {}
