/**
 * What train time learns on held-out images for label-free accuracy estimates, as pure
 * functions of probability vectors: temperature scaling (Guo, Pleiss, Sun, Weinberger, "On
 * Calibration of Modern Neural Networks", ICML 2017), the expected calibration error, and the
 * ATC thresholds (see src/drift/estimate/estimators.ts for the estimators that use them). The model outputs softmax probabilities, not logits; log p equals the logits up to a
 * per-image constant, and softmax ignores that constant, so softmax(log p / T) is exactly the
 * temperature-scaled output.
 */
import { DataError } from '../errors';

/** Equal-width confidence bins for ECE, as in Guo et al. and most later work. */
export const ECE_BINS = 15;
/** Probabilities are floored here before taking logarithms (float32 softmax can underflow to 0). */
const PROBABILITY_FLOOR = 1e-12;
/** Search range for the inverse temperature 1/T: T from 0.05 to 100. */
const INVERSE_TEMPERATURE_RANGE = [0.01, 20] as const;
const GOLDEN_SECTION_TOLERANCE = 1e-9;

export type ProbabilityRows = ArrayLike<ArrayLike<number>>;

/** softmax(log p / T) for one probability vector. */
export function applyTemperature(probabilities: ArrayLike<number>, temperature: number): Float64Array {
  const out = new Float64Array(probabilities.length);
  let largest = -Infinity;
  for (let k = 0; k < probabilities.length; k++) {
    out[k] = Math.log(Math.max(probabilities[k], PROBABILITY_FLOOR)) / temperature;
    largest = Math.max(largest, out[k]);
  }
  let total = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = Math.exp(out[k] - largest);
    total += out[k];
  }
  for (let k = 0; k < out.length; k++) out[k] /= total;
  return out;
}

/** Every row temperature-scaled. */
export function applyTemperatureToRows(rows: ProbabilityRows, temperature: number): Float64Array[] {
  return Array.from({ length: rows.length }, (_, i) => applyTemperature(rows[i], temperature));
}

/** Mean negative log-likelihood of the labels under softmax(log p / T). */
export function negativeLogLikelihood(rows: ProbabilityRows, labels: ArrayLike<number>, temperature: number): number {
  checkLabelled(rows, labels);
  let total = 0;
  for (let i = 0; i < rows.length; i++) total -= Math.log(Math.max(applyTemperature(rows[i], temperature)[labels[i]], PROBABILITY_FLOOR));
  return total / rows.length;
}

/**
 * The temperature that minimises the held-out NLL. NLL is convex in the inverse temperature
 * beta = 1/T (it is logsumexp(beta z) - beta z_y, a convex function plus a linear one), so a
 * golden-section search over beta finds the global minimum without gradients.
 */
export function fitTemperature(rows: ProbabilityRows, labels: ArrayLike<number>): number {
  checkLabelled(rows, labels);
  const logs = Array.from({ length: rows.length }, (_, i) => Float64Array.from(rows[i] as ArrayLike<number>, (p) => Math.log(Math.max(p, PROBABILITY_FLOOR))));
  const nll = (beta: number): number => {
    let total = 0;
    for (let i = 0; i < logs.length; i++) {
      const z = logs[i];
      let largest = -Infinity;
      for (let k = 0; k < z.length; k++) largest = Math.max(largest, beta * z[k]);
      let sum = 0;
      for (let k = 0; k < z.length; k++) sum += Math.exp(beta * z[k] - largest);
      total += largest + Math.log(sum) - beta * z[labels[i]];
    }
    return total / logs.length;
  };
  const ratio = (Math.sqrt(5) - 1) / 2;
  let [low, high]: number[] = [...INVERSE_TEMPERATURE_RANGE];
  let left = high - ratio * (high - low);
  let right = low + ratio * (high - low);
  let leftValue = nll(left);
  let rightValue = nll(right);
  while (high - low > GOLDEN_SECTION_TOLERANCE * (1 + Math.abs(low))) {
    if (leftValue <= rightValue) {
      high = right;
      right = left;
      rightValue = leftValue;
      left = high - ratio * (high - low);
      leftValue = nll(left);
    } else {
      low = left;
      left = right;
      leftValue = rightValue;
      right = low + ratio * (high - low);
      rightValue = nll(right);
    }
  }
  return 1 / ((low + high) / 2);
}

/**
 * Expected calibration error: sum over equal-width confidence bins of
 * (share of images in the bin) * |accuracy in the bin - mean confidence in the bin|.
 * Bins are (i/B, (i+1)/B], confidence 0 goes to the first, as in Guo et al.'s code.
 */
export function expectedCalibrationError(rows: ProbabilityRows, labels: ArrayLike<number>, bins = ECE_BINS): number {
  checkLabelled(rows, labels);
  const count = new Float64Array(bins);
  const confidenceSum = new Float64Array(bins);
  const correctSum = new Float64Array(bins);
  for (let i = 0; i < rows.length; i++) {
    const { index, value } = argmax(rows[i]);
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(value * bins) - 1));
    count[bin] += 1;
    confidenceSum[bin] += value;
    correctSum[bin] += index === labels[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += Math.abs(correctSum[b] - confidenceSum[b]) / rows.length;
  }
  return ece;
}

/** What the estimators need from the held-out calibration set (stored in metadata.json calibration). */
export interface AccuracyCalibration {
  temperature: number;
  /** Accuracy on the held-out calibration images. */
  heldout_accuracy: number;
  /** Mean raw (not temperature-scaled) top-1 confidence on them, for DoC. */
  heldout_mean_confidence: number;
  /** ATC thresholds on the temperature-scaled scores. */
  atc_threshold: { max_confidence: number; negative_entropy: number };
}

/** The two ATC scores of one temperature-scaled probability vector. */
export function atcScores(calibrated: ArrayLike<number>): { max_confidence: number; negative_entropy: number } {
  let negativeEntropy = 0;
  for (let k = 0; k < calibrated.length; k++) if (calibrated[k] > 0) negativeEntropy += calibrated[k] * Math.log(calibrated[k]);
  return { max_confidence: argmax(calibrated).value, negative_entropy: negativeEntropy };
}

/**
 * The ATC threshold: the (1 - accuracy) quantile of the held-out scores, so that the share of
 * held-out scores strictly above it is the held-out accuracy (up to ties and 1/n).
 */
export function atcThreshold(heldoutScores: ArrayLike<number>, heldoutAccuracy: number): number {
  if (heldoutScores.length === 0) throw new DataError('ATC needs held-out scores');
  const sorted = Float64Array.from(heldoutScores).sort();
  const below = Math.round((1 - heldoutAccuracy) * sorted.length);
  if (below <= 0) return sorted[0] - 1e-12;
  return sorted[Math.min(below, sorted.length) - 1];
}

/** Everything {@link estimateAccuracy} needs, fitted from held-out probabilities and labels. */
export function buildAccuracyCalibration(rows: ProbabilityRows, labels: ArrayLike<number>, temperature: number): AccuracyCalibration {
  if (rows.length === 0 || rows.length !== labels.length) throw new DataError('calibration needs as many labels as probability vectors (at least one)');
  let correct = 0;
  let rawConfidence = 0;
  const maxConfidence = new Float64Array(rows.length);
  const negativeEntropy = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const top = argmax(rows[i]);
    correct += top.index === labels[i] ? 1 : 0;
    rawConfidence += top.value;
    const scores = atcScores(applyTemperature(rows[i], temperature));
    maxConfidence[i] = scores.max_confidence;
    negativeEntropy[i] = scores.negative_entropy;
  }
  const accuracy = correct / rows.length;
  return {
    temperature,
    heldout_accuracy: accuracy,
    heldout_mean_confidence: rawConfidence / rows.length,
    atc_threshold: { max_confidence: atcThreshold(maxConfidence, accuracy), negative_entropy: atcThreshold(negativeEntropy, accuracy) },
  };
}

/** Index and value of the largest entry (the first one on ties, like numpy.argmax). */
export function argmax(values: ArrayLike<number>): { index: number; value: number } {
  let index = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[index]) index = k;
  return { index, value: values[index] };
}

function checkLabelled(rows: ProbabilityRows, labels: ArrayLike<number>): void {
  if (rows.length === 0) throw new DataError('calibration needs at least one probability vector');
  if (rows.length !== labels.length) throw new DataError(`${rows.length} probability vectors but ${labels.length} labels`);
}
