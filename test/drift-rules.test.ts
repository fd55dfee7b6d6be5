import { describeFailure, evaluateRules, parseRule, RULE_METRICS, type ScenarioMetricsInput } from '../src/drift/rules';
import { UsageError } from '../src/errors';

describe('parseRule', () => {
  it.each([
    ['psi>0.2', { text: 'psi>0.2', scenario: null, metric: 'psi', op: '>', threshold: 0.2 }],
    ['  psi  >=  0.2 ', { text: 'psi>=0.2', scenario: null, metric: 'psi', op: '>=', threshold: 0.2 }],
    ['noisy:accuracy<0.5', { text: 'noisy:accuracy<0.5', scenario: 'noisy', metric: 'accuracy', op: '<', threshold: 0.5 }],
    ['very_noisy : ks_p <= 1e-3', { text: 'very_noisy:ks_p<=1e-3', scenario: 'very_noisy', metric: 'ks_p', op: '<=', threshold: 0.001 }],
    ['p99_ms>250', { text: 'p99_ms>250', scenario: null, metric: 'p99_ms', op: '>', threshold: 250 }],
    ['my-photos.v2:accuracy_drop>.15', { text: 'my-photos.v2:accuracy_drop>.15', scenario: 'my-photos.v2', metric: 'accuracy_drop', op: '>', threshold: 0.15 }],
    ['mean_confidence<-1', { text: 'mean_confidence<-1', scenario: null, metric: 'mean_confidence', op: '<', threshold: -1 }],
    // Corruption scenario names hold ":" and "%": everything before the last ":" is the scenario.
    ['gaussian_noise:3:p_value<0.01', { text: 'gaussian_noise:3:p_value<0.01', scenario: 'gaussian_noise:3', metric: 'p_value', op: '<', threshold: 0.01 }],
    ['noise_std10:50%:estimated_accuracy<0.6', { text: 'noise_std10:50%:estimated_accuracy<0.6', scenario: 'noise_std10:50%', metric: 'estimated_accuracy', op: '<', threshold: 0.6 }],
    ['estimated_accuracy_drop>0.1', { text: 'estimated_accuracy_drop>0.1', scenario: null, metric: 'estimated_accuracy_drop', op: '>', threshold: 0.1 }],
    // A yes/no metric alone means "fails when it is 1".
    ['drift_detected', { text: 'drift_detected', scenario: null, metric: 'drift_detected', op: '>', threshold: 0 }],
    [' contrast:5 : drift_detected ', { text: 'contrast:5:drift_detected', scenario: 'contrast:5', metric: 'drift_detected', op: '>', threshold: 0 }],
    ['drift_detected>=1', { text: 'drift_detected>=1', scenario: null, metric: 'drift_detected', op: '>=', threshold: 1 }],
  ])('parses %j', (text, expected) => {
    expect(parseRule(text)).toEqual(expected);
  });

  it('knows every documented metric', () => {
    for (const metric of RULE_METRICS) expect(parseRule(`${metric}>1`).metric).toBe(metric);
    expect(RULE_METRICS).toEqual([
      'psi', 'psi_confidence', 'psi_class', 'accuracy', 'accuracy_drop', 'mean_confidence',
      'ks', 'ks_p', 'success_rate', 'p50_ms', 'p95_ms', 'p99_ms',
      'drift_detected', 'p_value', 'estimated_accuracy', 'estimated_accuracy_drop',
    ]);
  });

  it.each(['psi', 'psi>', '>0.2', 'psi=0.2', 'psi>>0.2', 'psi>0.2x', 'psi > 0,2', ':psi>0.2', 'a:b:psi', 'a b:psi>1', 'psi>0.2 extra', ''])(
    'refuses %j with a usage error naming the rule and listing metrics and operators',
    (text) => {
      let error: unknown;
      try {
        parseRule(text);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      const message = (error as Error).message;
      expect(message).toContain(`"${text}"`);
      expect(message).toContain('psi_confidence');
      expect(message).toContain('>=');
    },
  );

  it('reminds to quote when the shell has eaten the operator (unquoted psi>0.2 arrives as psi)', () => {
    expect(() => parseRule('psi')).toThrow(/quote rules in a shell \(--fail-on 'psi>0.2'\)/);
    // A malformed rule that still has its operator is refused without the quoting hint.
    expect(() => parseRule('psi>>0.2')).toThrow(UsageError);
    expect(() => parseRule('psi>>0.2')).toThrow(/^invalid --fail-on rule "psi>>0.2": expected <metric><op><number>/);
    expect(() => parseRule('psi>>0.2')).not.toThrow(/quote/);
  });

  it('names an unknown metric', () => {
    expect(() => parseRule('latency>5')).toThrow(/unknown metric "latency" in --fail-on rule "latency>5"; metrics: psi, /);
  });
});

describe('evaluateRules', () => {
  const scenarios: ScenarioMetricsInput[] = [
    { name: 'clean', metrics: { psi: 0.02, accuracy: 0.8, ks_p: 0.9, success_rate: 1, p95_ms: 12 } },
    { name: 'noisy', metrics: { psi: 0.35, accuracy: 0.45, ks_p: 1e-9, success_rate: 1, p95_ms: 14 } },
    { name: 'very_noisy', metrics: { psi: 0.9, accuracy: 0.2, ks_p: 1e-30, success_rate: 0.98, p95_ms: 15 } },
    { name: 'cifar100', metrics: { psi: 0.5, accuracy: null, ks_p: 1e-12, success_rate: 1, p95_ms: 13 } },
  ];

  it('fails a rule on every non-baseline scenario where its condition holds', () => {
    const gate = evaluateRules([parseRule('psi>0.2')], scenarios, 'clean');
    expect(gate).toEqual({
      rules: ['psi>0.2'],
      passed: false,
      failures: [
        { rule: 'psi>0.2', scenario: 'noisy', value: 0.35 },
        { rule: 'psi>0.2', scenario: 'very_noisy', value: 0.9 },
        { rule: 'psi>0.2', scenario: 'cifar100', value: 0.5 },
      ],
      skipped: [],
    });
    expect(describeFailure(gate.failures[0])).toBe('rule psi>0.2 failed on scenario noisy: value 0.3500');
  });

  it('passes when no condition holds', () => {
    expect(evaluateRules([parseRule('psi>1000'), parseRule('success_rate<0.5')], scenarios, 'clean')).toMatchObject({
      rules: ['psi>1000', 'success_rate<0.5'],
      passed: true,
      failures: [],
    });
  });

  it('leaves the baseline out of unscoped rules but checks it when a rule names it', () => {
    expect(evaluateRules([parseRule('psi>=0.02')], scenarios, 'clean').failures.map((f) => f.scenario)).not.toContain('clean');
    expect(evaluateRules([parseRule('clean:psi>=0.02')], scenarios, 'clean').failures).toEqual([
      { rule: 'clean:psi>=0.02', scenario: 'clean', value: 0.02 },
    ]);
    // No baseline replay (reference profile from the model): every scenario is checked.
    expect(evaluateRules([parseRule('psi>=0.02')], scenarios, null).failures.map((f) => f.scenario)).toContain('clean');
  });

  it('applies scoped rules to their scenario only, and refuses unknown scenarios', () => {
    expect(evaluateRules([parseRule('noisy:ks_p<0.01')], scenarios, 'clean').failures).toEqual([
      { rule: 'noisy:ks_p<0.01', scenario: 'noisy', value: 1e-9 },
    ]);
    expect(() => evaluateRules([parseRule('blur:psi>0.2')], scenarios, 'clean')).toThrow(UsageError);
    expect(() => evaluateRules([parseRule('blur:psi>0.2')], scenarios, 'clean')).toThrow(/scenario "blur".*clean, noisy, very_noisy, cifar100/);
  });

  it('skips null metrics visibly instead of failing them', () => {
    const gate = evaluateRules([parseRule('accuracy<0.5')], scenarios, 'clean');
    expect(gate.failures.map((f) => f.scenario)).toEqual(['noisy', 'very_noisy']);
    expect(gate.skipped).toEqual([{ rule: 'accuracy<0.5', scenario: 'cifar100', metric: 'accuracy', reason: 'no labels, so no accuracy' }]);
    expect(gate.passed).toBe(false);
    const onlyUnlabelled = evaluateRules([parseRule('cifar100:accuracy<0.5')], scenarios, 'clean');
    expect(onlyUnlabelled).toMatchObject({ passed: true, failures: [], skipped: [{ scenario: 'cifar100' }] });
  });

  it('derives accuracy_drop from the baseline when the caller does not supply it', () => {
    const gate = evaluateRules([parseRule('accuracy_drop>0.3')], scenarios, 'clean');
    expect(gate.failures.map((f) => [f.scenario, Number(f.value.toFixed(10))])).toEqual([
      ['noisy', 0.35],
      ['very_noisy', 0.6],
    ]);
    expect(gate.skipped.map((s) => s.scenario)).toEqual(['cifar100']);
    const supplied = evaluateRules([parseRule('accuracy_drop>0.3')], [{ name: 'x', metrics: { accuracy_drop: 0.31 } }], null);
    expect(supplied.failures).toEqual([{ rule: 'accuracy_drop>0.3', scenario: 'x', value: 0.31 }]);
  });

  it('treats each operator as written, including the boundary', () => {
    const at = (op: string) => evaluateRules([parseRule(`x:p95_ms${op}14`)], [{ name: 'x', metrics: { p95_ms: 14 } }], null).passed;
    expect({ '>': at('>'), '>=': at('>='), '<': at('<'), '<=': at('<=') }).toEqual({ '>': true, '>=': false, '<': true, '<=': false });
  });
});
