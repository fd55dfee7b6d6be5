import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import writeFileAtomicPackage = require('write-file-atomic');

/**
 * Writes a file so readers see the old content or the new, never half of it: write-file-atomic
 * writes a temp file beside it, fsyncs and renames it (and removes the temp file on failure).
 * The folder is created first.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const bytes = typeof data === 'string' || Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await writeFileAtomicPackage(file, bytes);
}
