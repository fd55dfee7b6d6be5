/**
 * The performance_log.json contract: one drift run as one object. assemble.ts builds it,
 * the txt/html/png reports render it, and anything reading the file back validates it here.
 * Fields added since the first files carry defaults, so older files still parse.
 */
import { z } from 'zod';
import { DataError } from '../errors';
import { referenceProfileSchema } from '../model/metadata';
import { describeInvalid } from '../util/validation';

/**
 * 2 added the shift detector's decision and tests in `drift`, `estimated_accuracy` (label-free,
 * every estimator) per scenario, and `config.alpha`; version 1 files still parse (defaults: no
 * detection, no estimate).
 */
export const DRIFT_RESULT_SCHEMA_VERSION = 2;

export const DRIFT_VERDICTS = ['none', 'moderate', 'significant'] as const;
export type DriftVerdict = (typeof DRIFT_VERDICTS)[number];

/** The model profile's histogram, plus fractions. */
const histogramSchema = referenceProfileSchema.shape.confidence_histogram.extend({
  /** counts / total, so histograms of different sample sizes overlay directly. */
  fractions: z.array(z.number()),
});
export type ConfidenceHistogram = z.infer<typeof histogramSchema>;

const ksSchema = z.object({ statistic: z.number(), p_value: z.number() });

const summarySchema = z.object({ mean: z.number(), std: z.number() });

const shiftTestSchema = z.object({
  /** e.g. `ks(probability[3])`, `chi_square(predicted_class)`, `ks(brightness)`. */
  name: z.string(),
  family: z.enum(['softmax', 'predicted_class', 'input']),
  signal: z.string(),
  statistic: z.number(),
  p_value: z.number(),
  /** The smallest alpha at which this test detects, capped at 1 (softmax: p times K, as BBSD; other tests: the level their null calibration admits them at): compared with alpha. */
  corrected_p_value: z.number(),
  detected: z.boolean(),
});

const estimateSchema = z.object({ value: z.number(), ci_low: z.number(), ci_high: z.number() });

export const estimatedAccuracySchema = estimateSchema.extend({
  /** The headline estimator (see src/drift/estimate/estimators.ts). */
  method: z.string(),
  /** Answered predictions the estimate is from. */
  n: z.number().int().positive(),
  confidence_level: z.number(),
  /** Every estimator's value and interval. */
  methods: z.record(z.string(), estimateSchema),
});
export type EstimatedAccuracy = z.infer<typeof estimatedAccuracySchema>;

export const scenarioDriftSchema = z.object({
  /** PSI per signal: `confidence`, `class` (predicted-class distribution), each input statistic, and `entropy` when both sides have probability vectors. */
  psi: z.record(z.string(), z.number()),
  psi_max: z.number(),
  /** Which PSI signal gave psi_max. */
  psi_max_signal: z.string(),
  verdict: z.enum(DRIFT_VERDICTS),
  ks: z.record(z.string(), ksSchema),
  chi2: z.object({ statistic: z.number(), p_value: z.number(), dof: z.number().int().nonnegative() }),
  /** The shift detector's decision at `alpha` (family-wise); null when it could not run (see detection_note). */
  detected: z.boolean().nullable().default(null),
  alpha: z.number().nullable().default(null),
  /** `default` (BBSD + predicted-class chi-square + input KS: BBSD's rule kept, the other tests on a null calibration from the reference) or `bbsd`. */
  detector: z.string().nullable().default(null),
  /** The smallest corrected p-value: detected when <= alpha. */
  p_value: z.number().nullable().default(null),
  tests: z.array(shiftTestSchema).default([]),
  /** Why the detector did not run, or what it had to leave out. */
  detection_note: z.string().nullable().default(null),
});
export type ScenarioDrift = z.infer<typeof scenarioDriftSchema>;

export const scenarioResultSchema = z.object({
  name: z.string(),
  /** Where the images came from (cifar10 test set + transform, a folder, ...). */
  source: z.string(),
  samples: z.number().int().nonnegative(),
  labelled: z.boolean(),
  /** Correct / successful predictions; null when the images carry no labels of the model's classes. */
  accuracy: z.number().nullable(),
  /** Reference accuracy minus this accuracy (fraction); null when either is unlabelled or it is the reference. */
  accuracy_drop: z.number().nullable(),
  /** Mean top-1 confidence of successful predictions; null when none succeeded. */
  mean_confidence: z.number().nullable(),
  /** Mean entropy (nats) of the answered probability vectors; null without them. */
  mean_entropy: z.number().nullable().default(null),
  /** Label-free accuracy estimate from the model's calibration; null with the reason in estimated_accuracy_note. */
  estimated_accuracy: estimatedAccuracySchema.nullable().default(null),
  /** The model's held-out accuracy minus the estimate (fraction). */
  estimated_accuracy_drop: z.number().nullable().default(null),
  estimated_accuracy_note: z.string().nullable().default(null),
  success_rate: z.number(),
  requests: z.object({
    succeeded: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    /** Extra attempts made after connection errors, timeouts and 5xx answers. */
    retries: z.number().int().nonnegative(),
    /** Failed requests by cause (HTTP status or error code). */
    errors: z.record(z.string(), z.number().int().nonnegative()),
    /** Images never sent because the run stopped early (see `complete`); neither succeeded nor failed. */
    unsent: z.number().int().nonnegative().default(0),
  }),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() }),
  throughput_rps: z.number(),
  duration_s: z.number(),
  /** Share of successful predictions per class (every model class listed). */
  class_distribution: z.record(z.string(), z.number()),
  class_counts: z.record(z.string(), z.number().int().nonnegative()),
  confidence_histogram: histogramSchema,
  /** Mean and standard deviation over the images of each input statistic (0-255 scale). */
  input_stats: z.record(z.string(), summarySchema),
  /** Per image, in replay order: predicted class name (null if the request failed). */
  predictions: z.array(z.string().nullable()),
  /** Per image true class name; null for the whole list when the scenario is unlabelled. */
  true_labels: z.array(z.string()).nullable(),
  confidences: z.array(z.number().nullable()),
  /** Statistics against the reference; null for the scenario that is the reference. */
  drift: scenarioDriftSchema.nullable(),
  recommendations: z.array(z.string()),
});
export type ScenarioResult = z.infer<typeof scenarioResultSchema>;

export const gateFailureSchema = z.object({
  /** The --fail-on rule, or `success_rate<X` for --min-success-rate. */
  rule: z.string(),
  scenario: z.string(),
  /** The measured value; null when requests failed so the metric has none (a failure, not a skip). */
  value: z.number().nullable(),
  /** Why, when it is not a plain rule whose condition held. */
  reason: z.string().optional(),
});
export type GateFailure = z.infer<typeof gateFailureSchema>;

export const driftResultSchema = z.object({
  schema_version: z.union([z.literal(1), z.literal(DRIFT_RESULT_SCHEMA_VERSION)]),
  generated_at: z.string(),
  target: z.object({
    url: z.string(),
    /** `url`: an already running server; `model`: one started in-process for this run. */
    mode: z.enum(['url', 'model']),
    model_version: z.string().nullable(),
    model_type: z.string().nullable(),
    class_names: z.array(z.string()),
  }),
  config: z.object({
    samples: z.number().int().positive(),
    seed: z.number().int(),
    concurrency: z.number().int().positive(),
    timeout_ms: z.number().int().positive(),
    retries: z.number().int().nonnegative(),
    psi_bins: z.number().int().positive(),
    /** A scenario answered less often than this fails the gate whatever the rules say. */
    min_success_rate: z.number().min(0).max(1).default(0),
    /** --deadline in seconds; null: none. */
    deadline_s: z.number().positive().nullable().default(null),
    /** The shift detector's family-wise false-alarm rate; null in version 1 files. */
    alpha: z.number().nullable().default(null),
  }),
  reference: z.object({
    /** `baseline`: the clean replay of this run; `model`: the profile saved in the model's metadata. */
    kind: z.enum(['baseline', 'model']),
    /** The scenario serving as reference (baseline mode), else null. */
    scenario: z.string().nullable(),
    samples: z.number().int().nonnegative(),
    confidence_histogram: histogramSchema,
    class_distribution: z.record(z.string(), z.number()),
    /** Images behind the shift detector's reference (probability vectors); 0 when it has none. */
    detector_samples: z.number().int().nonnegative().default(0),
    /** What the model's metadata lacks for detection or estimation (older models), one line each. */
    missing: z.array(z.string()).default([]),
  }),
  scenarios: z.array(scenarioResultSchema),
  gate: z.object({
    rules: z.array(z.string()),
    /** False when a rule or --min-success-rate failed, or the run is not complete. */
    passed: z.boolean(),
    failures: z.array(gateFailureSchema),
    /** Rule checks that had no value to test (accuracy of an unlabelled scenario, ...): not failures. */
    skipped: z.array(z.object({ rule: z.string(), scenario: z.string(), metric: z.string(), reason: z.string() })),
  }),
  duration_s: z.number(),
  /** False when the run stopped early (target down, --deadline): scenarios hold what was measured. */
  complete: z.boolean().default(true),
  incomplete_reason: z.string().nullable().default(null),
});
export type DriftResult = z.infer<typeof driftResultSchema>;

/** Validates a parsed performance_log.json; DataError naming the first bad field. */
export function parseDriftResult(value: unknown): DriftResult {
  const parsed = driftResultSchema.safeParse(value);
  if (!parsed.success) throw new DataError(describeInvalid('performance_log.json', parsed.error));
  return parsed.data;
}

/** Failed requests by cause, e.g. "http_401 x50, timeout x2". */
export function describeCauses(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([cause, count]) => `${cause} x${count}`)
    .join(', ');
}
