/**
 * One `mldeploy train` run as a library call: engine -> data -> train -> evaluate on the
 * test set -> calibrate on held-out images (see calibration-record.ts) -> save a new model
 * version (metadata + reference profile + calibration) -> training chart.
 * Reports progress through one callback and prints nothing.
 */
import * as path from 'node:path';
import { loadCifar10 } from '../data/cifar10';
import { pickImages, sliceImages, splitValidation } from '../data/sample';
import type { DataProgress, LoadedDataset } from '../data/types';
import { UsageError } from '../errors';
import { INPUT_SHAPE, PREPROCESSING } from '../preprocess';
import { writeTrainingChart } from '../report/training-chart';
import { MODEL_TYPE, type ArchitectureName } from './architectures';
import { readMetadata, saveModelVersion, type MetadataDraft } from './artifacts';
import { buildCalibrationRecord, CALIBRATION_SPLIT_SEED, splitTestSet } from './calibration-record';
import { initEngine, type BackendChoice, type EngineInfo } from './engine';
import { buildReferenceProfile, evaluatePredictions, pickPredictions, predictSet, type Evaluation } from './evaluate';
import type { ModelMetadata } from './metadata';
import { trainClassifier, type BatchProgress, type EpochRecord } from './trainer';

export const TRAINING_CHART_FILE = 'training_progress.png';

export interface TrainRunOptions {
  /** `--data`: path or URL of a CIFAR-10 source; undefined -> $MLDEPLOY_CIFAR10 or the official download. */
  data?: string;
  dataDir: string;
  architecture: ArchitectureName;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Use only the first N training images (before the validation split). */
  limit?: number;
  /**
   * Fraction of the (limited) training images held out for the per-epoch validation, in [0, 1).
   * 0 trains on every image and reports the per-epoch curves on the test set instead.
   */
  valSplit: number;
  modelsDir: string;
  plotsDir: string;
  backend: BackendChoice;
  workers?: number;
  onEvent?: (event: TrainRunEvent) => void;
}

export type TrainRunEvent =
  | { type: 'engine'; engine: EngineInfo }
  | { type: 'data-progress'; progress: DataProgress }
  | { type: 'data'; dataset: LoadedDataset; trainCount: number; validation: ValidationSource; validationCount: number }
  | { type: 'batch'; progress: BatchProgress }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'stage'; stage: 'evaluating' | 'saving' };

/**
 * Where the per-epoch validation figures come from. 'test': with --val-split 0, the test set,
 * used for reporting only (the epochs are fixed, nothing is selected by it), as the workshop's
 * PyTorch recipe does so that all 50,000 images train the model.
 */
export type ValidationSource = 'held-out' | 'test';

export interface TrainRunResult {
  version: string;
  dir: string;
  chartFile: string;
  metadata: ModelMetadata;
  evaluation: Evaluation;
  classNames: string[];
}

export async function runTraining(options: TrainRunOptions): Promise<TrainRunResult> {
  const emit = options.onEvent ?? (() => undefined);
  if (!(options.valSplit >= 0 && options.valSplit < 1)) {
    throw new UsageError(`--val-split must be at least 0 and below 1, got ${options.valSplit}`);
  }
  const engine = await initEngine(options.backend);
  emit({ type: 'engine', engine });

  const dataset = await loadCifar10({
    source: options.data,
    dataDir: options.dataDir,
    onProgress: (progress) => emit({ type: 'data-progress', progress }),
  });
  const limited = options.limit === undefined ? dataset.train : sliceImages(dataset.train, 0, options.limit);
  const { train, validation: heldOut } = splitValidation(limited, options.valSplit);
  if (train.count < 1 || (options.valSplit > 0 && heldOut.count < 1)) {
    throw new UsageError(`--limit ${options.limit} and --val-split ${options.valSplit} leave no training or no validation images`);
  }
  const validationSource: ValidationSource = options.valSplit > 0 ? 'held-out' : 'test';
  const validation = validationSource === 'held-out' ? heldOut : dataset.test;
  emit({ type: 'data', dataset, trainCount: train.count, validation: validationSource, validationCount: validation.count });

  const trained = await trainClassifier({
    architecture: options.architecture,
    numClasses: dataset.classNames.length,
    train,
    validation,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    backend: options.backend,
    workers: options.workers,
    onBatch: (progress) => emit({ type: 'batch', progress }),
    onEpoch: (record) => emit({ type: 'epoch', record }),
  });

  try {
    emit({ type: 'stage', stage: 'evaluating' });
    const testPredictions = await predictSet(trained.model, dataset.test);
    // Calibration uses images the reported accuracy does not: the validation images, else half the test set.
    let reported = dataset.test;
    let predictions = testPredictions;
    let calibration: MetadataDraft['calibration'];
    if (validationSource === 'held-out') {
      calibration = buildCalibrationRecord(heldOut, await predictSet(trained.model, heldOut), 'validation', null);
    } else {
      const split = splitTestSet(dataset.test.count);
      if (split.calibration.length < 1) throw new UsageError(`a test set of ${dataset.test.count} image(s) cannot be split into calibration and reported halves`);
      calibration = buildCalibrationRecord(pickImages(dataset.test, split.calibration), pickPredictions(testPredictions, split.calibration), 'test-half', CALIBRATION_SPLIT_SEED);
      reported = pickImages(dataset.test, split.reported);
      predictions = pickPredictions(testPredictions, split.reported);
    }
    const evaluation = evaluatePredictions(reported.labels, predictions.classes, dataset.classNames);
    const draft: MetadataDraft = {
      model_type: MODEL_TYPE[options.architecture],
      class_names: dataset.classNames,
      num_classes: dataset.classNames.length,
      input_shape: INPUT_SHAPE,
      preprocessing: { ...PREPROCESSING },
      test_accuracy: evaluation.accuracy,
      per_class_accuracy: evaluation.perClassAccuracy,
      confusion_matrix: evaluation.confusionMatrix,
      training: {
        config: {
          architecture: options.architecture,
          epochs: options.epochs,
          batch_size: options.batchSize,
          learning_rate: options.learningRate,
          optimizer: 'adam',
          loss: 'sparse_categorical_crossentropy',
          seed: options.seed,
          limit: options.limit ?? null,
          val_split: options.valSplit,
          validation: validationSource === 'test' ? 'test set (reporting only)' : 'held-out training images',
          workers: trained.workers,
        },
        history: trained.history,
        duration_s: trained.durationS,
        img_per_s: trained.imgPerS,
      },
      dataset: {
        source: dataset.source,
        format: dataset.format,
        digest: dataset.digest,
        train_count: train.count,
        val_count: heldOut.count,
        test_count: reported.count,
      },
      engine: { backend: engine.backend, tfjs_backend: engine.tfjs_backend, versions: engine.versions, workers: trained.workers },
      reference: buildReferenceProfile(reported, predictions, dataset.classNames),
      calibration,
    };
    emit({ type: 'stage', stage: 'saving' });
    const saved = await saveModelVersion(trained.model, draft, options.modelsDir);
    const chartFile = path.join(options.plotsDir, TRAINING_CHART_FILE);
    await writeTrainingChart(chartFile, trained.history, `${MODEL_TYPE[options.architecture]} ${saved.version}`, validationLabel(validationSource));
    const metadata = await readMetadata(saved.dir);
    return { ...saved, chartFile, metadata, evaluation, classNames: dataset.classNames };
  } finally {
    trained.model.dispose();
  }
}

/** How the per-epoch validation series is named in output and charts. */
export function validationLabel(source: ValidationSource): string {
  return source === 'test' ? 'test' : 'validation';
}
