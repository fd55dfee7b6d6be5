/**
 * The default detector's tests on splits of the reference into two parts, computed from the
 * reference's ranks (./reference.ts) without sorting anything: what the null simulations of
 * ./null-calibration.ts run thousands of times.
 */
import type { ImageSignal } from '../../preprocess/image-stats';
import { chiSquare, gcd, ksLatticePValue } from '../stats';
import type { PreparedReference, RankedSignal } from './reference';

/** The lattice distances and p-values of the tests for splits of the reference into a current part (the images given) and the rest. */
export interface NullSplitter {
  /** The largest KS distance of the softmax dimensions, on the lattice (see {@link ksLatticePValue}). */
  softmaxDistance(current: Uint32Array): number;
  /** The largest KS distance of the input statistics (0 without any). */
  inputDistance(current: Uint32Array): number;
  chiSquarePValue(current: Uint32Array): number;
  /** The KS p-value of a lattice distance at these sizes. */
  pValue(distance: number): number;
}

export function nullSplitter(reference: PreparedReference, currentSize: number, inputSignals: readonly ImageSignal[]): NullSplitter {
  const nc = currentSize;
  const nr = reference.size - nc;
  const g = gcd(nc, nr);
  const lattice: Lattice = { wc: nr / g, wr: nc / g };
  const inputs = inputSignals.map((s) => reference.inputs[s]).filter((s): s is RankedSignal => s !== undefined);
  const scratch: Scratch = { ranks: new Uint32Array(nc), counts: new Uint32Array(reference.size) };
  const currentCounts = new Array<number>(reference.classes);
  const referenceCounts = new Array<number>(reference.classes);
  const largestDistance = (signals: RankedSignal[], current: Uint32Array) => {
    let largest = 0;
    for (const signal of signals) {
      const distance = latticeDistance(signal, current, scratch, lattice);
      if (distance > largest) largest = distance;
    }
    return largest;
  };
  return {
    softmaxDistance: (current) => largestDistance(reference.softmax, current),
    inputDistance: (current) => largestDistance(inputs, current),
    chiSquarePValue: (current) => {
      currentCounts.fill(0);
      for (let i = 0; i < nc; i++) currentCounts[reference.predicted[current[i]]] += 1;
      for (let k = 0; k < reference.classes; k++) referenceCounts[k] = reference.classCounts[k] - currentCounts[k];
      return chiSquare(referenceCounts, currentCounts).p_value;
    },
    pValue: (distance) => ksLatticePValue(nc, nr, distance),
  };
}

/** Weights that put the ECDF gap on the integer lattice of lcm(nc, nr): h = |seen_c * wc - seen_r * wr|. */
interface Lattice {
  wc: number;
  wr: number;
}

/**
 * The KS statistic of the split on the lattice, from the current part's ranks alone: the ECDF
 * gap seen_c * wc - seen_r * wr rises only at the current part's values, so its largest value
 * is just after one of them and its smallest just before one. The ranks are counted per tie
 * group and the groups scanned in order (for a small current part, sorting its ranks is cheaper).
 */
function latticeDistance(signal: RankedSignal, current: Uint32Array, scratch: Scratch, lattice: Lattice): number {
  // No Math.* calls in these loops: under jest's vm context every global lookup is slow.
  const { wc, wr } = lattice;
  const step = wc + wr;
  const atMost = signal.atMost;
  let largest = 0;
  let seen = 0;
  if (current.length * SORT_BELOW_SHARE < signal.below.length) {
    const ranks = scratch.ranks;
    for (let i = 0; i < current.length; i++) ranks[i] = signal.below[current[i]];
    ranks.sort();
    for (let i = 0; i < ranks.length; ) {
      const below = ranks[i];
      const before = seen * step - below * wr;
      while (i < ranks.length && ranks[i] === below) i++;
      seen = i;
      largest = widest(largest, before, seen * step - atMost[below] * wr);
    }
    return largest;
  }
  const counts = scratch.counts;
  for (let i = 0; i < current.length; i++) counts[signal.below[current[i]]] += 1;
  for (let below = 0; below < counts.length; below++) {
    const count = counts[below];
    if (count === 0) continue;
    counts[below] = 0;
    const before = seen * step - below * wr;
    seen += count;
    largest = widest(largest, before, seen * step - atMost[below] * wr);
  }
  return largest;
}

/** The largest of `largest`, |a| and |b|. */
function widest(largest: number, a: number, b: number): number {
  if (a > largest) largest = a;
  if (-a > largest) largest = -a;
  if (b > largest) largest = b;
  if (-b > largest) largest = -b;
  return largest;
}

/** Sort the current part's ranks when it is smaller than 1/this of the reference, else count them. */
const SORT_BELOW_SHARE = 16;

interface Scratch {
  ranks: Uint32Array;
  counts: Uint32Array;
}
