/**
 * CIFAR-10 from any of its forms: the official binary archive (downloaded by default, or a
 * local path or URL), its extracted `cifar-10-batches-bin/` folder, or a class-folder dataset
 * (folder or archive with `train/<class>/*` and `test/<class>/*`) for users' own images.
 */
import * as path from 'node:path';
import { DataError } from '../errors';
import { CIFAR10_LAYOUT, parseBinaryBatches, parseLabelNames } from './cifar-binary';
import { looksLikeClassFolders, loadClassFolders } from './class-folders';
import { imageSetsDigest } from './digest';
import { listTree, readTree } from './file-tree';
import { resolveDatasetSource, type OfficialArchive } from './official';
import type { LoadedDataset, ProgressCallback } from './types';

export const CIFAR10_ENV = 'MLDEPLOY_CIFAR10';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10_ARCHIVE: OfficialArchive = {
  name: 'CIFAR-10',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  folder: 'cifar-10-batches-bin',
  option: '--data',
  env: CIFAR10_ENV,
};

const TRAIN_BATCHES = [1, 2, 3, 4, 5].map((n) => `data_batch_${n}.bin`);
const TEST_BATCH = 'test_batch.bin';
const META_FILE = 'batches.meta.txt';
const BINARY_FILES = new Set([...TRAIN_BATCHES, TEST_BATCH, META_FILE]);

export interface Cifar10Options {
  /** `--data`: path or URL; defaults to $MLDEPLOY_CIFAR10, then the official download. */
  source?: string;
  /** Cache for downloads, extracted archives and decoded class folders. */
  dataDir: string;
  onProgress?: ProgressCallback;
  /** Where the default download comes from (a mirror, or a local server in tests). */
  officialArchive?: OfficialArchive;
}

export async function loadCifar10(options: Cifar10Options): Promise<LoadedDataset> {
  const { local, source } = await resolveDatasetSource(options.source, options.officialArchive ?? CIFAR10_ARCHIVE, options.dataDir, options.onProgress);
  return { ...(await loadFromPath(local, options)), source };
}

async function loadFromPath(local: string, options: Cifar10Options): Promise<Omit<LoadedDataset, 'source'>> {
  const paths = await listTree(local);
  const batchPrefix = binaryPrefix(paths);
  if (batchPrefix !== null) return loadBinary(local, batchPrefix, options.onProgress);
  if (looksLikeClassFolders(paths)) {
    const data = await loadClassFolders(local, options.dataDir, options.onProgress);
    return { train: data.train, test: data.test, classNames: data.classNames, format: 'class-folders', digest: `sha256:${data.digest}` };
  }
  throw new DataError(
    `${local} is not a CIFAR-10 source: expected the official cifar-10-binary.tar.gz, its cifar-10-batches-bin/ folder, ` +
      'or class folders (train/<class>/*.png|jpg and test/<class>/*)',
  );
}

/** The folder prefix (possibly '') that holds data_batch_1.bin, shallowest first; null if none. */
function binaryPrefix(paths: string[]): string | null {
  const prefixes = paths
    .filter((p) => path.posix.basename(p) === TRAIN_BATCHES[0])
    .map((p) => path.posix.dirname(p))
    .map((dir) => (dir === '.' ? '' : `${dir}/`))
    .sort((a, b) => a.length - b.length);
  return prefixes.length > 0 ? prefixes[0] : null;
}

async function loadBinary(local: string, prefix: string, onProgress?: ProgressCallback): Promise<Omit<LoadedDataset, 'source'>> {
  onProgress?.({ phase: 'read', done: 0, total: 0 });
  const files = await readTree(local, (p) => p.startsWith(prefix) && BINARY_FILES.has(p.slice(prefix.length)));
  const byName = new Map(files.map((f) => [f.path.slice(prefix.length), f.bytes]));
  const batch = (name: string) => {
    const bytes = byName.get(name);
    if (!bytes) throw new DataError(`${local} is missing ${prefix}${name} (an incomplete CIFAR-10 binary copy?)`);
    return { name: `${prefix}${name}`, bytes };
  };
  const train = parseBinaryBatches(TRAIN_BATCHES.map(batch), CIFAR10_LAYOUT);
  const test = parseBinaryBatches([batch(TEST_BATCH)], CIFAR10_LAYOUT);
  const meta = byName.get(META_FILE);
  const classNames = meta ? parseLabelNames(meta.toString('utf8')) : CIFAR10_CLASSES;
  if (classNames.length !== CIFAR10_LAYOUT.numClasses) {
    throw new DataError(`${local}: ${META_FILE} lists ${classNames.length} class names, expected ${CIFAR10_LAYOUT.numClasses}`);
  }
  return { train, test, classNames, format: 'cifar10-binary', digest: `sha256:${imageSetsDigest(train, test)}` };
}
