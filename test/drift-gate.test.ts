/** The fail-closed gate on hand-made scenario results: which nulls are failures and which are skips. */
import { describeGateFailure, gateOf, type GateContext } from '../src/drift/gate';
import type { ScenarioResult } from '../src/drift/result';
import { parseRule } from '../src/drift/rules';
import { driftOf, scenarioResult } from './helpers/drift-results';

/** Answered, with a small drift against the reference. */
function scenario(name: string, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return scenarioResult(name, {
    accuracy_drop: 0.05,
    drift: driftOf({
      psi: { confidence: 0.05, class: 0.01 },
      psi_max: 0.05,
      psi_max_signal: 'confidence',
      verdict: 'none',
      ks: { confidence: { statistic: 0.1, p_value: 0.9 } },
      chi2: { statistic: 1, p_value: 0.9, dof: 1 },
    }),
    ...overrides,
  });
}

/** Every request failed: nothing measured but the success rate. */
function allFailed(name: string, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return scenario(name, {
    accuracy: null,
    accuracy_drop: null,
    mean_confidence: null,
    success_rate: 0,
    requests: { succeeded: 0, failed: 4, retries: 8, errors: { http_500: 4 }, unsent: 0 },
    latency_ms: { p50: null, p95: null, p99: null },
    drift: null,
    ...overrides,
  });
}

const context: GateContext = { baseline: 'clean', referenceAnswered: true, referenceHasAccuracy: true, minSuccessRate: 0.99, complete: true };
const rules = (...texts: string[]) => texts.map(parseRule);

describe('gateOf', () => {
  it('passes a complete run where every rule and the success rate hold', () => {
    expect(gateOf(rules('psi>0.2'), [scenario('clean', { drift: null }), scenario('noisy')], context)).toEqual({
      rules: ['psi>0.2'],
      passed: true,
      failures: [],
      skipped: [],
    });
  });

  it('fails metrics left null by failed requests, with the causes', () => {
    const gate = gateOf(rules('psi>0.2', 'accuracy<0.5', 'p95_ms>100'), [scenario('clean', { drift: null }), allFailed('noisy')], { ...context, minSuccessRate: 0 });
    const reason = 'no successful request (http_500 x4)';
    expect(gate.failures).toEqual([
      { rule: 'psi>0.2', scenario: 'noisy', value: null, reason },
      { rule: 'accuracy<0.5', scenario: 'noisy', value: null, reason },
      { rule: 'p95_ms>100', scenario: 'noisy', value: null, reason },
    ]);
    expect(gate.passed).toBe(false);
    expect(describeGateFailure(gate.failures[0])).toBe('rule psi>0.2 failed on scenario noisy: no value, no successful request (http_500 x4)');
  });

  it('still skips what does not apply: accuracy without labels, drift of the baseline itself, accuracy_drop without a reference accuracy', () => {
    const gate = gateOf(
      rules('accuracy<0.5', 'clean:psi>0.2', 'accuracy_drop>0.1'),
      [scenario('clean', { drift: null, accuracy_drop: null }), allFailed('cifar100', { labelled: false })],
      { ...context, referenceHasAccuracy: false, minSuccessRate: 0 },
    );
    expect(gate.failures).toEqual([]);
    expect(gate.skipped.map((s) => `${s.rule} on ${s.scenario}`)).toEqual(['accuracy<0.5 on cifar100', 'clean:psi>0.2 on clean', 'accuracy_drop>0.1 on cifar100']);
    expect(gate.passed).toBe(true);
  });

  it('fails drift metrics when the reference itself had no successful request', () => {
    const gate = gateOf(rules('psi>0.2'), [allFailed('clean'), scenario('noisy', { drift: null })], { ...context, referenceAnswered: false, minSuccessRate: 0 });
    expect(gate.failures).toEqual([{ rule: 'psi>0.2', scenario: 'noisy', value: null, reason: 'the reference has no successful prediction to compare with' }]);
  });

  it('applies --min-success-rate to every scenario, the baseline too, with or without rules', () => {
    const clean = scenario('clean', { drift: null, samples: 10, success_rate: 0.9, requests: { succeeded: 9, failed: 1, retries: 0, errors: { timeout: 1 }, unsent: 0 } });
    const gate = gateOf([], [clean, scenario('noisy')], context);
    expect(gate.failures).toEqual([
      { rule: 'success_rate<0.99', scenario: 'clean', value: 0.9, reason: 'below --min-success-rate 0.99: 9 of 10 answered (timeout x1)' },
    ]);
    expect(gateOf([], [clean], { ...context, minSuccessRate: 0.9 }).passed).toBe(true);
  });

  it('never passes an incomplete run, and does not trip over rules naming a scenario it never reached', () => {
    const gate = gateOf(rules('noisy:psi>0.2'), [scenario('clean', { drift: null })], { ...context, complete: false });
    expect(gate).toEqual({ rules: ['noisy:psi>0.2'], passed: false, failures: [], skipped: [] });
  });
});
