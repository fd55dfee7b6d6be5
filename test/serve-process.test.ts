/**
 * `mldeploy serve` as a real process: ready line, SIGHUP reload, graceful SIGTERM with requests in
 * flight, cluster mode (shared port, aggregated metrics, one prediction log), and a clear exit 1
 * for a missing or corrupt model. The TypeScript sources run through a transpile-only hook.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodePng } from '../src/preprocess';
import { readPredictionLog } from '../src/serve';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

const ROOT = path.resolve(__dirname, '..');

interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function runServe(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', './scripts/ts-register.js', 'test/helpers/mldeploy-from-sources.ts', 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function startServe(args: string[]): Promise<ServeProcess> {
  const proc = runServe(['--port', '0', ...args]);
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(proc.stdout());
      if (match) resolve(match[1]);
    };
    proc.child.stdout!.on('data', check);
    void proc.exited.then((code) => reject(new Error(`serve exited (${code}): ${proc.stderr()}`)));
  });
  return { child: proc.child, url, stdout: proc.stdout, exited: proc.exited };
}

async function predict(url: string, body: object, route = '/predict'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('mldeploy serve process', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-proc-'));
  const modelsDir = path.join(workDir, 'models');
  let images: string[];

  beforeAll(async () => {
    await createModelFixture(modelsDir, { seed: 8 });
    const pixels = syntheticImages(64, 3);
    images = await Promise.all(Array.from({ length: 64 }, async (_, i) => (await encodePng(pixels.subarray(i * 3072, (i + 1) * 3072))).toString('base64')));
  });

  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('prints URL, version and engine; SIGHUP reloads; SIGTERM finishes in-flight requests, flushes the log, exits 0', async () => {
    const logDir = path.join(workDir, 'logs-single');
    const server = await startServe(['--model', modelsDir, '--workers', '1', '--log-dir', logDir]);
    expect(server.stdout()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \| model v1_\d{4}_\d{2}_\d{2} \| engine (wasm|node|cpu) \| 1 worker/);

    const v2 = path.basename(await createModelFixture(modelsDir, { seed: 9 }));
    server.child.kill('SIGHUP');
    await until(() => server.stdout().includes(`now serving ${v2}`), 'the SIGHUP reload');
    expect((await predict(server.url, { image_base64: images[0] })).body.model_version).toBe(v2);

    const inFlight = predict(server.url, { images }, '/predict/batch');
    await new Promise((resolve) => setTimeout(resolve, 30));
    server.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body.predictions).toHaveLength(64);
    expect(await server.exited).toBe(0);
    expect(readPredictionLog(path.join(logDir, 'predictions.jsonl'))).toHaveLength(65);
    await expect(fetch(server.url + '/ping')).rejects.toThrow();
  });

  it('runs 2 workers on one port with aggregated /metrics and one prediction log; stops cleanly', async () => {
    const logDir = path.join(workDir, 'logs-cluster');
    const server = await startServe(['--model', modelsDir, '--workers', '2', '--log-dir', logDir]);
    expect(server.stdout()).toContain('| 2 workers |');
    const responses = await Promise.all(images.slice(0, 40).map((image) => predict(server.url, { image_base64: image })));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/mldeploy_http_requests_total\{method="POST",route="predict",status="200"\} 40\b/);
    // The version gauge is aggregated by max, not summed over workers.
    expect(metrics).toMatch(/mldeploy_model_info\{[^}]+\} 1\n/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(readPredictionLog(path.join(logDir, 'predictions.jsonl'))).toHaveLength(40);
  });

  it('exits 1 with one clear line when the model is missing or corrupt', async () => {
    const missing = runServe(['--model', path.join(workDir, 'nowhere'), '--workers', '1', '--port', '0']);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr().trim()).toMatch(/^error: model path not found: .*nowhere$/);

    const corruptDir = path.join(workDir, 'corrupt');
    fs.cpSync(path.join(modelsDir, 'latest'), corruptDir, { recursive: true, dereference: true });
    fs.writeFileSync(path.join(corruptDir, 'model.json'), '{"not": "a model"');
    const corrupt = runServe(['--model', corruptDir, '--workers', '2', '--port', '0']);
    expect(await corrupt.exited).toBe(1);
    expect(corrupt.stderr().trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr()).toMatch(/^error: cannot load the model in /);
  });
});
