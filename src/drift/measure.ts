/**
 * The figures of one replay, as pure functions of arrays (no I/O): per-image signals, drift
 * against a reference (PSI, KS, chi-square), accuracy, histograms and latency percentiles.
 */
import type { ImageSet } from '../data/types';
import { REFERENCE_SIGNALS, type ReferenceProfile, type ReferenceSignal } from '../model/metadata';
import { batchImageStats } from '../preprocess/image-stats';
import type { ConfidenceHistogram, ScenarioDrift } from './result';
import { PSI_BINS, chiSquare, ksTwoSample, psiCategorical, psiContinuous, psiLevel, quantileOfSorted } from './stats';

/** Fixed confidence bins for the histograms in the result and the charts. */
const HISTOGRAM_EDGES = Array.from({ length: 11 }, (_, i) => i / 10);

/** Per-image values drift statistics compare: confidence and input statistics, plus predicted-class counts. */
export interface Signals {
  values: Record<ReferenceSignal, number[]>;
  classCounts: number[];
}

/**
 * Signals of a replay: input statistics over every image, confidence and class counts over the
 * answered ones (predictions[i] null: request i failed). Predicted classes outside classNames are not counted.
 */
export function signalsOf(images: ImageSet, predictions: (string | null)[], confidences: (number | null)[], classNames: string[]): Signals {
  const stats = batchImageStats(images.pixels, images.count);
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const classCounts = new Array<number>(classNames.length).fill(0);
  const confidence: number[] = [];
  predictions.forEach((predicted, i) => {
    if (predicted === null) return;
    const index = classIndex.get(predicted);
    if (index !== undefined) classCounts[index] += 1;
    confidence.push(confidences[i]!);
  });
  return { values: { confidence, ...stats }, classCounts };
}

/** The model's saved reference profile as signals (a signal it lacks is empty). */
export function signalsOfProfile(profile: ReferenceProfile, classNames: string[]): Signals {
  const values = Object.fromEntries(REFERENCE_SIGNALS.map((signal) => [signal, profile.signals[signal] ?? []])) as Signals['values'];
  return { values, classCounts: classNames.map((name) => profile.predicted_class_counts[name] ?? 0) };
}

/** No values at all (a reference that was never replayed). */
export function emptySignals(classCount: number): Signals {
  const values = Object.fromEntries(REFERENCE_SIGNALS.map((signal) => [signal, []])) as unknown as Signals['values'];
  return { values, classCounts: new Array<number>(classCount).fill(0) };
}

/** PSI on every signal and the class distribution, KS on every signal, chi-square on class counts. */
export function driftBetween(reference: Signals, current: Signals): ScenarioDrift {
  const psi: Record<string, number> = {};
  const ks: ScenarioDrift['ks'] = {};
  psi.class = psiCategorical(reference.classCounts, current.classCounts);
  for (const signal of REFERENCE_SIGNALS) {
    const ref = reference.values[signal];
    const cur = current.values[signal];
    // A model profile may lack a signal; compare only what both sides have.
    if (ref.length === 0 || cur.length === 0) continue;
    psi[signal] = psiContinuous(ref, cur, PSI_BINS);
    const test = ksTwoSample(ref, cur);
    ks[signal] = { statistic: test.statistic, p_value: test.p_value };
  }
  const [maxSignal, maxValue] = Object.entries(psi).reduce((best, entry) => (entry[1] > best[1] ? entry : best));
  const chi = chiSquare(reference.classCounts, current.classCounts);
  return {
    psi,
    psi_max: maxValue,
    psi_max_signal: maxSignal,
    verdict: psiLevel(maxValue),
    ks,
    chi2: { statistic: chi.statistic, p_value: chi.p_value, dof: chi.dof },
  };
}

/** Correct share of the answered predictions; null when unlabelled or nothing was answered. */
export function accuracyOf(predictions: (string | null)[], trueLabels: string[] | null): number | null {
  if (trueLabels === null) return null;
  let answered = 0;
  let correct = 0;
  predictions.forEach((predicted, i) => {
    if (predicted === null) return;
    answered += 1;
    if (predicted === trueLabels[i]) correct += 1;
  });
  return answered === 0 ? null : correct / answered;
}

/** Ten equal bins on [0, 1] (1 goes in the last bin), with counts and fractions. */
export function histogramOf(values: number[]): ConfidenceHistogram {
  const bins = HISTOGRAM_EDGES.length - 1;
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(value * bins)))] += 1;
  return { bin_edges: HISTOGRAM_EDGES, counts, fractions: counts.map((c) => (values.length === 0 ? 0 : c / values.length)) };
}

/** numpy's default percentile (linear between closest ranks); null for no values. */
export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  return quantileOfSorted(Float64Array.from(values).sort(), q);
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Population mean and standard deviation; 0 and 0 for no values. */
export function meanAndStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  const m = mean(values);
  return { mean: m, std: Math.sqrt(values.reduce((acc, v) => acc + (v - m) ** 2, 0) / values.length) };
}
