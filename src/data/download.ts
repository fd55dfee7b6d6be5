/**
 * Downloads a file so that a partial or corrupt download is never mistaken for a complete
 * one: bytes go to a temporary name, the md5 is checked, and only then is it renamed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataError } from '../errors';
import type { ProgressCallback } from './types';

/** A download that stalls this long without receiving a byte is abandoned. */
const IDLE_TIMEOUT_MS = 60_000;

export interface DownloadOptions {
  url: string;
  destination: string;
  /** Expected md5 (hex); when given, a mismatch removes the file and throws. */
  md5?: string;
  onProgress?: ProgressCallback;
}

/** Thrown when the server cannot be reached at all (offline, DNS, refused). */
export class DownloadUnreachableError extends DataError {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot download ${url}: ${reason}`);
  }
}

export async function downloadVerified({ url, destination, md5, onProgress }: DownloadOptions): Promise<void> {
  await fs.mkdir(path.dirname(destination), { recursive: true });
  const partial = `${destination}.${process.pid}.part`;
  const controller = new AbortController();
  let idleTimer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (err) {
      throw new DownloadUnreachableError(url, networkReason(err));
    }
    if (!response.ok || !response.body) {
      throw new DataError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
    }
    const total = Number(response.headers.get('content-length') ?? 0);
    const hash = createHash('md5');
    let done = 0;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      touch();
      hash.update(chunk);
      done += chunk.length;
      onProgress?.({ phase: 'download', done, total });
    });
    try {
      await pipeline(body, createWriteStream(partial));
    } catch (err) {
      throw new DataError(`download of ${url} was interrupted after ${done} bytes: ${networkReason(err)}`);
    }
    if (total > 0 && done !== total) {
      throw new DataError(`download of ${url} is incomplete: ${done} of ${total} bytes`);
    }
    const actual = hash.digest('hex');
    if (md5 && actual !== md5.toLowerCase()) {
      throw new DataError(`download of ${url} is corrupt: md5 ${actual}, expected ${md5} (the file was discarded; try again)`);
    }
    await fs.rename(partial, destination);
  } finally {
    clearTimeout(idleTimer);
    await fs.rm(partial, { force: true });
  }
}

function networkReason(err: unknown): string {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  if (error.name === 'AbortError') return `no data for ${IDLE_TIMEOUT_MS / 1000} s`;
  return error.cause?.code ?? error.cause?.message ?? error.message;
}
