/**
 * Fixtures for the drift tests: small CIFAR-10 / CIFAR-100 copies in the official binary
 * formats, and an in-process run of the CLI that captures its output and exit code.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { CIFAR10_CLASSES, syntheticImages } from './model-fixture';

const PIXELS = 3072;

/** Official records are label byte(s) + R plane + G plane + B plane; our images are HWC. */
function officialRecords(pixels: Uint8Array, labels: number[][]): Buffer {
  const labelBytes = labels[0]?.length ?? 1;
  const record = labelBytes + PIXELS;
  const out = Buffer.alloc(labels.length * record);
  labels.forEach((label, i) => {
    label.forEach((value, b) => (out[i * record + b] = value));
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) out[i * record + labelBytes + c * 1024 + p] = pixels[i * PIXELS + p * 3 + c];
    }
  });
  return out;
}

/** `<dir>/cifar-10-batches-bin/` with 5 tiny train batches and `testCount` test images. */
export async function writeCifar10Binary(dir: string, testCount: number, seed = 7): Promise<string> {
  const folder = path.join(dir, 'cifar-10-batches-bin');
  await fs.mkdir(folder, { recursive: true });
  const batch = (count: number, batchSeed: number): Buffer =>
    officialRecords(
      syntheticImages(count, batchSeed),
      Array.from({ length: count }, (_, i) => [i % 10]),
    );
  for (let n = 1; n <= 5; n++) await fs.writeFile(path.join(folder, `data_batch_${n}.bin`), batch(10, seed + n));
  await fs.writeFile(path.join(folder, 'test_batch.bin'), batch(testCount, seed));
  await fs.writeFile(path.join(folder, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n') + '\n');
  return folder;
}

/** `<dir>/cifar-100-binary/` with test.bin, train.bin and both label-name files. */
export async function writeCifar100Binary(dir: string, testCount: number, seed = 11): Promise<string> {
  const folder = path.join(dir, 'cifar-100-binary');
  await fs.mkdir(folder, { recursive: true });
  const batch = (count: number, batchSeed: number): Buffer =>
    officialRecords(
      // Brighter, flatter images than the CIFAR-10 fixture: a different domain.
      syntheticImages(count, batchSeed).map((v) => Math.min(255, 60 + v)),
      Array.from({ length: count }, (_, i) => [i % 20, i % 100]),
    );
  await fs.writeFile(path.join(folder, 'train.bin'), batch(10, seed + 1));
  await fs.writeFile(path.join(folder, 'test.bin'), batch(testCount, seed));
  await fs.writeFile(path.join(folder, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n') + '\n');
  await fs.writeFile(path.join(folder, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n') + '\n');
  return folder;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mldeploy <args>` in this process, capturing stdout, stderr and the exit code. */
export async function runCli(args: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    }),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    }),
    jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
      stdout.push(parts.join(' ') + '\n');
    }),
  ];
  process.exitCode = undefined;
  try {
    await main(['node', 'mldeploy', ...args]);
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}
