/**
 * A Dense layer's training forward pass computed from a transposed copy of its kernel.
 *
 * x W puts the kernel on XNNPACK's packed side, and a kernel that is a new tensor every step is
 * packed anew every step (~10 ms for 4096x512). (W^T x^T)^T puts the small x^T there instead and
 * reads W^T as it is. The gradient is tfjs-core's MatMul gradient, so the values match x W's.
 */
import * as tf from '@tensorflow/tfjs';
import type { TransposedWeights } from './shared-parameters';

interface DenseConfig {
  activation: string;
  useBias: boolean;
}

/** The layer's training-mode output, or undefined when it is not a Dense layer this handles. */
export function denseFromTransposed(layer: tf.layers.Layer, x: tf.Tensor, transposed: TransposedWeights): tf.Tensor | undefined {
  if (layer.getClassName() !== 'Dense' || x.rank !== 2) return undefined;
  const config = layer.getConfig() as unknown as DenseConfig;
  if (!config.useBias || (config.activation !== 'relu' && config.activation !== 'linear')) return undefined;
  const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernelT = transposed.get(kernel);
  if (!kernelT) return undefined;
  const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weights, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([input, weights]);
    return {
      value: tf.transpose(tf.matMul(kernelT, input, false, true)),
      gradFunc: (dy: tf.Tensor, [savedInput, savedWeights]: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, savedWeights as tf.Tensor2D, false, true),
        tf.matMul(savedInput as tf.Tensor2D, dy as tf.Tensor2D, true, false),
      ],
    };
  });
  const linear = tf.add(product(x, kernel), bias);
  return config.activation === 'relu' ? tf.relu(linear) : linear;
}
