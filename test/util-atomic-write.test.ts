import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-atomic-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('creates the folder and writes text, Buffers and Uint8Array views (only the view)', async () => {
    const file = path.join(work, 'a', 'b', 'out.bin');
    await writeFileAtomic(file, 'text');
    expect(readFileSync(file, 'utf8')).toBe('text');
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    await writeFileAtomic(file, backing.subarray(1, 4));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    await writeFileAtomic(file, Buffer.from('buffer'));
    expect(readFileSync(file, 'utf8')).toBe('buffer');
    expect(readdirSync(path.dirname(file))).toEqual(['out.bin']);
  });

  it('fails without leaving a temp file behind', async () => {
    // A non-empty folder where the file should go: the final rename fails after the temp file was written.
    const target = path.join(work, 'taken');
    mkdirSync(target);
    writeFileSync(path.join(target, 'inside'), '');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readdirSync(work)).toEqual(['taken']);
  });
});
