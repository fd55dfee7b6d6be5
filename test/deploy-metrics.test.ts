/**
 * The Grafana dashboard and the Prometheus alert rules query metrics that a real `mldeploy serve`
 * exports: a server on a models dir of two fixture versions (the older one as shadow, a rollback
 * rule on) answers a few requests, and every metric and label their PromQL names must appear in its
 * /metrics text.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { RunningServer, startServer } from '../src/serve';
import { parseYamlFile, readText, repoPath } from './helpers/deploy-validators';
import { loadCifar10 } from '../src/data/cifar10';
import { addCalibration } from './helpers/calibrated-model';
import { writeCifar10Binary } from './helpers/drift-fixtures';
import { createModelFixture } from './helpers/model-fixture';
import { handMadePng } from './helpers/png';

const HISTOGRAM_SUFFIXES = /_(bucket|sum|count)$/;
const WINDOW = 50; // the monitor's smallest testable window

describe('Grafana dashboard queries against a live /metrics', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-deploy-metrics-'));
  let server: RunningServer;
  let metricsText = '';

  beforeAll(async () => {
    const modelsDir = path.join(workDir, 'models');
    const shadowDir = await createModelFixture(modelsDir, { seed: 3 });
    const modelDir = await createModelFixture(modelsDir);
    // Calibrated and given a full window, so the monitor's gauges carry samples and labels.
    const { test: heldOut } = await loadCifar10({ source: await writeCifar10Binary(path.join(workDir, 'cifar10'), 120), dataDir: path.join(workDir, 'data') });
    await addCalibration(modelDir, heldOut);
    server = await startServer({
      modelPath: modelsDir,
      port: 0,
      host: '127.0.0.1',
      logDir: path.join(workDir, 'logs'),
      logLevel: 'silent',
      monitor: { window: WINDOW },
      pinned: [{ version: path.basename(shadowDir), role: 'shadow' }],
      rollback: { rule: 'estimated_accuracy<0', after: WINDOW },
    });
    const png = (seed: number) => handMadePng(32, 32, 2, new Uint8Array(32 * 32 * 3).map((_, i) => (i * 7 + seed * 13) % 256)).toString('base64');
    await request(server.url).post('/predict').send({ image_base64: png(0) }).expect(200);
    const rest = Array.from({ length: WINDOW - 1 }, (_, i) => png(i + 1));
    await request(server.url).post('/predict/batch').send({ images: rest }).expect(200);
    await request(server.url).post('/predict').send({ image_base64: 'not base64 at all' }).expect(400);
    // The shadow predicts after the responses: wait until it has compared something.
    for (let i = 0; i < 200 && !/^mldeploy_shadow_comparisons_total\{/m.test(metricsText); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      metricsText = (await request(server.url).get('/metrics').expect(200)).text;
    }
    metricsText = (await request(server.url).get('/metrics').expect(200)).text;
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const dashboard = JSON.parse(readText(repoPath('deploy/compose/grafana/dashboards/mldeploy.json')));
  const exprs: string[] = (dashboard.panels as { targets?: { expr: string }[] }[]).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const alerts = parseYamlFile<{ groups: { rules: { expr: string }[] }[] }>(repoPath('deploy/prometheus/alerts.yml'));
  const alertExprs = alerts.groups.flatMap((g) => g.rules.map((r) => r.expr));
  const namesIn = (list: string[]) => list.flatMap((e) => e.match(/\b(mldeploy|process)_[a-z_]+/g) ?? []);
  const metricNames = [...new Set([...namesIn(exprs), ...namesIn(alertExprs)])].sort();

  it('the dashboard and the alert rules query mldeploy and process metrics, the monitor gauges among them', () => {
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'mldeploy_http_requests_total',
        'mldeploy_predictions_total',
        'process_cpu_seconds_total',
        'mldeploy_drift_detected',
        'mldeploy_drift_p_value',
        'mldeploy_estimated_accuracy',
        'mldeploy_monitor_window_samples',
        'mldeploy_shadow_agreements_total',
        'mldeploy_shadow_comparisons_total',
        'mldeploy_shadow_latency_seconds_bucket',
        'mldeploy_rollbacks_total',
      ]),
    );
  });

  it.each(metricNames)('%s is exported by serve', (name) => {
    const families = new Map([...metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const base = name.replace(HISTOGRAM_SUFFIXES, '');
    const family = families.has(name) ? name : base;
    expect(families.has(family)).toBe(true);
    if (family !== name) expect(families.get(family)).toBe('histogram');
  });

  it('carries the labels the panels group and filter by', () => {
    expect(metricsText).toMatch(/^mldeploy_http_requests_total\{[^}]*route="[^"]+"[^}]*status="200"/m);
    expect(metricsText).toMatch(/^mldeploy_http_requests_total\{[^}]*status="400"/m);
    expect(metricsText).toMatch(/^mldeploy_http_request_duration_seconds_bucket\{[^}]*le="[^"]+"/m);
    expect(metricsText).toMatch(/^mldeploy_predictions_total\{class="[a-z]+",version="[^"]+"\} \d+$/m);
    expect(metricsText).toMatch(/^mldeploy_prediction_confidence_bucket\{le="[^"]+",version="[^"]+"\}/m);
    expect(metricsText).toMatch(/^mldeploy_model_info\{(?=[^}]*version=)(?=[^}]*model_type=)(?=[^}]*engine=)[^}]*\} 1$/m);
    expect(metricsText).toMatch(new RegExp(`^mldeploy_monitor_window_samples\\{model_version="[^"]+"\\} ${WINDOW}$`, 'm'));
    expect(metricsText).toMatch(/^mldeploy_drift_detected\{model_version="[^"]+"\} [01]$/m);
    expect(metricsText).toMatch(/^mldeploy_drift_p_value\{(?=[^}]*model_version=)(?=[^}]*test="[a-z_]+")(?=[^}]*signal="[^"]+")[^}]*\} \S+$/m);
    expect(metricsText).toMatch(/^mldeploy_shadow_comparisons_total\{(?=[^}]*version=)(?=[^}]*primary_version=)[^}]*\} [1-9]\d*$/m);
    expect(metricsText).toMatch(/^mldeploy_estimated_accuracy\{(?=[^}]*model_version=)(?=[^}]*method="[a-z_]+")[^}]*\} \S+$/m);
    const groupings = [...exprs, ...alertExprs].flatMap((e) => [...e.matchAll(/(?:by|on|ignoring) \(([^)]*)\)/g)].flatMap((m) => m[1].split(/,\s*/).filter(Boolean)));
    expect([...new Set(groupings)].sort()).toEqual(['class', 'engine', 'le', 'method', 'model_type', 'model_version', 'primary_version', 'reason', 'result', 'route', 'signal', 'test', 'version']);
  });
});
