/**
 * The node engine's training step, all in native TensorFlow, which already spreads each op over
 * every core: the model's own variables, Conv2D, Dense and max-pooling layers as single kernels
 * with cheaper gradients (native/layer-kernels.ts), and Adam as TensorFlow's
 * fused ResourceApplyAdam (native/adam.ts), the same rule as tf.train.adam. No worker threads,
 * shared buffers or transposed copies: those exist for wasm.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import { toInputTensor } from '../preprocess';
import { NativeAdam } from './native/adam';
import { nativeLayer, registerNativeLayerKernels } from './native/layer-kernels';
import { crossEntropySum, forwardTraining, hits, trainableVariables, type StepResult, type StepRunner } from './training-step';

interface NativeBatch {
  batch: ImageSet;
  masks: Float32Array[];
  adamStep: number;
}

export class NativeStep implements StepRunner<NativeBatch> {
  readonly workers = 1;
  private readonly optimizer: NativeAdam;
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: tf.LayersModel,
    learningRate: number,
  ) {
    registerNativeLayerKernels();
    this.variables = trainableVariables(model);
    this.optimizer = new NativeAdam(this.variables, learningRate);
  }

  prepare(batch: ImageSet, masks: Float32Array[], adamStep: number): NativeBatch {
    return { batch, masks, adamStep };
  }

  async run({ batch, masks, adamStep }: NativeBatch, whileWaiting: () => void): Promise<StepResult> {
    const x = toInputTensor(batch.pixels, batch.count);
    const labels = tf.tensor1d(batch.labels, 'int32');
    let correct: tf.Scalar | undefined;
    // The mean loss, as Keras minimises: the same update as the summed gradients over the batch size.
    const { value: meanLoss, grads } = tf.variableGrads(() => {
      const probs = forwardTraining(this.model, x, masks, nativeLayer) as tf.Tensor2D;
      correct = tf.keep(hits(probs, labels));
      return tf.div(crossEntropySum(probs, labels, probs.shape[1]), batch.count);
    }, this.variables);
    this.optimizer.apply(grads, adamStep);
    whileWaiting();
    const result = { lossSum: meanLoss.dataSync()[0] * batch.count, correct: correct!.dataSync()[0] };
    tf.dispose([x, labels, meanLoss, correct!, grads]);
    return result;
  }

  /** The model's variables are the weights already. */
  syncModel(): void {}

  async close(): Promise<void> {
    this.optimizer.dispose();
  }
}
