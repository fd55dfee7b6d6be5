/**
 * The augmented training images handed to the one training entry point (runTraining) as what it
 * already reads: a CIFAR-10 binary folder (five training batches, the test batch, class names).
 * The trainer, its preprocessing and its saving stay exactly those of `mldeploy train`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_ARCHIVE } from '../data/cifar10';
import type { ImageSet } from '../data/types';
import { DataError, UsageError } from '../errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../preprocess';

const TRAIN_BATCHES = 5;
const CIFAR10_CLASS_COUNT = 10;

/** Writes `<root>/cifar-10-batches-bin/`; returns `root`, a `--data` source for runTraining. */
export async function writeTrainingSource(root: string, train: ImageSet, test: ImageSet, classNames: string[]): Promise<string> {
  if (classNames.length !== CIFAR10_CLASS_COUNT) {
    throw new DataError(`retrain hands training the CIFAR-10 binary layout, which holds ${CIFAR10_CLASS_COUNT} classes; this dataset has ${classNames.length}`);
  }
  if (train.count < TRAIN_BATCHES || test.count < 1) {
    throw new UsageError(`retrain needs at least ${TRAIN_BATCHES} training images and 1 test image, got ${train.count} and ${test.count}`);
  }
  const dir = path.join(root, CIFAR10_ARCHIVE.folder);
  await fs.mkdir(dir, { recursive: true });
  // Even split, so no batch file is empty (the loader rejects empty ones).
  for (let b = 0; b < TRAIN_BATCHES; b++) {
    const start = Math.floor((b * train.count) / TRAIN_BATCHES);
    const end = Math.floor(((b + 1) * train.count) / TRAIN_BATCHES);
    await fs.writeFile(path.join(dir, `data_batch_${b + 1}.bin`), binaryRecords(train, start, end));
  }
  await fs.writeFile(path.join(dir, 'test_batch.bin'), binaryRecords(test, 0, test.count));
  await fs.writeFile(path.join(dir, 'batches.meta.txt'), classNames.join('\n') + '\n');
  return root;
}

/** Images start..end-1 as official records: the label byte, then the R, G and B planes. */
function binaryRecords(set: ImageSet, start: number, end: number): Uint8Array {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const recordSize = 1 + PIXELS_PER_IMAGE;
  const out = new Uint8Array((end - start) * recordSize);
  for (let i = start; i < end; i++) {
    const record = (i - start) * recordSize;
    const source = i * PIXELS_PER_IMAGE;
    out[record] = set.labels[i];
    for (let p = 0; p < plane; p++) {
      out[record + 1 + p] = set.pixels[source + p * 3];
      out[record + 1 + plane + p] = set.pixels[source + p * 3 + 1];
      out[record + 1 + 2 * plane + p] = set.pixels[source + p * 3 + 2];
    }
  }
  return out;
}
