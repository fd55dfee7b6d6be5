/**
 * Synthetic per-prediction signals for monitor tests: softmax vectors from seeded logits and
 * input statistics from seeded normals, so "reference-like" and "shifted" draws are exact.
 */
import { buildAccuracyCalibration } from '../../src/model/calibration';
import type { ModelMetadata } from '../../src/model/metadata';
import type { MonitorSample } from '../../src/monitor/window';
import { IMAGE_SIGNALS, type ImageSignal } from '../../src/preprocess/image-stats';
import { createRandom, type Random } from '../../src/util/random';

export const CLASSES = 10;

export interface Shift {
  /** Added to every input statistic's mean (0-255 scale). */
  inputOffset?: number;
  /** Multiplies the logits' spread (below 1: flatter, less confident predictions). */
  logitScale?: number;
}

/** A monitor sample whose probabilities are a plain array. */
export type Sample = MonitorSample & { probabilities: number[] };

export function drawSample(random: Random, shift: Shift = {}): Sample {
  const logits = Array.from({ length: CLASSES }, (_, k) => (random.normal() * 1.5 + (k === 0 ? 1 : 0)) * (shift.logitScale ?? 1));
  const top = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - top));
  const total = exp.reduce((a, b) => a + b, 0);
  const inputs = Object.fromEntries(IMAGE_SIGNALS.map((s, j) => [s, 100 + 10 * j + 20 * random.normal() + (shift.inputOffset ?? 0)])) as Record<ImageSignal, number>;
  return { probabilities: exp.map((e) => e / total), inputs };
}

export function drawSamples(count: number, seed: number, shift: Shift = {}): Sample[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => drawSample(random, shift));
}

/** Schema-2 metadata whose calibration reference is `reference` (temperature 1). */
export function metadataWithReference(reference: Sample[], options: { calibrated?: boolean } = {}): ModelMetadata {
  const names = Array.from({ length: CLASSES }, (_, k) => `class${k}`);
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  const edges = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const bins = [0, 0, 0, 0, 0];
  let confidenceSum = 0;
  for (const s of reference) {
    const top = Math.max(...s.probabilities);
    confidenceSum += top;
    counts[names[Array.from(s.probabilities).indexOf(top)]] += 1;
    bins[Math.min(4, Math.floor(top / 0.2))] += 1;
  }
  const metadata = {
    schema_version: options.calibrated === false ? 1 : 2,
    model_type: 'test',
    version: 'v1_test',
    created_at: '2026-01-01T00:00:00.000Z',
    class_names: names,
    num_classes: CLASSES,
    input_shape: [32, 32, 3],
    preprocessing: {},
    test_accuracy: confidenceSum / reference.length,
    per_class_accuracy: {},
    confusion_matrix: [],
    training: { config: {}, history: [], duration_s: 0, img_per_s: 0 },
    dataset: { source: 'synthetic', format: 'synthetic', digest: 'x', train_count: 0, val_count: 0, test_count: reference.length },
    engine: { backend: 'cpu', tfjs_backend: 'cpu', versions: {} },
    reference: {
      samples: reference.length,
      confidence_histogram: { bin_edges: edges, counts: bins },
      predicted_class_counts: counts,
      pixel_stats: { channel_mean: [0, 0, 0], channel_std: [1, 1, 1] },
      signals: {},
    },
  } as unknown as ModelMetadata;
  if (options.calibrated === false) return metadata;
  // Labels drawn so the model is calibrated: each prediction right with probability equal to its confidence.
  const random = createRandom(99);
  const labels = reference.map((s) => {
    const predicted = Array.from(s.probabilities).indexOf(Math.max(...s.probabilities));
    return random.next() < s.probabilities[predicted] ? predicted : (predicted + 1) % CLASSES;
  });
  const fitted = buildAccuracyCalibration(reference.map((s) => s.probabilities), labels, 1);
  metadata.calibration = {
    source: 'test-half',
    images: reference.length,
    split_seed: 1,
    nll_before: 1,
    nll_after: 1,
    ece_bins: 15,
    ece_before: 0,
    ece_after: 0,
    ...fitted,
    reference: {
      probabilities: reference.map((s) => Array.from(s.probabilities)),
      input_signals: Object.fromEntries(IMAGE_SIGNALS.map((sig) => [sig, reference.map((s) => s.inputs[sig])])) as Record<ImageSignal, number[]>,
    },
  };
  return metadata;
}
