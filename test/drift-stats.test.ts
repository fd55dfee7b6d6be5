/**
 * Drift statistics checked against values computed independently with numpy 2 / scipy 1.17.
 * The samples are integer sequences divided by an integer, so numpy and JavaScript build
 * bit-identical inputs. Expected values were printed by this script (python3):
 *
 *   import json, numpy as np
 *   from scipy import stats
 *   def seq(count, mult, mod, offset=0, scale=None):
 *       i = np.arange(count, dtype=np.int64)
 *       return ((i * mult + offset) % mod) / (scale or mod)
 *   def psi(ref, cur, bins=10, eps=1e-4):      # the documented binning, written in numpy
 *       ref = np.asarray(ref, float); cur = np.asarray(cur, float)
 *       cuts = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
 *       r = np.bincount(np.searchsorted(cuts, ref, side='right'), minlength=len(cuts) + 1) / len(ref)
 *       c = np.bincount(np.searchsorted(cuts, cur, side='right'), minlength=len(cuts) + 1) / len(cur)
 *       r = np.where(r == 0, eps, r); c = np.where(c == 0, eps, c)
 *       return float(np.sum((c - r) * np.log(c / r)))
 *   def psi_counts(ref, cur, eps=1e-4):
 *       r = np.asarray(ref, float) / np.sum(ref); c = np.asarray(cur, float) / np.sum(cur)
 *       r = np.where(r == 0, eps, r); c = np.where(c == 0, eps, c)
 *       return float(np.sum((c - r) * np.log(c / r)))
 *   u = seq(1000, 7919, 10007)
 *   print(psi(u, seq(800, 104729, 10009) * 0.8 + 0.1))            # shifted
 *   print(psi(u, seq(900, 104729, 10009)))                         # same_distribution
 *   print(psi(u, seq(500, 104729, 10009) + 0.5))                   # outside_range
 *   print(psi(np.minimum(u * 1.6, 1.0), np.minimum(seq(700, 104729, 10009) * 1.3, 1.0)))  # spike
 *   print(psi(np.full(200, 0.5), seq(300, 104729, 10009)))         # constant_reference
 *   print(psi(u, seq(800, 104729, 10009) ** 2, bins=5))            # bins_5
 *   print(psi_counts([120, 95, 100, 0, 80, 105, 0], [60, 180, 90, 30, 75, 100, 0]))
 *   ks = lambda a, b: stats.ks_2samp(a, b)                         # statistic, pvalue
 *   ks([0.1,0.5,0.3,0.9,0.7,0.2,0.2,0.4], [0.15,0.55,0.35,0.95,0.75,1.2,2.2,0.6,0.6,3,0.2])
 *   ks(seq(1000, 7919, 10007), seq(1000, 104729, 10009) ** 2)
 *   ks(seq(500, 7919, 10007), seq(500, 104729, 10009, 3) * 0.9 + 0.05)
 *   ks(seq(1000, 37, 21, 0, 20), seq(750, 53, 23, 0, 22))
 *   ks(seq(1000, 7919, 10007), seq(997, 104729, 10009, 11) * 1.02)
 *   ks(seq(10000, 7919, 10007), seq(9999, 104729, 10009) ** 2)            # largest exact size
 *   ks(seq(12000, 7919, 10007), seq(11000, 104729, 10009, 17) + 0.002)   # asymptotic ...
 *   ks(seq(12000, 7919, 10007), seq(11000, 104729, 10009, 17) + 0.012)
 *   ks(seq(12000, 7919, 10007), seq(11000, 104729, 10009, 17) * 1.05)
 *   ks(seq(12000, 7919, 101, 0, 100), seq(10500, 104729, 103, 0, 102))
 *   [stats.kstwo.sf(x, n) for n, x in KSTWO_GRID]
 *   stats.chi2_contingency(np.asarray(table))                       # statistic, pvalue, dof
 *
 * The random samples of "a sorted sample" are mulberry32 draws (src/util/random.ts, the same
 * generator written in Python), floor(v * 10^d) / 10^d where they have ties, fed to ks_2samp.
 */
import { kolmogorovSurvival } from '../src/drift/kolmogorov';
import {
  chiSquare,
  ksLatticePValue,
  ksTwoSample,
  psiBinEdges,
  psiCategorical,
  psiContinuous,
  psiLevel,
  PSI_EMPTY_BIN_EPSILON,
  sortedSample,
} from '../src/drift/stats';
import { DataError } from '../src/errors';
import { createRandom } from '../src/util/random';

function seq(count: number, mult: number, mod: number, offset = 0, scale = mod): number[] {
  return Array.from({ length: count }, (_, i) => ((i * mult + offset) % mod) / scale);
}

/** |actual - expected| <= max(absolute, relative * |expected|). */
function expectClose(actual: number, expected: number, relative = 1e-9, absolute = 1e-13): void {
  const tolerance = Math.max(absolute, relative * Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`expected ${expected} (±${tolerance}), got ${actual}`);
  }
}

describe('psiContinuous', () => {
  const u = seq(1000, 7919, 10007);
  const scale = (values: number[], factor: number, shift = 0) => values.map((v) => v * factor + shift);

  it.each([
    ['shifted', () => psiContinuous(u, scale(seq(800, 104729, 10009), 0.8, 0.1)), 1.1670559806442906],
    ['same_distribution', () => psiContinuous(u, seq(900, 104729, 10009)), 0.0002724887289663235],
    ['outside_range', () => psiContinuous(u, scale(seq(500, 104729, 10009), 1, 0.5)), 4.029389521564016],
    [
      'spike (ties at 1.0)',
      () => psiContinuous(u.map((v) => Math.min(v * 1.6, 1)), seq(700, 104729, 10009).map((v) => Math.min(v * 1.3, 1))),
      0.09642833718530407,
    ],
    ['constant_reference', () => psiContinuous(new Array(200).fill(0.5), seq(300, 104729, 10009)), 4.679231323147745],
    ['bins_5', () => psiContinuous(u, seq(800, 104729, 10009).map((v) => v ** 2), 5), 0.32251493747049065],
  ])('%s matches numpy', (_name, compute, expected) => {
    expectClose(compute(), expected, 1e-12);
  });

  it('is zero for identical samples and accepts typed arrays', () => {
    expect(psiContinuous(Float32Array.from(u), Float32Array.from(u))).toBe(0);
  });

  it('uses deciles of the reference, merging tied edges (as np.unique(np.quantile(ref, [.1, ..., .9])))', () => {
    expect(psiBinEdges(seq(11, 1, 11, 0, 10))).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    // 60% of values exactly 1.0: the quantiles from 0.4 up collapse into one edge at 1.0.
    const spiky = [0.1, 0.2, 0.3, 0.4, 1, 1, 1, 1, 1, 1];
    expect(psiBinEdges(spiky)).toEqual([0.19, 0.28, 0.37, 0.76, 1]);
    expect(psiBinEdges([3, 3, 3])).toEqual([3]);
  });

  it('gives an empty bin the documented epsilon instead of an infinite PSI', () => {
    // Reference fills both bins [.., 2) and [2, ..); the current sample sits entirely in the upper one.
    const psi = psiContinuous([1, 1, 2, 2], [5, 5, 5], 2);
    const eps = PSI_EMPTY_BIN_EPSILON;
    expectClose(psi, (eps - 0.5) * Math.log(eps / 0.5) + (1 - 0.5) * Math.log(1 / 0.5), 1e-14);
  });

  it('rejects empty or non-finite samples with a DataError', () => {
    expect(() => psiContinuous([], [1])).toThrow(DataError);
    expect(() => psiContinuous([1, 2], [])).toThrow(/current/);
    expect(() => psiContinuous([1, NaN], [1])).toThrow(/non-finite/);
    expect(() => psiContinuous([1, 2], [1], 1)).toThrow(/at least 2 bins/);
  });
});

describe('psiCategorical and psiLevel', () => {
  it('matches numpy, epsilon for categories empty on one side, nothing for empty on both', () => {
    expectClose(psiCategorical([120, 95, 100, 0, 80, 105, 0], [60, 180, 90, 30, 75, 100, 0]), 0.5460378527775762, 1e-12);
  });

  it('rejects vectors of different lengths or negative counts', () => {
    expect(() => psiCategorical([1, 2], [1, 2, 3])).toThrow(DataError);
    expect(() => psiCategorical([1, -2], [1, 2])).toThrow(/>= 0/);
    expect(() => psiCategorical([0, 0], [1, 2])).toThrow(/reference/);
  });

  it('classifies PSI: < 0.1 none, 0.1..0.2 moderate, > 0.2 significant', () => {
    expect([0, 0.0999, 0.1, 0.2, 0.2001, 3].map(psiLevel)).toEqual(['none', 'none', 'moderate', 'moderate', 'significant', 'significant']);
  });
});

describe('ksTwoSample matches scipy.stats.ks_2samp', () => {
  const shift = (values: number[], factor: number, offset = 0) => values.map((v) => v * factor + offset);
  it.each([
    ['small samples with ties across them', [0.1, 0.5, 0.3, 0.9, 0.7, 0.2, 0.2, 0.4], [0.15, 0.55, 0.35, 0.95, 0.75, 1.2, 2.2, 0.6, 0.6, 3, 0.2], 0.4772727272727273, 0.17817734381201875, 'exact'],
    ['equal sizes, tiny p', seq(1000, 7919, 10007), seq(1000, 104729, 10009).map((v) => v ** 2), 0.253, 1.6300754154993291e-28, 'exact'],
    ['equal sizes, moderate p', seq(500, 7919, 10007), shift(seq(500, 104729, 10009, 3), 0.9, 0.05), 0.056, 0.41348608403425674, 'exact'],
    ['unequal sizes, heavy ties', seq(1000, 37, 21, 0, 20), seq(750, 53, 23, 0, 22), 0.042333333333333334, 0.4162020124110609, 'exact'],
    ['unequal sizes, p near 1', seq(1000, 7919, 10007), shift(seq(997, 104729, 10009, 11), 1.02), 0.021075225677031094, 0.9746170083469577, 'exact'],
    ['largest exact sizes (10000 vs 9999), p far below 1e-200', seq(10000, 7919, 10007), seq(9999, 104729, 10009).map((v) => v ** 2), 0.25015088508850886, 4.30056680390461e-275, 'exact'],
    ['asymptotic (n > 10000), Durbin matrix branch', seq(12000, 7919, 10007), shift(seq(11000, 104729, 10009, 17), 1, 0.002), 0.0024090909090909163, 0.9999999999999973, 'asymp'],
    ['asymptotic, Pelz-Good branch', seq(12000, 7919, 10007), shift(seq(11000, 104729, 10009, 17), 1, 0.012), 0.012431818181818155, 0.3349308549054517, 'asymp'],
    ['asymptotic, Smirnov tail branch', seq(12000, 7919, 10007), shift(seq(11000, 104729, 10009, 17), 1.05), 0.04772727272727273, 8.45230668784516e-12, 'asymp'],
    ['asymptotic with ties', seq(12000, 7919, 101, 0, 100), seq(10500, 104729, 103, 0, 102), 0.009833333333333305, 0.6472695946299428, 'asymp'],
  ])('%s', (_name, a, b, statistic, pValue, method) => {
    const result = ksTwoSample(a as number[], b as number[]);
    expectClose(result.statistic, statistic as number, 1e-12);
    expectClose(result.p_value, pValue as number, 1e-8, 1e-12);
    expect(result.method).toBe(method);
    // The test is symmetric in its two samples.
    expectClose(ksTwoSample(b as number[], a as number[]).p_value, pValue as number, 1e-8, 1e-12);
  });

  it('gives D = 0, p = 1 for identical samples and D = 1 for disjoint ones', () => {
    expect(ksTwoSample([1, 2, 2, 3], [3, 2, 1, 2])).toEqual({ statistic: 0, p_value: 1, method: 'exact' });
    expect(ksTwoSample([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
  });

  it('rejects empty samples', () => {
    expect(() => ksTwoSample([], [1])).toThrow(DataError);
  });
});

describe('ksTwoSample with a sorted sample (the detectors sort each reference signal once)', () => {
  const draws = (seed: number, n: number, offset: number, digits: number | null) => {
    const random = createRandom(seed);
    return Array.from({ length: n }, () => {
      const v = random.next() * 1 + offset;
      return digits === null ? v : Math.floor(v * 10 ** digits) / 10 ** digits;
    });
  };
  it.each([
    ['5000 vs 1000, shifted', 1, 5000, 2, 1000, 0.03, null, 0.0588, 0.006111536916072001],
    ['5000 vs 200, ties (2 digits)', 3, 5000, 4, 200, 0, 2, 0.0782, 0.181213575737429],
    ['800 vs 333, ties (3 digits)', 5, 800, 6, 333, 0.1, 3, 0.14893018018018017, 5.0617354100211955e-5],
    ['asymptotic, 12000 vs 11000', 7, 12000, 8, 11000, 0.005, null, 0.01615151515151525, 0.09905475263436214],
  ] as const)('%s: the same result as sorting every time, and as scipy', (_name, seedA, nA, seedB, nB, offset, digits, statistic, pValue) => {
    const a = draws(seedA, nA, 0, digits);
    const b = draws(seedB, nB, offset, digits);
    const unsorted = ksTwoSample(a, b);
    expect(ksTwoSample(sortedSample(a), b)).toEqual(unsorted);
    expect(ksTwoSample(b, sortedSample(a))).toEqual(ksTwoSample(b, a));
    expectClose(unsorted.statistic, statistic, 1e-12);
    expectClose(unsorted.p_value, pValue, 1e-8, 1e-12);
  });

  it('leaves the caller\'s array as it was and refuses non-finite values when made', () => {
    const values = [3, 1, 2];
    expect(Array.from(sortedSample(values).sorted)).toEqual([1, 2, 3]);
    expect(values).toEqual([3, 1, 2]);
    expect(() => sortedSample([1, Number.NaN])).toThrow(DataError);
  });

  it('remembers exact p-values without changing them, whichever sample comes first', () => {
    const first = ksLatticePValue(1000, 4000, 123);
    expect(ksLatticePValue(4000, 1000, 123)).toBe(first);
    // D = 123 / lcm(1000, 4000) = 123 / 4000: the p-value ksTwoSample reports for that statistic.
    const a = Array.from({ length: 4000 }, (_, i) => i / 4000);
    const b = Array.from({ length: 1000 }, (_, i) => i / 1000 + 123 / 4000 - 1e-9);
    expect(ksTwoSample(a, b)).toEqual({ statistic: 123 / 4000, p_value: first, method: 'exact' });
  });
});

describe('kolmogorovSurvival matches scipy.stats.kstwo.sf across its algorithm branches', () => {
  it.each([
    [5, 0.15, 0.9988], // n*x <= 1 (Ruben-Gambino)
    [5, 0.6, 0.03008000000000001], // x >= 0.5: 2 * Smirnov
    [50, 0.05, 0.9990238098461883], // Durbin matrix
    [50, 0.12, 0.4337679661310233],
    [50, 0.25, 0.0030657620198697444], // scipy: Pomeranz; here: Durbin matrix
    [100, 0.15, 0.019839242125643017],
    [140, 0.1, 0.11353657290090946],
    [141, 0.02, 0.9999999744561288], // n > 140: Durbin matrix
    [141, 0.1, 0.11128445516467944], // Pelz-Good
    [141, 0.2, 2.0276784223976912e-5], // Smirnov tail
    [1000, 0.01, 0.9999496745370611],
    [1000, 0.03, 0.3226902143914636],
    [1000, 0.05, 0.013012074781090332],
    [5739, 0.003, 0.9999999992779126],
    [5739, 0.012, 0.37736243893678234],
    [5739, 0.03, 6.386589812716002e-5],
    [200000, 0.002, 0.39995085369038097],
    [200000, 0.0001, 1.0],
    [10, 0.95, 1.9531250000000172e-13], // n*x >= n - 1
  ])('n=%d x=%d', (n, x, expected) => {
    expectClose(kolmogorovSurvival(n, x), expected, 1e-9, 1e-13);
  });
});

describe('chiSquare matches scipy.stats.chi2_contingency', () => {
  it.each([
    ['three classes', [10, 20, 30], [15, 15, 40], 2.3877551020408165, 0.30304391468510006, 2],
    ['two classes (Yates correction, as scipy applies for dof 1)', [10, 20], [30, 5], 16.57848214285714, 4.667763281513949e-5, 1],
    ['ten classes, strongly shifted', [100, 98, 102, 97, 103, 99, 101, 100, 96, 104], [40, 250, 30, 20, 300, 60, 90, 80, 70, 60], 306.652214415767, 1.0122590070954492e-60, 9],
    // scipy was given the table without the empty column: [[50, 60, 70], [55, 58, 90]].
    ['a class empty in both samples is dropped', [50, 0, 60, 70], [55, 0, 58, 90], 1.3958262236968308, 0.49762270387061125, 2],
    ['identical proportions', [10, 20, 30], [20, 40, 60], 0, 1, 2],
  ])('%s', (_name, reference, current, statistic, pValue, dof) => {
    const result = chiSquare(reference as number[], current as number[]);
    expectClose(result.statistic, statistic as number, 1e-12);
    expectClose(result.p_value, pValue as number, 1e-9, 1e-15);
    expect(result.dof).toBe(dof);
  });

  it('has nothing to test with one non-empty category, and refuses an empty sample', () => {
    expect(chiSquare([5, 0], [7, 0])).toEqual({ statistic: 0, p_value: 1, dof: 0 });
    expect(() => chiSquare([0, 0, 0], [1, 2, 3])).toThrow(/reference/);
  });
});
