/** Model architectures by name; every initializer and dropout is seeded so runs repeat exactly. */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors';
import { INPUT_SHAPE } from '../preprocess';

export const ARCHITECTURES = ['simple_cnn'] as const;
export type ArchitectureName = (typeof ARCHITECTURES)[number];

/** Display name stored as metadata.model_type. */
export const MODEL_TYPE: Record<ArchitectureName, string> = { simple_cnn: 'SimpleCNN' };

export function buildModel(name: ArchitectureName, numClasses: number, seed: number): tf.Sequential {
  if (name === 'simple_cnn') return simpleCnn(numClasses, seed);
  throw new UsageError(`unknown architecture "${name}" (choose one of: ${ARCHITECTURES.join(', ')})`);
}

/**
 * The workshop's SimpleCNN: conv3x3(32)+ReLU+maxpool2, conv3x3(64)+ReLU+maxpool2,
 * dense 512+ReLU+dropout 0.5, dense numClasses softmax.
 */
function simpleCnn(numClasses: number, seed: number): tf.Sequential {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  return tf.sequential({
    name: 'SimpleCNN',
    layers: [
      tf.layers.conv2d({ inputShape: INPUT_SHAPE, filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dropout({ rate: 0.5, seed: seed + 4 }),
      tf.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: init(5) }),
    ],
  });
}
