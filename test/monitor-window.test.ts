/** The rolling window against a reference: false-alarm rate, detection, estimate coverage, ring order, too-small and schema-1 windows; the windows kept per version. */
import { DEFAULT_ESTIMATOR } from '../src/drift/estimate/estimators';
import { UsageError } from '../src/errors';
import { monitorReference } from '../src/monitor/reference';
import { MIN_WINDOW_SAMPLES } from '../src/monitor/evaluate';
import { LiveMonitor } from '../src/monitor/live';
import { MonitorWindow } from '../src/monitor/window';
import { createRandom } from '../src/util/random';
import { CLASSES, drawSample, drawSamples, metadataWithReference } from './helpers/monitor-signals';

const metadata = metadataWithReference(drawSamples(1000, 1));
/** As the live monitor builds it: the detector's reference subsampled to the window size. */
const referenceFor = (size: number) => monitorReference(metadata, size);

describe('MonitorWindow', () => {
  it('trips on at most alpha + margin of clean windows (reference-like draws, one history entry per window)', () => {
    const windows = 150;
    const size = 100;
    const window = new MonitorWindow('v1_test', CLASSES, referenceFor(size), { size, historyLength: windows });
    const random = createRandom(2);
    for (let i = 0; i < windows * size; i++) window.record(drawSample(random));
    expect(window.history).toHaveLength(windows);
    const tripped = window.history.filter((h) => h.drift_detected).length / windows;
    // alpha 0.05 plus three binomial standard errors for 150 windows.
    expect(tripped).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / windows));
    expect(window.history.every((h) => h.drift_detected !== null && h.min_p_value !== null)).toBe(true);
  });

  it('detects a noisy stream within one window', () => {
    const size = 200;
    const window = new MonitorWindow('v1_test', CLASSES, referenceFor(size), { size });
    for (const s of drawSamples(size, 3)) window.record(s);
    expect(window.evaluate()!.drift.detected).toBe(false);
    for (const s of drawSamples(size, 4, { inputOffset: 15, logitScale: 0.6 })) window.record(s);
    const drift = window.evaluate()!.drift;
    expect(drift.detected).toBe(true);
    expect(drift.tests.some((t) => t.signal === 'noise' && t.detected)).toBe(true);
    expect(drift.tests.some((t) => t.family === 'softmax' && t.detected)).toBe(true);
  });

  it('puts the true accuracy of a clean window inside the estimate’s interval (about 95% of windows)', () => {
    const random = createRandom(5);
    let covered = 0;
    const windows = 60;
    for (let w = 0; w < windows; w++) {
      const window = new MonitorWindow('v1_test', CLASSES, referenceFor(300), { size: 300 });
      let correct = 0;
      for (let i = 0; i < 300; i++) {
        const sample = drawSample(random);
        // Calibrated by construction: each prediction is right with probability equal to its confidence.
        if (random.next() < Math.max(...sample.probabilities)) correct += 1;
        window.record(sample);
      }
      const estimate = window.evaluate()!.estimated_accuracy!;
      expect(estimate.method).toBe(DEFAULT_ESTIMATOR);
      if (estimate.ci_low <= correct / 300 && correct / 300 <= estimate.ci_high) covered += 1;
    }
    expect(covered / windows).toBeGreaterThanOrEqual(0.85);
  });

  it('holds exactly the last `size` predictions once it wraps', () => {
    const window = new MonitorWindow('v1_test', CLASSES, referenceFor(60), { size: 60 });
    const oneHot = (k: number) => ({ probabilities: Array.from({ length: CLASSES }, (_, j) => (j === k ? 1 : 0)), inputs: drawSamples(1, 9)[0].inputs });
    for (let i = 0; i < 100; i++) window.record(oneHot(1));
    for (let i = 0; i < 45; i++) window.record(oneHot(7));
    const shares = window.evaluate()!.class_shares;
    expect(window.samples).toBe(60);
    expect(window.total).toBe(145);
    expect(shares[7]).toBeCloseTo(45 / 60);
    expect(shares[1]).toBeCloseTo(15 / 60);
    expect(window.history).toHaveLength(2);
  });

  it('does not test a window below the minimum, and says why', () => {
    const window = new MonitorWindow('v1_test', CLASSES, referenceFor(500), { size: 500 });
    for (const s of drawSamples(MIN_WINDOW_SAMPLES - 1, 6)) window.record(s);
    const evaluation = window.evaluate()!;
    expect(evaluation.drift).toMatchObject({ detected: null, p_value: null, tests: [] });
    expect(evaluation.drift.reason).toBe(`${MIN_WINDOW_SAMPLES - 1} of the ${MIN_WINDOW_SAMPLES} samples a window needs before it is tested`);
    expect(evaluation.estimated_accuracy).toBeNull();
    window.record(drawSamples(1, 7)[0]);
    expect(window.evaluate()!.drift.detected).toBe(false);
  });

  it('reports drift and estimates as unavailable for a model without a schema-2 reference, but still the class mix', () => {
    const schema1 = monitorReference(metadataWithReference(drawSamples(200, 1), { calibrated: false }));
    const window = new MonitorWindow('v1_test', CLASSES, schema1, { size: 100 });
    for (const s of drawSamples(100, 8)) window.record(s);
    const evaluation = window.evaluate()!;
    expect(evaluation.drift.detected).toBeNull();
    expect(evaluation.drift.reason).toMatch(/schema_version 1/);
    expect(evaluation.estimated_accuracy).toBeNull();
    expect(evaluation.class_shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
  });

  it('refuses a window size that is not a whole number > 0 (usage error)', () => {
    for (const size of [0, -1, 2.5]) expect(() => new MonitorWindow('v1_test', CLASSES, null, { size })).toThrow(UsageError);
  });
});

describe('LiveMonitor', () => {
  it('keeps a window for each of six versions served at once, and drops the oldest for a seventh', () => {
    const monitor = new LiveMonitor({ size: 10 });
    const sample = drawSample(createRandom(5));
    const record = (version: string) => monitor.record({ model_version: version, probabilities: sample.probabilities, input_stats: sample.inputs });
    for (let v = 1; v <= 6; v++) record(`v${v}`);
    expect(monitor.versions()).toEqual(['v6', 'v5', 'v4', 'v3', 'v2', 'v1']);
    record('v7');
    expect(monitor.versions()).toEqual(['v7', 'v6', 'v5', 'v4', 'v3', 'v2']);
    expect(monitor.report('v1')).toBeNull();
    expect(monitor.report('v2')!.window.total).toBe(1);
  });
});
