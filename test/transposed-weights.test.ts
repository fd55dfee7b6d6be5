/**
 * The transposed dense kernels of data-parallel training: kept equal to the weights' transpose
 * whatever slices the threads update, and giving the same gradients as the plain product.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamSlice } from '../src/model/parallel/adam-slice';
import { buildModel } from '../src/model/architectures';
import { initEngine } from '../src/model/engine';
import { denseFromTransposed } from '../src/model/parallel/dense-forward';
import { SharedParameters } from '../src/model/parallel/shared-parameters';
import { batchGradients, dropoutMasks } from '../src/model/training-step';
import { createRandom } from '../src/util/random';
import { syntheticImages } from './helpers/model-fixture';

beforeAll(async () => {
  await initEngine('wasm');
});

describe('SharedParameters transposed copies', () => {
  it('match the transpose of the weights after every participant applies its share of an update', () => {
    const variables = [tf.variable(tf.randomUniform([3, 5], -1, 1, 'float32', 1)), tf.variable(tf.randomUniform([7, 11], -1, 1, 'float32', 2))];
    // Threshold 20: only the 7x11 matrix (parameters 15-91) is mirrored; 3 participants split it mid-row.
    const parameters = SharedParameters.fromVariables(variables, 3, 20);
    const next = createRandom(3).next;
    for (const gradient of parameters.gradients) for (let i = 0; i < gradient.length; i++) gradient[i] = next() - 0.5;
    const before = Float32Array.from(parameters.weights);
    for (let p = 0; p < 3; p++) parameters.applyUpdate(p, new AdamSlice(...parameters.slice(p), { learningRate: 0.1 }), 4, 1);
    expect(parameters.weights.every((w, i) => w !== before[i])).toBe(true);
    parameters.loadInto(variables);

    const loaded = parameters.loadTransposed(variables);
    expect(loaded.size).toBe(1);
    expect(loaded.has(variables[1])).toBe(true);
    const mirror = loaded.get(variables[1])!;
    expect(mirror.shape).toEqual([11, 7]);
    expect(Array.from(mirror.dataSync())).toEqual(Array.from(variables[1].transpose().dataSync()));
    tf.dispose([...loaded.values(), ...variables]);
  });
});

describe('batchGradients with transposed dense kernels', () => {
  it('gives the gradients of the plain forward pass', () => {
    const model = buildModel('simple_cnn', 3, 5);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const parameters = SharedParameters.fromVariables(variables, 1);
    const transposed = parameters.loadTransposed(variables);
    expect(transposed.size).toBe(1); // the 4096x512 kernel
    const batch = { pixels: syntheticImages(4, 9), labels: Uint8Array.from([0, 1, 2, 1]), count: 4 };
    const masks = dropoutMasks(model, batch.count, createRandom(4).next);

    const plain = batchGradients(model, batch, masks);
    const fast = batchGradients(model, batch, masks, (layer, x) => denseFromTransposed(layer, x, transposed));
    expect(fast.lossSum).toBeCloseTo(plain.lossSum, 4);
    for (const v of variables) {
      const expected = plain.grads[v.name].dataSync();
      const actual = fast.grads[v.name].dataSync();
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < expected.length; i++) {
        worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        scale = Math.max(scale, Math.abs(expected[i]));
      }
      expect(worst / scale).toBeLessThanOrEqual(1e-4);
    }
    tf.dispose([plain.grads, fast.grads, [...transposed.values()]]);
    model.dispose();
  });
});
