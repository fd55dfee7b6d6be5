/**
 * The node engine's training step: the model's own variables and tf.train.adam (the rule,
 * defaults and epsilon AdamSlice copies), all in native TensorFlow, which already spreads each
 * op over every core. No worker threads, shared buffers or transposed copies: those exist for
 * wasm, whose ops run on one thread and whose weight uploads are cheap to share.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import { toInputTensor } from '../preprocess';
import { crossEntropySum, forwardTraining, hits, trainableVariables, type StepResult, type StepRunner } from './training-step';

interface NativeBatch {
  batch: ImageSet;
  masks: Float32Array[];
}

export class NativeStep implements StepRunner<NativeBatch> {
  readonly workers = 1;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: tf.LayersModel,
    learningRate: number,
  ) {
    this.optimizer = tf.train.adam(learningRate);
    this.variables = trainableVariables(model);
  }

  /** Adam counts its own steps, one per run(), in order. */
  prepare(batch: ImageSet, masks: Float32Array[]): NativeBatch {
    return { batch, masks };
  }

  async run({ batch, masks }: NativeBatch, whileWaiting: () => void): Promise<StepResult> {
    const x = toInputTensor(batch.pixels, batch.count);
    const labels = tf.tensor1d(batch.labels, 'int32');
    let correct: tf.Scalar | undefined;
    // The mean loss, as Keras minimises: the same update as the summed gradients over the batch size.
    const meanLoss = this.optimizer.minimize(
      () => {
        const probs = forwardTraining(this.model, x, masks) as tf.Tensor2D;
        correct = tf.keep(hits(probs, labels));
        return tf.div(crossEntropySum(probs, labels, probs.shape[1]), batch.count);
      },
      true,
      this.variables,
    )!;
    whileWaiting();
    const result = { lossSum: meanLoss.dataSync()[0] * batch.count, correct: correct!.dataSync()[0] };
    tf.dispose([x, labels, meanLoss, correct!]);
    return result;
  }

  /** The model's variables are the weights already. */
  syncModel(): void {}

  async close(): Promise<void> {
    this.optimizer.dispose();
  }
}
