/**
 * The drift result object from what was measured: per-scenario figures, drift against the
 * reference, recommendations and the gate. Everything the reports show is computed here once.
 */
import type { ReferenceProfile } from '../model/metadata';
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
import { gateOf } from './gate';
import { Signals, accuracyOf, driftBetween, emptySignals, histogramOf, mean, meanAndStd, percentile, signalsOf, signalsOfProfile } from './measure';
import { BASELINE_SCENARIO, DriftOptions, ValidatedPlan } from './options';
import { recommendationsFor } from './recommend';
import type { ModelInfo } from './client';
import type { ModelCalibration } from './model-calibration';
import type { ReplayOutcome } from './replay';
import { DRIFT_RESULT_SCHEMA_VERSION, DriftResult, ScenarioResult, parseDriftResult } from './result';
import type { ScenarioImages } from './sources';
import { PSI_BINS } from './stats';
import { DetectorReference, detectionOf, estimationOf, modelDetectorReference, replayDetectorReference } from './verdicts';

export interface MeasuredRun {
  info: ModelInfo;
  profile: ReferenceProfile | null;
  /** The model's train-time calibration (estimators; the detector's --reference model), or what it lacks. */
  calibration: ModelCalibration;
  url: string;
  /** The scenarios replayed, in plan order; fewer than planned when the run stopped early. */
  replays: { scenario: ScenarioImages; outcome: ReplayOutcome }[];
  /** Why the run stopped before every planned image was sent; null: complete. */
  incompleteReason: string | null;
  durationS: number;
}

export function assembleResult(options: DriftOptions, plan: ValidatedPlan, run: MeasuredRun): DriftResult {
  const classNames = run.info.class_names;
  const measured = run.replays.map(({ scenario, outcome }) => ({
    scenario,
    outcome,
    signals: signalsOf(scenario.images, outcome.predictions, outcome.confidences, outcome.probabilities, classNames),
  }));
  const calibration = run.calibration.calibration;

  const baselineName = options.reference === 'baseline' ? BASELINE_SCENARIO : null;
  let reference: Signals;
  let referenceAccuracy: number | null;
  let referenceHasAccuracy: boolean;
  let detectorReference: DetectorReference;
  if (run.profile) {
    reference = signalsOfProfile(run.profile, classNames, calibration?.reference.probabilities);
    referenceAccuracy = run.info.test_accuracy;
    referenceHasAccuracy = referenceAccuracy !== null;
    detectorReference = modelDetectorReference(calibration);
  } else {
    // Missing only when the run stopped before reaching it: then nothing has a reference.
    const baseline = measured.find((m) => m.scenario.name === BASELINE_SCENARIO);
    reference = baseline?.signals ?? emptySignals(classNames.length);
    referenceAccuracy = baseline ? accuracyOf(baseline.outcome.predictions, baseline.scenario.trueLabels) : null;
    referenceHasAccuracy = baseline?.scenario.trueLabels != null;
    detectorReference = replayDetectorReference(reference);
  }
  const referenceAnswered = reference.values.confidence.length > 0;

  const scenarios: ScenarioResult[] = measured.map(({ scenario, outcome, signals }) => {
    const isReference = scenario.name === baselineName;
    const accuracy = accuracyOf(outcome.predictions, scenario.trueLabels);
    const accuracyDrop = isReference || accuracy === null || referenceAccuracy === null ? null : referenceAccuracy - accuracy;
    const answered = signals.values.confidence.length > 0;
    const drift = isReference || !answered || !referenceAnswered ? null : { ...driftBetween(reference, signals), ...detectionOf(detectorReference, signals, plan.alpha) };
    const succeeded = scenario.images.count - outcome.failed - outcome.unsent;
    const successRate = scenario.images.count === 0 ? 0 : succeeded / scenario.images.count;
    const confidences = signals.values.confidence;
    const estimation = estimationOf(calibration, signals);
    return {
      name: scenario.name,
      source: scenario.source,
      samples: scenario.images.count,
      labelled: scenario.trueLabels !== null,
      accuracy,
      accuracy_drop: accuracyDrop,
      mean_confidence: answered ? mean(confidences) : null,
      mean_entropy: signals.entropy.length > 0 ? mean(signals.entropy) : null,
      ...estimation,
      success_rate: successRate,
      requests: { succeeded, failed: outcome.failed, retries: outcome.retries, errors: outcome.errors, unsent: outcome.unsent },
      latency_ms: {
        p50: percentile(outcome.latenciesMs, 0.5),
        p95: percentile(outcome.latenciesMs, 0.95),
        p99: percentile(outcome.latenciesMs, 0.99),
      },
      throughput_rps: outcome.durationS > 0 ? succeeded / outcome.durationS : 0,
      duration_s: outcome.durationS,
      class_distribution: Object.fromEntries(classNames.map((name, i) => [name, succeeded === 0 ? 0 : signals.classCounts[i] / succeeded])),
      class_counts: Object.fromEntries(classNames.map((name, i) => [name, signals.classCounts[i]])),
      confidence_histogram: histogramOf(confidences),
      input_stats: Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, meanAndStd(signals.values[signal])])),
      predictions: outcome.predictions,
      true_labels: scenario.trueLabels,
      confidences: outcome.confidences,
      drift,
      recommendations: recommendationsFor({
        isReference,
        labelled: scenario.trueLabels !== null,
        successRate,
        failed: outcome.failed,
        errors: outcome.errors,
        accuracyDrop,
        estimatedAccuracyDrop: estimation.estimated_accuracy_drop,
        drift,
      }),
    };
  });

  const complete = run.incompleteReason === null;
  const gate = gateOf(plan.rules, scenarios, {
    baseline: baselineName,
    referenceAnswered,
    referenceHasAccuracy,
    minSuccessRate: plan.minSuccessRate,
    complete,
  });
  const referenceCounts = reference.classCounts;
  const referenceTotal = referenceCounts.reduce((a, b) => a + b, 0);
  return parseDriftResult({
    schema_version: DRIFT_RESULT_SCHEMA_VERSION,
    generated_at: new Date().toISOString(),
    target: {
      url: run.url,
      mode: options.url !== undefined ? 'url' : 'model',
      model_version: run.info.version,
      model_type: run.info.model_type,
      class_names: classNames,
    },
    config: {
      samples: options.samples,
      seed: options.seed,
      concurrency: options.concurrency,
      timeout_ms: options.timeoutMs,
      retries: options.retries,
      psi_bins: PSI_BINS,
      min_success_rate: plan.minSuccessRate,
      deadline_s: plan.deadlineS,
      alpha: plan.alpha,
    },
    reference: {
      kind: options.reference,
      scenario: baselineName,
      samples: reference.values.confidence.length,
      confidence_histogram: histogramOf(reference.values.confidence),
      class_distribution: Object.fromEntries(classNames.map((name, i) => [name, referenceTotal === 0 ? 0 : referenceCounts[i] / referenceTotal])),
      detector_samples: detectorReference.signals?.probabilities.length ?? 0,
      missing: [...run.calibration.missing, ...(detectorReference.note ? [detectorReference.note] : [])],
    },
    scenarios,
    gate,
    duration_s: run.durationS,
    complete,
    incomplete_reason: run.incompleteReason,
  });
}
