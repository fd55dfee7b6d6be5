/**
 * The default detector's levels for the tests beyond plain BBSD, set by simulating the null
 * hypothesis from the reference (min-p calibration in the spirit of Westfall & Young 1993).
 *
 * The default detector keeps BBSD's rule unchanged (each softmax KS test at alpha / K), so it
 * rejects whenever BBSD does. Bonferroni assumes the worst dependence, but the K softmax
 * dimensions sum to 1 and move together, so BBSD's real false-alarm rate is below alpha. The
 * other tests (chi-square on predicted classes, KS per input statistic) get exactly that slack:
 * a p-value p of theirs is admitted at level a when "BBSD rejects at a, or some other test has a
 * p-value <= p" happens in at most a share a of null samples, counting the sample itself as one
 * of them (as permutation tests do). The smallest such level is that test's corrected p-value:
 * comparing it with alpha is the decision at alpha, and it does not depend on alpha.
 *
 * The null samples are splits of the reference pool itself: under no shift the reference and
 * the current sample are exchangeable, so a random split into a "current" part of the current
 * sample's size and a "reference" part of the rest shows how the tests' p-values move together.
 * Levels are on the p-value scale, which carries over from the split's sizes to the real ones.
 * The result is cached per reference, sample size (to two significant digits) and set of tests,
 * so a drift run or a live window pays it once per size. Seeded: the same reference and size always give the same levels.
 */
import type { ImageSignal } from '../../preprocess/image-stats';
import { createRandom } from '../../util/random';
import { countAtMost } from '../stats';
import { nullSplitter } from './null-splits';
import type { PreparedReference } from './reference';

/** Null samples per calibration: at alpha 0.05 the simulated false-alarm rate has a standard error of 0.5 points. */
export const NULL_SIMULATIONS = 2000;
export const NULL_SEED = 0x5eed;

export interface NullCalibration {
  simulations: number;
  /** Sizes of the two parts each null simulation split the reference into. */
  simulatedCurrentSize: number;
  simulatedReferenceSize: number;
  /** Per null split, ascending: BBSD's corrected p-value (K times the smallest softmax p-value, capped at 1). */
  bbsd: Float64Array;
  /** Per null split, in the order of `bbsd`: the smallest p-value of the other tests. */
  other: Float64Array;
  /** `other`, ascending. */
  otherSorted: Float64Array;
}

/** What a calibration means at one alpha, as results report it. */
export interface CalibrationSummary {
  simulations: number;
  simulated_current_size: number;
  simulated_reference_size: number;
  /** Share of the null splits plain BBSD rejects at alpha: its real size (Bonferroni allows alpha). */
  bbsd_null_rate: number;
  /** A chi-square or input test detects at alpha when its p-value is below this (0: never). */
  other_threshold: number;
  /** Share of the null splits the default detector rejects at alpha (at most alpha). */
  null_rate: number;
}

/** Bonferroni over the K softmax tests, capped at 1: the corrected p-value BBSD compares with alpha. */
export function bonferroni(p: number, tests: number): number {
  return Math.min(1, p * tests);
}

/**
 * The calibration of the default detector for current samples of `currentSize` images tested
 * against `reference` with the chi-square test and the KS tests of `inputSignals`.
 */
export function nullCalibration(
  reference: PreparedReference,
  currentSize: number,
  inputSignals: readonly ImageSignal[],
  simulations = NULL_SIMULATIONS,
): NullCalibration {
  const size = calibrationSize(currentSize);
  const key = `null:${size}:${simulations}:${inputSignals.join(',')}`;
  const known = reference.memo.get(key) as NullCalibration | undefined;
  if (known) return known;
  const calibration = simulate(reference, size, inputSignals, simulations);
  reference.memo.set(key, calibration);
  return calibration;
}

/**
 * The sample size a calibration is simulated at: below 100 the size itself, above it rounded
 * down to two significant digits (1,234 -> 1,200). Levels on the p-value scale barely move
 * within such a step, and a live window that grows one prediction at a time then calibrates
 * about 90 times per decade of sizes instead of at every size.
 */
export function calibrationSize(currentSize: number): number {
  if (currentSize < 100) return currentSize;
  const unit = 10 ** (Math.floor(Math.log10(currentSize)) - 1);
  return Math.floor(currentSize / unit) * unit;
}

function simulate(reference: PreparedReference, currentSize: number, inputSignals: readonly ImageSignal[], simulations: number): NullCalibration {
  const total = reference.size;
  // The split needs a reference part at least as large as the current part.
  const nc = Math.min(currentSize, Math.floor(total / 2));
  if (nc < 1) {
    // Too small a reference to split: no slack is known, so only BBSD's rule detects.
    const none = new Float64Array(0);
    return { simulations: 0, simulatedCurrentSize: 0, simulatedReferenceSize: total, bbsd: none, other: none, otherSorted: none };
  }
  const split = nullSplitter(reference, nc, inputSignals);
  const random = createRandom(NULL_SEED + currentSize);
  const pool = Uint32Array.from({ length: total }, (_, i) => i);
  const bbsd = new Float64Array(simulations);
  const other = new Float64Array(simulations);
  for (let s = 0; s < simulations; s++) {
    // A partial Fisher-Yates shuffle: pool[0..nc) is this simulation's current part.
    for (let i = 0; i < nc; i++) {
      const j = i + ((random.next() * (total - i)) | 0);
      const swap = pool[i];
      pool[i] = pool[j];
      pool[j] = swap;
    }
    const current = pool.subarray(0, nc);
    bbsd[s] = bonferroni(split.pValue(split.softmaxDistance(current)), reference.classes);
    other[s] = Math.min(split.chiSquarePValue(current), split.pValue(split.inputDistance(current)));
  }
  const order = Uint32Array.from({ length: simulations }, (_, i) => i).sort((a, b) => bbsd[a] - bbsd[b] || a - b);
  return {
    simulations,
    simulatedCurrentSize: nc,
    simulatedReferenceSize: total - nc,
    bbsd: Float64Array.from(order, (i) => bbsd[i]),
    other: Float64Array.from(order, (i) => other[i]),
    otherSorted: Float64Array.from(other).sort(),
  };
}

/**
 * The corrected p-value of a chi-square or input test with p-value `p`: the smallest level a at
 * which the null splits where BBSD rejects at a or another test has a p-value <= p, plus the
 * sample itself, are at most a share a of the splits + 1. 1 without simulations.
 */
export function admittingLevel(calibration: NullCalibration, p: number): number {
  const { bbsd, other } = calibration;
  if (calibration.simulations === 0) return 1;
  const draws = calibration.simulations + 1;
  // Splits whose other tests reach p count at every level; the rest join when the level reaches BBSD's.
  let count = 1 + countAtMost(calibration.otherSorted, p);
  let from = 0;
  for (let s = 0; s <= bbsd.length; s++) {
    if (s < bbsd.length && other[s] <= p) continue;
    const until = s < bbsd.length ? bbsd[s] : Infinity;
    // Levels in [from, until) see `count` rejections: admitted from count / draws on.
    const level = Math.max(from, count / draws);
    if (level < until) return Math.min(level, 1);
    from = until;
    count += 1;
  }
  return 1;
}

/** The calibration at alpha: BBSD's simulated size, the other tests' p-value threshold and the union's simulated size. */
export function summarizeCalibration(calibration: NullCalibration, alpha: number): CalibrationSummary {
  const { simulations, otherSorted } = calibration;
  // admittingLevel grows with p: the threshold is the first simulated p-value not admitted at alpha.
  let low = 0;
  let high = otherSorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (admittingLevel(calibration, otherSorted[middle]) <= alpha) low = middle + 1;
    else high = middle;
  }
  const threshold = simulations === 0 || low === 0 ? 0 : low < otherSorted.length ? otherSorted[low] : 1;
  let bbsdRejections = 0;
  let rejections = 0;
  for (let s = 0; s < simulations; s++) {
    const bbsdRejects = calibration.bbsd[s] <= alpha;
    if (bbsdRejects) bbsdRejections += 1;
    if (bbsdRejects || calibration.other[s] < threshold) rejections += 1;
  }
  const share = (count: number) => (simulations === 0 ? 0 : count / simulations);
  return {
    simulations,
    simulated_current_size: calibration.simulatedCurrentSize,
    simulated_reference_size: calibration.simulatedReferenceSize,
    bbsd_null_rate: share(bbsdRejections),
    other_threshold: threshold,
    null_rate: share(rejections),
  };
}
