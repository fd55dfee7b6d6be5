/**
 * The calibrated figures of a scenario (src/drift/verdicts.ts), the rule metrics built on them,
 * the model-calibration checks, and version-1 logs still parsing.
 */
import { detectShift } from '../src/drift/detect/shift';
import { estimateAccuracy } from '../src/drift/estimate/estimators';
import { gateOf, ruleMetricsOf, type GateContext } from '../src/drift/gate';
import { entropyOf, type Signals } from '../src/drift/measure';
import { PredictClient } from '../src/drift/client';
import { CALIBRATION_ROUTE, imagesOutsideCalibration, loadModelCalibration, requireCalibrationFor, type ModelCalibration } from '../src/drift/model-calibration';
import { MldeployError } from '../src/errors';
import { parseDriftResult } from '../src/drift/result';
import { parseRule } from '../src/drift/rules';
import { detectionOf, estimationOf, modelDetectorReference, replayDetectorReference } from '../src/drift/verdicts';
import { UsageError } from '../src/errors';
import { splitTestSet } from '../src/model/calibration-record';
import type { CalibrationRecord } from '../src/model/metadata';
import { IMAGE_SIGNALS } from '../src/preprocess/image-stats';
import { createRandom } from '../src/util/random';
import { driftOf, scenarioResult } from './helpers/drift-results';
import { json, tinyServer, type TinyServer } from './helpers/tiny-server';

/** n answered predictions over 3 classes, confident in class 0 by `lean`, with input statistics around `level`. */
function signals(n: number, seed: number, lean = 0.6, level = 100): Signals {
  const random = createRandom(seed);
  const probabilities = Array.from({ length: n }, () => {
    const top = Math.min(0.98, Math.max(0.34, lean + 0.1 * random.normal()));
    const second = (1 - top) * random.next();
    return [top, second, 1 - top - second];
  });
  const inputs = Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, Array.from({ length: n }, () => level + 10 * random.normal())]));
  return {
    values: { confidence: probabilities.map((p) => Math.max(...p)), ...inputs } as Signals['values'],
    classCounts: [n, 0, 0],
    probabilities,
    entropy: probabilities.map(entropyOf),
  };
}

const calibration: CalibrationRecord = {
  source: 'test-half',
  images: 200,
  split_seed: 13,
  temperature: 1.3,
  nll_before: 1,
  nll_after: 0.9,
  ece_bins: 15,
  ece_before: 0.1,
  ece_after: 0.05,
  heldout_accuracy: 0.62,
  heldout_mean_confidence: 0.6,
  atc_threshold: { max_confidence: 0.5, negative_entropy: -0.9 },
  reference: (() => {
    const s = signals(200, 1);
    return { probabilities: s.probabilities!, input_signals: Object.fromEntries(IMAGE_SIGNALS.map((k) => [k, s.values[k]])) };
  })(),
};

describe('detectionOf', () => {
  it('is detectShift at alpha on the answered probability vectors and the input statistics, every test named', () => {
    const reference = replayDetectorReference(signals(300, 1));
    const current = signals(300, 2);
    const detection = detectionOf(reference, current, 0.05);
    const expected = detectShift(reference.signals!, { probabilities: current.probabilities!, inputs: Object.fromEntries(IMAGE_SIGNALS.map((k) => [k, current.values[k]])) });
    expect(detection).toMatchObject({ detected: expected.detected, alpha: 0.05, detector: 'default', p_value: expected.p_value, detection_note: null });
    // 3 softmax outputs + predicted class + 8 input statistics.
    expect(detection.tests.map((t) => t.name)).toEqual([
      'ks(probability[0])', 'ks(probability[1])', 'ks(probability[2])', 'chi_square(predicted_class)', ...IMAGE_SIGNALS.map((k) => `ks(${k})`),
    ]);
    expect(detection.tests.map((t) => t.corrected_p_value)).toEqual(expected.tests.map((t) => t.corrected_p_value));
  });

  it('fires on a shifted input statistic or softmax, not on a fresh draw of the same population', () => {
    const reference = modelDetectorReference(calibration);
    expect(detectionOf(reference, signals(300, 5), 0.05).detected).toBe(false);
    expect(detectionOf(reference, signals(300, 5, 0.6, 130), 0.05)).toMatchObject({ detected: true });
    expect(detectionOf(reference, signals(300, 5, 0.85), 0.05).detected).toBe(true);
    // Detected exactly when the smallest corrected p-value is at most alpha.
    const p = detectionOf(reference, signals(300, 6, 0.6, 103), 0.05).p_value!;
    expect(detectionOf(reference, signals(300, 6, 0.6, 103), p).detected).toBe(true);
    expect(detectionOf(reference, signals(300, 6, 0.6, 103), p * 0.999).detected).toBe(false);
  });

  it('does not run, and says why, without probability vectors on either side', () => {
    expect(detectionOf(modelDetectorReference(null), signals(10, 1), 0.05)).toEqual({
      detected: null, alpha: 0.05, detector: null, p_value: null, tests: [],
      detection_note: "reference has no probability vectors (the model's metadata.json has no calibration): BBSD unavailable, PSI only",
    });
    const noVectors = { ...signals(10, 1), probabilities: null };
    expect(detectionOf(modelDetectorReference(calibration), noVectors, 0.05).detection_note).toBe('the answers carried no all_probabilities: BBSD unavailable, PSI only');
    expect(replayDetectorReference(noVectors).note).toContain('baseline answers carried no all_probabilities');
  });
});

describe('estimationOf', () => {
  it("is estimateAccuracy with the model's calibration, and the drop from its held-out accuracy", () => {
    const current = signals(150, 3, 0.5);
    const estimate = estimateAccuracy(calibration, current.probabilities!);
    const estimation = estimationOf(calibration, current);
    expect(estimation.estimated_accuracy).toEqual({
      method: estimate.method, value: estimate.value, ci_low: estimate.ci_low, ci_high: estimate.ci_high, n: 150, confidence_level: 0.95, methods: estimate.methods,
    });
    expect(estimation.estimated_accuracy_drop).toBeCloseTo(0.62 - estimate.value, 12);
    expect(estimation.estimated_accuracy_note).toBeNull();
  });

  it('is null with the reason when the model has no calibration or nothing was answered', () => {
    expect(estimationOf(null, signals(5, 1))).toEqual({
      estimated_accuracy: null, estimated_accuracy_drop: null,
      estimated_accuracy_note: "the model's metadata.json has no calibration (temperature, ATC threshold): retrain with this mldeploy to add it",
    });
    expect(estimationOf(calibration, { ...signals(0, 1), probabilities: [] }).estimated_accuracy_note).toBe('no answered prediction');
  });
});

describe('rule metrics from the detector and the estimators', () => {
  const context: GateContext = { baseline: 'clean', referenceAnswered: true, referenceHasAccuracy: true, minSuccessRate: 0, complete: true };
  const psi = { psi: { confidence: 0.01, class: 0.01 }, psi_max: 0.01, psi_max_signal: 'confidence', verdict: 'none' as const, ks: { confidence: { statistic: 0.1, p_value: 0.9 } }, chi2: { statistic: 1, p_value: 0.9, dof: 1 } };
  const estimate = (value: number) => ({ method: 'atc_mc', value, ci_low: value - 0.05, ci_high: value + 0.05, n: 4, confidence_level: 0.95, methods: {} });
  const clean = scenarioResult('clean', { estimated_accuracy: estimate(0.7), estimated_accuracy_drop: 0.02 });
  const shifted = scenarioResult('contrast:5', {
    drift: driftOf({ ...psi, detected: true, alpha: 0.05, detector: 'default', p_value: 1e-9 }),
    estimated_accuracy: estimate(0.3),
    estimated_accuracy_drop: 0.42,
  });
  const calm = scenarioResult('noisy', { drift: driftOf({ ...psi, detected: false, alpha: 0.05, detector: 'default', p_value: 0.4 }), estimated_accuracy: estimate(0.69), estimated_accuracy_drop: 0.03 });

  it('maps detected to 1/0 and takes p_value and the estimates from the result', () => {
    expect(ruleMetricsOf(shifted)).toMatchObject({ drift_detected: 1, p_value: 1e-9, estimated_accuracy: 0.3, estimated_accuracy_drop: 0.42 });
    expect(ruleMetricsOf(calm)).toMatchObject({ drift_detected: 0, p_value: 0.4 });
    expect(ruleMetricsOf(scenarioResult('old'))).toMatchObject({ drift_detected: null, p_value: null, estimated_accuracy: null });
  });

  it('fails drift_detected and p_value where the detector fired, skipping the baseline itself', () => {
    const gate = gateOf([parseRule('drift_detected'), parseRule('p_value<0.01')], [clean, shifted, calm], context);
    expect(gate.failures).toEqual([
      { rule: 'drift_detected', scenario: 'contrast:5', value: 1 },
      { rule: 'p_value<0.01', scenario: 'contrast:5', value: 1e-9 },
    ]);
    expect(gate.skipped).toEqual([]);
  });

  it('checks estimated_accuracy and its drop on every scenario, the baseline too when scoped', () => {
    const gate = gateOf([parseRule('estimated_accuracy<0.5'), parseRule('clean:estimated_accuracy_drop>0.01')], [clean, shifted, calm], context);
    expect(gate.failures).toEqual([
      { rule: 'estimated_accuracy<0.5', scenario: 'contrast:5', value: 0.3 },
      { rule: 'clean:estimated_accuracy_drop>0.01', scenario: 'clean', value: 0.02 },
    ]);
  });

  it('fails closed when answers came but the detector or estimator could not run', () => {
    const blind = scenarioResult('blur', {
      drift: driftOf({ ...psi, alpha: 0.05, detection_note: 'the answers carried no all_probabilities: BBSD unavailable, PSI only' }),
      estimated_accuracy_note: 'the answers carried no all_probabilities',
    });
    const gate = gateOf([parseRule('drift_detected'), parseRule('estimated_accuracy<0.5')], [clean, blind], context);
    expect(gate.failures).toEqual([
      { rule: 'drift_detected', scenario: 'blur', value: null, reason: 'the answers carried no all_probabilities: BBSD unavailable, PSI only' },
      { rule: 'estimated_accuracy<0.5', scenario: 'blur', value: null, reason: 'the answers carried no all_probabilities' },
    ]);
  });
});

describe('requireCalibrationFor', () => {
  const lacking: ModelCalibration = { calibration: null, missing: ['calibration: metadata.json has schema_version 1'] };
  const rules = (...texts: string[]) => texts.map(parseRule);

  it('refuses estimate rules, and detector rules against the model reference, on a model without calibration', () => {
    expect(() => requireCalibrationFor(rules('estimated_accuracy<0.5'), 'baseline', lacking)).toThrow(UsageError);
    expect(() => requireCalibrationFor(rules('estimated_accuracy_drop>0.1'), 'baseline', lacking)).toThrow(/schema_version 1.*Nothing was replayed/);
    expect(() => requireCalibrationFor(rules('drift_detected'), 'model', lacking)).toThrow(/use --reference baseline/);
    expect(() => requireCalibrationFor(rules('p_value<0.01'), 'model', lacking)).toThrow(UsageError);
  });

  it('lets through what can run: detector rules against the clean replay, anything with calibration', () => {
    expect(() => requireCalibrationFor(rules('drift_detected', 'psi>0.2'), 'baseline', lacking)).not.toThrow();
    expect(() => requireCalibrationFor(rules('drift_detected', 'estimated_accuracy<0.5'), 'model', { calibration, missing: [] })).not.toThrow();
  });
});

describe('imagesOutsideCalibration', () => {
  const test = { pixels: new Uint8Array(400 * 3072), labels: Uint8Array.from({ length: 400 }, (_, i) => i % 10), count: 400 };
  test.pixels.forEach((_, i) => (test.pixels[i] = Math.floor(i / 3072) % 256));

  it("keeps the test images the model's test-half calibration did not use", () => {
    const { images, excluded } = imagesOutsideCalibration(test, calibration);
    const reported = splitTestSet(400, 13).reported;
    expect(excluded).toBe(200);
    expect(images.count).toBe(200);
    expect(Array.from(images.labels)).toEqual(reported.map((i) => i % 10));
    expect(images.pixels[5 * 3072]).toBe(reported[5] % 256);
  });

  it('keeps every image for a validation calibration, no calibration, or a test set of another size', () => {
    expect(imagesOutsideCalibration(test, { ...calibration, source: 'validation', split_seed: null }).excluded).toBe(0);
    expect(imagesOutsideCalibration(test, null).images).toBe(test);
    expect(imagesOutsideCalibration(test, { ...calibration, images: 5000 }).excluded).toBe(0);
  });
});

describe('performance_log.json version 1', () => {
  it('still parses, with no detection and no estimate', () => {
    const scenario = scenarioResult('noisy', { drift: driftOf({ psi: { confidence: 1 }, psi_max: 1, psi_max_signal: 'confidence', verdict: 'significant', ks: {}, chi2: { statistic: 1, p_value: 0.3, dof: 1 } }) }) as Record<string, unknown>;
    const { estimated_accuracy: _e, estimated_accuracy_drop: _d, estimated_accuracy_note: _n, ...v1Scenario } = scenario;
    const { detected: _a, alpha: _b, detector: _c, p_value: _p, tests: _t, detection_note: _dn, ...v1Drift } = scenario.drift as Record<string, unknown>;
    const log = {
      schema_version: 1,
      generated_at: '2026-01-01T00:00:00.000Z',
      target: { url: 'http://127.0.0.1:8000', mode: 'url', model_version: null, model_type: null, class_names: ['cat', 'dog'] },
      config: { samples: 4, seed: 1, concurrency: 1, timeout_ms: 1000, retries: 0, psi_bins: 10 },
      reference: { kind: 'baseline', scenario: 'clean', samples: 4, confidence_histogram: { bin_edges: [0, 1], counts: [4], fractions: [1] }, class_distribution: {} },
      scenarios: [{ ...v1Scenario, drift: v1Drift }],
      gate: { rules: [], passed: true, failures: [], skipped: [] },
      duration_s: 1,
    };
    const parsed = parseDriftResult(log);
    expect(parsed.schema_version).toBe(1);
    expect(parsed.config.alpha).toBeNull();
    expect(parsed.reference).toMatchObject({ detector_samples: 0, missing: [] });
    expect(parsed.scenarios[0]).toMatchObject({ estimated_accuracy: null, estimated_accuracy_drop: null, estimated_accuracy_note: null });
    expect(parsed.scenarios[0].drift).toMatchObject({ detected: null, p_value: null, tests: [], psi_max: 1 });
  });
});

describe('loadModelCalibration over HTTP (--url)', () => {
  let answer: { status: number; body: unknown };
  let server: TinyServer;
  beforeAll(async () => {
    server = await tinyServer((req, _body, res) => (req.url === CALIBRATION_ROUTE ? json(res, answer.status, answer.body) : json(res, 404, {})));
  });
  afterAll(() => server.close());
  const load = () => loadModelCalibration(new PredictClient({ url: server.url, timeoutMs: 2000, retries: 0 }), undefined);

  it('takes the served calibration, validated', async () => {
    answer = { status: 200, body: { calibration, missing: [] } };
    expect(await load()).toEqual({ calibration, missing: [] });
    answer = { status: 200, body: { calibration: { ...calibration, temperature: -1 } } };
    await expect(load()).rejects.toThrow(MldeployError);
    await expect(load()).rejects.toThrow(/calibration \(GET \/model-info\/calibration\) is invalid at "temperature"/);
  });

  it("says what is missing for a model without calibration, or a server without the route", async () => {
    answer = { status: 200, body: { calibration: null, missing: ['calibration (...): metadata.json has schema_version 1'] } };
    expect(await load()).toEqual({ calibration: null, missing: ['calibration (...): metadata.json has schema_version 1'] });
    answer = { status: 404, body: { error: 'not_found' } };
    const old = await load();
    expect(old.calibration).toBeNull();
    expect(old.missing[0]).toContain('GET /model-info/calibration answered 404');
  });
});
