/**
 * One training step's maths, shared by every engine's step: the training-mode forward pass with
 * given dropout masks, the summed cross-entropy, and its gradients. The steps themselves (how
 * weights are held and updated) are native-step.ts (tfjs-node) and parallel/ (wasm, cpu).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import { toInputTensor } from '../preprocess';

export interface StepResult {
  /** Sum (not mean) of per-image losses, so parts of a batch add up. */
  lossSum: number;
  correct: number;
}

/** How one engine runs the steps of a run; the trainer drives it batch by batch. */
export interface StepRunner<Prepared> {
  /** Threads taking part (recorded in the metadata). */
  readonly workers: number;
  /** Cuts a batch and its dropout masks into the runner's form, for Adam step `adamStep` (1-based). */
  prepare(batch: ImageSet, masks: Float32Array[], adamStep: number): Prepared;
  /** One Adam step; `whileWaiting` runs while other threads (if any) still compute. */
  run(prepared: Prepared, whileWaiting: () => void): Promise<StepResult>;
  /** Makes the model's variables hold the current weights (before evaluating or saving). */
  syncModel(): void;
  close(): Promise<void>;
}

export type Rng = () => number;

/** A layer's training-mode output computed another way, or undefined for the layer's own. */
export type LayerOverride = (layer: tf.layers.Layer, x: tf.Tensor) => tf.Tensor | undefined;

/** Keras clips probabilities to [eps, 1 - eps] before the log. */
const PROBABILITY_EPSILON = 1e-7;

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Forward pass in training mode; Dropout layers apply the given masks, one row per image. */
export function forwardTraining(model: tf.LayersModel, x: tf.Tensor, masks: Float32Array[], override?: LayerOverride): tf.Tensor {
  let h = x;
  let dropoutIndex = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') {
      const mask = masks[dropoutIndex++];
      h = tf.mul(h, tf.tensor(mask, h.shape));
    } else {
      h = override?.(layer, h) ?? (layer.apply(h, { training: true }) as tf.Tensor);
    }
  }
  return h;
}

export function crossEntropySum(probs: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  const clipped = tf.clipByValue(probs, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
  const oneHot = tf.oneHot(labels, numClasses);
  return tf.neg(tf.sum(tf.mul(oneHot, tf.log(clipped)))) as tf.Scalar;
}

/** Number of correct argmax predictions (a tensor, read with the loss). */
export function hits(probs: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.equal(probs.argMax(1), labels).sum();
}

/**
 * Summed loss and its gradient for every trainable weight (keyed by variable name). Dropout
 * uses the given masks, so splitting a batch across workers applies exactly the same masks.
 */
export function batchGradients(
  model: tf.LayersModel,
  batch: ImageSet,
  masks: Float32Array[],
  override?: LayerOverride,
): StepResult & { grads: tf.NamedTensorMap } {
  const x = toInputTensor(batch.pixels, batch.count);
  const labels = tf.tensor1d(batch.labels, 'int32');
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const probs = forwardTraining(model, x, masks, override) as tf.Tensor2D;
    correct = tf.keep(hits(probs, labels));
    return crossEntropySum(probs, labels, probs.shape[1]);
  }, trainableVariables(model));
  const result = { grads, lossSum: value.dataSync()[0], correct: correct!.dataSync()[0] };
  tf.dispose([x, labels, value, correct!]);
  return result;
}

/** Inverted-dropout masks (0 or 1/keep) for every Dropout layer, drawn from the step's stream. */
export function dropoutMasks(model: tf.LayersModel, count: number, rng: Rng): Float32Array[] {
  const masks: Float32Array[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout') continue;
    const rate = (layer.getConfig() as { rate: number }).rate;
    const perImage = (layer.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1);
    const keep = 1 - rate;
    const mask = new Float32Array(count * perImage);
    for (let i = 0; i < mask.length; i++) mask[i] = rng() < keep ? 1 / keep : 0;
    masks.push(mask);
  }
  return masks;
}
