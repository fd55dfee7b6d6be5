/**
 * The `calibration` part of metadata.json: what train time learns on held-out images that the
 * reported test accuracy does not use — the temperature, ECE before and after, the label-free
 * estimators' constants, and the per-image reference signals the shift detectors compare with.
 *
 * Which images: with --val-split > 0 the held-out validation images; with --val-split 0 (the
 * default, all 50,000 training images train the model) a fixed seeded half of the test set, and
 * the test accuracy is then reported on the other half. The split seed is fixed, not the
 * training seed, so every model is calibrated and scored on the same two halves.
 */
import { shuffledOrder } from '../data/sample';
import type { ImageSet } from '../data/types';
import { PIXELS_PER_IMAGE } from '../preprocess';
import { batchImageStats, IMAGE_SIGNALS } from '../preprocess/image-stats';
import {
  applyTemperatureToRows,
  buildAccuracyCalibration,
  ECE_BINS,
  expectedCalibrationError,
  fitTemperature,
  negativeLogLikelihood,
} from './calibration';
import { compact, evenIndices, probabilityRow, type Predictions } from './evaluate';
import type { CalibrationRecord } from './metadata';

export const CALIBRATION_SPLIT_SEED = 13;
/**
 * The detectors' reference keeps up to this many calibration images (all 5,000 of a CIFAR-10
 * test half). A reference is one random draw: the smaller it is, the more its own chance
 * deviation from the population makes a fixed-reference test fire on large clean windows.
 */
export const MAX_CALIBRATION_REFERENCE = 5000;

export interface TestSplit {
  /** Test-set indices used for calibration, ascending. */
  calibration: number[];
  /** Test-set indices the reported accuracy uses, ascending. */
  reported: number[];
}

/** The fixed seeded halves of a test set of `count` images (calibration gets floor(count / 2)). */
export function splitTestSet(count: number, seed = CALIBRATION_SPLIT_SEED): TestSplit {
  const order = Array.from(shuffledOrder(count, seed));
  const half = Math.floor(count / 2);
  return {
    calibration: order.slice(0, half).sort((a, b) => a - b),
    reported: order.slice(half).sort((a, b) => a - b),
  };
}

/**
 * Fits the temperature on the held-out images' predictions and packs everything drift needs.
 * `images` and `predictions` are the same held-out images in the same order.
 */
export function buildCalibrationRecord(
  images: ImageSet,
  predictions: Predictions,
  source: CalibrationRecord['source'],
  splitSeed: number | null,
): CalibrationRecord {
  const rows = Array.from({ length: images.count }, (_, i) => probabilityRow(predictions, i));
  const temperature = fitTemperature(rows, images.labels);
  const calibrated = applyTemperatureToRows(rows, temperature);
  const kept = evenIndices(images.count, MAX_CALIBRATION_REFERENCE);
  const keptPixels = new Uint8Array(kept.length * PIXELS_PER_IMAGE);
  kept.forEach((index, i) => keptPixels.set(images.pixels.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE));
  const stats = batchImageStats(keptPixels, kept.length);
  return {
    source,
    images: images.count,
    split_seed: splitSeed,
    nll_before: negativeLogLikelihood(rows, images.labels, 1),
    nll_after: negativeLogLikelihood(rows, images.labels, temperature),
    ece_bins: ECE_BINS,
    ece_before: expectedCalibrationError(rows, images.labels),
    ece_after: expectedCalibrationError(calibrated, images.labels),
    ...buildAccuracyCalibration(rows, images.labels, temperature),
    reference: {
      probabilities: kept.map((index) => Array.from(rows[index], compact)),
      input_signals: Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, stats[signal].map(compact)])),
    },
  };
}
