/**
 * Small datasets in the exact on-disk formats the loaders accept: official CIFAR-10/100
 * binary batches (channel-planar records), class folders of PNGs, and .tar.gz archives of
 * either. Images are seeded and class-dependent, so a model can learn a little from them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { createRandom } from '../../src/util/random';
import { handMadePng } from './png';

export const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const PIXELS = 3072;

/** Uniform [0, 1) numbers from the project's one seeded generator. */
export function seededRandom(seed: number): () => number {
  return createRandom(seed).next;
}

/** One 32x32 RGB image (HWC) whose colour depends on its class, plus seeded noise. */
export function fixtureImage(label: number, random: () => number): Uint8Array {
  const rgb = new Uint8Array(PIXELS);
  const base = [(label * 53) % 256, (label * 97 + 40) % 256, (label * 151 + 80) % 256];
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + (random() - 0.5) * 60)));
  }
  return rgb;
}

/** HWC image -> one official record: label byte(s), then 1024 R, 1024 G, 1024 B. */
export function binaryRecord(labelBytes: number[], rgb: Uint8Array): Buffer {
  const record = Buffer.alloc(labelBytes.length + PIXELS);
  labelBytes.forEach((b, i) => (record[i] = b));
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) record[labelBytes.length + c * 1024 + p] = rgb[p * 3 + c];
  }
  return record;
}

export interface BinaryFixture {
  /** Folder that holds cifar-10-batches-bin/. */
  root: string;
  batchesDir: string;
  /** Expected decoded data, HWC, in file order. */
  train: { pixels: Uint8Array; labels: Uint8Array };
  test: { pixels: Uint8Array; labels: Uint8Array };
}

/** Writes `<root>/cifar-10-batches-bin/` with five training batches, a test batch and batches.meta.txt. */
export function writeCifar10Binary(root: string, perBatch: number, testCount: number, seed = 1): BinaryFixture {
  const random = seededRandom(seed);
  const batchesDir = path.join(root, 'cifar-10-batches-bin');
  mkdirSync(batchesDir, { recursive: true });
  const make = (count: number) => {
    const pixels = new Uint8Array(count * PIXELS);
    const labels = new Uint8Array(count);
    const records: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const label = Math.floor(random() * 10);
      const rgb = fixtureImage(label, random);
      pixels.set(rgb, i * PIXELS);
      labels[i] = label;
      records.push(binaryRecord([label], rgb));
    }
    return { pixels, labels, bytes: Buffer.concat(records) };
  };
  const trainParts = [1, 2, 3, 4, 5].map((n) => {
    const part = make(perBatch);
    writeFileSync(path.join(batchesDir, `data_batch_${n}.bin`), part.bytes);
    return part;
  });
  const test = make(testCount);
  writeFileSync(path.join(batchesDir, 'test_batch.bin'), test.bytes);
  writeFileSync(path.join(batchesDir, 'batches.meta.txt'), CIFAR10_NAMES.join('\n') + '\n\n');
  return {
    root,
    batchesDir,
    train: {
      pixels: Buffer.concat(trainParts.map((p) => Buffer.from(p.pixels))),
      labels: Buffer.concat(trainParts.map((p) => Buffer.from(p.labels))),
    },
    test: { pixels: test.pixels, labels: test.labels },
  };
}

/** Writes `<root>/cifar-100-binary/` with test.bin (coarse, fine, pixels) and the two name files. */
export function writeCifar100Binary(root: string, count: number, seed = 2): { dir: string; fine: number[]; coarse: number[]; pixels: Uint8Array } {
  const random = seededRandom(seed);
  const dir = path.join(root, 'cifar-100-binary');
  mkdirSync(dir, { recursive: true });
  const fine: number[] = [];
  const coarse: number[] = [];
  const pixels = new Uint8Array(count * PIXELS);
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    fine.push(Math.floor(random() * 100));
    coarse.push(Math.floor(random() * 20));
    const rgb = fixtureImage(fine[i] % 10, random);
    pixels.set(rgb, i * PIXELS);
    records.push(binaryRecord([coarse[i], fine[i]], rgb));
  }
  writeFileSync(path.join(dir, 'test.bin'), Buffer.concat(records));
  writeFileSync(path.join(dir, 'train.bin'), Buffer.concat(records));
  writeFileSync(path.join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine_${i}`).join('\n') + '\n');
  writeFileSync(path.join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse_${i}`).join('\n') + '\n');
  return { dir, fine, coarse, pixels };
}

/** Writes PNGs under `<root>/<top>/{train,test}/<class>/NNNN.png`; returns the HWC pixels per file path. */
export function writeClassFolders(
  root: string,
  classes: string[],
  trainPerClass: number,
  testPerClass: number,
  top = 'dataset',
  seed = 3,
): Map<string, Uint8Array> {
  const random = seededRandom(seed);
  const written = new Map<string, Uint8Array>();
  for (const [split, perClass] of [['train', trainPerClass], ['test', testPerClass]] as const) {
    classes.forEach((className, label) => {
      const dir = path.join(root, top, split, className);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass; i++) {
        const rgb = fixtureImage(label, random);
        const relative = path.posix.join(top, split, className, `${String(i).padStart(4, '0')}.png`);
        writeFileSync(path.join(root, relative), handMadePng(32, 32, 2, rgb));
        written.set(relative, rgb);
      }
    });
  }
  return written;
}

/** Packs `entries` (paths relative to cwd) into a .tar.gz. */
export async function packTarGz(cwd: string, entries: string[], file: string): Promise<string> {
  await tar.c({ gzip: true, file, cwd, portable: true }, entries);
  return file;
}
