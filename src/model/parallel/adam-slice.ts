/**
 * Adam over one slice of a flat float32 parameter vector: tf.train.adam's update rule, defaults
 * and epsilon, so a run trains exactly as with tfjs's optimizer.
 *
 * Why not tf.train.adam itself: it runs about ten separate kernels per variable, each a pass
 * over memory, on one thread (~15 ms per step for SimpleCNN's 2.1M parameters on wasm — a tenth
 * of a training step, while every other thread waits). One fused loop per element, with each
 * data-parallel thread updating its own slice of the shared parameters, takes ~5-8 ms of each
 * of two threads, at the same time.
 */

export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** tf.train.adam's defaults (its epsilon is the backend's, 1e-7 for float32 on every engine). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

export class AdamSlice {
  private readonly firstMoment: Float32Array;
  private readonly secondMoment: Float32Array;
  private readonly learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  /** Updates parameters [start, end) of the flat vector; holds the moments of that slice only. */
  constructor(
    readonly start: number,
    readonly end: number,
    settings: AdamSettings,
  ) {
    this.firstMoment = new Float32Array(end - start);
    this.secondMoment = new Float32Array(end - start);
    this.learningRate = settings.learningRate;
    this.beta1 = settings.beta1 ?? ADAM_DEFAULTS.beta1;
    this.beta2 = settings.beta2 ?? ADAM_DEFAULTS.beta2;
    this.epsilon = settings.epsilon ?? ADAM_DEFAULTS.epsilon;
  }

  /**
   * Step `step` (1-based) with gradient = (sum of `gradients`, added in array order) / `divisor`:
   * the parts are the summed-loss gradients of a batch's shards, the divisor its size. Parts
   * after the second are first added into the second, in this slice only (it belongs to this
   * updater in every part).
   */
  apply(weights: Float32Array, gradients: Float32Array[], divisor: number, step: number): void {
    const { beta1, beta2, epsilon, start, end } = this;
    // The loop below always adds two parts (one shape for the JIT, ~30 % faster than a branch):
    // a single part is added to itself and halved (both exact in floating point).
    const first = gradients[0];
    const second = gradients.length > 1 ? gradients[1] : first;
    for (let p = 2; p < gradients.length; p++) {
      const part = gradients[p];
      for (let i = start; i < end; i++) second[i] += part[i];
    }
    const scale = (gradients.length > 1 ? 1 : 0.5) / divisor;
    const m = this.firstMoment;
    const v = this.secondMoment;
    // tf.train.adam's expression with the per-step constants hoisted out of the loop:
    // w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
    const stepSize = -this.learningRate / (1 - beta1 ** step);
    const rootCorrection = 1 / Math.sqrt(1 - beta2 ** step);
    for (let i = start; i < end; i++) {
      const g = (first[i] + second[i]) * scale;
      const k = i - start;
      const mk = m[k] * beta1 + g * (1 - beta1);
      const vk = v[k] * beta2 + g * g * (1 - beta2);
      m[k] = mk;
      v[k] = vk;
      weights[i] += (stepSize * mk) / (Math.sqrt(vk) * rootCorrection + epsilon);
    }
  }
}

/** Splits n parameters into `parts` contiguous slices of near-equal size. */
export function sliceBounds(n: number, parts: number, part: number): [number, number] {
  return [Math.floor((n * part) / parts), Math.floor((n * (part + 1)) / parts)];
}
