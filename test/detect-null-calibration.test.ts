/**
 * The default detector's null calibration (src/drift/detect/null-calibration.ts): the split
 * statistics equal the tests run directly, the threshold is deterministic, the default detector
 * rejects whenever plain BBSD does, and its false-alarm rate on fresh null samples stays near alpha.
 */
import { decideShift, detectShift, type RawShiftTest, type Signals } from '../src/drift/detect/shift';
import { admittingLevel, calibrationSize, nullCalibration, summarizeCalibration, type NullCalibration } from '../src/drift/detect/null-calibration';
import { nullSplitter } from '../src/drift/detect/null-splits';
import { prepareReference } from '../src/drift/detect/reference';
import { chiSquare, ksTwoSample } from '../src/drift/stats';
import { argmax } from '../src/model/calibration';
import { createRandom } from '../src/util/random';

const CLASSES = 4;

/**
 * n images of a synthetic model: softmax outputs whose dimensions share a common factor (as real
 * ones do, which is what leaves Bonferroni slack), rounded to 6 digits as references are stored,
 * and two input statistics, one with ties. `shift` moves class 0's logit, `brightnessShift` the brightness.
 */
function synthetic(n: number, seed: number, shift = 0, brightnessShift = 0): Signals {
  const random = createRandom(seed);
  const probabilities: number[][] = [];
  const brightness: number[] = [];
  const noise: number[] = [];
  for (let i = 0; i < n; i++) {
    const common = random.normal();
    const z = Array.from({ length: CLASSES }, (_, k) => (k === 0 ? shift : 0) + common * (k % 2 === 0 ? 1 : -1) + 0.7 * random.normal());
    const largest = Math.max(...z);
    const e = z.map((v) => Math.exp(v - largest));
    const total = e.reduce((a, b) => a + b, 0);
    probabilities.push(e.map((v) => Number((v / total).toPrecision(6))));
    brightness.push(100 + brightnessShift + 10 * common + 5 * random.normal());
    noise.push(Math.round(10 * random.next()) / 10);
  }
  return { probabilities, inputs: { brightness, noise } };
}

const reference = synthetic(600, 1);
const alpha = 0.05;

describe('nullSplitter', () => {
  it('gives the p-values the tests give when run on the split directly, ties included', () => {
    const prepared = prepareReference(reference);
    const split = nullSplitter(prepared, 37, ['brightness', 'noise']);
    const random = createRandom(9);
    for (let trial = 0; trial < 5; trial++) {
      const chosen = new Set<number>();
      while (chosen.size < 37) chosen.add(Math.floor(random.next() * 600));
      const current = Uint32Array.from(chosen);
      const rest = Array.from({ length: 600 }, (_, i) => i).filter((i) => !chosen.has(i));
      const pick = (values: ArrayLike<number>, indices: ArrayLike<number>) => Array.from(indices, (i) => values[i]);
      const columnOf = (k: number) => Array.from(reference.probabilities, (row) => row[k]);
      const softmax = Math.min(...Array.from({ length: CLASSES }, (_, k) => ksTwoSample(pick(columnOf(k), rest), pick(columnOf(k), current)).p_value));
      expect(split.pValue(split.softmaxDistance(current))).toBe(softmax);
      const counts = (indices: ArrayLike<number>) => {
        const c = new Array<number>(CLASSES).fill(0);
        for (const i of Array.from(indices)) c[argmax(reference.probabilities[i]).index] += 1;
        return c;
      };
      const inputs = (['brightness', 'noise'] as const).map((s) => ksTwoSample(pick(reference.inputs![s]!, rest), pick(reference.inputs![s]!, current)).p_value);
      expect(split.chiSquarePValue(current)).toBe(chiSquare(counts(rest), counts(current)).p_value);
      expect(split.pValue(split.inputDistance(current))).toBe(Math.min(...inputs));
    }
  });
});

describe('nullCalibration', () => {
  const inputs = ['brightness', 'noise'] as const;

  it('is deterministic, and computed once per reference (or an equal copy of it) and size', () => {
    const prepared = prepareReference(reference);
    const first = nullCalibration(prepared, 40, inputs);
    expect(nullCalibration(prepareReference(reference), 40, inputs)).toBe(first);
    expect(prepareReference(synthetic(600, 1))).toBe(prepared);
    const changed = synthetic(600, 1);
    changed.inputs!.noise = Array.from(changed.inputs!.noise!, (v, i) => (i === 7 ? v + 1 : v));
    expect(prepareReference(changed)).not.toBe(prepared);
    prepared.memo.clear();
    const again = nullCalibration(prepared, 40, inputs);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    // Another size is another calibration.
    expect(nullCalibration(prepareReference(reference), 80, inputs).bbsd).not.toEqual(first.bbsd);
  });

  it('gives the other tests the slack Bonferroni leaves: BBSD rejects less than alpha of null splits, the union at most alpha', () => {
    const summary = summarizeCalibration(nullCalibration(prepareReference(reference), 40, inputs), alpha);
    expect(summary).toMatchObject({ simulations: 2000, simulated_current_size: 40, simulated_reference_size: 560 });
    expect(summary.bbsd_null_rate).toBeLessThan(alpha);
    expect(summary.other_threshold).toBeGreaterThan(0);
    expect(summary.null_rate).toBeGreaterThan(summary.bbsd_null_rate);
    expect(summary.null_rate).toBeLessThanOrEqual(alpha);
  });

  it('calibrates sizes from 100 up at two significant digits, so a growing window calibrates about 90 times per decade', () => {
    expect([1, 50, 99, 100, 109, 155, 200, 999, 1000, 1234, 1299, 25000].map(calibrationSize)).toEqual([1, 50, 99, 100, 100, 150, 200, 990, 1000, 1200, 1200, 25000]);
    const prepared = prepareReference(synthetic(3000, 7));
    expect(nullCalibration(prepared, 1299, [], 50)).toBe(nullCalibration(prepared, 1234, [], 50));
    expect(nullCalibration(prepared, 1234, [], 50).simulatedCurrentSize).toBe(1200);
  });

  it('splits a small reference in half, and leaves a reference too small to split to BBSD alone', () => {
    expect(nullCalibration(prepareReference(synthetic(30, 2)), 50, [])).toMatchObject({ simulatedCurrentSize: 15, simulatedReferenceSize: 15 });
    const single = synthetic(1, 3);
    const none = nullCalibration(prepareReference(single), 10, ['brightness']);
    expect(none.simulations).toBe(0);
    expect(admittingLevel(none, 1e-12)).toBe(1);
    const result = detectShift(single, synthetic(10, 4, 3));
    expect(result.tests.filter((t) => t.family !== 'softmax').every((t) => !t.detected && t.corrected_p_value === 1)).toBe(true);
  });
});

describe('admittingLevel', () => {
  // Nine null splits (ten draws with the sample itself), sorted by BBSD's corrected p-value.
  const calibration: NullCalibration = {
    simulations: 9,
    simulatedCurrentSize: 5,
    simulatedReferenceSize: 50,
    bbsd: Float64Array.from([0.3, 0.5, 1, 1, 1, 1, 1, 1, 1]),
    other: Float64Array.from([0.9, 0.9, 0.02, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9]),
    otherSorted: Float64Array.from([0.02, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
  };

  it("is the smallest level from which on BBSD's rejections, the splits the p-value reaches and the sample fit the level", () => {
    // Below BBSD's first rejection only the sample counts: 1 of 10 draws.
    expect(admittingLevel(calibration, 0.01)).toBeCloseTo(0.1, 12);
    // p = 0.02 also reaches one split: 2 of 10.
    expect(admittingLevel(calibration, 0.02)).toBeCloseTo(0.2, 12);
    // p = 0.5 reaches two splits (3 of 10), and from level 0.3 BBSD's first rejection makes 4.
    expect(admittingLevel(calibration, 0.5)).toBeCloseTo(0.4, 12);
    expect(admittingLevel(calibration, 0.95)).toBe(1);
  });

  it('summarizes the calibration at alpha: the p-value threshold and the simulated rates', () => {
    expect(summarizeCalibration(calibration, 0.25)).toEqual({
      simulations: 9,
      simulated_current_size: 5,
      simulated_reference_size: 50,
      bbsd_null_rate: 0,
      other_threshold: 0.5,
      null_rate: 1 / 9,
    });
  });
});

describe('the default detector', () => {
  const calibration = nullCalibration(prepareReference(reference), 50, ['brightness']);
  const raw = (softmaxP: number, otherP: number): RawShiftTest[] => [
    ...Array.from({ length: 10 }, (_, k): RawShiftTest => ({ family: 'softmax', test: 'ks', signal: `probability[${k}]`, statistic: 0.1, p_value: k === 3 ? softmaxP : 0.5 })),
    { family: 'input', test: 'ks', signal: 'brightness', statistic: 0.1, p_value: otherP },
  ];

  it('rejects whenever plain BBSD does: a softmax test at alpha / K, which weighted Bonferroni (0.9 alpha / K) missed', () => {
    const tests = raw(0.0048, 0.9);
    expect(decideShift(tests, 50, 600, { detector: 'bbsd' }).detected).toBe(true);
    const result = decideShift(tests, 50, 600, { calibration });
    expect(result.detected).toBe(true);
    expect(result.tests[3].detected).toBe(true);
    expect(result.tests[3].corrected_p_value).toBeCloseTo(0.048, 12);
    expect(result.p_value).toBe(result.tests[3].corrected_p_value);
  });

  it('corrects the other tests to the level their calibration admits them at, whatever alpha is asked', () => {
    const strong = decideShift(raw(0.5, 1e-6), 50, 600, { calibration });
    expect(strong.detected).toBe(true);
    expect(strong.tests[10]).toMatchObject({ family: 'input', detected: true, corrected_p_value: admittingLevel(calibration, 1e-6) });
    expect(strong.p_value).toBe(strong.tests[10].corrected_p_value);
    // The decision at alpha = the smallest corrected p-value detects; just below it, not.
    expect(decideShift(raw(0.5, 1e-6), 50, 600, { calibration, alpha: strong.p_value }).detected).toBe(true);
    expect(decideShift(raw(0.5, 1e-6), 50, 600, { calibration, alpha: strong.p_value * 0.999 }).detected).toBe(false);
    expect(decideShift(raw(0.5, 0.5), 50, 600, { calibration }).detected).toBe(false);
    expect(decideShift(raw(0.5, 1e-6), 50, 600, { detector: 'bbsd' }).tests).toHaveLength(10);
    expect(() => decideShift(raw(0.5, 0.5), 50, 600)).toThrow(/null calibration/);
  });

  it('detects every sample plain BBSD detects, and more, on samples shifted in softmax and brightness', () => {
    let bbsd = 0;
    let both = 0;
    let defaultOnly = 0;
    for (let r = 0; r < 60; r++) {
      const result = detectShift(reference, synthetic(40, 1000 + r, 0.5, 5));
      const plain = decideShift(result.tests, 40, 600, { detector: 'bbsd' }).detected;
      if (plain) bbsd += 1;
      if (plain && result.detected) both += 1;
      if (!plain && result.detected) defaultOnly += 1;
    }
    expect(bbsd).toBeGreaterThan(0);
    expect(both).toBe(bbsd);
    expect(defaultOnly).toBeGreaterThan(0);
  });

  it('keeps the false-alarm rate near alpha on fresh null samples', () => {
    let alarms = 0;
    let bbsdAlarms = 0;
    const samples = 400;
    for (let r = 0; r < samples; r++) {
      const result = detectShift(reference, synthetic(40, 5000 + r));
      if (result.detected) alarms += 1;
      if (decideShift(result.tests, 40, 600, { detector: 'bbsd' }).detected) bbsdAlarms += 1;
    }
    // 400 samples: the standard error of a 5 % rate is 1.1 points.
    expect(alarms / samples).toBeLessThanOrEqual(alpha + 0.02);
    expect(alarms / samples).toBeGreaterThanOrEqual(0.02);
    expect(alarms).toBeGreaterThanOrEqual(bbsdAlarms);
  });
});
