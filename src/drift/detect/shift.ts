/**
 * Shift detection with a known false-alarm rate: one decision per sample, every test listed.
 * Pure functions of the per-image signals.
 *
 * Black-box shift detection (Rabanser, Günnemann, Lipton, "Failing Loudly: An Empirical Study
 * of Methods for Detecting Dataset Shift", NeurIPS 2019): the model's softmax outputs are the
 * representation; a two-sample KS test per softmax dimension (their best method, "BBSDs"), and a
 * chi-square test on the predicted classes ("BBSDh"). The default detector adds a second family,
 * a KS test per input statistic, and holds the family-wise error rate of all tests together at
 * alpha with a weighted Bonferroni correction (valid whatever the dependence between the tests):
 * the K softmax tests share 90 % of alpha (alpha * 0.9 / K each), the chi-square and input tests
 * the other 10 %. Drift is detected when any test's p-value is at or below its share. The
 * weights keep the softmax tests nearly as sensitive as plain BBSD's (alpha / K) while the input
 * tests, whose p-values under a real corruption are tiny, still add most of the extra power
 * (measured by `npm run bench:detect`). `bbsd` is the softmax KS family alone at alpha / K, the
 * paper's method, kept for comparison.
 */
import { DataError } from '../../errors';
import { argmax } from '../../model/calibration';
import { compact } from '../../model/evaluate';
import { IMAGE_SIGNALS, type ImageSignal } from '../../preprocess/image-stats';
import { chiSquare, ksTwoSample } from '../stats';

export const DEFAULT_ALPHA = 0.05;
/** Share of alpha the default detector gives the softmax KS family; the rest goes to the other tests. */
export const SOFTMAX_ALPHA_SHARE = 0.9;
export const DETECTORS = ['default', 'bbsd'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** Per-image signals of one sample (the reference or the current window). */
export interface Signals {
  /** Softmax vector per image, all of one length (the number of classes). */
  probabilities: ArrayLike<ArrayLike<number>>;
  /** Input statistics per image (src/preprocess/image-stats.ts); the input family uses those both samples have. */
  inputs?: Partial<Record<ImageSignal, ArrayLike<number>>>;
}

export type TestFamily = 'softmax' | 'predicted_class' | 'input';

export interface ShiftTest {
  family: TestFamily;
  /** 'ks' or 'chi_square'. */
  test: 'ks' | 'chi_square';
  /** e.g. 'probability[3]', 'predicted_class', 'brightness'. */
  signal: string;
  statistic: number;
  p_value: number;
  /** p-value divided by this test's share of alpha (weighted Bonferroni), capped at 1: compare with alpha. */
  corrected_p_value: number;
  detected: boolean;
}

/** A test as the reports list it: `name` as that output names tests, then the test's figures. */
export type ListedShiftTest = Omit<ShiftTest, 'test'> & { name: string };

export function listShiftTests(tests: ShiftTest[], name: (test: ShiftTest) => string): ListedShiftTest[] {
  return tests.map((t) => ({
    name: name(t),
    family: t.family,
    signal: t.signal,
    statistic: t.statistic,
    p_value: t.p_value,
    corrected_p_value: t.corrected_p_value,
    detected: t.detected,
  }));
}

export interface ShiftDetection {
  detector: DetectorName;
  detected: boolean;
  alpha: number;
  /** The smallest corrected p-value: drift is detected when it is at most alpha. */
  p_value: number;
  reference_size: number;
  current_size: number;
  tests: ShiftTest[];
}

export type RawShiftTest = Omit<ShiftTest, 'corrected_p_value' | 'detected'>;

/** One decision of the chosen detector (`default` unless told) at alpha (0.05 unless told). */
export function detectShift(
  reference: Signals,
  current: Signals,
  options: { alpha?: number; detector?: DetectorName } = {},
): ShiftDetection {
  const detector = options.detector ?? 'default';
  return decideShift(runShiftTests(reference, current, detector), current.probabilities.length, reference.probabilities.length, {
    alpha: options.alpha,
    detector,
  });
}

/**
 * Every test the detector uses, uncorrected: the softmax KS tests, and for `default` also the
 * chi-square on predicted classes and the KS test of each input statistic both samples have.
 */
export function runShiftTests(reference: Signals, current: Signals, detector: DetectorName = 'default'): RawShiftTest[] {
  const classes = classCount(reference, 'reference');
  if (classCount(current, 'current') !== classes) throw new DataError('reference and current probability vectors differ in length');
  const tests: RawShiftTest[] = [];
  for (let k = 0; k < classes; k++) {
    // The reference is stored at 6 significant digits; the current sample is compared at the same precision.
    const result = ksTwoSample(column(reference.probabilities, k), column(current.probabilities, k, compact));
    tests.push({ family: 'softmax', test: 'ks', signal: `probability[${k}]`, statistic: result.statistic, p_value: result.p_value });
  }
  if (detector === 'bbsd') return tests;
  const result = chiSquare(predictedCounts(reference.probabilities, classes), predictedCounts(current.probabilities, classes));
  tests.push({ family: 'predicted_class', test: 'chi_square', signal: 'predicted_class', statistic: result.statistic, p_value: result.p_value });
  for (const signal of IMAGE_SIGNALS) {
    const ref = reference.inputs?.[signal];
    const cur = current.inputs?.[signal];
    if (!ref || !cur) continue;
    const input = ksTwoSample(ref, Array.from(cur, compact));
    tests.push({ family: 'input', test: 'ks', signal, statistic: input.statistic, p_value: input.p_value });
  }
  return tests;
}

/**
 * The detector's decision over tests from {@link runShiftTests}: `bbsd` uses the softmax tests
 * only, at alpha / K each; `default` uses all of them with the weighted shares described above.
 */
export function decideShift(
  raw: RawShiftTest[],
  currentSize: number,
  referenceSize: number,
  options: { alpha?: number; detector?: DetectorName } = {},
): ShiftDetection {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const detector = options.detector ?? 'default';
  if (!(alpha > 0 && alpha < 1)) throw new DataError(`alpha must be between 0 and 1, got ${alpha}`);
  const used = detector === 'bbsd' ? raw.filter((t) => t.family === 'softmax') : raw;
  const softmaxCount = used.filter((t) => t.family === 'softmax').length;
  const otherCount = used.length - softmaxCount;
  const softmaxShare = otherCount === 0 ? 1 : SOFTMAX_ALPHA_SHARE;
  const share = (t: RawShiftTest) => (t.family === 'softmax' ? softmaxShare / softmaxCount : (1 - softmaxShare) / otherCount);
  const tests = used.map((t) => {
    const corrected = Math.min(1, t.p_value / share(t));
    return { ...t, corrected_p_value: corrected, detected: corrected <= alpha };
  });
  const smallest = Math.min(...tests.map((t) => t.corrected_p_value));
  return { detector, detected: smallest <= alpha, alpha, p_value: smallest, reference_size: referenceSize, current_size: currentSize, tests };
}

function classCount(signals: Signals, label: string): number {
  const rows = signals.probabilities;
  if (rows.length === 0) throw new DataError(`the ${label} sample has no predictions`);
  const classes = rows[0].length;
  if (classes < 2) throw new DataError(`the ${label} probability vectors need at least 2 classes`);
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].length !== classes) throw new DataError(`the ${label} probability vector ${i} has ${rows[i].length} entries, expected ${classes}`);
  }
  return classes;
}

function column(rows: ArrayLike<ArrayLike<number>>, k: number, map: (v: number) => number = (v) => v): Float64Array {
  return Float64Array.from({ length: rows.length }, (_, i) => map(rows[i][k]));
}

function predictedCounts(rows: ArrayLike<ArrayLike<number>>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) counts[argmax(rows[i]).index] += 1;
  return counts;
}
