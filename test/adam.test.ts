import * as tf from '@tensorflow/tfjs';
import { AdamSlice, sliceBounds } from '../src/model/parallel/adam-slice';
import { initEngine } from '../src/model/engine';
import { createRandom } from '../src/util/random';

const SIZE = 1000;
const STEPS = 6;
const LEARNING_RATE = 0.01;
const BATCH = 64;

function randomVector(seed: number, scale: number): Float32Array {
  const next = createRandom(seed).next;
  return Float32Array.from({ length: SIZE }, () => (next() - 0.5) * scale);
}

/** Per step: three shard gradients (of a summed loss) whose sum / BATCH is the step's gradient. */
const shardGradients = Array.from({ length: STEPS }, (_, step) => [100, 200, 300].map((seed) => randomVector(seed + step, 8)));
const initialWeights = randomVector(1, 1);

describe('AdamSlice', () => {
  it.each([1, 2, 3])('updates weights exactly as tf.train.adam does, from %i shard gradient(s)', async (parts) => {
    await initEngine('cpu');
    const steps = shardGradients.map((shards) => shards.slice(0, parts));
    const variable = tf.variable(tf.tensor1d(initialWeights));
    const optimizer = tf.train.adam(LEARNING_RATE);
    for (const shards of steps) {
      const gradient = tf.tidy(() => tf.div(tf.addN(shards.map((g) => tf.tensor1d(g))), BATCH));
      optimizer.applyGradients([{ name: variable.name, tensor: gradient }]);
      gradient.dispose();
    }
    const expected = variable.dataSync() as Float32Array;
    variable.dispose();
    optimizer.dispose();

    const weights = initialWeights.slice();
    const adam = new AdamSlice(0, SIZE, { learningRate: LEARNING_RATE });
    steps.forEach((shards, i) => adam.apply(weights, shards.map((g) => g.slice()), BATCH, i + 1));

    let worst = 0;
    for (let i = 0; i < SIZE; i++) worst = Math.max(worst, Math.abs(weights[i] - expected[i]));
    expect(worst).toBeLessThan(1e-6);
    // The update moved the weights by about learning rate x steps, not a rounding error.
    expect(Math.abs(weights[0] - initialWeights[0])).toBeGreaterThan(LEARNING_RATE);
  });

  it('gives the same result when the parameters are split into slices updated separately', () => {
    const whole = initialWeights.slice();
    const wholeAdam = new AdamSlice(0, SIZE, { learningRate: LEARNING_RATE });
    const sliced = initialWeights.slice();
    const sliceAdams = [0, 1, 2].map((part) => new AdamSlice(...sliceBounds(SIZE, 3, part), { learningRate: LEARNING_RATE }));
    shardGradients.forEach((shards, i) => {
      wholeAdam.apply(whole, shards.map((g) => g.slice()), BATCH, i + 1);
      const shared = shards.map((g) => g.slice());
      for (const adam of sliceAdams) adam.apply(sliced, shared, BATCH, i + 1);
    });
    expect(Array.from(sliced)).toEqual(Array.from(whole));
  });

  it('covers every parameter exactly once across slices', () => {
    const bounds = [0, 1, 2, 3].map((part) => sliceBounds(10, 4, part));
    expect(bounds).toEqual([
      [0, 2],
      [2, 5],
      [5, 7],
      [7, 10],
    ]);
  });
});
