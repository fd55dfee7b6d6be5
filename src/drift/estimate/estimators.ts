/**
 * Label-free accuracy estimates for a sample of predictions, from what the model's held-out
 * calibration set taught at train time ({@link AccuracyCalibration}). Pure functions.
 *
 * - average_confidence (CBPE-style, NannyML): mean temperature-scaled top-1 confidence. If the
 *   model is calibrated on the current data, each prediction is right with probability equal to
 *   its confidence, so the sample's accuracy is a sum of Bernoulli(c_i) draws.
 * - atc_mc / atc_ne (Garg, Balakrishnan, Lipton, Neyshabur, Sedghi, "Leveraging Unlabeled Data
 *   to Predict Out-of-Distribution Performance", ICLR 2022): the threshold t on a score at which
 *   the share of held-out images scoring above t equals the held-out accuracy; the estimate is
 *   the share of current images above t. Score = max confidence (MC) or negative entropy (NE),
 *   both of the temperature-scaled probabilities.
 * - doc (Guillory, Shankar, Ebrahimi, Darrell, Schmidt, "Predicting with Confidence on Unseen
 *   Distributions", ICCV 2021): held-out accuracy minus the drop in average raw confidence.
 *
 * Confidence intervals cover the sampling noise of an n-image sample, not the estimator's bias
 * (the benchmark measures that): Wilson score interval for ATC (a binomial share); for
 * average_confidence the normal approximation with the Poisson-binomial variance
 * sum c_i (1 - c_i) / n^2; for doc the normal approximation with the binomial variance at the
 * estimate, v (1 - v) / n.
 */
import normalQuantile = require('@stdlib/stats-base-dists-normal-quantile');
import { DataError } from '../../errors';
import { applyTemperature, argmax, atcScores, type AccuracyCalibration, type ProbabilityRows } from '../../model/calibration';

export const ESTIMATORS = ['average_confidence', 'atc_mc', 'atc_ne', 'doc'] as const;
export type EstimatorName = (typeof ESTIMATORS)[number];
/**
 * The estimator reported as `estimated_accuracy`: the one with the lowest mean absolute error
 * over the 45 CIFAR-10-C scenarios in `npm run bench:detect` (see docs/incoming-STATS.md).
 */
export const DEFAULT_ESTIMATOR: EstimatorName = 'atc_mc';
export const DEFAULT_CONFIDENCE_LEVEL = 0.95;

export interface Estimate {
  value: number;
  ci_low: number;
  ci_high: number;
}

export interface AccuracyEstimate extends Estimate {
  method: EstimatorName;
  n: number;
  confidence_level: number;
  methods: Record<EstimatorName, Estimate>;
}

/** Every estimator's value and interval for the current sample; `method` picks the headline one. */
export function estimateAccuracy(
  calibration: AccuracyCalibration,
  current: ProbabilityRows,
  options: { method?: EstimatorName; confidenceLevel?: number } = {},
): AccuracyEstimate {
  const n = current.length;
  if (n === 0) throw new DataError('accuracy estimation needs at least one prediction');
  const level = options.confidenceLevel ?? DEFAULT_CONFIDENCE_LEVEL;
  const z = normalQuantile(1 - (1 - level) / 2, 0, 1);
  let calibratedConfidence = 0;
  let bernoulliVariance = 0;
  let rawConfidence = 0;
  let aboveMc = 0;
  let aboveNe = 0;
  for (let i = 0; i < n; i++) {
    rawConfidence += argmax(current[i]).value;
    const scores = atcScores(applyTemperature(current[i], calibration.temperature));
    calibratedConfidence += scores.max_confidence;
    bernoulliVariance += scores.max_confidence * (1 - scores.max_confidence);
    if (scores.max_confidence > calibration.atc_threshold.max_confidence) aboveMc += 1;
    if (scores.negative_entropy > calibration.atc_threshold.negative_entropy) aboveNe += 1;
  }
  const average = calibratedConfidence / n;
  const doc = clamp01(calibration.heldout_accuracy - (calibration.heldout_mean_confidence - rawConfidence / n));
  const methods: Record<EstimatorName, Estimate> = {
    average_confidence: normalInterval(average, Math.sqrt(bernoulliVariance) / n, z),
    atc_mc: wilsonInterval(aboveMc, n, z),
    atc_ne: wilsonInterval(aboveNe, n, z),
    doc: normalInterval(doc, Math.sqrt((doc * (1 - doc)) / n), z),
  };
  const method = options.method ?? DEFAULT_ESTIMATOR;
  return { method, ...methods[method], n, confidence_level: level, methods };
}

/** Wilson score interval for k successes in n trials; the value is k / n. */
export function wilsonInterval(k: number, n: number, z: number): Estimate {
  const share = k / n;
  const z2 = z * z;
  const centre = (share + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((share * (1 - share)) / n + z2 / (4 * n * n));
  return { value: share, ci_low: clamp01(centre - half), ci_high: clamp01(centre + half) };
}

function normalInterval(value: number, standardError: number, z: number): Estimate {
  return { value, ci_low: clamp01(value - z * standardError), ci_high: clamp01(value + z * standardError) };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
