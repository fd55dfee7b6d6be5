/**
 * Test-set evaluation of a trained classifier (accuracy, per-class accuracy, confusion matrix)
 * and the reference profile that serve and drift compare live traffic against.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import { PIXELS_PER_IMAGE, toInputTensor } from '../preprocess';
import { batchImageStats, IMAGE_SIGNALS } from '../preprocess/image-stats';
import type { ReferenceProfile } from './metadata';

const PREDICT_BATCH_SIZE = 256;
export const CONFIDENCE_BINS = 20;
/** Per-image signal lists in the profile are subsampled evenly to at most this many values. */
export const MAX_REFERENCE_SIGNALS = 2000;

export interface Predictions {
  /** Predicted class index per image. */
  classes: Uint8Array;
  /** Top softmax probability per image. */
  confidences: Float32Array;
  /** Every class's softmax probability, count x numClasses, row by row. */
  probabilities: Float32Array;
  numClasses: number;
}

export interface Evaluation {
  accuracy: number;
  /** By class name; null for a class with no test images. */
  perClassAccuracy: Record<string, number | null>;
  /** confusion[true][predicted] counts. */
  confusionMatrix: number[][];
}

/** Runs the model over a whole set in inference mode, batch by batch. */
export async function predictSet(model: tf.LayersModel, set: ImageSet): Promise<Predictions> {
  const classes = new Uint8Array(set.count);
  const confidences = new Float32Array(set.count);
  const numClasses = (model.outputs[0].shape as number[])[1];
  const all = new Float32Array(set.count * numClasses);
  for (let start = 0; start < set.count; start += PREDICT_BATCH_SIZE) {
    const end = Math.min(start + PREDICT_BATCH_SIZE, set.count);
    const [probabilities, top, index] = tf.tidy(() => {
      const output = model.predict(
        toInputTensor(set.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), end - start),
      ) as tf.Tensor2D;
      return [output, output.max(1), output.argMax(1)];
    });
    all.set(await probabilities.data(), start * numClasses);
    confidences.set(await top.data(), start);
    classes.set(await index.data(), start);
    tf.dispose([probabilities, top, index]);
  }
  return { classes, confidences, probabilities: all, numClasses };
}

/** The predictions of the images at the given indices, in that order. */
export function pickPredictions(predictions: Predictions, indices: ArrayLike<number>): Predictions {
  const { numClasses } = predictions;
  const picked: Predictions = {
    classes: new Uint8Array(indices.length),
    confidences: new Float32Array(indices.length),
    probabilities: new Float32Array(indices.length * numClasses),
    numClasses,
  };
  for (let i = 0; i < indices.length; i++) {
    const source = indices[i];
    picked.classes[i] = predictions.classes[source];
    picked.confidences[i] = predictions.confidences[source];
    picked.probabilities.set(predictions.probabilities.subarray(source * numClasses, (source + 1) * numClasses), i * numClasses);
  }
  return picked;
}

/** Row i of the probability matrix (a view). */
export function probabilityRow(predictions: Predictions, i: number): Float32Array {
  return predictions.probabilities.subarray(i * predictions.numClasses, (i + 1) * predictions.numClasses);
}

export function evaluatePredictions(labels: Uint8Array, predicted: Uint8Array, classNames: string[]): Evaluation {
  const confusionMatrix = classNames.map(() => new Array<number>(classNames.length).fill(0));
  for (let i = 0; i < labels.length; i++) confusionMatrix[labels[i]][predicted[i]] += 1;
  const correct = confusionMatrix.reduce((sum, row, c) => sum + row[c], 0);
  const perClassAccuracy = Object.fromEntries(
    classNames.map((name, c) => {
      const total = confusionMatrix[c].reduce((a, b) => a + b, 0);
      return [name, total === 0 ? null : confusionMatrix[c][c] / total];
    }),
  );
  return { accuracy: labels.length === 0 ? 0 : correct / labels.length, perClassAccuracy, confusionMatrix };
}

/**
 * The model's behaviour on the test set: confidence histogram (20 bins on [0, 1]), predicted
 * class counts, per-channel pixel mean/std (0-1 scale, over all pixels, like torchvision's
 * Normalize statistics), and per-image values of every reference signal, subsampled evenly.
 */
export function buildReferenceProfile(set: ImageSet, predictions: Predictions, classNames: string[]): ReferenceProfile {
  const counts = new Array<number>(CONFIDENCE_BINS).fill(0);
  for (const confidence of predictions.confidences) counts[Math.min(CONFIDENCE_BINS - 1, Math.floor(confidence * CONFIDENCE_BINS))] += 1;
  const predictedClassCounts = Object.fromEntries(classNames.map((name) => [name, 0]));
  for (const c of predictions.classes) predictedClassCounts[classNames[c]] += 1;

  const kept = evenIndices(set.count, MAX_REFERENCE_SIGNALS);
  const keptPixels = new Uint8Array(kept.length * PIXELS_PER_IMAGE);
  kept.forEach((index, i) => keptPixels.set(set.pixels.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE));
  const stats = batchImageStats(keptPixels, kept.length);
  const signals: ReferenceProfile['signals'] = { confidence: kept.map((index) => compact(predictions.confidences[index])) };
  for (const signal of IMAGE_SIGNALS) signals[signal] = stats[signal].map(compact);

  return {
    samples: set.count,
    confidence_histogram: {
      bin_edges: Array.from({ length: CONFIDENCE_BINS + 1 }, (_, i) => i / CONFIDENCE_BINS),
      counts,
    },
    predicted_class_counts: predictedClassCounts,
    pixel_stats: channelStats(set),
    signals,
  };
}

/** 6 significant digits: far finer than any histogram or KS test needs, and halves metadata.json. */
export function compact(value: number): number {
  return Number(value.toPrecision(6));
}

/** n indices spread evenly over 0..count-1 (all of them when count <= n). */
export function evenIndices(count: number, n: number): number[] {
  const kept = Math.min(count, n);
  return Array.from({ length: kept }, (_, i) => Math.floor((i * count) / kept));
}

function channelStats(set: ImageSet): { channel_mean: number[]; channel_std: number[] } {
  const sum = [0, 0, 0];
  const sumSquares = [0, 0, 0];
  for (let i = 0; i < set.pixels.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = set.pixels[i + c] / 255;
      sum[c] += v;
      sumSquares[c] += v * v;
    }
  }
  const n = set.pixels.length / 3;
  const mean = sum.map((s) => s / n);
  return { channel_mean: mean, channel_std: sumSquares.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c] * mean[c]))) };
}
