/**
 * The figures of one replay, as pure functions of arrays (no I/O): per-image signals, drift
 * against a reference (PSI, KS, chi-square), accuracy, histograms and latency percentiles.
 */
import type { ImageSet } from '../data/types';
import { atcScores } from '../model/calibration';
import { REFERENCE_SIGNALS, type ReferenceProfile, type ReferenceSignal } from '../model/metadata';
import { batchImageStats } from '../preprocess/image-stats';
import type { ConfidenceHistogram, ScenarioDrift } from './result';
import { PSI_BINS, chiSquare, ksTwoSample, psiCategorical, psiContinuous, psiLevel, quantileOfSorted } from './stats';

/** The descriptive part of a scenario's drift (the detector's decision is added by verdicts.ts). */
export type DescriptiveDrift = Pick<ScenarioDrift, 'psi' | 'psi_max' | 'psi_max_signal' | 'verdict' | 'ks' | 'chi2'>;

/** Fixed confidence bins for the histograms in the result and the charts. */
const HISTOGRAM_EDGES = Array.from({ length: 11 }, (_, i) => i / 10);

/** Per-image values drift statistics compare: confidence and input statistics, plus predicted-class counts. */
export interface Signals {
  values: Record<ReferenceSignal, number[]>;
  classCounts: number[];
  /**
   * Probability vector (model class order) of every answered image; null when some answer
   * carried no all_probabilities for every class (or for a profile, which keeps none).
   */
  probabilities: number[][] | null;
  /** Entropy (nats) of each of those vectors; empty without them. */
  entropy: number[];
}

/** Shannon entropy in nats of one probability vector (0 for a one-hot answer, ln K for a uniform one). */
export function entropyOf(probabilities: ArrayLike<number>): number {
  return -atcScores(probabilities).negative_entropy;
}

/**
 * Signals of a replay: input statistics over every image, confidence and class counts over the
 * answered ones (predictions[i] null: request i failed). Predicted classes outside classNames are not counted.
 */
export function signalsOf(
  images: ImageSet,
  predictions: (string | null)[],
  confidences: (number | null)[],
  probabilities: (Record<string, number> | null)[],
  classNames: string[],
): Signals {
  const stats = batchImageStats(images.pixels, images.count);
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const classCounts = new Array<number>(classNames.length).fill(0);
  const confidence: number[] = [];
  const vectors: number[][] = [];
  let complete = true;
  predictions.forEach((predicted, i) => {
    if (predicted === null) return;
    const index = classIndex.get(predicted);
    if (index !== undefined) classCounts[index] += 1;
    confidence.push(confidences[i]!);
    const row = probabilities[i];
    const vector = row ? classNames.map((name) => row[name]) : [];
    if (vector.length > 0 && vector.every((p) => typeof p === 'number')) vectors.push(vector);
    else complete = false;
  });
  const kept = complete ? vectors : null;
  return { values: { confidence, ...stats }, classCounts, probabilities: kept, entropy: kept ? kept.map(entropyOf) : [] };
}

/**
 * The model's saved reference profile as signals (a signal it lacks is empty). The profile keeps
 * no probability vectors; entropy comes from the calibration images' vectors when given.
 */
export function signalsOfProfile(profile: ReferenceProfile, classNames: string[], calibrationProbabilities: number[][] = []): Signals {
  const values = Object.fromEntries(REFERENCE_SIGNALS.map((signal) => [signal, profile.signals[signal] ?? []])) as Signals['values'];
  return {
    values,
    classCounts: classNames.map((name) => profile.predicted_class_counts[name] ?? 0),
    probabilities: null,
    entropy: calibrationProbabilities.map(entropyOf),
  };
}

/** No values at all (a reference that was never replayed). */
export function emptySignals(classCount: number): Signals {
  const values = Object.fromEntries(REFERENCE_SIGNALS.map((signal) => [signal, []])) as unknown as Signals['values'];
  return { values, classCounts: new Array<number>(classCount).fill(0), probabilities: [], entropy: [] };
}

/** PSI on every signal (entropy too, when both sides have it) and the class distribution, KS on every signal, chi-square on class counts. */
export function driftBetween(reference: Signals, current: Signals): DescriptiveDrift {
  const psi: Record<string, number> = {};
  const ks: ScenarioDrift['ks'] = {};
  psi.class = psiCategorical(reference.classCounts, current.classCounts);
  const compared: [string, number[], number[]][] = [
    ...REFERENCE_SIGNALS.map((signal): [string, number[], number[]] => [signal, reference.values[signal], current.values[signal]]),
    ['entropy', reference.entropy, current.entropy],
  ];
  for (const [signal, ref, cur] of compared) {
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
