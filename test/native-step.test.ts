/**
 * The node step's native pieces against tfjs's own maths (run by `npm run test:node`; skipped
 * where tfjs-node is not the test engine): the Conv2D/Dense kernels' values and gradients, the
 * fused Adam against tf.train.adam, and a training step that leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src/model/architectures';
import { initEngine } from '../src/model/engine';
import { NativeAdam } from '../src/model/native/adam';
import { nativeLayer, registerNativeLayerKernels } from '../src/model/native/layer-kernels';
import { NativeStep } from '../src/model/native-step';
import { dropoutMasks, forwardTraining } from '../src/model/training-step';
import { createRandom } from '../src/util/random';
import { syntheticImages } from './helpers/model-fixture';
import { TEST_ENGINE } from './helpers/test-engine';

const describeOnNode = TEST_ENGINE === 'node' ? describe : describe.skip;

function maxRelativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const a = actual.dataSync();
  const e = expected.dataSync();
  expect(a.length).toBe(e.length);
  const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / scale);
  return worst;
}

/** Output and weight/input gradients of one layer, through `override` or the layer itself. */
function layerGradients(layer: tf.layers.Layer, x: tf.Tensor, override?: typeof nativeLayer) {
  const weights = layer.trainableWeights.map((w) => w.read());
  const upstream = tf.randomNormal(layer.computeOutputShape(x.shape) as number[], 0, 1, 'float32', 3);
  // The weights are arguments so that tf.grads differentiates with respect to them; the layer reads them itself.
  const loss = (input: tf.Tensor) => {
    const out = override?.(layer, input) ?? (layer.apply(input, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(out, upstream));
  };
  const output = override?.(layer, x) ?? (layer.apply(x) as tf.Tensor);
  const grads = tf.grads(loss)([x, ...weights]);
  return { output, grads };
}

describeOnNode('native training pieces (tfjs-node)', () => {
  beforeAll(async () => {
    await initEngine('node');
    registerNativeLayerKernels();
  });

  const layers: [string, () => tf.layers.Layer, number[]][] = [
    ['conv 3x3 same relu', () => tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [6, 6, 3] }), [2, 6, 6, 3]],
    ['conv 3x3 valid stride 2 linear', () => tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', inputShape: [7, 7, 2] }), [3, 7, 7, 2]],
    ['conv 2x2 same stride 2 relu', () => tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu', inputShape: [5, 5, 2] }), [2, 5, 5, 2]],
    ['dense relu', () => tf.layers.dense({ units: 7, activation: 'relu', inputShape: [9] }), [4, 9]],
    ['dense softmax', () => tf.layers.dense({ units: 5, activation: 'softmax', inputShape: [6] }), [3, 6]],
  ];
  it.each(layers)('%s: the native kernel gives the layer’s values and gradients', (_name, make, shape) => {
    const layer = make();
    const model = tf.sequential({ layers: [layer] });
    const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
    const ours = layerGradients(layer, x, nativeLayer);
    const theirs = layerGradients(layer, x);
    expect(maxRelativeError(ours.output, theirs.output)).toBeLessThan(1e-5);
    ours.grads.forEach((g, i) => expect(maxRelativeError(g, theirs.grads[i])).toBeLessThan(1e-4));
    model.dispose();
  });

  it.each([2, 3])('max pooling with window = stride = %i routes each window’s gradient to its first maximum, as MaxPoolGrad does, ties included', (k) => {
    const layer = tf.layers.maxPooling2d({ poolSize: k, inputShape: [2 * k, 3 * k, 4] });
    tf.sequential({ layers: [layer] });
    // ReLU zeros, a constant region and random values: windows with 1 to k*k equal maxima.
    const x = tf.tidy(() => {
      const noise = tf.relu(tf.randomNormal([3, 2 * k, 3 * k, 4], 0, 1, 'float32', 8));
      return tf.concat([noise, tf.onesLike(noise), tf.round(tf.mul(noise, 2))], 0);
    });
    const ours = layerGradients(layer, x, nativeLayer);
    const theirs = layerGradients(layer, x);
    expect(Array.from(ours.output.dataSync())).toEqual(Array.from(theirs.output.dataSync()));
    expect(Array.from(ours.grads[0].dataSync())).toEqual(Array.from(theirs.grads[0].dataSync()));
  });

  it('leaves layers it does not cover to themselves', () => {
    const overlapping = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, inputShape: [5, 5, 1] });
    const uneven = tf.layers.maxPooling2d({ poolSize: 2, inputShape: [5, 5, 1] });
    const noBias = tf.layers.dense({ units: 2, useBias: false, inputShape: [3] });
    tf.sequential({ layers: [noBias] });
    expect(nativeLayer(overlapping, tf.zeros([1, 5, 5, 1]))).toBeUndefined();
    expect(nativeLayer(uneven, tf.zeros([1, 5, 5, 1]))).toBeUndefined();
    expect(nativeLayer(noBias, tf.zeros([1, 3]))).toBeUndefined();
  });

  it('the fused Adam updates as tf.train.adam does, step by step', () => {
    const make = () => [tf.variable(tf.randomNormal([40, 30], 0, 1, 'float32', 5)), tf.variable(tf.randomNormal([30], 0, 1, 'float32', 6))];
    const ours = make();
    const theirs = make();
    const native = new NativeAdam(ours, 0.01);
    const reference = tf.train.adam(0.01);
    for (let step = 1; step <= 5; step++) {
      const a = tf.randomNormal([40, 30], 0, step, 'float32', 10 + step);
      // Gradients near epsilon, where its scaling matters.
      const b = tf.randomNormal([30], 0, 1e-7, 'float32', 20 + step);
      native.apply({ [ours[0].name]: a, [ours[1].name]: b }, step);
      reference.applyGradients([{ name: theirs[0].name, tensor: a }, { name: theirs[1].name, tensor: b }]);
      tf.dispose([a, b]);
    }
    ours.forEach((v, i) => expect(maxRelativeError(v, theirs[i])).toBeLessThan(1e-5));
    native.dispose();
    reference.dispose();
  });

  it('a training step keeps no tensors and its forward pass is the model’s', async () => {
    const model = buildModel('simple_cnn', 10, 3);
    const step = new NativeStep(model, 0.001);
    const batch = { pixels: syntheticImages(8, 4), labels: new Uint8Array(8).map((_, i) => i % 10), count: 8 };
    const random = createRandom(9).next;
    const x = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 2);
    const masks = dropoutMasks(model, 8, random);
    tf.tidy(() => expect(maxRelativeError(forwardTraining(model, x, masks, nativeLayer), forwardTraining(model, x, masks))).toBeLessThan(1e-5));
    await step.run(step.prepare(batch, dropoutMasks(model, 8, random), 1), () => {});
    const before = tf.memory().numTensors;
    for (let i = 2; i <= 4; i++) await step.run(step.prepare(batch, dropoutMasks(model, 8, random), i), () => {});
    expect(tf.memory().numTensors).toBe(before);
    await step.close();
    model.dispose();
  });
});
