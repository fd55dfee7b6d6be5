/** The --rollback-if rule and watcher on their own: decisions from given figures, once per version, failures reported. */
import { UsageError } from '../src/errors';
import { decideRollback, parseRollbackRule, RollbackWatcher, type RollbackEvent, type StableFigures } from '../src/rollout/rollback-watch';

const figures = (version: string, samples: number, overrides: Partial<StableFigures['figures']> = {}, total = samples): StableFigures => ({
  version,
  samples,
  total,
  figures: { estimated_accuracy: 0.72, drift_detected: 0, p_value: 0.4, error_rate: 0, latency_p95_ms: 10, ...overrides },
});

describe('--rollback-if rules', () => {
  it('parses figure rules and the bare drift_detected flag, and refuses the rest', () => {
    expect(parseRollbackRule('estimated_accuracy < 0.6')).toEqual({ text: 'estimated_accuracy<0.6', figure: 'estimated_accuracy', op: '<', threshold: 0.6, relative: false });
    expect(parseRollbackRule('drift_detected')).toMatchObject({ text: 'drift_detected', op: '>', threshold: 0 });
    expect(parseRollbackRule('p_value<=1e-3')).toMatchObject({ figure: 'p_value', threshold: 0.001 });
    expect(() => parseRollbackRule('agreement<0.9')).toThrow(/unknown figure "agreement" in --rollback-if rule/);
    expect(() => parseRollbackRule('estimated_accuracy<stable-0.1')).toThrow(/no figure can be compared with the stable version's/);
    expect(() => parseRollbackRule('estimated_accuracy')).toThrow(UsageError);
  });

  const rule = parseRollbackRule('estimated_accuracy<0.6');

  it('waits for --rollback-after predictions, then triggers only when the rule holds', () => {
    expect(decideRollback(rule, 500, figures('v2', 499, { estimated_accuracy: 0.1 }))).toEqual({
      trigger: false,
      value: 0.1,
      reason: 'waiting: 499 predictions of v2, the rule is checked from 500',
    });
    expect(decideRollback(rule, 500, figures('v2', 500, { estimated_accuracy: 0.41 }))).toEqual({
      trigger: true,
      value: 0.41,
      reason: 'estimated_accuracy<0.6 held: estimated_accuracy 0.41 over 500 predictions of v2',
    });
    expect(decideRollback(rule, 500, figures('v2', 500)).trigger).toBe(false);
  });

  it('a figure the server cannot give triggers nothing', () => {
    expect(decideRollback(rule, 10, figures('v2', 40, { estimated_accuracy: null }))).toEqual({ trigger: false, value: null, reason: 'no estimated_accuracy for v2 yet (40 predictions of v2)' });
    expect(decideRollback(parseRollbackRule('drift_detected'), 10, figures('v2', 40, { drift_detected: 1 })).trigger).toBe(true);
  });
});

describe('RollbackWatcher', () => {
  function watcher(sequence: Array<StableFigures | null>, rollback: (reason: string) => Promise<{ from: string | null; to: string | null }>) {
    const events: RollbackEvent[] = [];
    /** Per refresh: whether the section already said "rolled back" while the server was refreshing. */
    const refreshes: boolean[] = [];
    let i = 0;
    const watch: RollbackWatcher = new RollbackWatcher({
      rule: parseRollbackRule('estimated_accuracy<0.6'),
      after: 100,
      figures: async () => sequence[Math.min(i++, sequence.length - 1)],
      rollback,
      refresh: async () => refreshes.push(watch.section().triggered_at !== undefined),
      onEvent: (event) => events.push(event),
      now: () => new Date('2026-12-01T23:30:00.000Z'),
    });
    return { watch, events, refreshes };
  }

  it('rolls back once, refreshes the server, and says so in its section', async () => {
    const reasons: string[] = [];
    const { watch, events, refreshes } = watcher([figures('v2', 50, { estimated_accuracy: 0.3 }), figures('v2', 120, { estimated_accuracy: 0.3 }), figures('v2', 130, { estimated_accuracy: 0.2 })], async (reason) => {
      reasons.push(reason);
      return { from: 'v2', to: 'v1' };
    });
    expect(watch.section()).toEqual({ rule: 'estimated_accuracy<0.6', after: 100 });
    await watch.check();
    expect(reasons).toEqual([]);
    await watch.check();
    await watch.check(); // the same bad version again: no second rollback
    const reason = 'estimated_accuracy<0.6 held: estimated_accuracy 0.3 over 120 predictions of v2';
    expect(reasons).toEqual([reason]);
    expect(refreshes).toEqual([false]); // the section says so only once the server serves the previous version
    expect(events).toEqual([{ kind: 'rolled_back', from: 'v2', to: 'v1', reason }]);
    expect(watch.section()).toEqual({ rule: 'estimated_accuracy<0.6', after: 100, triggered_at: '2026-12-01T23:30:00.000Z', from: 'v2', to: 'v1', reason });
  });

  it('acts on another bad version, but a failed rollback is not retried for that version', async () => {
    let calls = 0;
    const { watch, events, refreshes } = watcher([figures('v1', 200, { estimated_accuracy: 0.5 }), figures('v1', 210, { estimated_accuracy: 0.5 })], async () => {
      calls += 1;
      throw new UsageError('stable (v1) has no earlier version to roll back to');
    });
    await watch.check();
    await watch.check();
    expect(calls).toBe(1);
    expect(refreshes).toHaveLength(0);
    expect(events).toEqual([{ kind: 'failed', version: 'v1', reason: expect.stringContaining('estimated_accuracy 0.5'), error: 'stable (v1) has no earlier version to roll back to' }]);
    expect(watch.section()).toMatchObject({ from: 'v1', reason: expect.stringMatching(/; the rollback failed: stable \(v1\) has no earlier version/) });
  });

  it('decides once per --rollback-after new predictions, never twice on mostly the same window', async () => {
    let calls = 0;
    const { watch } = watcher(
      [figures('v2', 100, {}, 100), figures('v2', 100, { estimated_accuracy: 0.3 }, 150), figures('v2', 100, { estimated_accuracy: 0.3 }, 199), figures('v2', 100, { estimated_accuracy: 0.3 }, 200)],
      async () => {
        calls += 1;
        return { from: 'v2', to: 'v1' };
      },
    );
    await watch.check(); // decided at 100 predictions: fine
    await watch.check(); // 50 new ones: not decided again yet
    await watch.check(); // 99 new ones: still not
    expect(calls).toBe(0);
    await watch.check(); // 100 new ones: decided, and the rule holds
    expect(calls).toBe(1);
  });

  it('concurrent checks share one run', async () => {
    let calls = 0;
    const { watch } = watcher([figures('v2', 200, { estimated_accuracy: 0.1 })], async () => {
      calls += 1;
      return { from: 'v2', to: 'v1' };
    });
    await Promise.all([watch.check(), watch.check(), watch.check()]);
    expect(calls).toBe(1);
  });
});
