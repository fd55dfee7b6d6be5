/**
 * One `mldeploy train` run as a library call: engine -> data -> train -> evaluate on the
 * test set -> save a new model version (metadata + reference profile) -> training chart.
 * Reports progress through one callback and prints nothing.
 */
import * as path from 'node:path';
import { loadCifar10 } from '../data/cifar10';
import { sliceImages, splitValidation } from '../data/sample';
import type { DataProgress, LoadedDataset } from '../data/types';
import { UsageError } from '../errors';
import { INPUT_SHAPE, PREPROCESSING } from '../preprocess';
import { writeTrainingChart } from '../report/training-chart';
import { MODEL_TYPE, type ArchitectureName } from './architectures';
import { readMetadata, saveModelVersion, type MetadataDraft } from './artifacts';
import { initEngine, type BackendChoice, type EngineInfo } from './engine';
import { buildReferenceProfile, evaluatePredictions, predictSet, type Evaluation } from './evaluate';
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
  /** Fraction of the (limited) training images held out for validation, in [0, 1). */
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
  | { type: 'data'; dataset: LoadedDataset; trainCount: number; validationCount: number }
  | { type: 'batch'; progress: BatchProgress }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'stage'; stage: 'evaluating' | 'saving' };

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
  const { train, validation } = splitValidation(limited, options.valSplit);
  if (train.count < 1) {
    throw new UsageError(`no training images left after --limit ${options.limit} and --val-split ${options.valSplit}`);
  }
  emit({ type: 'data', dataset, trainCount: train.count, validationCount: validation.count });

  const trained = await trainClassifier({
    architecture: options.architecture,
    numClasses: dataset.classNames.length,
    train,
    validation: validation.count > 0 ? validation : undefined,
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
    const predictions = await predictSet(trained.model, dataset.test);
    const evaluation = evaluatePredictions(dataset.test.labels, predictions.classes, dataset.classNames);
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
        val_count: validation.count,
        test_count: dataset.test.count,
      },
      engine: { backend: engine.backend, tfjs_backend: engine.tfjs_backend, versions: engine.versions, workers: trained.workers },
      reference: buildReferenceProfile(dataset.test, predictions, dataset.classNames),
    };
    emit({ type: 'stage', stage: 'saving' });
    const saved = await saveModelVersion(trained.model, draft, options.modelsDir);
    const chartFile = path.join(options.plotsDir, TRAINING_CHART_FILE);
    await writeTrainingChart(chartFile, trained.history, `${MODEL_TYPE[options.architecture]} ${saved.version}`);
    const metadata = await readMetadata(saved.dir);
    return { ...saved, chartFile, metadata, evaluation, classNames: dataset.classNames };
  } finally {
    trained.model.dispose();
  }
}
