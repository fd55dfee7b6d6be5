/**
 * Training loop: Adam on sparse categorical cross-entropy, seeded shuffling and dropout so the
 * same seed, engine and worker count give the same history. Weights and the optimizer step live
 * in the data-parallel state of gradient-workers.ts, also with a single worker.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { pickImages, shuffledOrder } from '../data/sample';
import type { ImageSet } from '../data/types';
import { UsageError } from '../errors';
import { createRandom } from '../util/random';
import { CHANNELS, IMAGE_SIZE, PIXELS_PER_IMAGE, normalizePixels } from '../preprocess';
import { buildModel, type ArchitectureName } from './architectures';
import { AdamSlice } from './adam';
import { initEngine, type BackendChoice, type EngineName } from './engine';
import { denseFromTransposed } from './dense-forward';
import { GradientWorkerPool, SharedParameters, type ShardTask, type TransposedWeights } from './gradient-workers';

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
  /** Data-parallel worker threads; default chosen by the trainer. */
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

/** Keras clips probabilities to [eps, 1 - eps] before the log. */
const PROBABILITY_EPSILON = 1e-7;
const EVAL_BATCH_SIZE = 256;

/**
 * Default data-parallel width: tfjs-node already runs each op on all cores; the wasm and cpu
 * backends run one thread, so one worker per core (capped: each adds a model replica and a
 * weight broadcast per step).
 */
export function defaultWorkers(engine: EngineName): number {
  return engine === 'node' ? 1 : Math.max(1, Math.min(availableParallelism(), 4));
}

export async function trainClassifier(options: TrainOptions): Promise<TrainResult> {
  validateOptions(options);
  const engine = await initEngine(options.backend);
  const model = buildModel(options.architecture, options.numClasses, options.seed);
  const workers = Math.min(options.workers ?? defaultWorkers(engine.backend), options.batchSize);
  const parameters = SharedParameters.fromVariables(trainableVariables(model), workers);
  const pool =
    workers > 1
      ? new GradientWorkerPool({
          architecture: options.architecture,
          numClasses: options.numClasses,
          seed: options.seed,
          backend: engine.backend,
          learningRate: options.learningRate,
          parameters: parameters.layout,
        })
      : undefined;
  try {
    await pool?.ready();
    const step: DataParallelStep = {
      model,
      parameters,
      adam: new AdamSlice(...parameters.slice(0), { learningRate: options.learningRate }),
      pool,
    };
    return await trainEpochs(options, step);
  } finally {
    await pool?.close();
  }
}

/** What one training step works with: the main thread's replica and share, and the workers. */
interface DataParallelStep {
  model: tf.LayersModel;
  parameters: SharedParameters;
  adam: AdamSlice;
  pool: GradientWorkerPool | undefined;
}

async function trainEpochs(options: TrainOptions, step: DataParallelStep): Promise<TrainResult> {
  const { train, epochs, batchSize, seed } = options;
  const { model, pool } = step;
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
    const prepare = (batch: number): PreparedBatch => {
      const indices = order.subarray(batch * batchSize, Math.min((batch + 1) * batchSize, train.count));
      const stepIndex = (epoch - 1) * batches + batch;
      return prepareBatch(step, pickImages(train, indices), dropoutStream(seed, stepIndex), stepIndex + 1);
    };
    let next = prepare(0);
    for (let batch = 0; batch < batches; batch++) {
      const current = next;
      // The next batch is cut while the main thread waits for the workers' gradients.
      const result = await trainStep(step, current, () => {
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
    step.parameters.loadInto(trainableVariables(model));
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
    workers: (pool?.size ?? 0) + 1,
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

export interface StepResult {
  /** Sum (not mean) of per-image losses, so parts of a batch add up. */
  lossSum: number;
  correct: number;
}

/** A batch cut into per-participant shards with their dropout masks, ready for one step. */
interface PreparedBatch {
  shards: ShardTask[];
  count: number;
  /** 1-based Adam step number. */
  adamStep: number;
}

function prepareBatch(step: DataParallelStep, batch: ImageSet, dropout: Rng, adamStep: number): PreparedBatch {
  const masks = dropoutMasks(step.model, batch.count, dropout);
  return { shards: splitBatch(batch, masks, step.parameters.participants), count: batch.count, adamStep };
}

/**
 * One Adam step on one prepared batch; `whileWaiting` runs when the main thread's own shard is
 * done. On return the shared weights hold the updated values; the main thread's model gets them
 * at the start of the next step (after the workers have their tasks) or from `parameters.loadInto`.
 */
async function trainStep(step: DataParallelStep, batch: PreparedBatch, whileWaiting: () => void): Promise<StepResult> {
  const { model, parameters, adam, pool } = step;
  const { shards, count, adamStep } = batch;
  // The workers compute their shards while the main thread computes the first.
  const remote = pool && shards.length > 1 ? pool.computeGradients(shards.slice(1)) : Promise.resolve([]);
  const local = shardGradients(model, parameters, 0, shards[0]);
  whileWaiting();
  let { lossSum, correct } = local;
  for (const shard of await remote) {
    lossSum += shard.lossSum;
    correct += shard.correct;
  }
  // A batch smaller than the participant count leaves the last gradient vectors unused: zero them.
  for (let p = shards.length; p < parameters.participants; p++) parameters.gradients[p].fill(0);
  // Gradients of the summed loss, added in participant order -> mean over the batch, as Keras does.
  const remoteUpdate = pool ? pool.update(adamStep, count) : Promise.resolve();
  parameters.applyUpdate(0, adam, count, adamStep);
  await remoteUpdate;
  return { lossSum, correct };
}

/** Splits a batch (and its per-image dropout mask rows) into up to `parts` contiguous shards. */
function splitBatch(batch: ImageSet, masks: Float32Array[], parts: number): ShardTask[] {
  const size = Math.ceil(batch.count / parts);
  const shards: ShardTask[] = [];
  for (let start = 0; start < batch.count; start += size) {
    const end = Math.min(start + size, batch.count);
    shards.push({
      pixels: batch.pixels.slice(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE),
      labels: batch.labels.slice(start, end),
      count: end - start,
      masks: masks.map((mask) => {
        const perImage = mask.length / batch.count;
        return mask.slice(start * perImage, end * perImage);
      }),
    });
  }
  return shards;
}

/**
 * One participant's part of a step, in the main thread or a worker: load the shared weights into
 * its replica, compute its shard's gradients and write them to its shared gradient vector.
 */
export function shardGradients(model: tf.LayersModel, parameters: SharedParameters, participant: number, shard: ShardTask): StepResult {
  const variables = trainableVariables(model);
  parameters.loadInto(variables);
  const transposed = parameters.loadTransposed(variables);
  const { grads, lossSum, correct } = batchGradients(model, shard, shard.masks, transposed);
  tf.dispose([...transposed.values()]);
  parameters.storeGradients(participant, variables, grads);
  tf.dispose(grads);
  return { lossSum, correct };
}

/**
 * Forward pass in training mode, summed loss, and the gradient of the summed loss for every
 * trainable weight (keyed by variable name). Dropout uses the given masks, one row per image,
 * so splitting a batch across workers applies exactly the same masks. Dense layers whose kernel
 * has an entry in `transposed` compute their product from it (same values, faster on wasm).
 */
export function batchGradients(
  model: tf.LayersModel,
  batch: ImageSet,
  masks: Float32Array[],
  transposed: TransposedWeights = new Map(),
): StepResult & { grads: tf.NamedTensorMap } {
  const x = tf.tensor4d(normalizePixels(batch.pixels), [batch.count, IMAGE_SIZE, IMAGE_SIZE, CHANNELS]);
  const labels = tf.tensor1d(batch.labels, 'int32');
  let predictions: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const probs = forwardTraining(model, x, masks, transposed) as tf.Tensor2D;
    predictions = tf.keep(probs.argMax(1));
    return crossEntropySum(probs, labels, probs.shape[1]);
  }, trainableVariables(model));
  const lossSum = value.dataSync()[0];
  const correct = tf.tidy(() => tf.equal(predictions!, labels).sum().dataSync()[0]);
  tf.dispose([x, labels, value, predictions!]);
  return { grads, lossSum, correct };
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function forwardTraining(model: tf.LayersModel, x: tf.Tensor, masks: Float32Array[], transposed: TransposedWeights): tf.Tensor {
  let h = x;
  let dropoutIndex = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') {
      const mask = masks[dropoutIndex++];
      h = tf.mul(h, tf.tensor(mask, h.shape));
    } else {
      h = denseFromTransposed(layer, h, transposed) ?? (layer.apply(h, { training: true }) as tf.Tensor);
    }
  }
  return h;
}

function crossEntropySum(probs: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  const clipped = tf.clipByValue(probs, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
  const oneHot = tf.oneHot(labels, numClasses);
  return tf.neg(tf.sum(tf.mul(oneHot, tf.log(clipped)))) as tf.Scalar;
}

/** Inverted-dropout masks (0 or 1/keep) for every Dropout layer, drawn from the step's stream. */
export function dropoutMasks(model: tf.LayersModel, count: number, rng: Rng): Float32Array[] {
  const masks: Float32Array[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout') continue;
    const rate = (layer.getConfig() as { rate: number }).rate;
    const perImage = (layer.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1);
    const keep = 1 - rate;
    const mask = new Float32Array(count * perImage);
    for (let i = 0; i < mask.length; i++) mask[i] = rng() < keep ? 1 / keep : 0;
    masks.push(mask);
  }
  return masks;
}

/** Loss and accuracy of the model on a whole set, in inference mode. */
export function evaluate(model: tf.LayersModel, set: ImageSet): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += EVAL_BATCH_SIZE) {
    const end = Math.min(start + EVAL_BATCH_SIZE, set.count);
    const [batchLoss, batchCorrect] = tf.tidy(() => {
      const n = end - start;
      const x = tf.tensor4d(
        normalizePixels(set.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE)),
        [n, IMAGE_SIZE, IMAGE_SIZE, CHANNELS],
      );
      const labels = tf.tensor1d(set.labels.subarray(start, end), 'int32');
      const probs = model.predict(x) as tf.Tensor2D;
      const loss = crossEntropySum(probs, labels, probs.shape[1]);
      const hits = tf.equal(probs.argMax(1), labels).sum();
      return [loss.dataSync()[0], hits.dataSync()[0]];
    });
    lossSum += batchLoss;
    correct += batchCorrect;
  }
  return { loss: lossSum / set.count, accuracy: correct / set.count };
}

export type Rng = () => number;

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
