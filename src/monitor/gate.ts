/**
 * `mldeploy monitor --fail-on` rules: `metric op number`, failing the run when the condition
 * holds, as `drift --fail-on` does. Window metrics are checked on every window (a window too
 * small to test has no value and is skipped); a rule that no window could check fails (closed).
 */
import { conditionHolds, type RuleOp } from '../drift/rules';
import { UsageError } from '../errors';

export const MONITOR_RULE_METRICS = {
  drift: 'per window: 1 when the shift detector flags it, else 0 (drift>0 fails on any flagged window)',
  p_value: "per window: the detector's smallest corrected p-value (small = drift)",
  estimated_accuracy: 'per window: the label-free accuracy estimate, 0..1',
  accuracy_drop: "per window: the model's test accuracy minus the estimate, 0..1",
  drift_windows: 'over the run: how many windows the detector flagged',
} as const;
export type MonitorRuleMetric = keyof typeof MONITOR_RULE_METRICS;

export interface MonitorRule {
  text: string;
  metric: MonitorRuleMetric;
  op: RuleOp;
  threshold: number;
}

export interface MonitorGateFailure {
  rule: string;
  /** The window index (0-based), or null for a run-level metric or a rule nothing could check. */
  window: number | null;
  value: number | null;
  reason?: string;
}

export interface MonitorGate {
  rules: string[];
  passed: boolean;
  failures: MonitorGateFailure[];
}

export function parseMonitorRule(text: string): MonitorRule {
  const compact = text.replace(/\s+/g, '');
  const match = /^([a-z_]+)(>=|<=|>|<)(-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?)$/i.exec(compact);
  if (!match) throw new UsageError(`--fail-on "${text}": expected <metric><op><number>, e.g. drift_windows>=3 or estimated_accuracy<0.6`);
  const metric = match[1] as MonitorRuleMetric;
  if (!(metric in MONITOR_RULE_METRICS)) {
    throw new UsageError(`--fail-on "${text}": unknown metric "${match[1]}" (one of ${Object.keys(MONITOR_RULE_METRICS).join(', ')})`);
  }
  return { text: `${metric}${match[2]}${match[3]}`, metric, op: match[2] as RuleOp, threshold: Number(match[3]) };
}

export type WindowMetrics = Record<Exclude<MonitorRuleMetric, 'drift_windows'>, number | null>;

export function evaluateMonitorGate(rules: MonitorRule[], windows: WindowMetrics[], driftWindows: number): MonitorGate {
  const failures: MonitorGateFailure[] = [];
  for (const rule of rules) {
    if (rule.metric === 'drift_windows') {
      if (conditionHolds(rule, driftWindows)) failures.push({ rule: rule.text, window: null, value: driftWindows });
      continue;
    }
    const metric = rule.metric;
    const values = windows.map((w) => w[metric]);
    if (values.every((v) => v === null)) {
      failures.push({ rule: rule.text, window: null, value: null, reason: `no window could be tested for ${metric} (too few samples, or no reference for the model)` });
      continue;
    }
    values.forEach((value, i) => {
      if (value !== null && conditionHolds(rule, value)) failures.push({ rule: rule.text, window: i, value });
    });
  }
  return { rules: rules.map((r) => r.text), passed: failures.length === 0, failures };
}
