import { createHash } from 'node:crypto';
import type { ImageSet } from './types';

/**
 * sha256 of the decoded data (train labels, test labels, train pixels, test pixels): names
 * the exact images a model saw, whatever container (archive, folder, cache) they came from.
 */
export function imageSetsDigest(train: ImageSet, test: ImageSet): string {
  return createHash('sha256').update(train.labels).update(test.labels).update(train.pixels).update(test.pixels).digest('hex');
}
