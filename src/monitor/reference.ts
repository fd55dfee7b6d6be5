/**
 * What the live monitor compares a window with, taken once from a model's metadata.json: the
 * schema-2 calibration reference (per-image softmax vectors and input statistics, for the shift
 * detector and the accuracy estimators) and the test-set profile (class mix, confidence
 * histogram, test accuracy), which schema-1 models have too.
 */
import type { Signals } from '../drift/detect/shift';
import { argmax, type AccuracyCalibration } from '../model/calibration';
import { evenIndices } from '../model/evaluate';
import { missingProfileParts, type ModelMetadata } from '../model/metadata';
import { IMAGE_SIGNALS, type ImageSignal } from '../preprocess/image-stats';

export interface MonitorReference {
  version: string;
  classNames: string[];
  /** The model's test accuracy (what a clean window's accuracy should be near). */
  accuracy: number;
  /** Share of test-set predictions per class, in class order. */
  classShares: number[];
  confidenceBinEdges: number[];
  /** Share of test-set predictions per confidence bin. */
  confidenceShares: number[];
  /** Detector and estimator inputs; null when the model predates schema 2 (see `unavailable`). */
  signals: Signals | null;
  calibration: AccuracyCalibration | null;
  /** Why drift tests and accuracy estimates are unavailable for this model, when they are. */
  unavailable: string | null;
}

/**
 * `detectorSamples`: how many of the calibration reference's images the detector compares with
 * (an even subsample). The live monitor passes its window size: an exact KS p-value for two
 * samples of one size n costs O(n), for sizes n and m O(n m), 30 times more at 5000 vs 500.
 */
export function monitorReference(metadata: ModelMetadata, detectorSamples = Infinity): MonitorReference {
  const profile = metadata.reference;
  const classTotal = Object.values(profile.predicted_class_counts).reduce((a, b) => a + b, 0);
  const binTotal = profile.confidence_histogram.counts.reduce((a, b) => a + b, 0);
  const calibration = metadata.calibration ?? null;
  let signals: Signals | null = null;
  if (calibration) {
    const { probabilities, input_signals } = calibration.reference;
    const kept = evenIndices(probabilities.length, Math.min(probabilities.length, detectorSamples));
    const inputs: Partial<Record<ImageSignal, number[]>> = {};
    for (const signal of IMAGE_SIGNALS) {
      const values = input_signals[signal];
      if (values) inputs[signal] = kept.map((i) => values[i]);
    }
    signals = { probabilities: kept.map((i) => probabilities[i]), inputs };
  }
  return {
    version: metadata.version,
    classNames: metadata.class_names,
    accuracy: metadata.test_accuracy,
    classShares: metadata.class_names.map((name) => share(profile.predicted_class_counts[name] ?? 0, classTotal)),
    confidenceBinEdges: profile.confidence_histogram.bin_edges,
    confidenceShares: profile.confidence_histogram.counts.map((c) => share(c, binTotal)),
    signals,
    calibration,
    unavailable: calibration ? null : missingProfileParts(metadata).join('; '),
  };
}

/** Index of the bin of `edges` that holds `value` (the last bin is closed on the right). */
export function binIndex(edges: readonly number[], value: number): number {
  const last = edges.length - 2;
  for (let b = 0; b < last; b++) if (value < edges[b + 1]) return b;
  return last;
}

export function predictedClass(probabilities: ArrayLike<number>): number {
  return argmax(probabilities).index;
}

function share(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}
