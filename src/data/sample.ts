/** Seeded, reproducible selections of images: subsets, samples and train/validation splits. */
import { PIXELS_PER_IMAGE } from '../preprocess';
import { createRandom } from '../util/random';
import type { ImageSet } from './types';


/** A Fisher-Yates permutation of 0..count-1 determined by the seed. */
export function shuffledOrder(count: number, seed: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const random = createRandom(seed).next;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

/** The images at the given indices, copied into a new set in that order. */
export function pickImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const pixels = new Uint8Array(indices.length * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const source = indices[i];
    pixels.set(set.pixels.subarray(source * PIXELS_PER_IMAGE, (source + 1) * PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    labels[i] = set.labels[source];
  }
  return { pixels, labels, count: indices.length };
}

/**
 * n images drawn without replacement, in a seeded random order (same set, n and seed give the
 * same images). n larger than the set returns all of it, shuffled.
 */
export function sampleImages(set: ImageSet, n: number, seed: number): ImageSet {
  const order = shuffledOrder(set.count, seed);
  return pickImages(set, order.subarray(0, Math.min(n, set.count)));
}

/** Images start..end-1 as a view (no copy). */
export function sliceImages(set: ImageSet, start: number, end: number): ImageSet {
  const from = Math.max(0, Math.min(start, set.count));
  const to = Math.max(from, Math.min(end, set.count));
  return {
    pixels: set.pixels.subarray(from * PIXELS_PER_IMAGE, to * PIXELS_PER_IMAGE),
    labels: set.labels.subarray(from, to),
    count: to - from,
  };
}

/**
 * Holds out the last `fraction` of the images for validation (the stored order is already
 * shuffled, so the tail is a fair sample); both parts are views.
 */
export function splitValidation(set: ImageSet, fraction: number): { train: ImageSet; validation: ImageSet } {
  const validationCount = Math.round(set.count * fraction);
  return {
    train: sliceImages(set, 0, set.count - validationCount),
    validation: sliceImages(set, set.count - validationCount, set.count),
  };
}
