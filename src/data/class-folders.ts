/**
 * Class-folder datasets (`train/<class>/*.png|jpg`, `test/<class>/*`), as a folder or an
 * archive. Decoding tens of thousands of images takes a while, so the decoded uint8 data is
 * cached under the data dir, keyed by the source's identity.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DataError } from '../errors';
import { PIXELS_PER_IMAGE, decodeImageToRgb32 } from '../preprocess';
import { writeFileAtomic } from '../util/atomic-write';
import { imageSetsDigest } from './digest';
import { fileSha256, folderFingerprint, isImagePath, readTree, TreeFile } from './file-tree';
import { shuffledOrder } from './sample';
import type { ImageSet, ProgressCallback } from './types';

const SPLITS = ['train', 'test'] as const;
type Split = (typeof SPLITS)[number];

/** The stored training order is a fixed shuffle, so `--limit N` takes a mix of classes. */
const TRAIN_ORDER_SEED = 20_091_231;
const CACHE_MAGIC = 'MLDEPLOY-DECODED-V1\n';

export interface ClassFolderData {
  train: ImageSet;
  test: ImageSet;
  classNames: string[];
  /** sha256 of the decoded labels and pixels: the same images give the same digest in any container. */
  digest: string;
  fromCache: boolean;
}

/** A path `<prefix>/<split>/<class>/<file>`; returns the parts or null. */
function splitPath(relative: string): { prefix: string; split: Split; className: string } | null {
  const parts = relative.split('/');
  if (parts.length < 3) return null;
  const split = parts[parts.length - 3];
  if (split !== 'train' && split !== 'test') return null;
  return { prefix: parts.slice(0, -3).join('/'), split, className: parts[parts.length - 2] };
}

const isClassFolderImage = (relative: string) => isImagePath(relative) && splitPath(relative) !== null;

/** True when the container holds `train/<class>/<image>` files (checked on a folder listing or archive). */
export function looksLikeClassFolders(relativePaths: string[]): boolean {
  return relativePaths.some((p) => isClassFolderImage(p) && splitPath(p)!.split === 'train');
}

export async function loadClassFolders(
  source: string,
  dataDir: string,
  onProgress?: ProgressCallback,
): Promise<ClassFolderData> {
  const isFolder = (await fs.stat(source)).isDirectory();
  const key = isFolder ? await folderFingerprint(source, isClassFolderImage) : await fileSha256(source);
  const cacheFile = path.join(dataDir, 'cache', `class-folders-${key.slice(0, 32)}.u8`);
  const cached = await readCache(cacheFile);
  if (cached) return publicView(cached, true);

  onProgress?.({ phase: 'read', done: 0, total: 0 });
  const files = await readTree(source, isClassFolderImage);
  const decoded = await decodeClassFolders(source, files, onProgress);
  await writeCache(cacheFile, decoded);
  return publicView(decoded, false);
}

/** Decoded sets plus the one buffer they are views into (written to the cache as is). */
interface DecodedData extends Omit<ClassFolderData, 'fromCache'> {
  body: Uint8Array;
}

function publicView({ train, test, classNames, digest }: DecodedData, fromCache: boolean): ClassFolderData {
  return { train, test, classNames, digest, fromCache };
}

async function decodeClassFolders(
  source: string,
  files: TreeFile[],
  onProgress?: ProgressCallback,
): Promise<DecodedData> {
  // Use the shallowest <prefix>/train folder (an archive usually wraps everything in one top folder).
  const prefixes = [...new Set(files.map((f) => splitPath(f.path)!.prefix))].sort((a, b) => a.length - b.length);
  const prefix = prefixes[0];
  const bySplit: Record<Split, { className: string; file: TreeFile }[]> = { train: [], test: [] };
  for (const file of files) {
    const parts = splitPath(file.path)!;
    if (parts.prefix === prefix) bySplit[parts.split].push({ className: parts.className, file });
  }
  const where = prefix ? `${source} (under ${prefix}/)` : source;
  const classNames = [...new Set(bySplit.train.map((e) => e.className))].sort();
  if (classNames.length < 2) {
    throw new DataError(`${where} needs train/<class>/ folders for at least 2 classes with images; found ${classNames.length}`);
  }
  if (bySplit.test.length === 0) throw new DataError(`${where} has no test/<class>/ images`);
  const unknown = [...new Set(bySplit.test.map((e) => e.className))].filter((c) => !classNames.includes(c));
  if (unknown.length > 0) {
    throw new DataError(`${where}: test classes ${unknown.join(', ')} have no train/ folder`);
  }

  // One buffer in the cache file's layout; the image sets are views into it (no second copy).
  const trainCount = bySplit.train.length;
  const testCount = bySplit.test.length;
  const body = new Uint8Array((trainCount + testCount) * (1 + PIXELS_PER_IMAGE));
  const sets = layoutSets(body, trainCount, testCount);
  const trainOrder = shuffledOrder(trainCount, TRAIN_ORDER_SEED);
  const total = trainCount + testCount;
  let done = 0;
  for (const split of SPLITS) {
    const entries = bySplit[split];
    const set = sets[split];
    for (let i = 0; i < entries.length; i++) {
      const slot = split === 'train' ? trainOrder[i] : i;
      const { className, file } = entries[i];
      let rgb: Uint8Array;
      try {
        rgb = await decodeImageToRgb32(file.bytes);
      } catch (err) {
        throw new DataError(`cannot decode ${file.path} in ${source}: ${(err as Error).message}`);
      }
      set.pixels.set(rgb, slot * PIXELS_PER_IMAGE);
      set.labels[slot] = classNames.indexOf(className);
      if (++done % 500 === 0 || done === total) onProgress?.({ phase: 'decode', done, total });
    }
  }
  return { ...sets, classNames, digest: imageSetsDigest(sets.train, sets.test), body };
}

/** Labels first (train, test), then pixels (train, test), all views into `body`. */
function layoutSets(body: Uint8Array, trainCount: number, testCount: number): Record<Split, ImageSet> {
  const labelEnd = trainCount + testCount;
  const trainPixelsEnd = labelEnd + trainCount * PIXELS_PER_IMAGE;
  return {
    train: { count: trainCount, labels: body.subarray(0, trainCount), pixels: body.subarray(labelEnd, trainPixelsEnd) },
    test: { count: testCount, labels: body.subarray(trainCount, labelEnd), pixels: body.subarray(trainPixelsEnd) },
  };
}

const cacheHeaderSchema = z.object({
  classNames: z.array(z.string()),
  trainCount: z.number().int().nonnegative(),
  testCount: z.number().int().nonnegative(),
  digest: z.string(),
});
type CacheHeader = z.infer<typeof cacheHeaderSchema>;

/** File: magic, 4-byte header length, JSON header, then the body layout of layoutSets. */
async function writeCache(file: string, data: DecodedData): Promise<void> {
  const header: CacheHeader = {
    classNames: data.classNames,
    trainCount: data.train.count,
    testCount: data.test.count,
    digest: data.digest,
  };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(CACHE_MAGIC.length + 4);
  prefix.write(CACHE_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, CACHE_MAGIC.length);
  await writeFileAtomic(file, Buffer.concat([prefix, headerBytes, data.body]));
}

async function readCache(file: string): Promise<DecodedData | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return null;
  }
  // A cache that does not parse exactly is ignored (and rewritten), never trusted.
  if (bytes.length < CACHE_MAGIC.length + 4 || bytes.toString('latin1', 0, CACHE_MAGIC.length) !== CACHE_MAGIC) return null;
  const headerLength = bytes.readUInt32LE(CACHE_MAGIC.length);
  const bodyStart = CACHE_MAGIC.length + 4 + headerLength;
  let header: CacheHeader;
  try {
    header = cacheHeaderSchema.parse(JSON.parse(bytes.toString('utf8', CACHE_MAGIC.length + 4, bodyStart)));
  } catch {
    return null;
  }
  const body = bytes.subarray(bodyStart);
  if (body.length !== (header.trainCount + header.testCount) * (1 + PIXELS_PER_IMAGE)) return null;
  return { ...layoutSets(body, header.trainCount, header.testCount), classNames: header.classNames, digest: header.digest, body };
}
