/**
 * Temperature scaling, ECE and the label-free accuracy estimators against values computed
 * independently with numpy/scipy (scipy 1.17.1, numpy 2.4.6) on the same fixture:
 *
 *   i = arange(40)[:, None]; k = arange(4)[None, :]; labels = (arange(40) * 3) % 4
 *   logits = ((i * 7 + k * 5) % 11) / 2; logits[arange(40), labels] += 1.5; logits *= 2
 *   p = softmax(logits, 1).astype(float32), each value printed with '%.9g'
 *   T = minimize_scalar(lambda T: -mean(log_softmax(log(p) / T)[arange(40), labels]),
 *                       bounds=(0.05, 100), method='bounded', xatol=1e-10).x
 *   ECE: 15 bins (lo, hi], sum share * |accuracy - mean confidence| (Guo et al.)
 *   Wilson: scipy.stats.binomtest(k, n).proportion_ci(method='wilson')
 *   ATC threshold: sorted score[round((1 - acc) * n) - 1]
 */
import { applyTemperatureToRows, atcThreshold, buildAccuracyCalibration, expectedCalibrationError, fitTemperature, negativeLogLikelihood } from '../src/model/calibration';
import { DEFAULT_ESTIMATOR, estimateAccuracy } from '../src/drift/estimate/estimators';

const labels = Array.from({ length: 40 }, (_, i) => (i * 3) % 4);
const rows = labels.map((label, i) => {
  const logits = [0, 1, 2, 3].map((k) => 2 * (((i * 7 + k * 5) % 11) / 2 + (k === label ? 1.5 : 0)));
  const largest = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - largest));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => Number(Math.fround(e / total).toPrecision(9)));
});

describe('temperature scaling and ECE', () => {
  it('fits the temperature scipy finds and lowers the NLL to its minimum', () => {
    const temperature = fitTemperature(rows, labels);
    expect(temperature).toBeCloseTo(4.253856112471732, 5);
    expect(negativeLogLikelihood(rows, labels, 1)).toBeCloseTo(2.0210586129786905, 10);
    expect(negativeLogLikelihood(rows, labels, temperature)).toBeCloseTo(1.155727878610047, 9);
    // A minimum: nudging T either way raises the NLL.
    const best = negativeLogLikelihood(rows, labels, temperature);
    expect(negativeLogLikelihood(rows, labels, temperature * 1.05)).toBeGreaterThan(best);
    expect(negativeLogLikelihood(rows, labels, temperature / 1.05)).toBeGreaterThan(best);
  });

  it('computes the 15-bin ECE before and after scaling as numpy does', () => {
    expect(expectedCalibrationError(rows, labels)).toBeCloseTo(0.406595390875, 10);
    expect(expectedCalibrationError(applyTemperatureToRows(rows, 4.253856112471732), labels)).toBeCloseTo(0.3176353319869009, 6);
  });

  it('rejects empty or mismatched inputs', () => {
    expect(() => fitTemperature([], [])).toThrow(/at least one/);
    expect(() => fitTemperature(rows, labels.slice(1))).toThrow(/40 probability vectors but 39 labels/);
  });
});

describe('accuracy estimators', () => {
  const calibration = buildAccuracyCalibration(rows, labels, fitTemperature(rows, labels));

  it('stores held-out accuracy, raw mean confidence and ATC thresholds', () => {
    expect(calibration.heldout_accuracy).toBe(0.425);
    expect(calibration.heldout_mean_confidence).toBeCloseTo(0.831595390875, 10);
    expect(calibration.atc_threshold.max_confidence).toBeCloseTo(0.5075379227852487, 6);
    expect(calibration.atc_threshold.negative_entropy).toBeCloseTo(-1.1339642654646551, 5);
  });

  it('places the ATC threshold so that the held-out share above it is the held-out accuracy', () => {
    const scores = Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const threshold = atcThreshold(scores, 0.7);
    expect(scores.filter((s) => s > threshold).length).toBe(140);
    expect(scores.filter((s) => s > atcThreshold(scores, 1)).length).toBe(200);
  });

  it('estimates a sample with every method and its interval, as numpy/scipy do', () => {
    const estimate = estimateAccuracy(calibration, rows.slice(0, 10));
    expect(estimate.n).toBe(10);
    expect(estimate.method).toBe(DEFAULT_ESTIMATOR);
    const { average_confidence, atc_mc, atc_ne, doc } = estimate.methods;
    const z = 1.959963984540054;
    expect(average_confidence.value).toBeCloseTo(0.4654126709973213, 6);
    expect(average_confidence.ci_low).toBeCloseTo(0.4654126709973213 - z * 0.1558404662202327, 5);
    expect(average_confidence.ci_high).toBeCloseTo(0.4654126709973213 + z * 0.1558404662202327, 5);
    expect(atc_mc).toEqual({ value: 0.3, ci_low: expect.closeTo(0.10779126740630102, 9), ci_high: expect.closeTo(0.6032218525388546, 9) });
    expect(atc_ne).toEqual({ value: 0.2, ci_low: expect.closeTo(0.056682151454375274, 9), ci_high: expect.closeTo(0.5098375284633583, 9) });
    expect(doc.value).toBeCloseTo(0.3904661000250001, 9);
    expect(doc.ci_high - doc.value).toBeCloseTo(z * 0.15427323966140943, 6);
    expect(estimate.value).toBe(estimate.methods[DEFAULT_ESTIMATOR].value);
  });

  it('picks the headline method on request and widens intervals with the confidence level', () => {
    const atc = estimateAccuracy(calibration, rows, { method: 'atc_mc', confidenceLevel: 0.99 });
    expect(atc.method).toBe('atc_mc');
    expect(atc.value).toBe(atc.methods.atc_mc.value);
    const narrow = estimateAccuracy(calibration, rows).methods.atc_mc;
    expect(atc.ci_high - atc.ci_low).toBeGreaterThan(narrow.ci_high - narrow.ci_low);
    expect(() => estimateAccuracy(calibration, [])).toThrow(/at least one prediction/);
  });
});
