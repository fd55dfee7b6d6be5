/**
 * Shadow comparisons on their own: the figures and metrics of ShadowStats, when ShadowRunner does
 * (and skips) shadow work, and the agreement of a known pair of fixture models, checked against
 * their own predictions made independently.
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Response } from 'express';
import { Registry } from 'prom-client';
import { loadModelVersion } from '../src/model/artifacts';
import { predictSet } from '../src/model/evaluate';
import type { MonitoredRecord } from '../src/monitor/live';
import { PIXELS_PER_IMAGE } from '../src/preprocess';
import type { ImagePrediction } from '../src/serve/predictor';
import { loadServedModel, type ServedModel } from '../src/serve/served-model';
import { ShadowRunner } from '../src/serve/shadow';
import { applyShadowEvents, ForwardedShadowStats, type ShadowEvent } from '../src/serve/shadow-cluster';
import { ShadowMetrics, ShadowStats } from '../src/serve/shadow-stats';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

/** A stand-in for a served version: fixed probability rows, or a predict function of its own. */
function fakeModel(version: string, predict: (count: number) => Promise<Float32Array> = async (count) => new Float32Array(count * 2).fill(0.5)): ServedModel {
  return { version, classNames: ['a', 'b'], predict: (_pixels: Uint8Array, count: number) => predict(count) } as unknown as ServedModel;
}

function prediction(model: ServedModel, classIndex: number, confidence: number): ImagePrediction {
  const probabilities = Float32Array.from(classIndex === 0 ? [confidence, 1 - confidence] : [1 - confidence, confidence]);
  return { probabilities, classIndex, confidence, model, pixels: new Uint8Array(PIXELS_PER_IMAGE).fill(7) };
}

/** A response that has not finished until finish() is called. */
function pendingResponse(): Response & { finish(): void } {
  const res = new EventEmitter() as unknown as Response & { finish(): void; writableFinished: boolean };
  res.writableFinished = false;
  res.finish = () => {
    res.writableFinished = true;
    res.emit('finish');
  };
  return res;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const settle = async () => {
  for (let i = 0; i < 5; i++) await nextTurn();
};

describe('ShadowStats', () => {
  it('counts agreement, confidence difference, latency and skips, and exports them as mldeploy_shadow_* metrics', async () => {
    const registry = new Registry();
    const stats = new ShadowStats(new ShadowMetrics(registry));
    stats.compare('v1', 'v2', [{ classIndex: 3, confidence: 0.9 }, { classIndex: 1, confidence: 0.6 }], [{ classIndex: 3, confidence: 0.7 }, { classIndex: 2, confidence: 0.5 }], 4);
    stats.compare('v1', 'v2', [{ classIndex: 0, confidence: 0.5 }], [{ classIndex: 0, confidence: 0.8 }], 20);
    stats.skip('v1', 'v2', 'busy', 2);
    const section = stats.section('v1', 'v2');
    expect(section).toEqual({ version: 'v2', primary_version: 'v1', compared: 3, agreement: 2 / 3, mean_confidence_diff: expect.any(Number), latency_p95_ms: 20, skipped: 2 });
    expect(section.mean_confidence_diff).toBeCloseTo((0.2 + 0.1 + 0.3) / 3, 10);

    const text = await registry.metrics();
    expect(text).toMatch(/^mldeploy_shadow_comparisons_total\{version="v2",primary_version="v1"\} 3$/m);
    expect(text).toMatch(/^mldeploy_shadow_agreements_total\{version="v2",primary_version="v1"\} 2$/m);
    expect(text).toMatch(/^mldeploy_shadow_skipped_total\{version="v2",reason="busy"\} 2$/m);
    expect(text).toMatch(/^mldeploy_shadow_latency_seconds_count\{version="v2"\} 2$/m);
    expect(text).toMatch(/^mldeploy_shadow_confidence_diff_sum\{version="v2",primary_version="v1"\} 0\.6/m);
    if (hasPromtool || process.env.CI) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    }
  });

  it('a new (shadow, primary) pair starts from zero', () => {
    const stats = new ShadowStats(new ShadowMetrics(new Registry()));
    stats.compare('v1', 'v2', [{ classIndex: 0, confidence: 0.5 }], [{ classIndex: 1, confidence: 0.5 }], 3);
    expect(stats.section('v3', 'v2')).toEqual({ version: 'v2', primary_version: 'v3', compared: 0, agreement: null, mean_confidence_diff: null, latency_p95_ms: null, skipped: 0 });
  });
});

describe('ShadowRunner', () => {
  const primary = fakeModel('v1');
  const canary = fakeModel('v3');

  function runner(shadow: ServedModel, busy = () => false) {
    const stats = new ShadowStats(new ShadowMetrics(new Registry()));
    const records: MonitoredRecord[] = [];
    const errors: string[] = [];
    const run = new ShadowRunner(stats, {
      shadow: () => shadow,
      primary: () => primary,
      busy,
      record: (record) => records.push(record),
      onError: (err, version) => errors.push(`${version}: ${err.message}`),
    });
    return { run, records, errors };
  }

  it('shadows only once the response has finished, and feeds the shadow version to the monitor', async () => {
    const { run, records } = runner(fakeModel('v2', async () => Float32Array.from([0.2, 0.8])));
    const res = pendingResponse();
    run.afterResponse(res, [prediction(primary, 1, 0.9)]);
    await settle();
    expect(run.section()).toMatchObject({ compared: 0 });
    res.finish();
    await settle();
    await run.idle();
    expect(run.section()).toMatchObject({ version: 'v2', primary_version: 'v1', compared: 1, agreement: 1, skipped: 0 });
    expect(run.section()?.mean_confidence_diff).toBeCloseTo(0.1, 6);
    expect(records).toEqual([{ model_version: 'v2', probabilities: [0.2, 0.8], input_stats: expect.any(Object) }]);
  });

  it('skips and counts while the server is busy or the shadow is still working; ignores what the canary answered', async () => {
    let busy = true;
    let finishShadow: (rows: Float32Array) => void = () => {};
    const slow = fakeModel('v2', () => new Promise((resolve) => (finishShadow = resolve)));
    const { run } = runner(slow, () => busy);
    const done = pendingResponse();
    done.finish();
    run.afterResponse(done, [prediction(primary, 0, 0.9), prediction(primary, 0, 0.8)]);
    await settle();
    expect(run.section()).toMatchObject({ compared: 0, skipped: 2 });
    busy = false;
    run.afterResponse(done, [prediction(primary, 0, 0.9)]);
    await settle();
    run.afterResponse(done, [prediction(primary, 0, 0.9)]);
    run.afterResponse(done, [prediction(canary, 0, 0.9)]);
    await settle();
    expect(run.section()).toMatchObject({ compared: 0, skipped: 3 });
    finishShadow(Float32Array.from([0.6, 0.4]));
    await run.idle();
    expect(run.section()).toMatchObject({ compared: 1, agreement: 1, skipped: 3 });
  });

  it('with a share shadows that share of the requests, spread evenly, the others neither compared nor skipped', async () => {
    const stats = new ShadowStats(new ShadowMetrics(new Registry()));
    const shadowed: number[] = [];
    let request = 0;
    const run = new ShadowRunner(stats, {
      shadow: () =>
        fakeModel('v2', async () => {
          shadowed.push(request);
          return Float32Array.from([0.6, 0.4]);
        }),
      primary: () => primary,
      busy: () => false,
      share: 0.25,
    });
    for (request = 1; request <= 8; request++) {
      const res = pendingResponse();
      res.finish();
      run.afterResponse(res, [prediction(primary, 0, 0.9)]);
      await settle();
      await run.idle();
    }
    expect(shadowed).toEqual([4, 8]);
    expect(run.section()).toMatchObject({ compared: 2, skipped: 0 });
  });

  it('a shadow that throws is counted as skipped and logged, nothing else', async () => {
    const { run, errors } = runner(
      fakeModel('v2', async () => {
        throw new Error('shadow exploded');
      }),
    );
    const res = pendingResponse();
    res.finish();
    run.afterResponse(res, [prediction(primary, 0, 0.9)]);
    await settle();
    await run.idle();
    expect(run.section()).toMatchObject({ compared: 0, skipped: 1 });
    expect(errors).toEqual(['v2: shadow exploded']);
  });
});

describe('shadow figures across cluster workers', () => {
  it("a worker's results reach the primary's stats in batches, and the worker shows the primary's section for its pair only", () => {
    const sent: ShadowEvent[][] = [];
    const worker = new ForwardedShadowStats((events) => sent.push(events));
    worker.compare('v1', 'v2', [{ classIndex: 1, confidence: 0.9 }], [{ classIndex: 1, confidence: 0.7 }], 5);
    worker.skip('v1', 'v2', 'busy', 3);
    worker.record({ model_version: 'v2', probabilities: [0.3, 0.7], input_stats: {} as MonitoredRecord['input_stats'] });
    expect(sent).toEqual([]);
    worker.flush();
    expect(sent).toHaveLength(1);

    const primary = new ShadowStats(new ShadowMetrics(new Registry()));
    const records: MonitoredRecord[] = [];
    applyShadowEvents(sent[0], primary, (record) => records.push(record));
    const section = primary.current();
    expect(section).toMatchObject({ version: 'v2', primary_version: 'v1', compared: 1, agreement: 1, skipped: 3 });
    expect(records.map((r) => r.model_version)).toEqual(['v2']);

    worker.settle(section);
    expect(worker.section('v1', 'v2')).toBe(section);
    expect(worker.section('v3', 'v2')).toMatchObject({ primary_version: 'v3', compared: 0, agreement: null });
  });
});

describe('agreement of a known pair of fixture models', () => {
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'shadow-pair-'));
  afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));
  const COUNT = 48;

  it('is the share of images both models put in the same class, as their own predictions say', async () => {
    const primaryDir = await createModelFixture(modelsDir, { seed: 42 });
    const shadowDir = await createModelFixture(modelsDir, { seed: 9 });
    const pixels = syntheticImages(COUNT, 123);
    const set = { pixels, labels: new Uint8Array(COUNT), count: COUNT };
    // Independently: each model's own predictions of the same images.
    const own = await Promise.all(
      [primaryDir, shadowDir].map(async (dir) => {
        const { model } = await loadModelVersion(dir);
        const predictions = await predictSet(model, set);
        model.dispose();
        return predictions;
      }),
    );
    const agreeing = own[0].classes.filter((c, i) => c === own[1].classes[i]).length;
    // Different seeds, so the pair disagrees on some images: the figure is not trivially 0 or 1.
    expect(agreeing).toBeGreaterThan(0);
    expect(agreeing).toBeLessThan(COUNT);
    const meanDiff = own[0].confidences.reduce((sum, c, i) => sum + Math.abs(c - own[1].confidences[i]), 0) / COUNT;

    const [primary, shadow] = await Promise.all([loadServedModel(primaryDir, 'auto'), loadServedModel(shadowDir, 'auto')]);
    const stats = new ShadowStats(new ShadowMetrics(new Registry()));
    const run = new ShadowRunner(stats, { shadow: () => shadow, primary: () => primary, busy: () => false });
    const output = await primary.predict(pixels, COUNT);
    const requests = Array.from({ length: COUNT / 4 }, (_, r) =>
      Array.from({ length: 4 }, (_, k): ImagePrediction => {
        const i = r * 4 + k;
        const probabilities = output.subarray(i * 10, (i + 1) * 10);
        const classIndex = probabilities.indexOf(Math.max(...probabilities));
        return { probabilities, classIndex, confidence: probabilities[classIndex], model: primary, pixels: pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE) };
      }),
    );
    for (const predictions of requests) {
      const res = pendingResponse();
      res.finish();
      run.afterResponse(res, predictions);
      await settle();
      await run.idle();
    }
    const section = run.section();
    expect(section).toMatchObject({ compared: COUNT, skipped: 0, agreement: agreeing / COUNT });
    expect(section?.mean_confidence_diff).toBeCloseTo(meanDiff, 5);
    primary.retire();
    shadow.retire();
  });
});
