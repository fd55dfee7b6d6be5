/**
 * The official CIFAR binary formats: fixed-size records of label byte(s) followed by
 * 3072 pixel bytes stored channel-planar (1024 red, 1024 green, 1024 blue, row-major).
 * CIFAR-10 records have 1 label byte; CIFAR-100 records have a coarse then a fine label byte
 * (the fine one is the label kept).
 */
import { DataError } from '../errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../preprocess';
import type { ImageSet } from './types';

export interface BinaryLayout {
  /** Label bytes before the pixels of each record. */
  labelBytes: number;
  /** Which label byte becomes ImageSet.labels (CIFAR-100: 1 = fine). */
  labelIndex: number;
  numClasses: number;
}

export const CIFAR10_LAYOUT: BinaryLayout = { labelBytes: 1, labelIndex: 0, numClasses: 10 };
export const CIFAR100_LAYOUT: BinaryLayout = { labelBytes: 2, labelIndex: 1, numClasses: 100 };

/** Parses one or more batch files (in order) into one HWC ImageSet. */
export function parseBinaryBatches(files: { name: string; bytes: Uint8Array }[], layout: BinaryLayout): ImageSet {
  const recordSize = layout.labelBytes + PIXELS_PER_IMAGE;
  for (const file of files) {
    if (file.bytes.length === 0 || file.bytes.length % recordSize !== 0) {
      throw new DataError(
        `${file.name} is truncated or not a CIFAR binary batch: ${file.bytes.length} bytes is not a whole number of ` +
          `${recordSize}-byte records`,
      );
    }
  }
  const count = files.reduce((n, f) => n + f.bytes.length / recordSize, 0);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  let image = 0;
  for (const file of files) {
    for (let offset = 0; offset < file.bytes.length; offset += recordSize, image++) {
      const label = file.bytes[offset + layout.labelIndex];
      if (label >= layout.numClasses) {
        throw new DataError(`${file.name}: record ${offset / recordSize} has label ${label}, expected 0-${layout.numClasses - 1}`);
      }
      labels[image] = label;
      const source = offset + layout.labelBytes;
      const target = image * PIXELS_PER_IMAGE;
      // Channel-planar (CHW) -> interleaved (HWC), the layout the model and every other loader use.
      for (let p = 0; p < plane; p++) {
        pixels[target + p * 3] = file.bytes[source + p];
        pixels[target + p * 3 + 1] = file.bytes[source + plane + p];
        pixels[target + p * 3 + 2] = file.bytes[source + 2 * plane + p];
      }
    }
  }
  return { pixels, labels, count };
}

/** Class names from a `batches.meta.txt`-style file: one name per line, blank lines ignored. */
export function parseLabelNames(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}
