/**
 * Reads the files of a dataset container, a folder or a (gzipped) tar archive, as
 * relative paths with their bytes, so every loader handles both forms the same way.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { DataError } from '../errors';

export interface TreeFile {
  /** Path inside the container, '/'-separated, without a leading './'. */
  path: string;
  bytes: Buffer;
}

/** Decides from a relative path whether a file is worth reading into memory. */
export type PathFilter = (relativePath: string) => boolean;

const ARCHIVE_PATTERN = /\.(tar\.gz|tgz|tar)$/i;
const IMAGE_PATTERN = /\.(png|jpe?g|bmp|gif|tiff?)$/i;

function isArchivePath(file: string): boolean {
  return ARCHIVE_PATTERN.test(file);
}

export function isImagePath(file: string): boolean {
  return IMAGE_PATTERN.test(file) && !path.posix.basename(file).startsWith('.');
}

/** Files of a folder or archive that pass the filter, sorted by path (a stable order for labels). */
export async function readTree(source: string, filter: PathFilter): Promise<TreeFile[]> {
  const stat = await statOrThrow(source);
  const files = stat.isDirectory() ? await readFolder(source, filter) : await readArchive(source, filter);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function readFolder(root: string, filter: PathFilter): Promise<TreeFile[]> {
  const files: TreeFile[] = [];
  for (const relative of await listFolder(root)) {
    if (filter(relative)) files.push({ path: relative, bytes: await fs.readFile(path.join(root, relative)) });
  }
  return files;
}

/** Every regular file under root, as '/'-separated relative paths (symlinked folders are not followed). */
async function listFolder(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

async function readArchive(file: string, filter: PathFilter): Promise<TreeFile[]> {
  if (!isArchivePath(file)) {
    throw new DataError(`${file} is neither a folder nor a .tar.gz/.tgz/.tar archive`);
  }
  const files: TreeFile[] = [];
  try {
    await tar.t({
      file,
      // strict: a truncated or corrupt archive fails instead of yielding a partial listing.
      strict: true,
      onReadEntry: (entry) => {
        const relative = entry.path.replace(/^\.\//, '');
        if (entry.type !== 'File' || !filter(relative)) return;
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => files.push({ path: relative, bytes: Buffer.concat(chunks) }));
      },
    });
  } catch (err) {
    throw new DataError(`cannot read archive ${file}: ${(err as Error).message} (is it complete? re-download it)`);
  }
  return files;
}

/** Paths of the regular files in a folder or archive (an archive is read once, its contents skipped). */
export async function listTree(source: string): Promise<string[]> {
  const stat = await statOrThrow(source);
  if (stat.isDirectory()) return listFolder(source);
  const paths: string[] = [];
  await readArchive(source, (relative) => {
    paths.push(relative);
    return false;
  });
  return paths;
}

/** Extracts an archive's files whose paths pass the filter into `destination`. */
export async function extractArchive(file: string, destination: string, filter: PathFilter): Promise<void> {
  await fs.mkdir(destination, { recursive: true });
  try {
    await tar.x({ file, cwd: destination, strict: true, filter: (entryPath) => filter(entryPath.replace(/^\.\//, '')) });
  } catch (err) {
    throw new DataError(`cannot extract ${file}: ${(err as Error).message} (is it complete? re-download it)`);
  }
}

async function statOrThrow(source: string) {
  try {
    return await fs.stat(source);
  } catch {
    throw new DataError(`data source not found: ${source}`);
  }
}

/** sha256 of a file, streamed (archives can be hundreds of MB). */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A cheap identity for a folder's contents (relative path, size and mtime of every file),
 * good enough to key a decode cache without reading 60,000 files.
 */
export async function folderFingerprint(root: string, filter: PathFilter): Promise<string> {
  const hash = createHash('sha256');
  for (const relative of (await listFolder(root)).filter(filter).sort()) {
    const stat = await fs.stat(path.join(root, relative));
    hash.update(`${relative}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex');
}
