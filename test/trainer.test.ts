import type { BackendChoice } from '../src/model/engine';
import { trainClassifier, type TrainOptions } from '../src/model/trainer';
import { syntheticImages } from './helpers/model-fixture';
import { TEST_ENGINE } from './helpers/test-engine';

/** Learnable synthetic data: the label is the brightest channel of a seeded colour image. */
function labelledSet(count: number, seed: number) {
  const pixels = syntheticImages(count, seed);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const sums = [0, 0, 0];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) sums[c] += pixels[i * 3072 + p * 3 + c];
    labels[i] = sums.indexOf(Math.max(...sums));
  }
  return { pixels, labels, count };
}

const base: Omit<TrainOptions, 'workers'> = {
  architecture: 'simple_cnn',
  numClasses: 3,
  train: labelledSet(192, 1),
  validation: labelledSet(64, 2),
  epochs: 2,
  batchSize: 32,
  learningRate: 0.001,
  seed: 7,
  backend: TEST_ENGINE,
};

async function history(workers: number, backend: BackendChoice = TEST_ENGINE) {
  const result = await trainClassifier({ ...base, workers, backend });
  result.model.dispose();
  // tfjs-node trains in one thread of ours (TensorFlow uses every core itself).
  expect(result.workers).toBe(backend === 'node' ? 1 : workers);
  return result.history.map(({ loss, accuracy, val_loss, val_accuracy }) => ({ loss, accuracy, val_loss, val_accuracy }));
}

describe('trainClassifier', () => {
  it(`gives identical metrics for the same seed, engine (${TEST_ENGINE}) and workers`, async () => {
    const first = await history(1);
    expect(await history(1)).toEqual(first);
    expect(first[1].loss).toBeLessThan(first[0].loss);
  });

  it('two data-parallel workers (wasm) follow the single-worker trajectory', async () => {
    const single = await history(1, 'wasm');
    const parallel = await history(2, 'wasm');
    expect(await history(2, 'wasm')).toEqual(parallel);
    parallel.forEach((epoch, i) => {
      // Same batches, same dropout masks: only float summation order differs.
      expect(epoch.loss).toBeCloseTo(single[i].loss, 3);
      expect(epoch.val_loss!).toBeCloseTo(single[i].val_loss!, 3);
      expect(Math.abs(epoch.val_accuracy! - single[i].val_accuracy!)).toBeLessThanOrEqual(2 / 64);
    });
  });

  (TEST_ENGINE === 'node' ? it : it.skip)('the node step (native kernels, fused Adam) follows the wasm step (AdamSlice)', async () => {
    const wasm = await history(1, 'wasm');
    const node = await history(1, 'node');
    node.forEach((epoch, i) => {
      // Same initial weights, batches, dropout masks and update rule; kernels differ in float order.
      expect(epoch.loss).toBeCloseTo(wasm[i].loss, 2);
      expect(epoch.val_loss!).toBeCloseTo(wasm[i].val_loss!, 2);
      expect(Math.abs(epoch.val_accuracy! - wasm[i].val_accuracy!)).toBeLessThanOrEqual(3 / 64);
    });
  });

  it('refuses impossible settings as usage errors', async () => {
    await expect(trainClassifier({ ...base, epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(trainClassifier({ ...base, workers: 0 })).rejects.toThrow(/workers must be a positive integer/);
  });
});
