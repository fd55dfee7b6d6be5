/**
 * CIFAR-100 test images, drift's out-of-domain scenario: the official binary archive
 * (downloaded by default, or a path/URL), its extracted `cifar-100-binary/` folder, or any
 * folder/archive of images.
 */
import * as path from 'node:path';
import { DataError } from '../errors';
import { CIFAR100_LAYOUT, parseBinaryBatches, parseLabelNames } from './cifar-binary';
import { listTree, readTree } from './file-tree';
import { loadImageFolder } from './image-folder';
import { DatasetUnavailableError, resolveDatasetSource, type OfficialArchive } from './official';
import type { ImageSet, ProgressCallback } from './types';

export const CIFAR100_ENV = 'MLDEPLOY_CIFAR100';

export const CIFAR100_ARCHIVE: OfficialArchive = {
  name: 'CIFAR-100',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
  md5: '03b5dce01913d631647c71ecec9e9cb8',
  folder: 'cifar-100-binary',
  option: '--cifar100',
  env: CIFAR100_ENV,
};

const TEST_FILE = 'test.bin';
const FINE_NAMES_FILE = 'fine_label_names.txt';

/** CIFAR-100 is neither cached nor downloadable; drift turns this into its own usage message. */
export class Cifar100UnavailableError extends DatasetUnavailableError {}

export interface Cifar100Options {
  /** `--cifar100`: path or URL; defaults to $MLDEPLOY_CIFAR100, then the official download. */
  source?: string;
  dataDir: string;
  onProgress?: ProgressCallback;
  /** Where the default download comes from (a mirror, or a local server in tests). */
  officialArchive?: OfficialArchive;
}

export interface Cifar100Test {
  /** Labels are fine labels (0-99) for the binary form; folder indices for an image folder. */
  test: ImageSet;
  /** Names the labels index into (the 100 fine classes, or an image folder's subfolders). */
  fineLabelNames: string[];
  source: string;
}

export async function loadCifar100(options: Cifar100Options): Promise<Cifar100Test> {
  const archive = options.officialArchive ?? CIFAR100_ARCHIVE;
  const { local, source } = await resolveDatasetSource(options.source, archive, options.dataDir, options.onProgress).catch((err: unknown) => {
    throw err instanceof DatasetUnavailableError ? new Cifar100UnavailableError(err.message) : err;
  });
  return { ...(await loadFromPath(local, options.onProgress)), source };
}

async function loadFromPath(local: string, onProgress?: ProgressCallback): Promise<Omit<Cifar100Test, 'source'>> {
  const testPaths = (await listTree(local))
    .filter((p) => path.posix.basename(p) === TEST_FILE)
    .sort((a, b) => a.length - b.length);
  if (testPaths.length === 0) {
    const folder = await loadImageFolder(local);
    return { test: folder.images, fineLabelNames: folder.classNames };
  }
  onProgress?.({ phase: 'read', done: 0, total: 0 });
  const dir = path.posix.dirname(testPaths[0]);
  const prefix = dir === '.' ? '' : `${dir}/`;
  const wanted = new Set([TEST_FILE, FINE_NAMES_FILE].map((name) => prefix + name));
  const files = new Map((await readTree(local, (p) => wanted.has(p))).map((f) => [f.path.slice(prefix.length), f.bytes]));
  const test = parseBinaryBatches([{ name: prefix + TEST_FILE, bytes: files.get(TEST_FILE)! }], CIFAR100_LAYOUT);
  const fineLabelNames = namesOrIndices(files.get(FINE_NAMES_FILE), 100, `${local}: ${FINE_NAMES_FILE}`);
  return { test, fineLabelNames };
}

/** Label names from the official text file, or "class_<n>" when the file is absent. */
function namesOrIndices(bytes: Buffer | undefined, expected: number, where: string): string[] {
  if (!bytes) return Array.from({ length: expected }, (_, i) => `class_${i}`);
  const names = parseLabelNames(bytes.toString('utf8'));
  if (names.length !== expected) throw new DataError(`${where} lists ${names.length} names, expected ${expected}`);
  return names;
}
