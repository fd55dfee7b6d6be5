/**
 * End to end: `mldeploy drift` with the calibrated detector and the label-free estimators, on a
 * fixture model given train-time calibration, and on a schema-1 copy of it that has none.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../src/data/cifar10';
import { PredictClient } from '../src/drift/client';
import { ESTIMATORS } from '../src/drift/estimate/estimators';
import { loadModelCalibration } from '../src/drift/model-calibration';
import { parseDriftResult, type DriftResult } from '../src/drift/result';
import { startServer } from '../src/serve';
import { addCalibration, copyAsSchema1 } from './helpers/calibrated-model';
import { runCli, writeCifar10Binary } from './helpers/drift-fixtures';
import { createModelFixture } from './helpers/model-fixture';

const TEST_IMAGES = 120;
let tmp: string;
let calibrated: string;
let schema1: string;
let cifar10: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-drift-calibrated-'));
  cifar10 = await writeCifar10Binary(path.join(tmp, 'cifar10'), TEST_IMAGES);
  calibrated = await createModelFixture(path.join(tmp, 'models'));
  const { test } = await loadCifar10({ source: cifar10, dataDir: path.join(tmp, 'data') });
  await addCalibration(calibrated, test);
  schema1 = await copyAsSchema1(calibrated, path.join(tmp, 'old-model'));
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function drift(name: string, model: string, extra: string[]) {
  const out = path.join(tmp, name);
  const run = await runCli([
    'drift', '--model', model, '--data', cifar10, '--data-dir', path.join(tmp, 'data'), '--samples', '60', '--seed', '3',
    '--concurrency', '4', '--out', out, '--plots-dir', path.join(out, 'plots'), ...extra,
  ]);
  const json = path.join(out, 'performance_log.json');
  const result: DriftResult | null = existsSync(json) ? parseDriftResult(JSON.parse(readFileSync(json, 'utf8'))) : null;
  return { ...run, result, text: result ? readFileSync(path.join(out, 'drift_report.txt'), 'utf8') : '' };
}

describe('mldeploy drift --reference model on a calibrated model', () => {
  let run: Awaited<ReturnType<typeof drift>>;
  beforeAll(async () => {
    run = await drift('calibrated', calibrated, ['--scenarios', 'clean,gaussian_noise:5', '--reference', 'model', '--fail-on', 'drift_detected']);
  });

  it('detects the heavy corruption and not the clean images, and the gate fails on the corruption only (exit 1)', () => {
    const [clean, noise] = run.result!.scenarios;
    expect(clean.drift!.detected).toBe(false);
    expect(clean.drift!.p_value!).toBeGreaterThan(0.05);
    expect(noise.drift!.detected).toBe(true);
    expect(noise.drift!.p_value!).toBeLessThanOrEqual(0.05);
    // 10 softmax outputs, the predicted classes, 8 input statistics.
    expect(noise.drift!.tests).toHaveLength(19);
    expect(noise.drift!.tests.filter((t) => t.detected).map((t) => t.name)).toContain('ks(noise)');
    expect(run.result!.config.alpha).toBe(0.05);
    // The answers' entropy is a descriptive signal too, against the calibration images' vectors.
    expect(Object.keys(noise.drift!.ks)).toContain('entropy');
    expect(clean.mean_entropy!).toBeGreaterThan(0);
    expect(run.result!.reference).toMatchObject({ kind: 'model', detector_samples: TEST_IMAGES / 2, missing: [] });
    expect(run.code).toBe(1);
    expect(run.result!.gate.failures).toEqual([{ rule: 'drift_detected', scenario: 'gaussian_noise:5', value: 1 }]);
    expect(run.stderr).toContain('gate failed: rule drift_detected failed on scenario gaussian_noise:5: value 1');
  });

  it('replays only test images the calibration did not use, and estimates accuracy beside the true one', () => {
    for (const s of run.result!.scenarios) {
      expect(s.source).toContain('outside the 60');
      expect(s.samples).toBe(60);
      expect(s.accuracy).not.toBeNull();
      const estimate = s.estimated_accuracy!;
      expect(Object.keys(estimate.methods).sort()).toEqual([...ESTIMATORS].sort());
      expect(estimate.value).toBe(estimate.methods[estimate.method as (typeof ESTIMATORS)[number]].value);
      expect(estimate.ci_low).toBeLessThanOrEqual(estimate.value);
      expect(estimate.ci_high).toBeGreaterThanOrEqual(estimate.value);
      expect(estimate.n).toBe(60);
    }
    expect(run.text).toContain('Accuracy: label-free estimate vs actual');
    expect(run.text).toMatch(/gaussian_noise:5 +yes +/);
    expect(run.text).toContain('drift detected (p ');
    expect(run.stdout).toMatch(/clean +accuracy +\d+\.\d% \(estimated +\d+\.\d%\)/);
  });
});

describe('GET /model-info/calibration (what drift --url reads)', () => {
  it('serves the calibration drift --model reads from metadata.json, and says what an older model lacks', async () => {
    for (const model of [calibrated, schema1]) {
      const server = await startServer({ modelPath: model, port: 0, logLevel: 'silent', logDir: path.join(tmp, 'serve-logs') });
      try {
        const served = await loadModelCalibration(new PredictClient({ url: server.url, timeoutMs: 5000, retries: 0 }), undefined);
        expect(served).toEqual(await loadModelCalibration(new PredictClient({ url: server.url, timeoutMs: 5000, retries: 0 }), model));
        expect(served.calibration === null).toBe(model === schema1);
      } finally {
        await server.close();
      }
    }
  });
});

describe('mldeploy drift on a model trained before calibration (metadata schema 1)', () => {
  it('loads, says what the model lacks, reports PSI only and no estimate', async () => {
    const run = await drift('schema1', schema1, ['--scenarios', 'clean,contrast:5', '--reference', 'model']);
    expect(run.code).toBe(0);
    const { reference, scenarios } = run.result!;
    expect(reference.missing.join('\n')).toMatch(/schema_version 1; retrain/);
    expect(reference.missing.join('\n')).toContain('reference has no probability vectors');
    for (const s of scenarios) {
      expect(s.drift!.detected).toBeNull();
      expect(s.drift!.detection_note).toContain('BBSD unavailable, PSI only');
      expect(s.drift!.psi_max).toBeGreaterThanOrEqual(0);
      expect(s.estimated_accuracy).toBeNull();
      expect(s.estimated_accuracy_note).toContain('no calibration');
    }
    expect(run.text).toContain('lacks:');
  });

  it('refuses a detector rule against its reference before replaying (exit 2), and gates against the clean replay', async () => {
    const refused = await drift('schema1-refused', schema1, ['--scenarios', 'clean,contrast:5', '--reference', 'model', '--fail-on', 'drift_detected']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--fail-on drift_detected with --reference model needs the model's reference probability vectors.*--reference baseline/);
    expect(refused.result).toBeNull();

    const baseline = await drift('schema1-baseline', schema1, ['--scenarios', 'clean,gaussian_noise:5', '--fail-on', 'drift_detected']);
    expect(baseline.result!.scenarios[1].drift!.detected).toBe(true);
    expect(baseline.code).toBe(1);

    const estimate = await drift('schema1-estimate', schema1, ['--scenarios', 'clean', '--fail-on', 'estimated_accuracy<0.5']);
    expect(estimate.code).toBe(2);
    expect(estimate.stderr).toContain("--fail-on estimated_accuracy<0.5 needs the model's calibration");
  });
});
