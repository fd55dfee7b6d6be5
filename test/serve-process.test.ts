/**
 * `mldeploy serve` as a real process: ready line, SIGHUP reload, graceful SIGTERM with requests in
 * flight, cluster mode (shared port, aggregated metrics, one prediction log), and a clear exit 1
 * for a missing or corrupt model. The TypeScript sources run through a transpile-only hook.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodePng } from '../src/preprocess';
import { readPredictionLog } from '../src/serve';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';
import { runServe, startServe, until } from './helpers/serve-cli';

async function predict(url: string, body: object, route = '/predict'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
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
    expect(server.stdout()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \| model v1_\d{4}_\d{2}_\d{2} \| engine (wasm|node|cpu)( \(skipped [^)]+\))? \| 1 worker/);

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
    // With tfjs-node ruled out, the ready line says why it is not the engine, as train's engine line does.
    const server = await startServe(['--model', modelsDir, '--workers', '2', '--log-dir', logDir], { env: { MLDEPLOY_SKIP_NODE: '1' } });
    expect(server.stdout()).toMatch(/ \| engine (wasm|cpu) \(skipped node: [^)]*MLDEPLOY_SKIP_NODE=1[^|]*\) \| 2 workers \|/);
    const responses = await Promise.all(images.slice(0, 40).map((image) => predict(server.url, { image_base64: image })));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/mldeploy_http_requests_total\{method="POST",route="predict",status="200",version="v\d+_\d{4}_\d{2}_\d{2}"\} 40\b/);
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

  it('exits 2 with one line for limits that cannot work, before starting any worker', async () => {
    const inverted = runServe(['--model', modelsDir, '--workers', '2', '--port', '0', '--headers-timeout', '40', '--request-timeout', '30']);
    expect(await inverted.exited).toBe(2);
    expect(inverted.stderr().trim()).toBe('error: the headers timeout (40000 ms) must not exceed the request timeout (30000 ms)');
    const zero = runServe(['--model', modelsDir, '--workers', '1', '--port', '0', '--max-queue', '0']);
    expect(await zero.exited).toBe(2);
    expect(zero.stderr()).toMatch(/^error: --max-queue must be an integer >= 1, got "0"/);
  });
});
