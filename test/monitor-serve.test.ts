/** The monitor in a running server: GET /monitoring's shape, the gauges (promtool-clean), the log's schema 2, --no-monitor, schema-1 models. */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { encodePng } from '../src/preprocess';
import { readPredictionLog, RunningServer, startServer } from '../src/serve';
import { createMonitoredModelFixture } from './helpers/monitor-model';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

const PIXELS = 32 * 32 * 3;
const WINDOW = 60;
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

async function pngBatch(count: number, seed: number): Promise<string[]> {
  const pixels = syntheticImages(count, seed);
  const pngs = await Promise.all(Array.from({ length: count }, (_, i) => encodePng(pixels.subarray(i * PIXELS, (i + 1) * PIXELS))));
  return pngs.map((png) => png.toString('base64'));
}

describe('GET /monitoring and the monitoring gauges', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-monitor-serve-'));
  const logDir = path.join(workDir, 'logs');
  let server: RunningServer;

  beforeAll(async () => {
    const modelDir = await createMonitoredModelFixture(path.join(workDir, 'models'));
    server = await startServer({ modelPath: modelDir, port: 0, logDir, logLevel: 'silent', monitor: { window: WINDOW } });
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('answers before any traffic with an untested window and the reference', async () => {
    const res = await request(server.app).get('/monitoring').expect(200);
    expect(res.body.model_version).toBe(server.version);
    expect(res.body.window).toMatchObject({ size: WINDOW, samples: 0, min_samples: 50, reference_samples: WINDOW });
    expect(res.body.drift).toMatchObject({ detected: null, alpha: 0.05, tests: [] });
    expect(res.body.drift.reason).toMatch(/^0 of the 50 samples/);
    expect(res.body.estimated_accuracy).toBeNull();
    expect(res.body.class_distribution.reference).toHaveLength(10);
    expect(res.body.unavailable).toBeUndefined();
  });

  it('tests the window once it holds enough predictions, and closes one history entry per window', async () => {
    await request(server.app).post('/predict/batch').send({ images: await pngBatch(64, 21) }).expect(200);
    const { body } = await request(server.app).get('/monitoring').expect(200);
    expect(body.window).toMatchObject({ size: WINDOW, samples: WINDOW, total: 64 });
    expect(typeof body.drift.detected).toBe('boolean');
    // 10 softmax KS tests, the predicted-class chi-square, 8 input-statistic KS tests.
    expect(body.drift.tests).toHaveLength(19);
    for (const t of body.drift.tests) {
      expect(Object.keys(t)).toEqual(expect.arrayContaining(['name', 'signal', 'statistic', 'p_value', 'detected']));
      expect(t.p_value).toBeGreaterThanOrEqual(0);
      expect(t.p_value).toBeLessThanOrEqual(1);
    }
    expect(body.drift.tests.map((t: { signal: string }) => t.signal)).toEqual(expect.arrayContaining(['probability[0]', 'predicted_class', 'brightness', 'noise']));
    expect(body.estimated_accuracy).toEqual({ method: expect.any(String), value: expect.any(Number), ci_low: expect.any(Number), ci_high: expect.any(Number), confidence_level: 0.95 });
    expect(body.estimated_accuracy.ci_low).toBeLessThanOrEqual(body.estimated_accuracy.value);
    expect(body.reference_accuracy).toBe(0.1);
    expect(body.class_distribution.current).toHaveLength(10);
    expect(body.class_distribution.current.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1);
    expect(body.confidence_histogram.bin_edges).toHaveLength(body.confidence_histogram.current.length + 1);
    expect(body.confidence_histogram.reference).toHaveLength(body.confidence_histogram.current.length);
    expect(body.history).toEqual([{ ended_at: expect.any(String), samples: WINDOW, drift_detected: expect.any(Boolean), min_p_value: expect.any(Number), estimated_accuracy: expect.any(Number) }]);
  });

  it('logs schema-2 lines with the probabilities and input statistics the offline monitor reads', async () => {
    await server.close();
    const records = readPredictionLog(path.join(logDir, 'predictions.jsonl'));
    expect(records).toHaveLength(64);
    const first = records[0];
    expect(first.schema_version).toBe(2);
    if (first.schema_version !== 2) return;
    expect(first.probabilities).toHaveLength(10);
    expect(Object.keys(first.input_stats)).toEqual(['mean_r', 'mean_g', 'mean_b', 'std_r', 'std_g', 'std_b', 'brightness', 'noise']);
    expect(first.confidence).toBeCloseTo(Math.max(...first.probabilities), 5);
    server = await startServer({ modelPath: path.join(workDir, 'models', 'latest'), port: 0, logDir, logLevel: 'silent', monitor: { window: WINDOW } });
  });

  it('exports the gauges labelled by model version, test and signal, clean for promtool', async () => {
    await request(server.app).post('/predict/batch').send({ images: await pngBatch(55, 22) }).expect(200);
    const text = (await request(server.app).get('/metrics').expect(200)).text;
    const version = server.version;
    expect(text).toContain(`mldeploy_monitor_window_samples{model_version="${version}"} 55`);
    expect(text).toMatch(new RegExp(`mldeploy_drift_detected\\{model_version="${version}"\\} [01]\\n`));
    expect(text).toMatch(new RegExp(`mldeploy_drift_p_value\\{model_version="${version}",test="ks",signal="probability\\[3\\]"\\} [0-9.e-]+\\n`));
    expect(text).toMatch(new RegExp(`mldeploy_drift_p_value\\{model_version="${version}",test="chi_square",signal="predicted_class"\\} `));
    expect(text).toMatch(new RegExp(`mldeploy_estimated_accuracy\\{model_version="${version}",method="[a-z_]+"\\} 0\\.`));
    const reference = (await request(server.app).get('/monitoring').expect(200)).body.reference_accuracy;
    expect(text).toContain(`mldeploy_reference_accuracy{model_version="${version}"} ${reference}`);
    if (!hasPromtool) return;
    const ours = text.split('\n').filter((line) => /^(# (HELP|TYPE) )?mldeploy_/.test(line)).join('\n') + '\n';
    expect(execFileSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' })).toBe('');
  });

  it('after a reload answers for the new version with a fresh window, and keeps the old version in the gauges', async () => {
    const previous = server.version;
    await createMonitoredModelFixture(path.join(workDir, 'models'), 8);
    const reloaded = await server.reload();
    expect(reloaded.changed).toBe(true);
    const { body } = await request(server.app).get('/monitoring').expect(200);
    expect(body.model_version).toBe(reloaded.version);
    expect(body.window.samples).toBe(0);
    const text = (await request(server.app).get('/metrics')).text;
    expect(text).toContain(`mldeploy_monitor_window_samples{model_version="${previous}"} 55`);
    expect(text).toContain(`mldeploy_monitor_window_samples{model_version="${reloaded.version}"} 0`);
  });
});

describe('monitoring switched off or without a schema-2 reference', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-monitor-off-'));
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await createModelFixture(path.join(workDir, 'models'), { seed: 4 });
  });

  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('--no-monitor: /monitoring is 404, no monitoring gauges, and schema-1 log lines (none of the per-prediction work)', async () => {
    const server = await startServer({ modelPath: modelDir, port: 0, logDir: path.join(workDir, 'off'), logLevel: 'silent', monitor: false });
    try {
      await request(server.app).post('/predict/batch').send({ images: await pngBatch(2, 24) }).expect(200);
      const res = await request(server.app).get('/monitoring').expect(404);
      expect(res.body.error).toEqual({ code: 'monitoring_disabled', message: 'the server was started with --no-monitor' });
      expect((await request(server.app).get('/metrics')).text).not.toContain('mldeploy_drift_');
    } finally {
      await server.close();
    }
    expect(readPredictionLog(path.join(workDir, 'off', 'predictions.jsonl')).map((r) => r.schema_version)).toEqual([1, 1]);
  });

  it('a model without a calibration reference: drift and estimate null with `unavailable`, class mix still reported', async () => {
    const server = await startServer({ modelPath: modelDir, port: 0, logDir: path.join(workDir, 'v1'), logLevel: 'silent', monitor: { window: WINDOW } });
    try {
      await request(server.app).post('/predict/batch').send({ images: await pngBatch(10, 23) }).expect(200);
      const { body } = await request(server.app).get('/monitoring').expect(200);
      expect(body.unavailable).toMatch(/^calibration .*retrain with this version/);
      expect(body.drift.detected).toBeNull();
      expect(body.drift.reason).toBe(body.unavailable);
      expect(body.estimated_accuracy).toBeNull();
      expect(body.window.reference_samples).toBeNull();
      expect(body.class_distribution.current.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1);
    } finally {
      await server.close();
    }
  });
});
