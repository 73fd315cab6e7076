/**
 * The result of one forward pass: class scores, and read access to every layer's activation
 * and every pool's switches. Everything returned is a copy. A Run reads the model's buffers,
 * so it is valid until the next forward pass on the same model; after that it throws
 * StaleRunError rather than returning another image's numbers.
 */
import { ArgumentError, StaleRunError } from '../errors.js';
import { size } from '../graph/shapes.js';
import type { Point } from '../graph/names.js';
import type { Model } from './model.js';
import type { SwitchTensor, Tensor } from './tensor.js';
import { project, type ProjectOptions, type Projection } from '../deconv/project.js';
import { gradcam, type GradCam, type GradcamOptions } from '../deconv/gradcam.js';

export interface ClassScore { index: number; label: string; probability: number }

export class Run {
  constructor(readonly model: Model, readonly generation: number, readonly batch: number,
              /** Milliseconds per op, when the forward pass was profiled. */
              readonly timings?: Float64Array) {}

  private check(what = 'reading a run'): void {
    this.model.check(what, this);
    if (this.model.generation !== this.generation) {
      throw new StaleRunError('this run was overwritten by a later forward pass on the same model; ' +
        'read what you need before the next forward, or use one model per concurrent run');
    }
  }

  private checkImage(image: number): void {
    if (!Number.isInteger(image) || image < 0 || image >= this.batch) {
      throw new ArgumentError(`image ${image} is out of range: this run has ${this.batch} image(s)`);
    }
  }

  /** The network's last output, [N, classes]: probabilities or logits, as the model ends. */
  output(): Tensor {
    return this.opOutput(this.model.network.ops.length - 1);
  }

  /** Class probabilities of one image: the softmax output, or softmax of the logits. */
  probabilities(image = 0): Float32Array {
    this.checkImage(image);
    const out = this.output();
    const classes = out.shape[1];
    const row = out.data.subarray(image * classes, (image + 1) * classes);
    const ops = this.model.network.ops;
    return ops[ops.length - 1].kind === 'softmax' ? row.slice() : softmax(row);
  }

  /** The k most probable classes of one image, most probable first. */
  top(k = 5, image = 0): ClassScore[] {
    const p = this.probabilities(image);
    const labels = this.model.network.labels;
    return Array.from(p, (probability, index) => ({ index, probability, label: labels?.[index] ?? `class ${index}` }))
      .sort((a, b) => b.probability - a.probability || a.index - b.index)
      .slice(0, Math.max(0, Math.min(k, p.length)));
  }

  /** A copy of a layer's activation at a point ('relu' by default), [N, ...shape]. */
  activation(layer: string, point?: Point | string): Tensor {
    return this.opOutput(this.model.resolve(layer, point).op);
  }

  /** The switches of the max-pool that follows `layer` ([N, C, OH, OW]). */
  switches(layer: string): SwitchTensor {
    const { op } = this.model.resolve(layer, 'pool');
    this.check();
    const region = this.model.switchRegion(op)!;
    const shape = [this.batch, ...this.model.shapes[op]];
    return { shape, data: this.model.arena.readI32(region, 0, size(shape)) };
  }

  /**
   * Project kept activations of one feature map back to pixel space (deconvnet, guided
   * backprop or gradient). See src/deconv/project.ts for the options.
   */
  async project(options: ProjectOptions): Promise<Projection> {
    return this.projectSync(options);
  }

  projectSync(options: ProjectOptions): Projection {
    this.check('project()');
    return project(this, options);
  }

  /**
   * Grad-CAM at a layer (any tensor of an imported graph) for a class (default: the top one):
   * see src/deconv/gradcam.ts. `guided: true` adds guided Grad-CAM at the input's resolution.
   */
  async gradcam(options: GradcamOptions): Promise<GradCam> {
    return this.gradcamSync(options);
  }

  gradcamSync(options: GradcamOptions): GradCam {
    this.check('gradcam()');
    return gradcam(this, options);
  }

  /** @internal Tensor `op` (the output of that op; -1: the network input) for the whole batch. */
  opOutput(op: number): Tensor {
    this.check();
    const shape = [this.batch, ...this.model.tensorShape(op)];
    return { shape, data: this.model.arena.read(this.model.tensorRegion(op), 0, size(shape)) };
  }
}

/** Softmax of one row of logits (for models that end in logits), shifted by the max for range. */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}
