/**
 * End to end: `mldeploy drift` against an in-process server on a fixture model, with small
 * CIFAR-10 / CIFAR-100 copies in the official binary formats written by the test.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DRIFT_RESULT_SCHEMA_VERSION, parseDriftResult } from '../src/drift/result';
import { runDrift } from '../src/drift/runner';
import { encodePng } from '../src/preprocess';
import { readPredictionLog, RunningServer, startServer } from '../src/serve';
import { runCli, writeCifar100Binary, writeCifar10Binary } from './helpers/drift-fixtures';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

const SAMPLES = 30;
let tmp: string;
let modelDir: string;
let server: RunningServer;
let cifar10: string;
let cifar100: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-drift-e2e-'));
  modelDir = await createModelFixture(path.join(tmp, 'models'));
  server = await startServer({ modelPath: modelDir, port: 0, host: '127.0.0.1', workers: 1, logDir: path.join(tmp, 'logs'), logLevel: 'silent' });
  cifar10 = await writeCifar10Binary(path.join(tmp, 'cifar10'), 60);
  cifar100 = await writeCifar100Binary(path.join(tmp, 'cifar100'), 40);
});

afterAll(async () => {
  await server?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

function outputArgs(name: string): string[] {
  return ['--out', path.join(tmp, name), '--plots-dir', path.join(tmp, name, 'plots'), '--data-dir', path.join(tmp, 'data')];
}

function outputsOf(name: string): string[] {
  return [
    path.join(tmp, name, 'performance_log.json'),
    path.join(tmp, name, 'drift_report.txt'),
    path.join(tmp, name, 'drift_report.html'),
    path.join(tmp, name, 'plots', 'drift_analysis.png'),
  ];
}

describe('mldeploy drift --url (in-process server)', () => {
  it('replays every scenario, writes the four outputs, and passes a gate that holds (exit 0)', async () => {
    const run = await runCli([
      'drift', '--url', server.url, '--samples', String(SAMPLES), '--scenarios', 'clean,noisy,very_noisy,cifar100',
      '--data', cifar10, '--cifar100', cifar100, '--concurrency', '4', '--fail-on', 'psi>1000', ...outputArgs('pass'),
    ]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('gate passed: psi>1000');
    const [json, text, html, png] = outputsOf('pass');
    for (const file of [json, text, html, png]) expect(existsSync(file)).toBe(true);

    const result = parseDriftResult(JSON.parse(readFileSync(json, 'utf8')));
    expect(result.schema_version).toBe(DRIFT_RESULT_SCHEMA_VERSION);
    expect(result.target).toMatchObject({ url: server.url, mode: 'url', model_version: server.version });
    expect(result.scenarios.map((s) => s.name)).toEqual(['clean', 'noisy', 'very_noisy', 'cifar100']);
    const [clean, noisy, veryNoisy, c100] = result.scenarios;
    for (const s of result.scenarios) {
      expect(s.samples).toBe(SAMPLES);
      expect(s.success_rate).toBe(1);
      expect(s.predictions).toHaveLength(SAMPLES);
      expect(s.confidences.every((c) => c !== null && c > 0 && c <= 1)).toBe(true);
      expect(Object.values(s.class_counts).reduce((a, b) => a + b, 0)).toBe(SAMPLES);
      expect(s.latency_ms.p50).toBeGreaterThan(0);
      expect(s.latency_ms.p99! >= s.latency_ms.p95! && s.latency_ms.p95! >= s.latency_ms.p50!).toBe(true);
    }
    // clean is the reference; the same images plus noise drift on the noise signal.
    expect(clean.drift).toBeNull();
    expect(clean.accuracy).not.toBeNull();
    expect(clean.true_labels).toHaveLength(SAMPLES);
    expect(noisy.drift!.psi.noise).toBeGreaterThan(1);
    // PSI saturates once every image leaves the reference's bins; the measured noise keeps rising.
    expect(veryNoisy.input_stats.noise.mean).toBeGreaterThan(noisy.input_stats.noise.mean);
    expect(noisy.input_stats.noise.mean).toBeGreaterThan(clean.input_stats.noise.mean);
    expect(noisy.drift!.verdict).toBe('significant');
    expect(Object.keys(noisy.drift!.ks)).toEqual(['confidence', 'mean_r', 'mean_g', 'mean_b', 'std_r', 'std_g', 'std_b', 'brightness', 'noise', 'entropy']);
    expect(noisy.drift!.chi2.dof).toBeGreaterThanOrEqual(0);
    // The detector runs over HTTP on all_probabilities against the clean replay; the fixture has no calibration, so no estimate.
    expect(noisy.drift!.detected).toBe(true);
    expect(noisy.drift!.tests).toHaveLength(19);
    expect(clean.estimated_accuracy).toBeNull();
    expect(clean.estimated_accuracy_note).toMatch(/calibration/);
    // CIFAR-100 has no CIFAR-10 labels: never scored.
    expect(c100.accuracy).toBeNull();
    expect(c100.true_labels).toBeNull();
    expect(c100.labelled).toBe(false);
    expect(result.gate).toEqual({ rules: ['psi>1000'], passed: true, failures: [], skipped: [] });

    // The prediction log shows the images arrived through the public /predict route.
    const logged = readPredictionLog(path.join(tmp, 'logs', 'predictions.jsonl'));
    expect(logged.length).toBeGreaterThanOrEqual(4 * SAMPLES);
    expect(new Set(logged.map((r) => r.route))).toEqual(new Set(['predict']));
  });

  it('fails the gate with exit 1, naming rule, scenario and value on stderr and in the reports', async () => {
    const run = await runCli([
      'drift', '--url', server.url, '--samples', String(SAMPLES), '--scenarios', 'clean,noisy', '--data', cifar10,
      '--fail-on', 'psi>0.2', '--fail-on', 'clean:success_rate<0.5', ...outputArgs('fail'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gate failed: rule psi>0\.2 failed on scenario noisy: value \d/);
    expect(run.stderr).not.toContain('scenario clean');
    const result = parseDriftResult(JSON.parse(readFileSync(outputsOf('fail')[0], 'utf8')));
    expect(result.gate.passed).toBe(false);
    expect(result.gate.failures).toEqual([{ rule: 'psi>0.2', scenario: 'noisy', value: result.scenarios[1].drift!.psi_max }]);
    expect(readFileSync(outputsOf('fail')[1], 'utf8')).toContain('FAILED: rule psi>0.2 failed on scenario noisy');
    expect(readFileSync(outputsOf('fail')[2], 'utf8')).toContain('rule psi&gt;0.2 failed on scenario noisy');
  });

  it('is reproducible with --seed', async () => {
    const args = (name: string) => [
      'drift', '--url', server.url, '--samples', '10', '--scenarios', 'clean,noisy', '--data', cifar10, '--seed', '5', ...outputArgs(name),
    ];
    await runCli(args('seed-a'));
    await runCli(args('seed-b'));
    const read = (name: string) => parseDriftResult(JSON.parse(readFileSync(outputsOf(name)[0], 'utf8')));
    const [a, b] = [read('seed-a'), read('seed-b')];
    expect(b.scenarios.map((s) => s.predictions)).toEqual(a.scenarios.map((s) => s.predictions));
    expect(b.scenarios[1].drift!.psi).toEqual(a.scenarios[1].drift!.psi);
  });

  it('adds a scenario from a class folder, labelled by folder names', async () => {
    const folder = path.join(tmp, 'mine');
    const pixels = syntheticImages(6, 99);
    for (let i = 0; i < 6; i++) {
      const dir = path.join(folder, i % 2 === 0 ? 'cat' : 'dog');
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, `${i}.png`), await encodePng(pixels.subarray(i * 3072, (i + 1) * 3072)));
    }
    const run = await runCli([
      'drift', '--url', server.url, '--samples', '10', '--scenarios', 'clean', '--scenario', `mine=${folder}`,
      '--data', cifar10, '--fail-on', 'mine:accuracy<0', ...outputArgs('folder'),
    ]);
    expect(run.code).toBe(0);
    const result = parseDriftResult(JSON.parse(readFileSync(outputsOf('folder')[0], 'utf8')));
    const mine = result.scenarios[1];
    expect(mine).toMatchObject({ name: 'mine', samples: 6, labelled: true });
    expect(new Set(mine.true_labels)).toEqual(new Set(['cat', 'dog']));
    expect(mine.accuracy).not.toBeNull();
  });
});

describe('mldeploy drift exit 2 before replaying anything', () => {
  let requests = 0;
  let counting: http.Server;
  let countingUrl: string;

  beforeAll(async () => {
    // Forwards to the real server and counts /predict calls, to prove nothing was replayed.
    counting = http.createServer((req, res) => {
      if (req.url === '/predict') requests += 1;
      const upstream = http.request(server.url + req.url, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve));
    countingUrl = `http://127.0.0.1:${(counting.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    counting.closeAllConnections();
    await new Promise((resolve) => counting.close(resolve));
  });

  beforeEach(() => {
    requests = 0;
  });

  it('for an unparsable rule, naming it', async () => {
    const run = await runCli(['drift', '--url', countingUrl, '--scenarios', 'clean,noisy', '--data', cifar10, '--fail-on', 'psi>>0.2', ...outputArgs('bad-rule')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --fail-on rule "psi>>0.2"');
    expect(requests).toBe(0);
    expect(existsSync(path.join(tmp, 'bad-rule'))).toBe(false);
  });

  it('for an unreachable API', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runCli(['drift', '--url', `http://127.0.0.1:${port}`, '--scenarios', 'clean', '--data', cifar10, ...outputArgs('unreachable')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(existsSync(path.join(tmp, 'unreachable'))).toBe(false);
  });

  it('when CIFAR-100 is asked for but cannot be had, naming --cifar100, MLDEPLOY_CIFAR100 and --scenarios', async () => {
    // The default download, pointed at a port where nothing listens (as offline as it gets).
    const options = {
      url: countingUrl, samples: 5, scenarios: ['clean', 'noisy', 'cifar100'], customScenarios: [], concurrency: 2, timeoutMs: 2000,
      retries: 0, seed: 1, data: cifar10, dataDir: path.join(tmp, 'empty-data'), outDir: path.join(tmp, 'no-c100'),
      plotsDir: path.join(tmp, 'no-c100'), reference: 'baseline' as const, failOn: ['psi>0.2'],
      cifar100Archive: {
        name: 'CIFAR-100', url: 'http://127.0.0.1:1/cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8',
        folder: 'cifar-100-binary', option: '--cifar100', env: 'MLDEPLOY_CIFAR100',
      },
    };
    const saved = process.env.MLDEPLOY_CIFAR100;
    delete process.env.MLDEPLOY_CIFAR100;
    try {
      const failure = runDrift(options);
      await expect(failure).rejects.toMatchObject({ exitCode: 2 });
      await expect(failure).rejects.toThrow(/--cifar100.*MLDEPLOY_CIFAR100.*--scenarios clean,noisy,very_noisy/);
    } finally {
      if (saved !== undefined) process.env.MLDEPLOY_CIFAR100 = saved;
    }
    expect(requests).toBe(0);
    expect(existsSync(path.join(tmp, 'no-c100'))).toBe(false);
  });

  it('when a --cifar100 path does not exist', async () => {
    const run = await runCli(['drift', '--url', countingUrl, '--cifar100', path.join(tmp, 'nope.tar.gz'), '--data', cifar10, ...outputArgs('no-path')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--cifar100 (or MLDEPLOY_CIFAR100)');
    expect(requests).toBe(0);
  });
});

describe('mldeploy drift --model', () => {
  it('serves the model in-process for the run, with the model reference profile', async () => {
    const run = await runCli([
      'drift', '--model', modelDir, '--samples', '12', '--scenarios', 'clean,blur', '--reference', 'model', '--data', cifar10,
      '--fail-on', 'psi>1000', ...outputArgs('model-mode'),
    ]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const result = parseDriftResult(JSON.parse(readFileSync(outputsOf('model-mode')[0], 'utf8')));
    expect(result.target.mode).toBe('model');
    expect(result.target.url).not.toBe(server.url);
    expect(result.reference).toMatchObject({ kind: 'model', scenario: null, samples: 64 });
    // With the model's profile as reference, clean gets drift statistics too.
    expect(result.scenarios.map((s) => s.drift !== null)).toEqual([true, true]);
    expect(result.scenarios[0].accuracy_drop).toBeCloseTo(0.1 - result.scenarios[0].accuracy!, 10);
  });
});
