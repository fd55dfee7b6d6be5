/**
 * Shift detection with a known false-alarm rate: one decision per sample, every test listed.
 * Pure functions of the per-image signals.
 *
 * Black-box shift detection (Rabanser, Günnemann, Lipton, "Failing Loudly: An Empirical Study
 * of Methods for Detecting Dataset Shift", NeurIPS 2019): the model's softmax outputs are the
 * representation; a two-sample KS test per softmax dimension (their best method, "BBSDs"), and a
 * chi-square test on the predicted classes ("BBSDh"). `bbsd` is the softmax KS family alone,
 * Bonferroni-corrected (alpha / K each), the paper's method.
 *
 * The default detector is BBSD plus the chi-square test and one KS test per input statistic.
 * Its softmax tests keep BBSD's rule unchanged, so it detects every shift BBSD detects. The
 * other tests share the false-alarm budget that Bonferroni leaves unused because the softmax
 * tests are dependent: one p-value threshold, calibrated by null simulations from the
 * reference (./null-calibration.ts) so that the whole detector's false-alarm rate is alpha.
 */
import { DataError } from '../../errors';
import { argmax } from '../../model/calibration';
import { toStoredPrecision } from '../../util/stored-precision';
import { IMAGE_SIGNALS, type ImageSignal } from '../../preprocess/image-stats';
import { chiSquare, ksTwoSample } from '../stats';
import { admittingLevel, bonferroni, nullCalibration, summarizeCalibration, type CalibrationSummary, type NullCalibration } from './null-calibration';
import { classCount, column, prepareReference, type Signals } from './reference';

export type { Signals } from './reference';
export type { CalibrationSummary, NullCalibration } from './null-calibration';

export const DEFAULT_ALPHA = 0.05;
export const DETECTORS = ['default', 'bbsd'] as const;
export type DetectorName = (typeof DETECTORS)[number];

export type TestFamily = 'softmax' | 'predicted_class' | 'input';

export interface ShiftTest {
  family: TestFamily;
  /** 'ks' or 'chi_square'. */
  test: 'ks' | 'chi_square';
  /** e.g. 'probability[3]', 'predicted_class', 'brightness'. */
  signal: string;
  statistic: number;
  p_value: number;
  /**
   * The smallest alpha at which this test detects (capped at 1): detected when at most alpha.
   * Softmax tests: p times K (Bonferroni, as BBSD). Other tests: the level their null
   * calibration admits p at (./null-calibration.ts).
   */
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
  /** The default detector's null calibration at alpha (null for `bbsd`, which needs none). */
  calibration: CalibrationSummary | null;
}

export type RawShiftTest = Omit<ShiftTest, 'corrected_p_value' | 'detected'>;

/** One decision of the chosen detector (`default` unless told) at alpha (0.05 unless told). */
export function detectShift(
  reference: Signals,
  current: Signals,
  options: { alpha?: number; detector?: DetectorName } = {},
): ShiftDetection {
  const detector = options.detector ?? 'default';
  const raw = runShiftTests(reference, current, detector);
  const inputs = raw.filter((t) => t.family === 'input').map((t) => t.signal as ImageSignal);
  const calibration = detector === 'default' ? nullCalibration(prepareReference(reference), current.probabilities.length, inputs) : null;
  return decideShift(raw, current.probabilities.length, reference.probabilities.length, { alpha: options.alpha, detector, calibration });
}

/**
 * Every test the detector uses, uncorrected: the softmax KS tests, and for `default` also the
 * chi-square on predicted classes and the KS test of each input statistic both samples have.
 */
export function runShiftTests(reference: Signals, current: Signals, detector: DetectorName = 'default'): RawShiftTest[] {
  const prepared = prepareReference(reference);
  const classes = prepared.classes;
  if (classCount(current, 'current') !== classes) throw new DataError('reference and current probability vectors differ in length');
  const tests: RawShiftTest[] = [];
  for (let k = 0; k < classes; k++) {
    // The reference is stored at 6 significant digits; the current sample is compared at the same precision.
    const result = ksTwoSample(prepared.softmax[k].sample, column(current.probabilities, k, toStoredPrecision));
    tests.push({ family: 'softmax', test: 'ks', signal: `probability[${k}]`, statistic: result.statistic, p_value: result.p_value });
  }
  if (detector === 'bbsd') return tests;
  const result = chiSquare(prepared.classCounts, predictedCounts(current.probabilities, classes));
  tests.push({ family: 'predicted_class', test: 'chi_square', signal: 'predicted_class', statistic: result.statistic, p_value: result.p_value });
  for (const signal of IMAGE_SIGNALS) {
    const ref = prepared.inputs[signal];
    const cur = current.inputs?.[signal];
    if (!ref || !cur) continue;
    const input = ksTwoSample(ref.sample, Array.from(cur, toStoredPrecision));
    tests.push({ family: 'input', test: 'ks', signal, statistic: input.statistic, p_value: input.p_value });
  }
  return tests;
}

/**
 * The detector's decision over tests from {@link runShiftTests}: `bbsd` uses the softmax tests
 * only, at alpha / K each; `default` uses them the same way and every other test at the level
 * its null calibration admits it at (the calibration is required for `default`).
 */
export function decideShift(
  raw: RawShiftTest[],
  currentSize: number,
  referenceSize: number,
  options: { alpha?: number; detector?: DetectorName; calibration?: NullCalibration | null } = {},
): ShiftDetection {
  const alpha = checkedAlpha(options.alpha);
  const detector = options.detector ?? 'default';
  const calibration = detector === 'default' ? (options.calibration ?? null) : null;
  const used = detector === 'bbsd' ? raw.filter((t) => t.family === 'softmax') : raw;
  if (detector === 'default' && calibration === null && used.some((t) => t.family !== 'softmax')) {
    throw new DataError('the default detector needs the null calibration of its tests (nullCalibration)');
  }
  const softmaxCount = used.filter((t) => t.family === 'softmax').length;
  const tests = used.map((t): ShiftTest => {
    const corrected = t.family === 'softmax' ? bonferroni(t.p_value, softmaxCount) : admittingLevel(calibration!, t.p_value);
    return { ...t, corrected_p_value: corrected, detected: corrected <= alpha };
  });
  const smallest = Math.min(...tests.map((t) => t.corrected_p_value));
  return {
    detector,
    detected: smallest <= alpha,
    alpha,
    p_value: smallest,
    reference_size: referenceSize,
    current_size: currentSize,
    tests,
    calibration: calibration && summarizeCalibration(calibration, alpha),
  };
}

function checkedAlpha(alpha: number = DEFAULT_ALPHA): number {
  if (!(alpha > 0 && alpha < 1)) throw new DataError(`alpha must be between 0 and 1, got ${alpha}`);
  return alpha;
}

function predictedCounts(rows: ArrayLike<ArrayLike<number>>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) counts[argmax(rows[i]).index] += 1;
  return counts;
}
