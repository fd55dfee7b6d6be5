/**
 * `mldeploy drift` fails closed: a refused API key, failed requests, a target that dies and a
 * deadline never end in "gate passed". Each case failed open (exit 0) before.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../src/errors';
import { parseDriftResult, type DriftResult } from '../src/drift/result';
import { RunningServer, startServer } from '../src/serve';
import { runCli, writeCifar10Binary } from './helpers/drift-fixtures';
import { CIFAR10_CLASSES, createModelFixture } from './helpers/model-fixture';
import { TinyServer, json, tinyServer } from './helpers/tiny-server';

let tmp: string;
let cifar10: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-drift-closed-'));
  cifar10 = await writeCifar10Binary(path.join(tmp, 'cifar10'), 40);
});

afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

function outputArgs(name: string): string[] {
  return ['--out', path.join(tmp, name), '--plots-dir', path.join(tmp, name), '--data-dir', path.join(tmp, 'data')];
}

function reportsOf(name: string): { result: DriftResult; text: string; html: string } {
  const read = (file: string) => readFileSync(path.join(tmp, name, file), 'utf8');
  return { result: parseDriftResult(JSON.parse(read('performance_log.json'))), text: read('drift_report.txt'), html: read('drift_report.html') };
}

describe('an API key the server refuses', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const model = await createModelFixture(path.join(tmp, 'models'));
    server = await startServer({ modelPath: model, port: 0, host: '127.0.0.1', workers: 1, logDir: path.join(tmp, 'logs'), logLevel: 'silent', apiKey: 'K' });
  });
  afterAll(() => server?.close());

  const args = (name: string, rule = 'psi>0.1') => [
    'drift', '--url', server.url, '--samples', '10', '--scenarios', 'clean', '--reference', 'model', '--data', cifar10, '--fail-on', rule, ...outputArgs(name),
  ];

  it('is exit 2 naming --api-key and MLDEPLOY_API_KEY, before anything is replayed or written', async () => {
    const saved = process.env.MLDEPLOY_API_KEY;
    delete process.env.MLDEPLOY_API_KEY;
    try {
      const run = await runCli(args('no-key'));
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/refused POST \/predict \(HTTP 401\): it needs an API key; pass --api-key or set MLDEPLOY_API_KEY/);
      expect(run.stdout).not.toContain('gate passed');
      expect(existsSync(path.join(tmp, 'no-key'))).toBe(false);
      const wrong = await runCli([...args('wrong-key'), '--api-key', 'nope']);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('the API key was not accepted; check --api-key or MLDEPLOY_API_KEY');
    } finally {
      if (saved !== undefined) process.env.MLDEPLOY_API_KEY = saved;
    }
  });

  it('and the right key passes', async () => {
    const run = await runCli([...args('right-key', 'psi>1000'), '--api-key', 'K']);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
  });
});

/** A stand-in prediction API: `answer(n)` decides the n-th POST /predict (1 = drift's check request). */
async function fakeTarget(answer: (n: number) => 'ok' | 'bad' | 'die' | 'slow'): Promise<TinyServer> {
  let predicts = 0;
  const server: TinyServer = await tinyServer((req, _body, res) => {
    if (req.url === '/ping') return json(res, 200, { status: 'healthy', model_loaded: true });
    if (req.url === '/model-info') return json(res, 200, { model_type: 'Fake', version: 'v1', class_names: CIFAR10_CLASSES, test_accuracy: 0.5 });
    const n = ++predicts;
    const prediction = { predicted_class: CIFAR10_CLASSES[n % 10], confidence: 0.5 + (n % 5) / 10 };
    switch (answer(n)) {
      case 'ok':
        return json(res, 200, prediction);
      case 'bad':
        return json(res, 400, { error: { code: 'invalid_image', message: 'no' } });
      case 'slow':
        return setTimeout(() => json(res, 200, prediction), 500);
      case 'die':
        return void server.close();
    }
  });
  servers.push(server);
  return server;
}

const servers: TinyServer[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => s.close())));

describe('failed requests', () => {
  const SAMPLES = 20;
  const args = (url: string, name: string, ...extra: string[]) => [
    'drift', '--url', url, '--samples', String(SAMPLES), '--scenarios', 'clean,noisy', '--data', cifar10, '--retries', '0', ...outputArgs(name), ...extra,
  ];

  it('below --min-success-rate fail the gate whatever the rules say, with the reason in every report', async () => {
    // 2 of clean's 20 requests answered 400 (requests 2..21 are clean's).
    const target = await fakeTarget((n) => (n === 5 || n === 9 ? 'bad' : 'ok'));
    const run = await runCli(args(target.url, 'low-success', '--fail-on', 'psi>1000'));
    expect(run.code).toBe(1);
    const line = 'rule success_rate<0.99 failed on scenario clean: value 0.9000 (below --min-success-rate 0.99: 18 of 20 answered (http_400 x2))';
    expect(run.stderr).toContain(`gate failed: ${line}`);
    const { result, text, html } = reportsOf('low-success');
    expect(result.config.min_success_rate).toBe(0.99);
    expect(result.gate.passed).toBe(false);
    expect(result.gate.failures).toEqual([{ rule: 'success_rate<0.99', scenario: 'clean', value: 0.9, reason: 'below --min-success-rate 0.99: 18 of 20 answered (http_400 x2)' }]);
    expect(text).toContain(`FAILED: ${line}`);
    expect(html).toContain(line.replace('<', '&lt;'));

    const lenient = await runCli(args(target.url, 'lenient', '--fail-on', 'psi>1000', '--min-success-rate', '0.8'));
    expect(lenient.code).toBe(0);
  });

  it('with no rules at all still fail the gate', async () => {
    const target = await fakeTarget((n) => (n > 1 ? 'bad' : 'ok'));
    const run = await runCli(args(target.url, 'no-rules'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gate failed: rule success_rate<0.99 failed on scenario clean: value 0 /);
  });

  it('leave a rule without a value: that is a failure, not a skip', async () => {
    // clean answers; every one of noisy's requests fails.
    const target = await fakeTarget((n) => (n <= 1 + SAMPLES ? 'ok' : 'bad'));
    const run = await runCli(args(target.url, 'null-metric', '--fail-on', 'psi>1000', '--fail-on', 'noisy:p95_ms>1000', '--min-success-rate', '0'));
    expect(run.code).toBe(1);
    const { result, text } = reportsOf('null-metric');
    expect(result.gate.skipped).toEqual([]);
    expect(result.gate.failures).toEqual([
      { rule: 'psi>1000', scenario: 'noisy', value: null, reason: `no successful request (http_400 x${SAMPLES})` },
      { rule: 'noisy:p95_ms>1000', scenario: 'noisy', value: null, reason: `no successful request (http_400 x${SAMPLES})` },
    ]);
    expect(text).toContain(`FAILED: rule psi>1000 failed on scenario noisy: no value, no successful request (http_400 x${SAMPLES})`);
  });
});

describe('a run that stops early', () => {
  it('when the target dies mid-run: reports what was measured, marked incomplete, exit 1', async () => {
    const target = await fakeTarget((n) => (n <= 1 + 20 + 5 ? 'ok' : 'die'));
    const run = await runCli([
      'drift', '--url', target.url, '--samples', '20', '--scenarios', 'clean,noisy,very_noisy', '--data', cifar10, '--concurrency', '2',
      '--retries', '1', '--fail-on', 'psi>1000', ...outputArgs('died'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gate failed: run incomplete: stopped in scenario noisy: the target stopped answering/);
    const { result, text, html } = reportsOf('died');
    expect(result.complete).toBe(false);
    expect(result.incomplete_reason).toMatch(/^stopped in scenario noisy: the target stopped answering \(.*GET \/ping: ECONNREFUSED\) after \d+ of 20 images; not replayed: very_noisy$/);
    expect(result.gate.passed).toBe(false);
    expect(result.scenarios.map((s) => s.name)).toEqual(['clean', 'noisy']);
    expect(result.scenarios[0]).toMatchObject({ success_rate: 1, requests: { succeeded: 20, unsent: 0 } });
    const noisy = result.scenarios[1];
    expect(noisy.requests.succeeded).toBeLessThanOrEqual(5);
    expect(noisy.requests.unsent).toBeGreaterThan(0);
    expect(noisy.requests.succeeded + noisy.requests.failed + noisy.requests.unsent).toBe(20);
    expect(text).toContain(`INCOMPLETE: ${result.incomplete_reason}`);
    expect(text).toContain(`FAILED: run incomplete: ${result.incomplete_reason}`);
    expect(html).toContain('Incomplete run:');
  });

  it('at --deadline: reports what was measured, marked incomplete, exit 1', async () => {
    // 500 ms per request, one at a time: the two scenarios would need 20 s.
    const target = await fakeTarget(() => 'slow');
    const run = await runCli([
      'drift', '--url', target.url, '--samples', '20', '--scenarios', 'clean,noisy', '--data', cifar10, '--concurrency', '1',
      '--deadline', '3', ...outputArgs('deadline'),
    ]);
    expect(run.code).toBe(1);
    const { result } = reportsOf('deadline');
    expect(result.config.deadline_s).toBe(3);
    expect(result.complete).toBe(false);
    expect(result.incomplete_reason).toMatch(/^stopped in scenario clean: --deadline 3 s reached after \d+ of 20 images; not replayed: noisy$/);
    expect(result.scenarios[0].requests.unsent).toBeGreaterThan(0);
    expect(result.scenarios[0].requests.failed).toBe(0);
  });

  it('at --deadline before anything was replayed: exit 1 naming the stage, nothing written', async () => {
    // /model-info never answers (and the per-request timeout is long).
    const target = await tinyServer((req, _body, res) => (req.url === '/ping' ? json(res, 200, { status: 'healthy', model_loaded: true }) : undefined));
    servers.push(target);
    const run = await runCli([
      'drift', '--url', target.url, '--scenarios', 'clean', '--data', cifar10, '--timeout-ms', '60000', '--deadline', '0.5', ...outputArgs('setup-deadline'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--deadline 0.5 s reached while reaching the API; nothing was replayed');
    expect(existsSync(path.join(tmp, 'setup-deadline'))).toBe(false);
  });

  it('refuses a --deadline that is not a positive number', async () => {
    const run = await runCli(['drift', '--url', 'http://127.0.0.1:1', '--deadline', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--deadline must be a number > 0');
  });
});

describe('parseDriftResult', () => {
  it('throws a DataError naming the bad field', () => {
    expect(() => parseDriftResult({ schema_version: 1 })).toThrow(DataError);
    expect(() => parseDriftResult({ schema_version: 1 })).toThrow(/performance_log.json is invalid at "generated_at"/);
  });
});
