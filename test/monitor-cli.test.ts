/** `mldeploy monitor` over a fixture predictions.jsonl: reports with one row per window, the gate and its exit codes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MonitorRunResult } from '../src/monitor/offline';
import { formatRecord } from '../src/serve/prediction-log';
import { runCli } from './helpers/cli-run';
import { drawSamples, metadataWithReference, type Sample } from './helpers/monitor-signals';

const WINDOW = 100;

describe('mldeploy monitor', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-monitor-cli-'));
  const modelDir = path.join(workDir, 'models', 'v1_test');
  const log = path.join(workDir, 'predictions.jsonl');
  const out = path.join(workDir, 'reports');

  const line = (s: Sample, i: number, version = 'v1_test') =>
    formatRecord({
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      model_version: version,
      predicted_class: 'class0',
      confidence: Math.max(...s.probabilities),
      latency_ms: 1,
      input_sha256: 'a'.repeat(64),
      route: 'predict',
      probabilities: s.probabilities,
      input_stats: s.inputs,
    });

  beforeAll(() => {
    fs.mkdirSync(modelDir, { recursive: true });
    fs.writeFileSync(path.join(modelDir, 'model.json'), '{}');
    fs.writeFileSync(path.join(modelDir, 'metadata.json'), JSON.stringify(metadataWithReference(drawSamples(1000, 1))));
    // Two clean windows, then a noisy one; a schema-1 line (written by an older server) on the way.
    const stream = [...drawSamples(2 * WINDOW, 2), ...drawSamples(WINDOW, 3, { inputOffset: 15, logitScale: 0.6 })];
    const v1 = { timestamp: '2026-01-01T00:00:00.000Z', model_version: 'v1_test', predicted_class: 'class0', confidence: 0.5, latency_ms: 1, input_sha256: 'b'.repeat(64), route: 'predict' };
    fs.writeFileSync(log, formatRecord(v1) + stream.map((s, i) => line(s, i)).join(''));
  });

  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('writes the json, text, html and png reports with one row per window', async () => {
    const run = await runCli('monitor', '--log', log, '--window', String(WINDOW), '--out', out, '--model', modelDir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 windows, 3 tested, 1 with drift detected');
    const result = JSON.parse(fs.readFileSync(path.join(out, 'monitor_report.json'), 'utf8')) as MonitorRunResult;
    expect(result.records).toEqual({ total: 3 * WINDOW + 1, monitored: 3 * WINDOW, skipped_schema_1: 1 });
    expect(result.windows.map((w) => [w.samples, w.drift.detected])).toEqual([
      [WINDOW, false],
      [WINDOW, false],
      [WINDOW, true],
    ]);
    expect(result.windows[2].estimated_accuracy!.value).toBeLessThan(result.windows[0].estimated_accuracy!.value);
    const text = fs.readFileSync(path.join(out, 'monitor_report.txt'), 'utf8');
    expect(text.split('\n').filter((l) => /^\d+\s+v1_test/.test(l))).toHaveLength(3);
    expect(text).toContain('DRIFT');
    const html = fs.readFileSync(path.join(out, 'monitor_report.html'), 'utf8');
    expect(html.match(/<tr class=/g)).toHaveLength(3);
    expect(html).not.toMatch(/https?:\/\//);
    const png = fs.readFileSync(path.join(out, 'monitor_report.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(html).toContain(`data:image/png;base64,${png.toString('base64')}`);
  });

  it('fails the gate (exit 1) when a rule holds, and passes when none does', async () => {
    const failing = await runCli('monitor', '--log', log, '--window', String(WINDOW), '--out', out, '--model', modelDir, '--fail-on', 'drift_windows>=1', '--fail-on', 'drift > 0');
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('gate failed: drift_windows>=1 (value 1)');
    expect(failing.stderr).toContain('gate failed: drift>0 in window 2 (value 1)');
    const passing = await runCli('monitor', '--log', log, '--window', String(WINDOW), '--out', out, '--model', modelDir, '--fail-on', 'drift_windows>=2', '--fail-on', 'estimated_accuracy<0.01');
    expect(passing.code).toBe(0);
    expect(passing.stdout).toContain('gate passed: drift_windows>=2 estimated_accuracy<0.01');
  });

  it('fails closed when no window could be tested (no reference for the logged version)', async () => {
    const other = path.join(workDir, 'other.jsonl');
    fs.writeFileSync(other, drawSamples(60, 4).map((s, i) => line(s, i, 'v9_missing')).join(''));
    const missing = await runCli('monitor', '--log', other, '--out', out, '--model', modelDir, '--fail-on', 'drift>0');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('gate failed: drift>0: no window could be tested');
    const result = JSON.parse(fs.readFileSync(path.join(out, 'monitor_report.json'), 'utf8')) as MonitorRunResult;
    expect(result.windows[0].unavailable).toContain('no metadata.json for model version v9_missing');
  });

  it('exits 2 on usage errors and 1 on a log without monitor fields', async () => {
    expect((await runCli('monitor', '--log', log, '--fail-on', 'bogus>1')).code).toBe(2);
    expect((await runCli('monitor', '--log', path.join(workDir, 'absent.jsonl'))).code).toBe(2);
    expect((await runCli('monitor', '--log', log, '--window', '0')).code).toBe(2);
    const old = path.join(workDir, 'old.jsonl');
    fs.writeFileSync(old, fs.readFileSync(log, 'utf8').split('\n')[0] + '\n');
    const run = await runCli('monitor', '--log', old, '--out', out, '--model', modelDir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('has no schema-2 lines');
  });
});
