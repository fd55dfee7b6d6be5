/**
 * Train-time calibration (src/model/calibration-record.ts through runTraining): which held-out
 * images it uses, what metadata.json stores, and that older metadata still loads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fitTemperature } from '../src/model/calibration';
import { CALIBRATION_SPLIT_SEED, splitTestSet } from '../src/model/calibration-record';
import { METADATA_SCHEMA_VERSION, missingProfileParts, parseMetadata } from '../src/model/metadata';
import { runTraining, type TrainRunOptions, type TrainRunResult } from '../src/model/train-run';
import { IMAGE_SIGNALS } from '../src/preprocess/image-stats';
import { writeCifar10Binary, type BinaryFixture } from './helpers/cifar-fixtures';

let work: string;
let fixture: BinaryFixture;
let testHalf: TrainRunResult;
let validation: TrainRunResult;

const options = (valSplit: number, modelsDir: string): TrainRunOptions => ({
  data: fixture.root,
  dataDir: path.join(work, 'data'),
  architecture: 'simple_cnn',
  epochs: 1,
  batchSize: 32,
  learningRate: 0.001,
  seed: 5,
  limit: 100,
  valSplit,
  modelsDir: path.join(work, modelsDir),
  plotsDir: path.join(work, 'plots'),
  backend: 'auto',
});

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-calibration-'));
  fixture = writeCifar10Binary(path.join(work, 'src'), 20, 41); // 100 train, 41 test
  testHalf = await runTraining(options(0, 'half'));
  validation = await runTraining(options(0.25, 'validation'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('splitTestSet', () => {
  it('splits the indices into two disjoint seeded halves that cover the set', () => {
    const split = splitTestSet(41);
    expect(split.calibration).toHaveLength(20);
    expect(split.reported).toHaveLength(21);
    expect([...split.calibration, ...split.reported].sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    expect(split.calibration).toEqual([...split.calibration].sort((a, b) => a - b));
    expect(splitTestSet(41)).toEqual(split);
    expect(splitTestSet(41, CALIBRATION_SPLIT_SEED + 1).calibration).not.toEqual(split.calibration);
  });
});

describe('calibration stored by mldeploy train', () => {
  it('with --val-split 0 calibrates on a fixed half of the test set and reports accuracy on the other half', () => {
    const { metadata } = testHalf;
    expect(metadata.schema_version).toBe(METADATA_SCHEMA_VERSION);
    expect(metadata.dataset.test_count).toBe(21);
    expect(metadata.confusion_matrix.flat().reduce((a, b) => a + b, 0)).toBe(21);
    expect(metadata.reference.samples).toBe(21);
    const reported = splitTestSet(41).reported;
    const correct = metadata.confusion_matrix.reduce((s, row, c) => s + row[c], 0);
    expect(metadata.test_accuracy).toBeCloseTo(correct / 21, 12);
    expect(reported.map((i) => fixture.test.labels[i]).reduce((counts, label) => ((counts[label] += 1), counts), new Array<number>(10).fill(0))).toEqual(
      metadata.confusion_matrix.map((row) => row.reduce((a, b) => a + b, 0)),
    );
    expect(metadata.calibration).toMatchObject({ source: 'test-half', images: 20, split_seed: CALIBRATION_SPLIT_SEED, ece_bins: 15 });
  });

  it('stores the temperature that minimises NLL on the stored probabilities, with NLL and ECE before and after', () => {
    const calibration = testHalf.metadata.calibration!;
    const calibrationLabels = splitTestSet(41).calibration.map((i) => fixture.test.labels[i]);
    expect(calibration.temperature).toBeCloseTo(fitTemperature(calibration.reference.probabilities, calibrationLabels), 3);
    expect(calibration.nll_after).toBeLessThanOrEqual(calibration.nll_before + 1e-12);
    for (const ece of [calibration.ece_before, calibration.ece_after]) expect(ece).toBeGreaterThanOrEqual(0);
    const predicted = calibration.reference.probabilities.map((row) => row.indexOf(Math.max(...row)));
    expect(calibration.heldout_accuracy).toBeCloseTo(predicted.filter((p, i) => p === calibrationLabels[i]).length / 20, 12);
  });

  it('keeps every calibration image\'s probability vector and input statistics as the detectors\' reference', () => {
    const { reference } = testHalf.metadata.calibration!;
    expect(reference.probabilities).toHaveLength(20);
    for (const row of reference.probabilities) {
      expect(row).toHaveLength(10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    for (const signal of IMAGE_SIGNALS) expect(reference.input_signals[signal]).toHaveLength(20);
  });

  it('with --val-split > 0 calibrates on the validation images and reports the whole test set', () => {
    expect(validation.metadata.dataset).toMatchObject({ train_count: 75, val_count: 25, test_count: 41 });
    expect(validation.metadata.calibration).toMatchObject({ source: 'validation', images: 25, split_seed: null });
  });
});

describe('older metadata', () => {
  it('still loads without calibration and says what it lacks', () => {
    const raw = JSON.parse(readFileSync(path.join(testHalf.dir, 'metadata.json'), 'utf8'));
    expect(missingProfileParts(parseMetadata(raw))).toEqual([]);
    delete raw.calibration;
    const old = parseMetadata({ ...raw, schema_version: 1 });
    expect(old.calibration).toBeUndefined();
    expect(missingProfileParts(old)).toEqual([expect.stringMatching(/^calibration .*schema_version 1; retrain/)]);
    expect(() => parseMetadata({ ...raw, schema_version: 3 })).toThrow(/schema_version/);
  });
});
