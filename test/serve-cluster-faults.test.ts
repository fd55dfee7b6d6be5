/**
 * Faults in cluster mode, against real `mldeploy serve --workers 2` processes: SIGHUP to the
 * whole process group during start-up, crashed workers replaced with growing delays, a
 * replacement that fails at start-up not restarted in a loop, a worker that dies during the
 * initial start-up failing the server with exit 1, and an unwritable prediction log.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RestartBackoff } from '../src/serve/cluster-primary';
import { createModelFixture } from './helpers/model-fixture';
import { workerPids, runServe, startServe, until } from './helpers/serve-cli';

jest.setTimeout(90_000);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-cluster-'));
const modelsDir = path.join(workDir, 'models');

beforeAll(async () => {
  await createModelFixture(modelsDir, { seed: 14 });
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const ping = async (url: string) => (await fetch(`${url}/ping`)).status;

it('RestartBackoff doubles the delay per crash up to a cap, and starts over after a quiet minute', () => {
  const backoff = new RestartBackoff(100, 1000, 60_000);
  expect([0, 1, 2, 3, 4, 5].map((t) => backoff.next(t * 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  expect(backoff.next(5000 + 60_001)).toBe(100);
});

it('SIGHUP to the process group during start-up does not stop the server; the workers reload once all are ready', async () => {
  const proc = runServe(['--model', modelsDir, '--workers', '2', '--port', '0', '--log-dir', path.join(workDir, 'logs-hup')], { detached: true });
  const pid = proc.child.pid!;
  try {
    await until(() => workerPids(pid).length === 2, 'the workers to be forked');
    process.kill(-pid, 'SIGHUP'); // primary and both workers, while the workers load the model
    const url = await new Promise<string>((resolve, reject) => {
      void proc.exited.then((code) => reject(new Error(`serve exited (${code}) after SIGHUP: ${proc.stderr()}`)));
      const timer = setInterval(() => {
        const match = /listening on (http:\/\/\S+)/.exec(proc.stdout());
        if (match) {
          clearInterval(timer);
          resolve(match[1]);
        }
      }, 50);
    });
    expect(proc.stdout()).toContain('SIGHUP during start-up');
    await until(() => (proc.stdout().match(/reloaded: still/g) ?? []).length === 2, 'both workers to reload');
    expect(await ping(url)).toBe(200);
  } finally {
    proc.child.kill('SIGTERM');
  }
  expect(await proc.exited).toBe(0);
});

it('replaces a crashed worker after a growing delay, and does not restart one that fails at start-up', async () => {
  const models = path.join(workDir, 'models-crash');
  fs.cpSync(modelsDir, models, { recursive: true, verbatimSymlinks: true });
  const server = await startServe(['--model', path.join(models, 'latest'), '--workers', '2', '--log-dir', path.join(workDir, 'logs-crash')]);
  const pid = server.child.pid!;
  try {
    const crash = async (expected: RegExp) => {
      const [victim] = workerPids(pid);
      process.kill(victim, 'SIGKILL');
      await until(() => expected.test(server.stdout()), `the notice ${expected}`);
    };
    await crash(/exited with SIGKILL; starting a replacement in 100 ms/);
    await until(() => server.stdout().includes('ready (2 of 2 serving)'), 'the replacement');
    await crash(/exited with SIGKILL; starting a replacement in 200 ms/);
    await until(() => (server.stdout().match(/ready \(2 of 2 serving\)/g) ?? []).length === 2, 'the second replacement');
    expect(await ping(server.url)).toBe(200);

    // The model on disk breaks: a replacement would fail to load it, every time.
    const broken = path.join(models, 'v9_2020_01_01');
    fs.cpSync(fs.realpathSync(path.join(models, 'latest')), broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'model.json'), '{"broken": ');
    fs.rmSync(path.join(models, 'latest'));
    fs.symlinkSync('v9_2020_01_01', path.join(models, 'latest'));
    await crash(/failed during start-up \(cannot load the model in [^)]*\); not restarting it; 1 of 2 workers serving/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.stdout().match(/failed during start-up/g)).toHaveLength(1);
    expect(workerPids(pid)).toHaveLength(1);
    expect(await ping(server.url)).toBe(200);
  } finally {
    server.child.kill('SIGTERM');
  }
  expect(await server.exited).toBe(0);
});

it('exits 1 with one line when a worker dies during the initial start-up without a word', async () => {
  const preload = path.join(workDir, 'crash-worker.js');
  fs.writeFileSync(preload, "if (require('node:cluster').isWorker) setTimeout(() => process.exit(7), 200);\n");
  const proc = runServe(['--model', modelsDir, '--workers', '2', '--port', '0', '--log-dir', path.join(workDir, 'logs-dead')], { nodeArgs: ['-r', preload] });
  const code = await Promise.race([proc.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 30_000))]);
  if (code === 'still running') proc.child.kill('SIGKILL');
  expect(code).toBe(1);
  expect(proc.stderr().trim()).toMatch(/^error: worker \d+ failed during start-up: exited with code 7$/);
});

it('keeps serving when the primary cannot write predictions.jsonl, and counts the lost lines in the aggregated /metrics', async () => {
  const logDir = path.join(workDir, 'logs-unwritable');
  fs.mkdirSync(path.join(logDir, 'predictions.jsonl'), { recursive: true });
  const server = await startServe(['--model', modelsDir, '--workers', '2', '--log-dir', logDir]);
  try {
    const { encodePng } = await import('../src/preprocess');
    const { syntheticImages } = await import('./helpers/model-fixture');
    const image = (await encodePng(syntheticImages(1, 3))).toString('base64');
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image_base64: image }) });
      expect(res.status).toBe(200);
    }
    let metrics = '';
    for (let i = 0; i < 40 && !/mldeploy_prediction_log_dropped_total 4\b/.test(metrics); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await (await fetch(`${server.url}/metrics`)).text();
    }
    expect(metrics).toMatch(/mldeploy_prediction_log_dropped_total 4\b/);
    expect(metrics).toMatch(/mldeploy_tensors \d+/);
    expect(server.stdout().match(/prediction log: cannot write/g)).toHaveLength(1);
  } finally {
    server.child.kill('SIGTERM');
  }
  expect(await server.exited).toBe(0);
});
