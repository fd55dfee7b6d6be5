/**
 * Drift statistics: pure functions of arrays (no I/O), each checked in the tests against
 * values computed independently with numpy/scipy.
 *
 * - PSI (population stability index) on continuous values and on category counts.
 * - Two-sample Kolmogorov-Smirnov, p-value as scipy.stats.ks_2samp(method='auto').
 * - Chi-square test of homogeneity on two count vectors, as scipy.stats.chi2_contingency.
 */
import gammainc = require('@stdlib/math-base-special-gammainc');
import { DataError } from '../errors';
import { kolmogorovSurvival } from './kolmogorov';

/** Default number of quantile bins for continuous PSI (deciles of the reference). */
export const PSI_BINS = 10;
/**
 * Proportion given to an empty bin before taking logarithms (no renormalisation), the
 * convention Evidently and most PSI write-ups use. Without it an empty bin makes PSI infinite.
 */
export const PSI_EMPTY_BIN_EPSILON = 1e-4;
/** psi < 0.1: no drift; 0.1 <= psi <= 0.2: moderate; psi > 0.2: significant. */
export const PSI_THRESHOLDS = { moderate: 0.1, significant: 0.2 } as const;

export type PsiLevel = 'none' | 'moderate' | 'significant';

/**
 * Bin edges for continuous PSI: the interior reference quantiles at 1/bins, 2/bins, ...,
 * (bins-1)/bins (numpy's default linear interpolation), with duplicates removed. The outer
 * bins are open (-inf and +inf), so current values outside the reference range still count.
 * A value v falls in bin #(edges <= v), i.e. bins are [edge_i, edge_i+1): a value equal to
 * an edge goes up. Ties therefore merge bins: a reference with a spike (say 40% of
 * confidences exactly 1.0) gets that spike as its own bin instead of ten equal bins, and a
 * constant reference gives two bins (below the constant, and at or above it).
 */
export function psiBinEdges(reference: ArrayLike<number>, bins = PSI_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new DataError(`PSI needs at least 2 bins, got ${bins}`);
  const sorted = sortedFinite(reference, 'reference');
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantileOfSorted(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/**
 * PSI = sum over bins of (cur - ref) * ln(cur / ref), with ref and cur the proportions of
 * each sample per bin (bins from {@link psiBinEdges}, empty bins at {@link PSI_EMPTY_BIN_EPSILON}).
 * Throws DataError for an empty sample or a non-finite value.
 */
export function psiContinuous(reference: ArrayLike<number>, current: ArrayLike<number>, bins = PSI_BINS): number {
  const edges = psiBinEdges(reference, bins);
  return psiFromCounts(binCounts(reference, edges), binCounts(current, edges, 'current'));
}

/**
 * PSI between two count vectors over the same categories (e.g. predicted-class counts).
 * Categories empty in both samples contribute nothing; empty in one gets the epsilon.
 */
export function psiCategorical(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): number {
  checkCounts(referenceCounts, currentCounts);
  return psiFromCounts(referenceCounts, currentCounts);
}

export function psiLevel(psi: number): PsiLevel {
  if (psi > PSI_THRESHOLDS.significant) return 'significant';
  if (psi >= PSI_THRESHOLDS.moderate) return 'moderate';
  return 'none';
}

function psiFromCounts(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): number {
  const referenceTotal = sum(referenceCounts);
  const currentTotal = sum(currentCounts);
  if (referenceTotal === 0) throw new DataError('PSI needs a non-empty reference sample');
  if (currentTotal === 0) throw new DataError('PSI needs a non-empty current sample');
  let psi = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    // A share of 0 becomes the epsilon (counts are checked to be >= 0).
    const ref = referenceCounts[i] / referenceTotal || PSI_EMPTY_BIN_EPSILON;
    const cur = currentCounts[i] / currentTotal || PSI_EMPTY_BIN_EPSILON;
    psi += (cur - ref) * Math.log(cur / ref);
  }
  return psi;
}

function binCounts(values: ArrayLike<number>, edges: number[], label = 'reference'): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) throw new DataError(`the ${label} sample has a non-finite value (${value}) at index ${i}`);
    counts[countAtMost(edges, value)]++;
  }
  return counts;
}

/** How many of the ascending `sorted` values are <= `value` (a binary search). */
export function countAtMost(sorted: ArrayLike<number>, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * numpy.quantile's default ('linear', Hyndman-Fan type 7) on sorted data, interpolating the
 * way numpy does (from the upper neighbour when past the midpoint) so edges agree bit for bit.
 */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const fraction = position - below;
  const difference = sorted[above] - sorted[below];
  return fraction >= 0.5 ? sorted[above] - difference * (1 - fraction) : sorted[below] + difference * fraction;
}

// ---------------------------------------------------------------------------------------
// Two-sample Kolmogorov-Smirnov
// ---------------------------------------------------------------------------------------

/** scipy's ks_2samp(method='auto') computes the exact p-value while max(n1, n2) <= this. */
export const KS_EXACT_MAX_N = 10000;

export interface TestResult {
  statistic: number;
  p_value: number;
}

export interface KsResult extends TestResult {
  /** 'exact' (lattice-path count) or 'asymp' (Kolmogorov distribution), as scipy chose. */
  method: 'exact' | 'asymp';
}

/**
 * A sample sorted once, to be compared with many others: {@link ksTwoSample} takes it in place
 * of an array and skips the sort (the drift detectors sort each reference signal once, not once
 * per comparison). Checked for finite values when made.
 */
export interface SortedSample {
  readonly sorted: Float64Array;
}

export function sortedSample(values: ArrayLike<number>, label = 'reference'): SortedSample {
  return { sorted: sortedFinite(values, label) };
}

/**
 * Two-sided two-sample KS test, matching scipy.stats.ks_2samp(a, b) (method='auto'):
 * D = max |F_a(x) - F_b(x)| over the pooled values (ties handled by evaluating both ECDFs
 * right-continuously at every value); exact p-value when max(n1, n2) <= 10000 (lattice
 * paths, Hodges 1958: an equal-size closed form, otherwise a path-counting recursion kept
 * as probabilities so it cannot overflow), else the Kolmogorov distribution kstwo.sf(D, n)
 * with n = round(n1*n2/(n1+n2)). In exact mode D is reported as h/lcm(n1, n2), as scipy does.
 * Either sample may be a {@link SortedSample}.
 */
export function ksTwoSample(a: ArrayLike<number> | SortedSample, b: ArrayLike<number> | SortedSample): KsResult {
  const first = isSortedSample(a) ? a.sorted : sortedFinite(a, 'first');
  const second = isSortedSample(b) ? b.sorted : sortedFinite(b, 'second');
  const n1 = first.length;
  const n2 = second.length;
  const d = ksStatistic(first, second);
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const lcm = (n1 / gcd(n1, n2)) * n2;
    const h = Math.round(d * lcm);
    return { statistic: h / lcm, p_value: ksLatticePValue(n1, n2, h), method: 'exact' };
  }
  const effectiveN = Math.round((n1 * n2) / (n1 + n2));
  return { statistic: d, p_value: clamp01(kolmogorovSurvival(effectiveN, d)), method: 'asymp' };
}

/** Exact p-values already computed, by sizes and lattice distance: samples of one size share most of them. */
const latticePValues = new Map<string, number>();
const LATTICE_CACHE_LIMIT = 100000;

/**
 * The two-sided KS p-value of samples of n1 and n2 values whose statistic is D = h / lcm(n1, n2),
 * as {@link ksTwoSample} computes it (exact up to {@link KS_EXACT_MAX_N}, else asymptotic).
 * Exact values are remembered, so repeated tests at one pair of sizes (resamples, null
 * simulations) compute each p-value once.
 */
export function ksLatticePValue(n1: number, n2: number, h: number): number {
  if (h === 0) return 1;
  if (Math.max(n1, n2) > KS_EXACT_MAX_N) {
    return clamp01(kolmogorovSurvival(Math.round((n1 * n2) / (n1 + n2)), h / ((n1 / gcd(n1, n2)) * n2)));
  }
  const key = `${Math.min(n1, n2)},${Math.max(n1, n2)},${h}`;
  const known = latticePValues.get(key);
  if (known !== undefined) return known;
  const g = gcd(n1, n2);
  const p = clamp01(n1 === n2 ? probOutsideSquare(n1, h) : probLeavingBand(n1, n2, g, h));
  if (latticePValues.size >= LATTICE_CACHE_LIMIT) latticePValues.clear();
  latticePValues.set(key, p);
  return p;
}

function isSortedSample(values: ArrayLike<number> | SortedSample): values is SortedSample {
  return (values as SortedSample).sorted instanceof Float64Array;
}

function ksStatistic(first: Float64Array, second: Float64Array): number {
  // No Math.* calls in the loop: under jest's vm context every global lookup is slow.
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < first.length && j < second.length) {
    // Step past every copy of the smallest pending value in both samples before comparing.
    const value = first[i] < second[j] ? first[i] : second[j];
    while (i < first.length && first[i] === value) i++;
    while (j < second.length && second[j] === value) j++;
    const gap = i / first.length - j / second.length;
    if (gap > d) d = gap;
    if (-gap > d) d = -gap;
  }
  return d;
}

/**
 * Equal sizes: P(D_{n,n} >= h/n) = 2 * sum_{k>=1} (-1)^(k+1) C(2n, n-kh) / C(2n, n).
 * Each term is the previous one times a product of h ratios below 1, so the alternating
 * sum is evaluated in nested (Horner) form without ever forming a binomial coefficient.
 */
function probOutsideSquare(n: number, h: number): number {
  let nested = 0;
  for (let k = Math.floor(n / h); k >= 1; k--) {
    const offset = (k - 1) * h;
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio *= (n - offset - j) / (n + offset + j + 1);
    nested = ratio * (1 - nested);
  }
  return 2 * nested;
}

/**
 * Unequal sizes: the share of monotone lattice paths from (0,0) to (m,n) that touch or leave
 * the band |x/m - y/n| < D = h/lcm (Hodges' "inside" method). Instead of counting paths
 * (which overflows), each point keeps the probability that a uniformly random path to it has
 * left the band: 1 outside the band, and inside the mix of its two predecessors weighted by
 * how many paths come from each, (i*left + j*below)/(i+j) (Viehmann 2021).
 */
function probLeavingBand(n1: number, n2: number, g: number, h: number): number {
  // Math's functions looked up once: under jest's vm context every global lookup is slow.
  const { ceil, floor, max, min } = Math;
  const m = max(n1, n2);
  const n = min(n1, n2);
  const mg = m / g;
  const ng = n / g;
  // Point (i, j) is inside the band when |ng*i - mg*j| < h.
  let previous = new Float64Array(n + 1).fill(1);
  let current = new Float64Array(n + 1).fill(1);
  let previousLow = 0;
  let previousHigh = min(ceil(h / mg), n + 1);
  previous.fill(0, previousLow, previousHigh); // column 0: straight up from the origin
  let staleLow = 0;
  let staleHigh = 0;
  for (let i = 1; i <= m; i++) {
    const low = min(max(floor((ng * i - h) / mg) + 1, 0), n);
    const high = min(ceil((ng * i + h) / mg), n + 1);
    if (high <= low) return 1;
    current.fill(1, staleLow, staleHigh); // reset what this buffer held two columns ago
    let below = low === 0 ? 0 : 1;
    for (let j = low; j < high; j++) {
      below = (i * previous[j] + j * below) / (i + j);
      current[j] = below;
    }
    staleLow = previousLow;
    staleHigh = previousHigh;
    previousLow = low;
    previousHigh = high;
    [previous, current] = [current, previous];
  }
  return previous[n];
}

// ---------------------------------------------------------------------------------------
// Chi-square test of homogeneity
// ---------------------------------------------------------------------------------------

export interface ChiSquareResult extends TestResult {
  dof: number;
}

/**
 * Chi-square test that two count vectors (e.g. predicted-class counts of the reference and
 * of a scenario) come from one distribution: the 2 x k contingency table, as
 * scipy.stats.chi2_contingency(table) with its defaults — categories empty in both rows are
 * dropped first, dof = k - 1, and Yates' continuity correction applies only when dof = 1.
 * p = Q(dof/2, statistic/2), the regularized upper incomplete gamma function.
 * Fewer than two non-empty categories: statistic 0, p 1, dof 0 (nothing to compare).
 */
export function chiSquare(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): ChiSquareResult {
  checkCounts(referenceCounts, currentCounts);
  const rows: [number[], number[]] = [[], []];
  for (let c = 0; c < referenceCounts.length; c++) {
    if (referenceCounts[c] + currentCounts[c] === 0) continue;
    rows[0].push(referenceCounts[c]);
    rows[1].push(currentCounts[c]);
  }
  const rowTotals = rows.map(sum);
  if (rowTotals[0] === 0) throw new DataError('chi-square needs a non-empty reference sample');
  if (rowTotals[1] === 0) throw new DataError('chi-square needs a non-empty current sample');
  const categories = rows[0].length;
  const dof = categories - 1;
  if (dof === 0) return { statistic: 0, p_value: 1, dof: 0 };
  const total = rowTotals[0] + rowTotals[1];
  let statistic = 0;
  for (let c = 0; c < categories; c++) {
    const columnTotal = rows[0][c] + rows[1][c];
    for (let r = 0; r < 2; r++) {
      const expected = (rowTotals[r] * columnTotal) / total;
      let deviation = Math.abs(rows[r][c] - expected);
      if (dof === 1) deviation = Math.max(deviation - 0.5, 0);
      statistic += (deviation * deviation) / expected;
    }
  }
  return { statistic, p_value: clamp01(gammainc(statistic / 2, dof / 2, true, true)), dof };
}

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

function sortedFinite(values: ArrayLike<number>, label: string): Float64Array {
  if (values.length === 0) throw new DataError(`the ${label} sample is empty`);
  const sorted = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < sorted.length; i++) {
    if (!Number.isFinite(sorted[i])) throw new DataError(`the ${label} sample has a non-finite value (${sorted[i]}) at index ${i}`);
  }
  return sorted.sort();
}

function checkCounts(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): void {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DataError(`count vectors differ in length (${referenceCounts.length} vs ${currentCounts.length} categories)`);
  }
  for (const counts of [referenceCounts, currentCounts]) {
    for (let i = 0; i < counts.length; i++) {
      if (!(counts[i] >= 0) || !Number.isFinite(counts[i])) throw new DataError(`counts must be finite and >= 0, got ${counts[i]}`);
    }
  }
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function clamp01(p: number): number {
  return Math.min(Math.max(p, 0), 1);
}
