/**
 * A detector reference prepared once and reused by every test against it: each signal sorted
 * (for the KS tests of live samples) and ranked (for the null simulations of
 * ./null-calibration.ts), and the predicted classes counted. Kept per reference object, so a
 * drift run or a live window that tests many samples against one reference sorts it once.
 */
import { DataError } from '../../errors';
import { argmax } from '../../model/calibration';
import { IMAGE_SIGNALS, type ImageSignal } from '../../preprocess/image-stats';
import { sortedSample, type SortedSample } from '../stats';

/** Per-image signals of one sample (the reference or the current window). */
export interface Signals {
  /** Softmax vector per image, all of one length (the number of classes). */
  probabilities: ArrayLike<ArrayLike<number>>;
  /** Input statistics per image (src/preprocess/image-stats.ts); the input family uses those both samples have. */
  inputs?: Partial<Record<ImageSignal, ArrayLike<number>>>;
}

/** One signal of the reference: its values sorted, and each image's rank among them. */
export interface RankedSignal {
  sample: SortedSample;
  /** below[i]: how many images have a value smaller than image i's (equal values share it). */
  below: Uint32Array;
  /** atMost[b]: how many images have a value at most that of an image with below = b. */
  atMost: Uint32Array;
}

export interface PreparedReference {
  size: number;
  classes: number;
  softmax: RankedSignal[];
  inputs: Partial<Record<ImageSignal, RankedSignal>>;
  /** Predicted class per image, and how many images each class has. */
  predicted: Uint16Array;
  classCounts: number[];
  /** Results computed from this reference alone (null calibrations), by key. */
  memo: Map<string, unknown>;
}

const prepared = new WeakMap<Signals, PreparedReference>();
/** Recently prepared references by content, so an equal copy (a window rebuilt from the same metadata) reuses the work. */
const byContent = new Map<string, { source: Signals; prepared: PreparedReference }>();
const CONTENT_CACHE_LIMIT = 8;

/**
 * The prepared form of `reference`, made on first use and kept as long as the object lives;
 * a reference equal value for value to one of the last few prepared shares its prepared form.
 */
export function prepareReference(reference: Signals): PreparedReference {
  const known = prepared.get(reference);
  if (known) return known;
  const key = fingerprint(reference);
  const equal = byContent.get(key);
  if (equal && sameSignals(equal.source, reference)) {
    prepared.set(reference, equal.prepared);
    return equal.prepared;
  }
  const result = prepareNew(reference);
  prepared.set(reference, result);
  byContent.delete(key);
  byContent.set(key, { source: reference, prepared: result });
  if (byContent.size > CONTENT_CACHE_LIMIT) byContent.delete(byContent.keys().next().value!);
  return result;
}

function prepareNew(reference: Signals): PreparedReference {
  const classes = classCount(reference, 'reference');
  const rows = reference.probabilities;
  const predicted = new Uint16Array(rows.length);
  const classCounts = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) {
    predicted[i] = argmax(rows[i]).index;
    classCounts[predicted[i]] += 1;
  }
  const inputs: Partial<Record<ImageSignal, RankedSignal>> = {};
  for (const signal of IMAGE_SIGNALS) {
    const values = reference.inputs?.[signal];
    if (values) inputs[signal] = rankSignal(values);
  }
  const softmax = Array.from({ length: classes }, (_, k) => rankSignal(column(rows, k)));
  return { size: rows.length, classes, softmax, inputs, predicted, classCounts, memo: new Map() };
}

/** Every value of the reference in one sequence: probabilities row by row, then each input signal present. */
function* values(signals: Signals): Generator<number> {
  for (let i = 0; i < signals.probabilities.length; i++) {
    const row = signals.probabilities[i];
    for (let k = 0; k < row.length; k++) yield row[k];
  }
  for (const signal of IMAGE_SIGNALS) {
    const column = signals.inputs?.[signal];
    if (!column) continue;
    yield -Infinity; // marks where a signal starts, so which signals are present counts too
    yield IMAGE_SIGNALS.indexOf(signal);
    for (let i = 0; i < column.length; i++) yield column[i];
  }
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/** Two 32-bit FNV-1a hashes (different offsets) of the values' bits, with the shape. */
function fingerprint(signals: Signals): string {
  const imul = Math.imul;
  let first = 0x811c9dc5;
  let second = 0x01000193 ^ 0x5bd1e995;
  for (const value of values(signals)) {
    bits[0] = value;
    first = imul(first ^ words[0], 0x01000193);
    first = imul(first ^ words[1], 0x01000193);
    second = imul(second ^ words[1], 0x01000193);
    second = imul(second ^ words[0], 0x01000193);
  }
  return `${signals.probabilities.length}:${signals.probabilities[0]?.length ?? 0}:${first >>> 0}:${second >>> 0}`;
}

function sameSignals(a: Signals, b: Signals): boolean {
  const left = values(a);
  const right = values(b);
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done === y.done;
    if (!Object.is(x.value, y.value)) return false;
  }
}

/** The number of classes of a sample's probability vectors, checked to be one length. */
export function classCount(signals: Signals, label: string): number {
  const rows = signals.probabilities;
  if (rows.length === 0) throw new DataError(`the ${label} sample has no predictions`);
  const classes = rows[0].length;
  if (classes < 2) throw new DataError(`the ${label} probability vectors need at least 2 classes`);
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].length !== classes) throw new DataError(`the ${label} probability vector ${i} has ${rows[i].length} entries, expected ${classes}`);
  }
  return classes;
}

export function column(rows: ArrayLike<ArrayLike<number>>, k: number, map: (v: number) => number = (v) => v): Float64Array {
  return Float64Array.from({ length: rows.length }, (_, i) => map(rows[i][k]));
}

function rankSignal(values: ArrayLike<number>): RankedSignal {
  const sample = sortedSample(values);
  const sorted = sample.sorted;
  const order = Uint32Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const below = new Uint32Array(values.length);
  const atMost = new Uint32Array(values.length);
  let groupStart = 0;
  for (let p = 0; p < order.length; p++) {
    if (p > 0 && sorted[p] !== sorted[p - 1]) groupStart = p;
    below[order[p]] = groupStart;
    atMost[groupStart] = p + 1;
  }
  return { sample, below, atMost };
}
