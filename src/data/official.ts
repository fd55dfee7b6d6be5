/**
 * The official CIFAR archives from the University of Toronto: downloaded once (verified by
 * md5), extracted into the data dir, and reused from there. Also fetches `--data <URL>`
 * sources into the data dir.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';
import { DownloadUnreachableError, downloadVerified } from './download';
import { extractArchive } from './file-tree';
import type { ProgressCallback } from './types';

export interface OfficialArchive {
  /** Human name for messages, e.g. "CIFAR-10". */
  name: string;
  url: string;
  md5: string;
  /** The folder the archive unpacks to, e.g. "cifar-10-batches-bin". */
  folder: string;
  /** Where users can point instead: the option and the environment variable. */
  option: string;
  env: string;
}

/** The dataset is neither cached nor downloadable (typically: offline and no --data given). */
export class DatasetUnavailableError extends DataError {}

/**
 * Returns the extracted official folder under dataDir, downloading and extracting it first
 * if needed. The folder only ever appears complete (extracted elsewhere, then renamed).
 */
async function ensureOfficialFolder(archive: OfficialArchive, dataDir: string, onProgress?: ProgressCallback): Promise<string> {
  const folder = path.join(dataDir, archive.folder);
  if (existsSync(folder)) return folder;
  const archiveFile = path.join(dataDir, path.posix.basename(new URL(archive.url).pathname));
  if (!existsSync(archiveFile)) {
    try {
      await downloadVerified({ url: archive.url, destination: archiveFile, md5: archive.md5, onProgress });
    } catch (err) {
      if (!(err instanceof DownloadUnreachableError)) throw err;
      throw new DatasetUnavailableError(
        `${archive.name} is not in ${dataDir} and could not be downloaded from ${archive.url} (${err.reason}). ` +
          `Pass ${archive.option} <path-or-url> or set ${archive.env} to use a copy you have.`,
      );
    }
  }
  onProgress?.({ phase: 'extract', done: 0, total: 1 });
  const staging = await fs.mkdtemp(path.join(dataDir, '.extract-'));
  try {
    await extractArchive(archiveFile, staging, (entry) => entry.startsWith(`${archive.folder}/`));
    if (!existsSync(path.join(staging, archive.folder))) {
      throw new DataError(`${archiveFile} does not contain ${archive.folder}/`);
    }
    await fs.rename(path.join(staging, archive.folder), folder).catch((err: unknown) => {
      // Another run finished extracting first: its complete folder is as good as ours.
      if (!existsSync(folder)) throw err;
    });
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  // The extracted folder is the cache from now on; the archive would only take space.
  await fs.rm(archiveFile, { force: true });
  onProgress?.({ phase: 'extract', done: 1, total: 1 });
  return folder;
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Downloads a `--data <URL>` source into `<dataDir>/downloads/` once (the official URL is
 * md5-checked) and returns the local file.
 */
async function fetchUrlSource(url: string, dataDir: string, archive: OfficialArchive, onProgress?: ProgressCallback): Promise<string> {
  const name = path.posix.basename(new URL(url).pathname) || 'download';
  const destination = path.join(dataDir, 'downloads', `${createHash('sha256').update(url).digest('hex').slice(0, 12)}-${name}`);
  if (!existsSync(destination)) {
    await downloadVerified({ url, destination, md5: url === archive.url ? archive.md5 : undefined, onProgress });
  }
  return destination;
}

/**
 * Where a dataset's files are, from the user's source (path or URL), else `$<archive.env>`, else
 * the official download; `source` is what the dataset records as its origin.
 */
export async function resolveDatasetSource(
  given: string | undefined,
  archive: OfficialArchive,
  dataDir: string,
  onProgress?: ProgressCallback,
): Promise<{ local: string; source: string }> {
  const source = given ?? (process.env[archive.env] || undefined);
  await fs.mkdir(dataDir, { recursive: true });
  if (!source) return { local: await ensureOfficialFolder(archive, dataDir, onProgress), source: archive.url };
  if (isUrl(source)) return { local: await fetchUrlSource(source, dataDir, archive, onProgress), source };
  return { local: source, source };
}
