/** The metric maths of a drift run, as pure functions (the end-to-end tests only see their sum). */
import type { ImageSet } from '../src/data/types';
import { accuracyOf, driftBetween, emptySignals, entropyOf, histogramOf, meanAndStd, percentile, signalsOf, signalsOfProfile } from '../src/drift/measure';
import type { ReferenceProfile } from '../src/model/metadata';
import { PIXELS_PER_IMAGE } from '../src/preprocess';

/** `count` flat images of one grey level each. */
function flatImages(levels: number[]): ImageSet {
  const pixels = new Uint8Array(levels.length * PIXELS_PER_IMAGE);
  levels.forEach((level, i) => pixels.fill(level, i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE));
  return { pixels, labels: new Uint8Array(levels.length), count: levels.length };
}

describe('histogramOf', () => {
  it('bins confidences into ten equal bins on [0, 1], 1 in the last, with fractions', () => {
    const histogram = histogramOf([0, 0.05, 0.15, 0.95, 1]);
    expect(histogram.bin_edges).toHaveLength(11);
    expect(histogram.counts).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(histogram.fractions).toEqual([0.4, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.4]);
  });

  it('has zero fractions for no values', () => {
    expect(histogramOf([]).fractions).toEqual(new Array(10).fill(0));
  });
});

describe('accuracyOf', () => {
  it('scores the answered predictions only', () => {
    expect(accuracyOf(['cat', null, 'dog', 'cat'], ['cat', 'dog', 'cat', 'cat'])).toBeCloseTo(2 / 3, 12);
  });

  it('is null without labels or without any answer', () => {
    expect(accuracyOf(['cat'], null)).toBeNull();
    expect(accuracyOf([null, null], ['cat', 'dog'])).toBeNull();
  });
});

describe('percentile, meanAndStd', () => {
  it('interpolates like numpy.percentile', () => {
    // numpy.percentile([4, 1, 3, 2], [50, 95, 99]) = [2.5, 3.85, 3.97]
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0.95)).toBeCloseTo(3.85, 12);
    expect(percentile([4, 1, 3, 2], 0.99)).toBeCloseTo(3.97, 12);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('gives the population standard deviation, and 0/0 for nothing', () => {
    expect(meanAndStd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: 2 });
    expect(meanAndStd([])).toEqual({ mean: 0, std: 0 });
  });
});

describe('signalsOf', () => {
  it('takes input statistics of every image, confidence and class counts of the answered ones', () => {
    const signals = signalsOf(flatImages([10, 20, 30]), ['dog', null, 'bird'], [0.9, null, 0.6], [{ dog: 0.9, cat: 0.1 }, null, { cat: 0.4, dog: 0.6 }], ['cat', 'dog']);
    expect(signals.values.confidence).toEqual([0.9, 0.6]);
    // Probability vectors of the answered images, in the model's class order.
    expect(signals.probabilities).toEqual([[0.1, 0.9], [0.4, 0.6]]);
    // -sum p ln p: 0.325083 and 0.673012 nats (numpy).
    expect(signals.entropy[0]).toBeCloseTo(0.3250829733914482, 12);
    expect(signals.entropy[1]).toBeCloseTo(0.6730116670092565, 12);
    // 'bird' is not a model class: its confidence counts, its class does not.
    expect(signals.classCounts).toEqual([0, 1]);
    expect(signals.values.brightness).toHaveLength(3);
    expect(signals.values.mean_r).toEqual([10, 20, 30]);
  });

  it('has no probability vectors when an answer lacks all_probabilities or a class', () => {
    const images = flatImages([10, 20]);
    expect(signalsOf(images, ['cat', 'dog'], [0.9, 0.6], [{ cat: 0.9, dog: 0.1 }, null], ['cat', 'dog']).probabilities).toBeNull();
    expect(signalsOf(images, ['cat', 'dog'], [0.9, 0.6], [{ cat: 0.9, dog: 0.1 }, { cat: 0.4 }], ['cat', 'dog']).probabilities).toBeNull();
  });
});

describe('driftBetween', () => {
  const classes = ['cat', 'dog'];
  const reference = signalsOf(flatImages([10, 20, 30, 40, 50, 60, 70, 80]), ['cat', 'dog', 'cat', 'dog', 'cat', 'dog', 'cat', 'dog'], [0.5, 0.6, 0.7, 0.8, 0.5, 0.6, 0.7, 0.8], [], classes);

  it('finds nothing between identical samples', () => {
    const drift = driftBetween(reference, reference);
    expect(drift.psi_max).toBe(0);
    expect(drift.verdict).toBe('none');
    expect(drift.ks.confidence).toEqual({ statistic: 0, p_value: 1 });
    expect(Object.keys(drift.psi)).toEqual(['class', 'confidence', 'mean_r', 'mean_g', 'mean_b', 'std_r', 'std_g', 'std_b', 'brightness', 'noise']);
  });

  it('names the signal that moved most', () => {
    const brighter = signalsOf(flatImages([200, 210, 220, 230, 240, 250, 250, 250]), reference.values.confidence.map(() => 'cat'), reference.values.confidence, [], classes);
    const drift = driftBetween(reference, brighter);
    expect(drift.verdict).toBe('significant');
    expect(['mean_r', 'mean_g', 'mean_b', 'brightness']).toContain(drift.psi_max_signal);
    expect(drift.psi.class).toBeGreaterThan(0.2);
    expect(drift.ks.mean_r.statistic).toBe(1);
  });

  it('compares only the signals both sides have (a model profile may lack some)', () => {
    const profile = {
      signals: { confidence: [0.5, 0.6, 0.7, 0.8] },
      predicted_class_counts: { cat: 2, dog: 2 },
    } as unknown as ReferenceProfile;
    const drift = driftBetween(signalsOfProfile(profile, classes), reference);
    expect(Object.keys(drift.ks)).toEqual(['confidence']);
    expect(Object.keys(drift.psi)).toEqual(['class', 'confidence']);
  });

  it("compares the answers' entropy when both sides have probability vectors (the profile's from the calibration images)", () => {
    const profile = { signals: { confidence: [0.5, 0.6] }, predicted_class_counts: { cat: 1, dog: 1 } } as unknown as ReferenceProfile;
    const calm = [[0.5, 0.5], [0.6, 0.4], [0.55, 0.45], [0.52, 0.48]];
    const reference = signalsOfProfile(profile, classes, calm);
    expect(reference.entropy).toEqual(calm.map(entropyOf));
    const sure = signalsOf(flatImages([10, 20, 30, 40]), ['cat', 'cat', 'cat', 'cat'], [0.99, 0.98, 0.99, 0.97], [0.99, 0.98, 0.99, 0.97].map((p) => ({ cat: p, dog: 1 - p })), classes);
    const drift = driftBetween(reference, sure);
    expect(drift.ks.entropy).toEqual({ statistic: 1, p_value: expect.any(Number) });
    expect(drift.psi.entropy).toBeGreaterThan(0.2);
    // Without vectors on one side there is no entropy to compare.
    expect(driftBetween(signalsOfProfile(profile, classes), sure).psi.entropy).toBeUndefined();
  });

  it('has empty signals for a reference that was never measured', () => {
    const empty = emptySignals(2);
    expect(empty.classCounts).toEqual([0, 0]);
    expect(empty.values.confidence).toEqual([]);
    expect(empty.values.noise).toEqual([]);
  });
});
