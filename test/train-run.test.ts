/**
 * One small training run through the library function the command calls, then checks of
 * everything it writes: metadata contents, the model loaded with plain tfjs (the command draws
 * the chart: test/training-chart.test.ts, test/cli.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { metadataSchema, REFERENCE_SIGNALS } from '../src/model/metadata';
import { runTraining, TrainRunEvent, TrainRunResult } from '../src/model/train-run';
import { PREPROCESSING } from '../src/preprocess';
import { CIFAR10_NAMES, writeCifar10Binary, BinaryFixture } from './helpers/cifar-fixtures';
import { expectedAutoEngine } from './helpers/test-engine';

let work: string;
let fixture: BinaryFixture;
let result: TrainRunResult;
const events: TrainRunEvent[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-train-'));
  fixture = writeCifar10Binary(path.join(work, 'src'), 40, 60); // 200 train, 60 test
  result = await runTraining({
    data: fixture.root,
    dataDir: path.join(work, 'data'),
    architecture: 'simple_cnn',
    epochs: 2,
    batchSize: 32,
    learningRate: 0.001,
    seed: 3,
    limit: 150,
    valSplit: 0.2,
    modelsDir: path.join(work, 'models'),
    backend: 'auto',
    onEvent: (event) => events.push(event),
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('runTraining outputs', () => {
  it('reports engine, data, batches and epochs in order through the callback', () => {
    const types = events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
    expect(types.slice(0, 3)).toEqual(['engine', 'data-progress', 'data']);
    expect(types).toContain('batch');
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(2);
  });

  it('writes a version whose metadata.json validates and holds the full record of the run', () => {
    expect(result.version).toMatch(/^v1_\d{4}_\d{2}_\d{2}$/);
    expect(readlinkSync(path.join(work, 'models', 'latest'))).toBe(result.version);
    const raw = JSON.parse(readFileSync(path.join(result.dir, 'metadata.json'), 'utf8'));
    const metadata = metadataSchema.parse(raw);
    expect(metadata).toMatchObject({
      model_type: 'SimpleCNN',
      class_names: CIFAR10_NAMES,
      num_classes: 10,
      input_shape: [32, 32, 3],
      preprocessing: JSON.parse(JSON.stringify(PREPROCESSING)),
      dataset: { source: fixture.root, format: 'cifar10-binary', train_count: 120, val_count: 30, test_count: 60 },
      engine: { backend: expectedAutoEngine(), tfjs_backend: expectedAutoEngine() === 'node' ? 'tensorflow' : 'wasm' },
    });
    expect(metadata.dataset.digest).toMatch(/^sha256:/);
    expect(metadata.training.config).toMatchObject({ epochs: 2, batch_size: 32, learning_rate: 0.001, seed: 3, limit: 150, val_split: 0.2, validation: 'held-out training images' });
    expect(metadata.training.history).toHaveLength(2);
    expect(metadata.training.history[1].val_accuracy).not.toBeNull();
    expect(metadata.training.duration_s).toBeGreaterThan(0);

    // Confusion matrix rows are true classes; its diagonal gives the accuracies.
    const matrix = metadata.confusion_matrix;
    const total = matrix.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(60);
    expect(metadata.test_accuracy).toBeCloseTo(matrix.reduce((s, row, i) => s + row[i], 0) / 60, 10);
    CIFAR10_NAMES.forEach((name, i) => {
      const rowTotal = matrix[i].reduce((a, b) => a + b, 0);
      expect(metadata.per_class_accuracy[name]).toBe(rowTotal === 0 ? null : matrix[i][i] / rowTotal);
    });
  });

  it('stores a reference profile of the model on the test set', () => {
    const { reference, confusion_matrix } = result.metadata;
    expect(reference.samples).toBe(60);
    expect(reference.confidence_histogram.bin_edges).toHaveLength(21);
    expect(reference.confidence_histogram.bin_edges[20]).toBe(1);
    expect(reference.confidence_histogram.counts.reduce((a, b) => a + b, 0)).toBe(60);
    // Predicted-class counts are the confusion matrix's column sums.
    CIFAR10_NAMES.forEach((name, c) => {
      expect(reference.predicted_class_counts[name]).toBe(confusion_matrix.reduce((s, row) => s + row[c], 0));
    });
    for (const signal of REFERENCE_SIGNALS) expect(reference.signals[signal]).toHaveLength(60);
    const meanRed = fixture.test.pixels.filter((_, i) => i % 3 === 0).reduce((a, b) => a + b, 0) / (60 * 1024) / 255;
    expect(reference.pixel_stats.channel_mean[0]).toBeCloseTo(meanRed, 10);
  });

  it('saves a model that plain @tensorflow/tfjs loads from the files and that reproduces the test accuracy', async () => {
    const modelJson = JSON.parse(readFileSync(path.join(result.dir, 'model.json'), 'utf8'));
    const handler: tf.io.IOHandler = {
      load: async () => {
        const weights = readFileSync(path.join(result.dir, modelJson.weightsManifest[0].paths[0]));
        return {
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0].weights,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        };
      },
    };
    const model = await tf.loadLayersModel(handler);
    const x = tf.tidy(() => tf.tensor4d(Float32Array.from(fixture.test.pixels, (v) => (v / 255 - 0.5) / 0.5), [60, 32, 32, 3]));
    const predicted = (model.predict(x) as tf.Tensor).argMax(1).dataSync();
    const correct = Array.from(predicted).filter((p, i) => p === fixture.test.labels[i]).length;
    expect(correct / 60).toBeCloseTo(result.metadata.test_accuracy, 10);
    x.dispose();
    model.dispose();
  });

  it('says where the per-epoch validation figures come from', () => {
    expect(result.validation).toBe('held-out');
  });
});
