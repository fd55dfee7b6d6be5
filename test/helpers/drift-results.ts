/** Hand-made drift scenario results for the report and gate tests (4 images, all answered, no drift). */
import type { ScenarioDrift, ScenarioResult } from '../../src/drift/result';

/** The detector fields of a drift object, as when the detector did not run (older logs). */
export const NO_DETECTION = { detected: null, alpha: null, detector: null, p_value: null, tests: [], detection_note: null } as const;

/** A drift object from its descriptive part, with the detector's fields defaulted. */
export function driftOf(drift: Omit<ScenarioDrift, keyof typeof NO_DETECTION> & Partial<ScenarioDrift>): ScenarioDrift {
  return { ...NO_DETECTION, tests: [], ...drift };
}

export const HISTOGRAM_EDGES = [0, 0.2, 0.4, 0.6, 0.8, 1];

export function scenarioResult(name: string, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name,
    source: `cifar10 test + ${name}`,
    samples: 4,
    labelled: true,
    accuracy: 0.75,
    accuracy_drop: null,
    mean_confidence: 0.8,
    mean_entropy: null,
    estimated_accuracy: null,
    estimated_accuracy_drop: null,
    estimated_accuracy_note: null,
    success_rate: 1,
    requests: { succeeded: 4, failed: 0, retries: 0, errors: {}, unsent: 0 },
    latency_ms: { p50: 4.25, p95: 9.5, p99: 12 },
    throughput_rps: 812.4,
    duration_s: 0.005,
    class_distribution: { cat: 0.5, dog: 0.5 },
    class_counts: { cat: 2, dog: 2 },
    confidence_histogram: { bin_edges: HISTOGRAM_EDGES, counts: [0, 0, 1, 1, 2], fractions: [0, 0, 0.25, 0.25, 0.5] },
    input_stats: { brightness: { mean: 120.5, std: 30 }, noise: { mean: 10.25, std: 2 } },
    predictions: ['cat', 'dog', 'cat', 'dog'],
    true_labels: ['cat', 'dog', 'dog', 'dog'],
    confidences: [0.9, 0.7, 0.5, 0.95],
    drift: null,
    recommendations: [],
    ...overrides,
  };
}
