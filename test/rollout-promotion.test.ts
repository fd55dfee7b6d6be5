/**
 * Guarded promotion: `models promote <v> --url --require` against a fake server answering the
 * /monitoring contract (docs/models.md), and the rule grammar and checks on their own.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../src/errors';
import { AUDIT_FILE, LABELS_FILE } from '../src/model/registry/store';
import { parseFigureRule } from '../src/rollout/figure-rules';
import type { LiveFigures, VersionFigures } from '../src/rollout/monitoring-contract';
import { checkPromotion, parsePromotionRule, PROMOTION_GRAMMAR } from '../src/rollout/promotion-rules';
import { runCli } from './helpers/cli-run';
import { useRegistryDir, versionName } from './helpers/registry-fixture';
import { json, tinyServer, type TinyServer } from './helpers/tiny-server';

const [v1, v2] = [1, 2].map(versionName);

function figures(version: string, role: VersionFigures['role'], overrides: Partial<VersionFigures> = {}): VersionFigures {
  return {
    version,
    labels: role === 'other' ? [] : [role],
    role,
    traffic_percent: role === 'stable' ? 100 : 0,
    requests: 400,
    errors: 2,
    error_rate: 0.005,
    latency_p95_ms: 12,
    estimated_accuracy: { value: 0.7 },
    window: { size: 500, samples: 400 },
    ...overrides,
  };
}

const live = (candidate: Partial<VersionFigures> = {}, shadow: Partial<NonNullable<LiveFigures['shadow']>> | null = {}): LiveFigures => ({
  versions: [figures(v1, 'stable'), figures(v2, 'shadow', { requests: 0, errors: 0, error_rate: null, latency_p95_ms: null, estimated_accuracy: { value: 0.695 }, ...candidate })],
  shadow: shadow === null ? null : { version: v2, primary_version: v1, compared: 400, agreement: 0.98, mean_confidence_diff: 0.03, latency_p95_ms: 9, skipped: 3, ...shadow },
  rollback: null,
});

describe('promotion rules', () => {
  it.each([
    ['agreement>=0.97', { text: 'agreement>=0.97', figure: 'agreement', op: '>=', threshold: 0.97, relative: false }],
    [' error_rate < 0.01 ', { text: 'error_rate<0.01', figure: 'error_rate', op: '<', threshold: 0.01, relative: false }],
    ['estimated_accuracy>=stable-0.01', { text: 'estimated_accuracy>=stable-0.01', figure: 'estimated_accuracy', op: '>=', threshold: -0.01, relative: true }],
    ['latency_p95_ms <= stable + 5', { text: 'latency_p95_ms<=stable+5', figure: 'latency_p95_ms', op: '<=', threshold: 5, relative: true }],
    ['error_rate<=stable', { text: 'error_rate<=stable', figure: 'error_rate', op: '<=', threshold: 0, relative: true }],
  ])('parses %j', (text, expected) => {
    expect(parsePromotionRule(text)).toEqual(expected);
  });

  it.each([
    ['agreement', /quote rules in a shell/],
    ['agreement=0.9', /expected <figure><op><number> or <figure><op>stable\[\+-<number>\]/],
    ['accuracy>0.9', /unknown figure "accuracy" in --require rule "accuracy>0.9"; figures: agreement, /],
    ['agreement>=stable-0.01', /only estimated_accuracy, error_rate, latency_p95_ms can be compared with the stable version's/],
    ['estimated_accuracy>=stable*2', /invalid --require rule/],
  ])('refuses %j with a usage error', (text, message) => {
    expect(() => parsePromotionRule(text)).toThrow(UsageError);
    expect(() => parsePromotionRule(text)).toThrow(message);
  });

  it('reads a bare flag as flag>0 when the grammar has flags', () => {
    expect(parseFigureRule('drift_detected', { option: '--x', figures: { drift_detected: '' }, flags: ['drift_detected'] })).toMatchObject({ figure: 'drift_detected', op: '>', threshold: 0 });
    expect(() => parseFigureRule('agreement', PROMOTION_GRAMMAR)).toThrow(UsageError);
  });

  const rules = (...texts: string[]) => texts.map(parsePromotionRule);

  it('passes when every rule holds, relative rules against the stable figure', () => {
    const check = checkPromotion(v2, rules('agreement>=0.97', 'estimated_accuracy>=stable-0.01', 'shadow_latency_p95_ms<=50', 'samples>=400'), live());
    expect(check.passed).toBe(true);
    expect(check.stable_version).toBe(v1);
    expect(check.checks[1]).toEqual({ rule: 'estimated_accuracy>=stable-0.01', passed: true, value: 0.695, bound: 0.69, stable_value: 0.7, detail: '0.695 >= 0.69' });
  });

  it('fails the rules that do not hold, each with its value and bound', () => {
    const check = checkPromotion(v2, rules('agreement>=0.99', 'estimated_accuracy>=stable', 'mean_confidence_diff<0.05'), live());
    expect(check.passed).toBe(false);
    expect(check.checks.map((c) => [c.passed, c.detail])).toEqual([
      [false, '0.98 is not >= 0.99'],
      [false, '0.695 is not >= 0.7'],
      [true, '0.03 < 0.05'],
    ]);
  });

  it('fails closed when a figure is missing: no shadow, not the shadow, no estimate, too few samples, not served', () => {
    const reasons = (check: ReturnType<typeof checkPromotion>) => check.checks.map((c) => (c.passed ? 'passed' : c.detail));
    expect(reasons(checkPromotion(v2, rules('agreement>=0.5'), live({}, null)))).toEqual(['no value: the server runs no shadow version (serve --shadow <version>)']);
    expect(reasons(checkPromotion(v1, rules('agreement>=0.5'), live()))).toEqual([`no value: ${v1} is not the shadow version (the shadow is ${v2})`]);
    expect(reasons(checkPromotion(v2, rules('estimated_accuracy>=0.1'), live({ estimated_accuracy: null, window: { size: 500, samples: 30 } })))).toEqual([
      `no value: no accuracy estimate for ${v2} (30 predictions in its window: too few to test, or the model has no calibration)`,
    ]);
    expect(reasons(checkPromotion(v2, rules('agreement>=0.5'), live({}, { compared: 40 })))).toEqual(['no value: only 40 samples behind it, fewer than --min-samples 100']);
    expect(reasons(checkPromotion(v2, rules('agreement>=0.5'), live({}, { compared: 40 }), 40))).toEqual(['passed']);
    expect(reasons(checkPromotion(v2, rules('error_rate<0.01'), live()))).toEqual([`no value: ${v2} has answered no request yet`]);
    expect(reasons(checkPromotion('v9', rules('requests>=0'), live()))).toEqual([`no value: the server does not serve v9 (it serves ${v1}, ${v2})`]);
    const noStableEstimate: LiveFigures = { ...live(), versions: [figures(v1, 'stable', { estimated_accuracy: null }), figures(v2, 'canary')] };
    expect(reasons(checkPromotion(v2, rules('estimated_accuracy>=stable-0.01'), noStableEstimate))).toEqual([
      `no stable figure to compare with: stable (${v1}): no accuracy estimate for ${v1} (400 predictions in its window: too few to test, or the model has no calibration)`,
    ]);
  });
});

describe('mldeploy models promote --url --require', () => {
  const registryDir = useRegistryDir(2, 'promote-test');
  let server: TinyServer;
  let answer: { status: number; body: unknown } = { status: 200, body: live() };
  beforeAll(async () => {
    server = await tinyServer((req, _body, res) => {
      if (req.url !== '/monitoring') return json(res, 404, { error: 'not_found' });
      if (req.headers['x-api-key'] !== 'k') return json(res, 401, { error: 'unauthorized' });
      json(res, answer.status, answer.body);
    });
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    answer = { status: 200, body: live() };
    expect((await runCli('models', 'promote', v1, '--models-dir', registryDir())).code).toBe(0);
  });

  const promote = (...args: string[]) => runCli('models', 'promote', v2, '--models-dir', registryDir(), '--url', server.url, '--api-key', 'k', ...args);
  const labels = () => JSON.parse(readFileSync(path.join(registryDir(), LABELS_FILE), 'utf8')).labels;
  const audit = () => readFileSync(path.join(registryDir(), AUDIT_FILE), 'utf8').trim().split('\n').map((line) => JSON.parse(line));

  it('promotes when every rule holds and records the rule results as the audit reason', async () => {
    const run = await promote('--require', 'agreement>=0.97', '--require', 'estimated_accuracy>=stable-0.01', '--reason', 'canary looked fine');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `${v2} against ${server.url} (stable there: ${v1}):\n  ok     agreement>=0.97: 0.98 >= 0.97\n  ok     estimated_accuracy>=stable-0.01: 0.695 >= 0.69\nstable: ${v1} -> ${v2}\n`,
    );
    expect(labels()).toEqual({ stable: v2 });
    expect(audit().at(-1)).toMatchObject({
      actor: 'promote-test',
      action: 'promote',
      label: 'stable',
      from: v1,
      to: v2,
      reason: 'canary looked fine; guarded promotion: agreement>=0.97 (0.98 >= 0.97); estimated_accuracy>=stable-0.01 (0.695 >= 0.69)',
    });
  });

  it('refuses with exit 1, listing each rule, and changes nothing', async () => {
    answer = { status: 200, body: live({ estimated_accuracy: null }) };
    const before = readFileSync(path.join(registryDir(), AUDIT_FILE), 'utf8');
    const run = await promote('--require', 'agreement>=0.99', '--require', 'estimated_accuracy>=stable-0.01', '--require', 'shadow_latency_p95_ms<=50');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  FAILED agreement>=0.99: 0.98 is not >= 0.99\n');
    expect(run.stdout).toContain(`  FAILED estimated_accuracy>=stable-0.01: no value: no accuracy estimate for ${v2}`);
    expect(run.stdout).toContain('  ok     shadow_latency_p95_ms<=50: 9 <= 50\n');
    expect(run.stdout).toMatch(/not promoted: 2 of 3 rules failed\n$/);
    expect(labels()).toEqual({ stable: v1 });
    expect(readFileSync(path.join(registryDir(), AUDIT_FILE), 'utf8')).toBe(before);
  });

  it('--json gives the checks for scripts', async () => {
    const run = await promote('--require', 'agreement>=0.99', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      version: v2,
      promoted: false,
      change: null,
      checks: [{ rule: 'agreement>=0.99', passed: false, value: 0.98, bound: 0.99 }],
    });
  });

  it('a malformed rule is exit 2 before the server is asked', async () => {
    const asked = server.requests.length;
    const run = await promote('--require', 'agreement>>0.9');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --require rule "agreement>>0.9"');
    expect(server.requests.length).toBe(asked);
    expect((await runCli('models', 'promote', v2, '--models-dir', registryDir(), '--require', 'agreement>=0.9')).code).toBe(2);
  });

  it('an unreachable server, a refused key or an answer without the figures is exit 1 with a clear message', async () => {
    const refused = await runCli('models', 'promote', v2, '--models-dir', registryDir(), '--url', server.url, '--api-key', 'wrong', '--require', 'agreement>=0.9');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`GET ${server.url}/monitoring was refused (HTTP 401); pass the server's key with --api-key`);
    answer = { status: 200, body: { model_version: v1 } };
    const old = await promote('--require', 'agreement>=0.9');
    expect(old.code).toBe(1);
    expect(old.stderr).toContain(`GET ${server.url}/monitoring is invalid at "versions"`);
    const gone = await tinyServer(() => {});
    await gone.close();
    const down = await runCli('models', 'promote', v2, '--models-dir', registryDir(), '--url', gone.url, '--require', 'agreement>=0.9');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/monitoring failed \(ECONNREFUSED\); is the server running at --url\? Nothing was promoted/);
    expect(labels()).toEqual({ stable: v1 });
  });
});
