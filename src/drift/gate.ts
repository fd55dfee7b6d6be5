/**
 * The CI gate, failing closed: the --fail-on rules, plus --min-success-rate on every scenario,
 * plus "a metric with no value because requests failed is a failure" (only nulls that do not
 * apply, such as accuracy without labels, are skipped), plus "an incomplete run never passes".
 */
import type { DriftResult, GateFailure, ScenarioResult } from './result';
import { describeCauses } from './result';
import { Rule, RuleMetric, ScenarioMetrics, describeFailure, evaluateRules } from './rules';

/** Metrics measured against the reference, so not applicable on the reference scenario itself. */
const REFERENCE_METRICS: ReadonlySet<RuleMetric> = new Set(['psi', 'psi_confidence', 'psi_class', 'ks', 'ks_p', 'accuracy_drop', 'drift_detected', 'p_value']);
const DETECTION_METRICS: ReadonlySet<RuleMetric> = new Set(['drift_detected', 'p_value']);
const ESTIMATE_METRICS: ReadonlySet<RuleMetric> = new Set(['estimated_accuracy', 'estimated_accuracy_drop']);

export interface GateContext {
  /** The scenario that is the reference (baseline mode), else null. */
  baseline: string | null;
  /** The reference had successful predictions to compare with. */
  referenceAnswered: boolean;
  /** The reference has an accuracy by nature (labelled baseline, or the model's test accuracy). */
  referenceHasAccuracy: boolean;
  minSuccessRate: number;
  complete: boolean;
}

export function gateOf(rules: Rule[], scenarios: ScenarioResult[], context: GateContext): DriftResult['gate'] {
  const measured = new Set(scenarios.map((s) => s.name));
  // A rule naming a scenario the run never reached cannot pass; the run is incomplete, which fails it.
  const checkable = rules.filter((rule) => rule.scenario === null || measured.has(rule.scenario));
  const evaluated = evaluateRules(
    checkable,
    scenarios.map((s) => ({ name: s.name, metrics: ruleMetricsOf(s) })),
    context.baseline,
  );
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  const failures: GateFailure[] = [...evaluated.failures];
  const skipped: DriftResult['gate']['skipped'] = [];
  for (const skip of evaluated.skipped) {
    const reason = unmeasuredReason(byName.get(skip.scenario)!, skip.metric, context);
    if (reason === null) skipped.push(skip);
    else failures.push({ rule: skip.rule, scenario: skip.scenario, value: null, reason });
  }
  for (const s of scenarios) {
    if (s.success_rate >= context.minSuccessRate) continue;
    const causes = describeCauses(s.requests.errors);
    failures.push({
      rule: `success_rate<${context.minSuccessRate}`,
      scenario: s.name,
      value: s.success_rate,
      reason: `below --min-success-rate ${context.minSuccessRate}: ${s.requests.succeeded} of ${s.samples} answered` + (causes ? ` (${causes})` : ''),
    });
  }
  return { rules: rules.map((rule) => rule.text), passed: failures.length === 0 && context.complete, failures, skipped };
}

export function ruleMetricsOf(s: ScenarioResult): ScenarioMetrics {
  return {
    psi: s.drift?.psi_max ?? null,
    psi_confidence: s.drift?.psi.confidence ?? null,
    psi_class: s.drift?.psi.class ?? null,
    accuracy: s.accuracy,
    accuracy_drop: s.accuracy_drop,
    mean_confidence: s.mean_confidence,
    ks: s.drift?.ks.confidence.statistic ?? null,
    ks_p: s.drift?.ks.confidence.p_value ?? null,
    success_rate: s.success_rate,
    p50_ms: s.latency_ms.p50,
    p95_ms: s.latency_ms.p95,
    p99_ms: s.latency_ms.p99,
    drift_detected: s.drift?.detected == null ? null : Number(s.drift.detected),
    p_value: s.drift?.p_value ?? null,
    estimated_accuracy: s.estimated_accuracy?.value ?? null,
    estimated_accuracy_drop: s.estimated_accuracy_drop,
  };
}

/** Why a null metric is null because requests failed; null when the metric does not apply here. */
function unmeasuredReason(s: ScenarioResult, metric: RuleMetric, context: GateContext): string | null {
  const needsLabels = metric === 'accuracy' || metric === 'accuracy_drop';
  if (needsLabels && !s.labelled) return null;
  if (REFERENCE_METRICS.has(metric) && s.name === context.baseline) return null;
  if (metric === 'accuracy_drop' && !context.referenceHasAccuracy) return null;
  if (s.requests.succeeded === 0) {
    const causes = describeCauses(s.requests.errors);
    return causes ? `no successful request (${causes})` : 'no request answered before the run stopped';
  }
  if (REFERENCE_METRICS.has(metric) && !context.referenceAnswered) return 'the reference has no successful prediction to compare with';
  // Asked for but impossible here (e.g. answers without all_probabilities): the gate cannot vouch for it.
  if (DETECTION_METRICS.has(metric) && s.drift?.detection_note) return s.drift.detection_note;
  if (ESTIMATE_METRICS.has(metric) && s.estimated_accuracy_note) return s.estimated_accuracy_note;
  return null;
}

/** One line naming the rule, scenario and value (or why there is none), for stderr and the reports. */
export function describeGateFailure(failure: GateFailure): string {
  if (failure.value === null) return `rule ${failure.rule} failed on scenario ${failure.scenario}: no value, ${failure.reason}`;
  const line = describeFailure({ rule: failure.rule, scenario: failure.scenario, value: failure.value });
  return failure.reason ? `${line} (${failure.reason})` : line;
}

/** The gate's verdict in one line, e.g. for the end of the text report. */
export function gateVerdict(result: DriftResult): string {
  if (result.gate.passed) return 'PASSED (exit 0)';
  const parts: string[] = [];
  if (result.gate.failures.length > 0) parts.push(`${result.gate.failures.length} violation(s)`);
  if (!result.complete) parts.push('run incomplete');
  return `FAILED, ${parts.join('; ')} (exit 1)`;
}
