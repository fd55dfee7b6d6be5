/**
 * Training loop: Adam on sparse categorical cross-entropy, seeded shuffling and dropout so the
 * same seed, engine and worker count give the same history. The step itself is the engine's:
 * NativeStep on tfjs-node, DataParallelStep (parallel/) on wasm and cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { pickImages, shuffledOrder } from '../data/sample';
import type { ImageSet } from '../data/types';
import { UsageError } from '../errors';
import { createRandom } from '../util/random';
import { PIXELS_PER_IMAGE, toInputTensor } from '../preprocess';
import { buildModel, type ArchitectureName } from './architectures';
import { initEngine, type BackendChoice } from './engine';
import { NativeStep } from './native-step';
import { DataParallelStep } from './parallel/data-parallel-step';
import { crossEntropySum, dropoutMasks, hits, type Rng, type StepRunner } from './training-step';

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Training images per second (validation excluded). */
  img_per_s: number;
}

/** Running means over the epoch so far. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface TrainOptions {
  architecture: ArchitectureName;
  numClasses: number;
  train: ImageSet;
  validation?: ImageSet;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** The engine already initialised in the main thread (workers start the same one). */
  backend: BackendChoice;
  /** Data-parallel worker threads on wasm and cpu (default: one per core, up to 4); tfjs-node uses one. */
  workers?: number;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
}

export interface TrainResult {
  model: tf.LayersModel;
  history: EpochRecord[];
  durationS: number;
  imgPerS: number;
  workers: number;
}

const EVAL_BATCH_SIZE = 256;

/**
 * Data-parallel width on wasm and cpu, whose ops run on one thread: one worker per core, capped
 * (each adds a model replica and a weight broadcast per step). tfjs-node needs none: it already
 * runs each op on every core.
 */
function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

export async function trainClassifier(options: TrainOptions): Promise<TrainResult> {
  validateOptions(options);
  const engine = await initEngine(options.backend);
  const model = buildModel(options.architecture, options.numClasses, options.seed);
  let runner: StepRunner<unknown>;
  try {
    runner =
      engine.backend === 'node'
        ? new NativeStep(model, options.learningRate)
        : await DataParallelStep.start({
            model,
            architecture: options.architecture,
            numClasses: options.numClasses,
            seed: options.seed,
            backend: engine.backend,
            learningRate: options.learningRate,
            workers: Math.min(options.workers ?? defaultWorkers(), options.batchSize),
          });
  } catch (err) {
    model.dispose();
    throw err;
  }
  try {
    return await trainEpochs(options, model, runner);
  } finally {
    await runner.close();
  }
}

async function trainEpochs<P>(options: TrainOptions, model: tf.LayersModel, runner: StepRunner<P>): Promise<TrainResult> {
  const { train, epochs, batchSize, seed } = options;
  const batches = Math.ceil(train.count / batchSize);
  const history: EpochRecord[] = [];
  const started = performance.now();
  let trainSeconds = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const epochStart = performance.now();
    const order = shuffledOrder(train.count, mixSeed(seed, epoch));
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const prepare = (batch: number): { prepared: P; count: number } => {
      const indices = order.subarray(batch * batchSize, Math.min((batch + 1) * batchSize, train.count));
      const stepIndex = (epoch - 1) * batches + batch;
      const images = pickImages(train, indices);
      const masks = dropoutMasks(model, images.count, dropoutStream(seed, stepIndex));
      return { prepared: runner.prepare(images, masks, stepIndex + 1), count: images.count };
    };
    let next = prepare(0);
    for (let batch = 0; batch < batches; batch++) {
      const current = next;
      // The next batch is cut while the main thread waits for the workers' gradients.
      const result = await runner.run(current.prepared, () => {
        if (batch + 1 < batches) next = prepare(batch + 1);
      });
      lossSum += result.lossSum;
      correct += result.correct;
      seen += current.count;
      const elapsed = (performance.now() - epochStart) / 1000;
      options.onBatch?.({
        epoch,
        epochs,
        batch: batch + 1,
        batches,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerSecond: seen / elapsed,
      });
    }
    runner.syncModel();
    const epochTrainSeconds = (performance.now() - epochStart) / 1000;
    trainSeconds += epochTrainSeconds;
    const validation = options.validation && options.validation.count > 0 ? evaluate(model, options.validation) : null;
    const record: EpochRecord = {
      epoch,
      loss: lossSum / seen,
      accuracy: correct / seen,
      val_loss: validation ? validation.loss : null,
      val_accuracy: validation ? validation.accuracy : null,
      seconds: (performance.now() - epochStart) / 1000,
      img_per_s: seen / epochTrainSeconds,
    };
    history.push(record);
    options.onEpoch?.(record);
  }
  return {
    model,
    history,
    durationS: (performance.now() - started) / 1000,
    imgPerS: (train.count * epochs) / trainSeconds,
    workers: runner.workers,
  };
}

function validateOptions(o: TrainOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs', o.epochs);
  positiveInt('batch size', o.batchSize);
  positiveInt('number of classes', o.numClasses);
  if (o.workers !== undefined) positiveInt('workers', o.workers);
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) {
    throw new UsageError(`learning rate must be a positive number, got ${o.learningRate}`);
  }
  if (!Number.isInteger(o.seed)) throw new UsageError(`seed must be an integer, got ${o.seed}`);
  if (o.train.count < 1) throw new UsageError('the training set is empty');
}

/** Loss and accuracy of the model on a whole set, in inference mode. */
export function evaluate(model: tf.LayersModel, set: ImageSet): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += EVAL_BATCH_SIZE) {
    const end = Math.min(start + EVAL_BATCH_SIZE, set.count);
    const [batchLoss, batchCorrect] = tf.tidy(() => {
      const x = toInputTensor(set.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), end - start);
      const labels = tf.tensor1d(set.labels.subarray(start, end), 'int32');
      const probs = model.predict(x) as tf.Tensor2D;
      return [crossEntropySum(probs, labels, probs.shape[1]).dataSync()[0], hits(probs, labels).dataSync()[0]];
    });
    lossSum += batchLoss;
    correct += batchCorrect;
  }
  return { loss: lossSum / set.count, accuracy: correct / set.count };
}

/** Combines a run seed with a counter into an independent stream seed. */
export function mixSeed(seed: number, counter: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(counter + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function dropoutStream(seed: number, step: number): Rng {
  return createRandom(mixSeed(seed ^ 0x5bd1e995, step)).next;
}
