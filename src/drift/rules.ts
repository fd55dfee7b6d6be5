/**
 * `--fail-on` gate rules: a rule is a condition over one scenario metric, and it FAILS the run
 * when its condition holds (`psi>0.2` fails any scenario whose PSI exceeds 0.2), like an
 * Evidently test. Pure: parsing and evaluation only, no printing.
 *
 * Grammar (whitespace anywhere between the parts is ignored):
 *   rule   := [scenario ":"] metric op number | [scenario ":"] "drift_detected"
 *   (bare drift_detected means drift_detected>0; scenario names may contain ":" and "%",
 *   e.g. contrast:5:p_value<0.01)
 *   op     := ">" | ">=" | "<" | "<="
 *   number := a decimal such as 0.2, -1, 1e-3, .5
 */
import { UsageError } from '../errors';

export const RULE_METRICS = [
  'psi',
  'psi_confidence',
  'psi_class',
  'accuracy',
  'accuracy_drop',
  'mean_confidence',
  'ks',
  'ks_p',
  'success_rate',
  'p50_ms',
  'p95_ms',
  'p99_ms',
  'drift_detected',
  'p_value',
  'estimated_accuracy',
  'estimated_accuracy_drop',
] as const;

export type RuleMetric = (typeof RULE_METRICS)[number];

/** One line per metric, for --help and the README. Fractions are 0..1, not percentages. */
export const RULE_METRIC_DESCRIPTIONS: Record<RuleMetric, string> = {
  psi: 'largest PSI over all signals (psi_max)',
  psi_confidence: 'PSI of the confidence distribution',
  psi_class: 'PSI of the predicted-class distribution',
  accuracy: 'accuracy, 0..1 (labelled scenarios only)',
  accuracy_drop: 'baseline accuracy minus this accuracy, 0..1',
  mean_confidence: 'mean top-1 confidence, 0..1',
  ks: 'two-sample KS statistic on confidence, 0..1',
  ks_p: 'KS p-value on confidence (small = drift)',
  success_rate: 'share of requests answered successfully, 0..1',
  p50_ms: 'median request latency in milliseconds',
  p95_ms: '95th percentile latency in milliseconds',
  p99_ms: '99th percentile latency in milliseconds',
  drift_detected: '1 when the shift detector fires at --alpha, else 0 (bare drift_detected = drift_detected>0)',
  p_value: "shift detector's smallest corrected p-value: the smallest alpha at which it detects (drift when <= --alpha)",
  estimated_accuracy: 'label-free accuracy estimate from the calibrated model, 0..1',
  estimated_accuracy_drop: "model's held-out accuracy minus estimated_accuracy, 0..1",
};

/** Metrics that are yes/no (1/0): a bare name is the rule `<name>>0`. */
const FLAG_METRICS: readonly RuleMetric[] = ['drift_detected'];

export const RULE_OPS = ['>', '>=', '<', '<='] as const;
export type RuleOp = (typeof RULE_OPS)[number];

export interface Rule {
  /** Canonical text, e.g. `noisy:psi>0.2`; reports and failures quote it. */
  text: string;
  /** null: every non-baseline scenario. */
  scenario: string | null;
  metric: RuleMetric;
  op: RuleOp;
  threshold: number;
}

export type ScenarioMetrics = Partial<Record<RuleMetric, number | null>>;

export interface ScenarioMetricsInput {
  name: string;
  metrics: ScenarioMetrics;
}

export interface RuleFailure {
  rule: string;
  scenario: string;
  value: number;
}

/** A rule that could not be checked on a scenario because the metric has no value there. */
export interface RuleSkip {
  rule: string;
  scenario: string;
  metric: RuleMetric;
  reason: string;
}

export interface GateResult {
  rules: string[];
  /** True when no rule's condition held on any scenario it applies to. */
  passed: boolean;
  failures: RuleFailure[];
  skipped: RuleSkip[];
}

/** Names a scenario may have (also what `--scenario name=...` should accept). */
export const SCENARIO_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

const RULE_PATTERN = /^\s*(?:([A-Za-z0-9_.%:-]+?)\s*:\s*)?([A-Za-z0-9_]+)\s*(>=|<=|>|<)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;
const FLAG_PATTERN = /^\s*(?:([A-Za-z0-9_.%:-]+?)\s*:\s*)?([A-Za-z0-9_]+)\s*$/;

/** Parse `<metric><op><number>` or `<scenario>:<metric><op><number>`; UsageError if malformed. */
export function parseRule(text: string): Rule {
  const flag = FLAG_PATTERN.exec(text);
  if (flag && (FLAG_METRICS as readonly string[]).includes(flag[2])) {
    const [, scenario, metric] = flag;
    return { text: `${scenario ? `${scenario}:` : ''}${metric}`, scenario: scenario ?? null, metric: metric as RuleMetric, op: '>', threshold: 0 };
  }
  const match = RULE_PATTERN.exec(text);
  if (!match) {
    throw new UsageError(
      `invalid --fail-on rule "${text}": expected <metric><op><number> or <scenario>:<metric><op><number> ` +
        `(for example psi>0.2 or noisy:accuracy<0.5); ${validChoices()}` +
        (/[<>]/.test(text) ? '' : `; quote rules in a shell (--fail-on 'psi>0.2'), or it reads > and < as redirections`),
    );
  }
  const [, scenario, metricName, op, number] = match;
  if (!(RULE_METRICS as readonly string[]).includes(metricName)) {
    throw new UsageError(`unknown metric "${metricName}" in --fail-on rule "${text}"; ${validChoices()}`);
  }
  const metric = metricName as RuleMetric;
  const threshold = Number(number);
  const canonical = `${scenario ? `${scenario}:` : ''}${metric}${op}${number}`;
  return { text: canonical, scenario: scenario ?? null, metric, op: op as RuleOp, threshold };
}

function validChoices(): string {
  return `metrics: ${RULE_METRICS.join(', ')}; operators: ${RULE_OPS.join(' ')}`;
}

/** Whether the rule's condition holds for a value, i.e. whether the rule fails. */
export function conditionHolds(rule: Pick<Rule, 'op' | 'threshold'>, value: number): boolean {
  switch (rule.op) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
  }
}

/**
 * Check every rule against the scenarios it applies to: scoped rules against their scenario
 * (UsageError when no scenario has that name), unscoped ones against every scenario except
 * `baseline` (pass null when there is no baseline replay, e.g. a reference profile from the
 * model's metadata: then every scenario is checked).
 * A metric that is null, undefined or NaN on a scenario (accuracy without labels, latency when
 * every request failed) is not a failure: it is listed in `skipped`.
 * accuracy_drop, when not supplied, is the baseline's accuracy minus the scenario's.
 */
export function evaluateRules(rules: Rule[], scenarios: ScenarioMetricsInput[], baseline: string | null): GateResult {
  const byName = new Map(scenarios.map((scenario) => [scenario.name, scenario]));
  const baselineAccuracy = baseline === null ? null : (byName.get(baseline)?.metrics.accuracy ?? null);
  const failures: RuleFailure[] = [];
  const skipped: RuleSkip[] = [];
  checkRuleScenarios(rules, [...byName.keys()]);
  for (const rule of rules) {
    const targets = rule.scenario !== null ? [byName.get(rule.scenario)!] : scenarios.filter((scenario) => scenario.name !== baseline);
    for (const scenario of targets) {
      const value = metricValue(scenario.metrics, rule.metric, baselineAccuracy);
      if (value === null) {
        skipped.push({ rule: rule.text, scenario: scenario.name, metric: rule.metric, reason: skipReason(rule.metric, baseline) });
      } else if (conditionHolds(rule, value)) {
        failures.push({ rule: rule.text, scenario: scenario.name, value });
      }
    }
  }
  return { rules: rules.map((rule) => rule.text), passed: failures.length === 0, failures, skipped };
}

/** UsageError for the first rule that names a scenario not in `scenarioNames`. */
export function checkRuleScenarios(rules: Rule[], scenarioNames: string[]): void {
  for (const rule of rules) {
    if (rule.scenario !== null && !scenarioNames.includes(rule.scenario)) {
      throw new UsageError(
        `--fail-on rule "${rule.text}" names scenario "${rule.scenario}", which this run does not have (scenarios: ${scenarioNames.join(', ')})`,
      );
    }
  }
}

function metricValue(metrics: ScenarioMetrics, metric: RuleMetric, baselineAccuracy: number | null): number | null {
  let value = metrics[metric];
  if (value === undefined && metric === 'accuracy_drop') {
    const accuracy = metrics.accuracy;
    value = accuracy == null || baselineAccuracy === null ? null : baselineAccuracy - accuracy;
  }
  return value == null || Number.isNaN(value) ? null : value;
}

function skipReason(metric: RuleMetric, baseline: string | null): string {
  if (metric === 'accuracy') return 'no labels, so no accuracy';
  if (metric === 'accuracy_drop') return baseline === null ? 'no baseline scenario' : 'accuracy unknown here or on the baseline';
  if (metric === 'drift_detected' || metric === 'p_value') return 'no shift detection for this scenario';
  if (metric === 'estimated_accuracy' || metric === 'estimated_accuracy_drop') return 'no accuracy estimate for this scenario';
  return 'metric not available for this scenario';
}

/** One line naming the rule, scenario and value, for stderr and the text report. */
export function describeFailure(failure: RuleFailure): string {
  return `rule ${failure.rule} failed on scenario ${failure.scenario}: value ${formatValue(failure.value)}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
