/**
 * Step 1 of `mldeploy retrain`: which scenarios drifted enough to retrain for. From a drift log
 * (performance_log.json): the scenarios that break the `--if` rules, else the log's own failed
 * gate rules and the scenarios its shift detector flagged. From a live server: the stable
 * version's /monitoring window, its drift verdict and estimated accuracy. Pure.
 */
import { ruleMetricsOf } from '../drift/gate';
import type { DriftResult } from '../drift/result';
import { evaluateRules, parseRule, type Rule } from '../drift/rules';
import { UsageError } from '../errors';
import type { LiveMonitoring } from './sources';

/** The name the live window goes by in rules and reports (`live:drift_detected`). */
export const LIVE_SCENARIO = 'live';

export interface DriftedScenario {
  name: string;
  /** Why it counts as drifted, one line each (rule and value, or the detector's tests). */
  reasons: string[];
  /** Input statistics whose tests fired (live windows only; the plan maps them to augmentations). */
  fired_signals: string[];
}

export interface DriftDecision {
  source: { kind: 'log'; path: string; sha256: string } | { kind: 'url'; url: string };
  /** The model the drift was measured on (log target, or the version the server serves). */
  model_version: string | null;
  /** The --if rules as given (canonical text); empty: the source's own verdicts decided. */
  rules: string[];
  drifted: DriftedScenario[];
}

export function parseIfRules(texts: string[]): Rule[] {
  return texts.map((text) => asIfRule(() => parseRule(text)));
}

/** The rule grammar is drift's; its errors name --fail-on, which here is --if. */
function asIfRule<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message.replace(/--fail-on/g, '--if'));
    throw err;
  }
}

/** The drifted scenarios of a drift log, by the --if rules or (none given) the log's own verdicts. */
export function decideFromLog(log: DriftResult, rules: Rule[], source: { path: string; sha256: string }): DriftDecision {
  const drifted = new Map<string, string[]>();
  const add = (scenario: string, reason: string) => drifted.set(scenario, [...(drifted.get(scenario) ?? []), reason]);
  if (rules.length > 0) {
    const scenarios = log.scenarios.map((s) => ({ name: s.name, metrics: ruleMetricsOf(s) }));
    const evaluated = asIfRule(() => evaluateRules(rules, scenarios, log.reference.scenario));
    for (const f of evaluated.failures) add(f.scenario, `--if ${f.rule}: value ${Number(f.value.toPrecision(4))}`);
  } else {
    for (const f of log.gate.failures) add(f.scenario, `the log's rule ${f.rule} failed${f.value === null ? '' : `: value ${Number(f.value.toPrecision(4))}`}`);
    for (const s of log.scenarios) {
      if (s.drift?.detected === true) add(s.name, `drift detected (p ${s.drift.p_value === null ? '-' : s.drift.p_value.toPrecision(3)} at alpha ${s.drift.alpha})`);
    }
  }
  return {
    source: { kind: 'log', ...source },
    model_version: log.target.model_version,
    rules: rules.map((r) => r.text),
    drifted: [...drifted].map(([name, reasons]) => ({ name, reasons, fired_signals: [] })),
  };
}

/**
 * The live window as one scenario named `live`: drifted when the --if rules fail on it
 * (drift_detected, p_value, estimated_accuracy, estimated_accuracy_drop), else when its detector fired.
 */
export function decideFromLive(live: LiveMonitoring, rules: Rule[], url: string): DriftDecision {
  const estimate = live.estimated_accuracy?.value ?? null;
  const metrics = {
    drift_detected: live.drift.detected === null ? null : Number(live.drift.detected),
    p_value: live.drift.p_value,
    estimated_accuracy: estimate,
    estimated_accuracy_drop: estimate === null || live.reference_accuracy === null ? null : live.reference_accuracy - estimate,
  };
  const fired = live.drift.tests.filter((t) => t.detected);
  const reasons: string[] = [];
  if (rules.length > 0) {
    const evaluated = evaluateRules(rules, [{ name: LIVE_SCENARIO, metrics }], null);
    for (const f of evaluated.failures) reasons.push(`--if ${f.rule}: value ${Number(f.value.toPrecision(4))}`);
  } else if (live.drift.detected === true) {
    reasons.push(`drift detected (p ${live.drift.p_value === null ? '-' : live.drift.p_value.toPrecision(3)} at alpha ${live.drift.alpha}) over ${live.window.samples} predictions`);
  }
  if (reasons.length > 0 && fired.length > 0) reasons.push(`tests fired: ${describeFired(fired)}`);
  if (reasons.length > 0 && estimate !== null) reasons.push(`estimated accuracy ${(estimate * 100).toFixed(1)}% (reference ${live.reference_accuracy === null ? '-' : `${(live.reference_accuracy * 100).toFixed(1)}%`})`);
  const inputSignals = [...new Set(fired.filter((t) => t.family === 'input').map((t) => t.signal))];
  return {
    source: { kind: 'url', url },
    model_version: live.model_version,
    rules: rules.map((r) => r.text),
    drifted: reasons.length > 0 ? [{ name: LIVE_SCENARIO, reasons, fired_signals: inputSignals }] : [],
  };
}

/** e.g. `10 softmax, predicted_class, input std_r, noise`: the families, input signals by name. */
function describeFired(fired: LiveMonitoring['drift']['tests']): string {
  const softmax = fired.filter((t) => t.family === 'softmax').length;
  const other = [...new Set(fired.filter((t) => t.family !== 'softmax' && t.family !== 'input').map((t) => t.signal))];
  const inputs = fired.filter((t) => t.family === 'input').map((t) => t.signal);
  return [softmax > 0 ? `${softmax} softmax` : '', ...other, inputs.length > 0 ? `input ${inputs.join(', ')}` : ''].filter(Boolean).join(', ');
}
