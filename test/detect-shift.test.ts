/**
 * detectShift against scipy 1.17.1 on a fixed fixture:
 *
 *   def rows(n, shift):
 *       i = arange(n)[:, None]; k = arange(3)[None, :]
 *       z = ((i * 5 + k * 7) % 13) / 4 + shift * (k == 0); p = softmax(z, 1), each value '%.6g'
 *   ref = rows(60, 0); cur = rows(25, 1)
 *   ks_2samp(ref[:, k], cur[:, k]); chi2_contingency([bincount(ref.argmax(1)), bincount(cur.argmax(1))])
 *   brightness: ref (i * 37) % 101 for i < 60, cur (i * 37) % 101 + 30 for i < 25; ks_2samp
 */
import { admittingLevel, nullCalibration, summarizeCalibration } from '../src/drift/detect/null-calibration';
import { prepareReference } from '../src/drift/detect/reference';
import { decideShift, detectShift, runShiftTests, type Signals } from '../src/drift/detect/shift';

function rows(n: number, shift: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const z = [0, 1, 2].map((k) => ((i * 5 + k * 7) % 13) / 4 + (k === 0 ? shift : 0));
    const largest = Math.max(...z);
    const exps = z.map((v) => Math.exp(v - largest));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => Number((e / total).toPrecision(6)));
  });
}

const reference: Signals = { probabilities: rows(60, 0), inputs: { brightness: Array.from({ length: 60 }, (_, i) => (i * 37) % 101) } };
const current: Signals = { probabilities: rows(25, 1), inputs: { brightness: Array.from({ length: 25 }, (_, i) => ((i * 37) % 101) + 30) } };

const SCIPY = {
  ks: [
    [0.4666666666666667, 0.0005256159581843439],
    [0.52, 6.723063755428209e-5],
    [0.4766666666666667, 0.00036463040590464714],
  ],
  chi2: [27.14648148148148, 1.2741379307997829e-6],
  brightness: [0.32666666666666666, 0.03577237082441196],
};

describe('detectShift', () => {
  it('lists every test with the statistic and p-value scipy gives, on the scale of alpha', () => {
    const result = detectShift(reference, current);
    expect(result).toMatchObject({ detector: 'default', detected: true, alpha: 0.05, reference_size: 60, current_size: 25 });
    expect(result.tests.map((t) => t.signal)).toEqual(['probability[0]', 'probability[1]', 'probability[2]', 'predicted_class', 'brightness']);
    SCIPY.ks.forEach(([statistic, p], k) => {
      expect(result.tests[k]).toMatchObject({ family: 'softmax', test: 'ks', detected: true });
      expect(result.tests[k].statistic).toBeCloseTo(statistic, 12);
      expect(result.tests[k].p_value / p).toBeCloseTo(1, 8);
      // BBSD's Bonferroni over the three softmax tests, unchanged.
      expect(result.tests[k].corrected_p_value / (p * 3)).toBeCloseTo(1, 8);
    });
    const [chi, brightness] = result.tests.slice(3);
    expect(chi).toMatchObject({ family: 'predicted_class', test: 'chi_square', detected: true });
    expect(chi.statistic).toBeCloseTo(SCIPY.chi2[0], 10);
    expect(chi.p_value / SCIPY.chi2[1]).toBeCloseTo(1, 8);
    expect(brightness).toMatchObject({ family: 'input', test: 'ks' });
    expect(brightness.statistic).toBeCloseTo(SCIPY.brightness[0], 12);
    expect(brightness.p_value).toBeCloseTo(SCIPY.brightness[1], 10);
    // The chi-square and the input test are corrected by the null calibration: brightness alone
    // (p = 0.036) is above the p-value threshold at alpha 0.05.
    const calibration = nullCalibration(prepareReference(reference), 25, ['brightness']);
    expect(result.calibration).toEqual(summarizeCalibration(calibration, 0.05));
    expect(result.calibration!.other_threshold).toBeLessThan(SCIPY.brightness[1]);
    expect(brightness.corrected_p_value).toBe(admittingLevel(calibration, brightness.p_value));
    expect(brightness.detected).toBe(false);
    expect(chi.corrected_p_value).toBe(admittingLevel(calibration, chi.p_value));
    expect(result.p_value).toBe(Math.min(...result.tests.map((t) => t.corrected_p_value)));
  });

  it('plain BBSD corrects over the softmax dimensions only; below 1 / (simulations + 1) only its rule detects', () => {
    const bbsd = detectShift(reference, current, { detector: 'bbsd', alpha: 1e-4 });
    expect(bbsd.tests.map((t) => t.family)).toEqual(['softmax', 'softmax', 'softmax']);
    expect(bbsd.calibration).toBeNull();
    expect(bbsd.p_value / (3 * SCIPY.ks[1][1])).toBeCloseTo(1, 8);
    expect(bbsd.detected).toBe(false);
    // The chi-square p-value (1.3e-6) is far below BBSD's, but 2,000 null splits cannot place a level under 1/2001.
    const full = detectShift(reference, current, { alpha: 1e-4 });
    expect(full.detected).toBe(false);
    expect(full.tests[3].corrected_p_value).toBeGreaterThanOrEqual(1 / 2001);
    // decideShift gives both decisions from one set of tests, as detectShift does.
    const raw = runShiftTests(reference, current);
    expect(decideShift(raw, 25, 60, { detector: 'bbsd', alpha: 1e-4 })).toEqual(bbsd);
    const calibration = nullCalibration(prepareReference(reference), 25, ['brightness']);
    expect(decideShift(raw, 25, 60, { calibration })).toEqual(detectShift(reference, current));
  });

  it('finds nothing between a sample and itself, and skips input signals one side lacks', () => {
    const same = detectShift(reference, { probabilities: reference.probabilities });
    expect(same.detected).toBe(false);
    expect(same.p_value).toBe(1);
    expect(same.tests.some((t) => t.family === 'input')).toBe(false);
  });

  it('compares the current sample at the 6 significant digits the reference is stored with', () => {
    const stored = { probabilities: [[0.999999, 1e-6]] };
    const precise = { probabilities: [[0.99999912, 1.0000004e-6]] };
    expect(detectShift(stored, precise, { detector: 'bbsd' }).tests.map((t) => t.statistic)).toEqual([0, 0]);
  });

  it('refuses inputs it cannot test', () => {
    expect(() => detectShift(reference, current, { alpha: 0 })).toThrow(/alpha/);
    expect(() => detectShift(reference, { probabilities: [] })).toThrow(/current sample has no predictions/);
    expect(() => detectShift(reference, { probabilities: [[0.5, 0.5]] })).toThrow(/differ in length/);
    expect(() => detectShift({ probabilities: [[0.2, 0.8], [1]] }, current)).toThrow(/vector 1 has 1 entries, expected 2/);
  });
});
