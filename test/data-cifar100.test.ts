import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIFAR100_ARCHIVE, Cifar100UnavailableError, loadCifar100 } from '../src/data/cifar100';
import { DatasetUnavailableError } from '../src/data/official';
import { DataError } from '../src/errors';
import { packTarGz, writeCifar100Binary, writeClassFolders } from './helpers/cifar-fixtures';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-c100-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));
const dataDir = () => path.join(work, 'data');

describe('loadCifar100', () => {
  it('parses test.bin records (coarse byte, fine byte, planar pixels) from the extracted folder, keeping the fine labels', async () => {
    const fixture = writeCifar100Binary(path.join(work, 'src'), 12);
    const loaded = await loadCifar100({ source: fixture.dir, dataDir: dataDir() });
    expect(loaded.test.count).toBe(12);
    expect(Array.from(loaded.test.labels)).toEqual(fixture.fine);
    expect(Buffer.from(loaded.test.pixels).equals(Buffer.from(fixture.pixels))).toBe(true);
    expect(loaded.fineLabelNames).toHaveLength(100);
    expect(loaded.fineLabelNames[7]).toBe('fine_7');
    expect(loaded.source).toBe(fixture.dir);
  });

  it('reads the official .tar.gz layout (cifar-100-binary/ inside)', async () => {
    const fixture = writeCifar100Binary(path.join(work, 'src'), 5);
    const archive = await packTarGz(path.join(work, 'src'), ['cifar-100-binary'], path.join(work, 'cifar-100-binary.tar.gz'));
    const loaded = await loadCifar100({ source: archive, dataDir: dataDir() });
    expect(Array.from(loaded.test.labels)).toEqual(fixture.fine);
  });

  it('refuses a truncated test.bin', async () => {
    const fixture = writeCifar100Binary(path.join(work, 'src'), 3);
    truncateSync(path.join(fixture.dir, 'test.bin'), 3074 + 10);
    await expect(loadCifar100({ source: fixture.dir, dataDir: dataDir() })).rejects.toThrow(/test\.bin is truncated .*3074-byte records/);
  });

  it('takes a folder of images (the test/ split of a train/test layout), its subfolders as the label names', async () => {
    writeClassFolders(work, ['apple', 'bear'], 2, 3, 'c100');
    const loaded = await loadCifar100({ source: path.join(work, 'c100'), dataDir: dataDir() });
    expect(loaded.test.count).toBe(6);
    expect(loaded.fineLabelNames).toEqual(['apple', 'bear']);
  });

  it('uses MLDEPLOY_CIFAR100 when no source is given', async () => {
    const fixture = writeCifar100Binary(path.join(work, 'src'), 2);
    process.env.MLDEPLOY_CIFAR100 = fixture.dir;
    try {
      expect((await loadCifar100({ dataDir: dataDir() })).test.count).toBe(2);
    } finally {
      delete process.env.MLDEPLOY_CIFAR100;
    }
  });

  it('throws Cifar100UnavailableError (a DataError) naming --cifar100 and MLDEPLOY_CIFAR100 when it cannot be downloaded', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cifar-100-binary.tar.gz`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await loadCifar100({ dataDir: dataDir(), officialArchive: { ...CIFAR100_ARCHIVE, url } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Cifar100UnavailableError);
    expect(error).toBeInstanceOf(DatasetUnavailableError);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(/CIFAR-100 is not in .* could not be downloaded from .*Pass --cifar100 <path-or-url> or set MLDEPLOY_CIFAR100/);
  });
});
