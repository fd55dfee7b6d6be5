/**
 * One window of predictions against the model's reference: the shift detector and the
 * label-free accuracy estimate of src/drift/detect and src/drift/estimate (the code `drift`
 * uses), plus the class mix and confidence histogram. Pure.
 */
import { DEFAULT_ALPHA, detectShift, listShiftTests, type Signals } from '../drift/detect/shift';
import { DEFAULT_ESTIMATOR, estimateAccuracy, type EstimatorName } from '../drift/estimate/estimators';
import type { ImageSignal } from '../preprocess/image-stats';
import { binIndex, predictedClass, type MonitorReference } from './reference';

/** Below this many samples a window is not tested: KS and chi-square need some mass to mean anything. */
export const MIN_WINDOW_SAMPLES = 50;

export interface WindowSamples {
  /** One softmax vector per prediction, oldest first. */
  probabilities: ArrayLike<ArrayLike<number>>;
  /** Per input statistic, one value per prediction. */
  inputs: Partial<Record<ImageSignal, ArrayLike<number>>>;
}

export interface MonitorTest {
  /** The test: 'ks' or 'chi_square'. */
  name: string;
  family: string;
  signal: string;
  statistic: number;
  p_value: number;
  /** p_value times the number of tests (Bonferroni), capped at 1: detected when at most alpha. */
  corrected_p_value: number;
  detected: boolean;
}

export interface DriftVerdict {
  /** null: not tested (too few samples, or no reference); `reason` says which. */
  detected: boolean | null;
  alpha: number;
  /** The smallest corrected p-value of the window, null when not tested. */
  p_value: number | null;
  reason: string | null;
  tests: MonitorTest[];
}

export interface AccuracyVerdict {
  method: EstimatorName;
  value: number;
  ci_low: number;
  ci_high: number;
  confidence_level: number;
}

export interface WindowEvaluation {
  samples: number;
  drift: DriftVerdict;
  estimated_accuracy: AccuracyVerdict | null;
  /** Share of the window's predictions per class, in class order. */
  class_shares: number[];
  /** Share of the window's predictions per confidence bin of the reference's edges. */
  confidence_shares: number[];
}

export interface EvaluateOptions {
  alpha?: number;
  minSamples?: number;
}

/** The verdict of a window that was not tested, saying why. */
export function untestedDrift(alpha: number, reason: string): DriftVerdict {
  return { detected: null, alpha, p_value: null, reason, tests: [] };
}

export function evaluateWindow(reference: MonitorReference, samples: WindowSamples, options: EvaluateOptions = {}): WindowEvaluation {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minSamples = options.minSamples ?? MIN_WINDOW_SAMPLES;
  const n = samples.probabilities.length;
  const classCounts = new Array<number>(reference.classNames.length).fill(0);
  const binCounts = new Array<number>(reference.confidenceBinEdges.length - 1).fill(0);
  for (let i = 0; i < n; i++) {
    const row = samples.probabilities[i];
    const k = predictedClass(row);
    classCounts[k] += 1;
    binCounts[binIndex(reference.confidenceBinEdges, row[k])] += 1;
  }
  const shares = (counts: number[]) => counts.map((c) => (n > 0 ? c / n : 0));

  let drift: DriftVerdict;
  let estimate: AccuracyVerdict | null = null;
  if (!reference.signals || !reference.calibration) {
    drift = untestedDrift(alpha, reference.unavailable ?? 'the model has no detector reference');
  } else if (n < minSamples) {
    drift = untestedDrift(alpha, `${n} of the ${minSamples} samples a window needs before it is tested`);
  } else {
    const current: Signals = { probabilities: samples.probabilities, inputs: samples.inputs };
    const detection = detectShift(reference.signals, current, { alpha });
    drift = {
      detected: detection.detected,
      alpha,
      p_value: detection.p_value,
      reason: null,
      tests: listShiftTests(detection.tests, (t) => t.test),
    };
    const accuracy = estimateAccuracy(reference.calibration, samples.probabilities, { method: DEFAULT_ESTIMATOR });
    estimate = { method: accuracy.method, value: accuracy.value, ci_low: accuracy.ci_low, ci_high: accuracy.ci_high, confidence_level: accuracy.confidence_level };
  }
  return { samples: n, drift, estimated_accuracy: estimate, class_shares: shares(classCounts), confidence_shares: shares(binCounts) };
}
