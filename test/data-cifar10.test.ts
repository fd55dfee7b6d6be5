import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIFAR10_ARCHIVE, loadCifar10 } from '../src/data/cifar10';
import { loadClassFolders } from '../src/data/class-folders';
import { DatasetUnavailableError, OfficialArchive } from '../src/data/official';
import { DataError } from '../src/errors';
import { PIXELS_PER_IMAGE } from '../src/preprocess';
import { CIFAR10_NAMES, packTarGz, writeCifar10Binary, writeClassFolders } from './helpers/cifar-fixtures';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-data-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const dataDir = () => path.join(work, 'data');

describe('official CIFAR-10 binary format', () => {
  it('parses the extracted folder into HWC pixels, labels and the class names', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 7, 5);
    const loaded = await loadCifar10({ source: fixture.batchesDir, dataDir: dataDir() });
    expect(loaded.format).toBe('cifar10-binary');
    expect(loaded.classNames).toEqual(CIFAR10_NAMES);
    expect(loaded.train.count).toBe(35);
    expect(loaded.test.count).toBe(5);
    expect(Buffer.from(loaded.train.pixels).equals(Buffer.from(fixture.train.pixels))).toBe(true);
    expect(Array.from(loaded.train.labels)).toEqual(Array.from(fixture.train.labels));
    expect(Buffer.from(loaded.test.pixels).equals(Buffer.from(fixture.test.pixels))).toBe(true);
    expect(loaded.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(loaded.source).toBe(fixture.batchesDir);
  });

  it('reads the official .tar.gz directly, giving the same data and digest as the folder', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 4, 3);
    const archive = await packTarGz(fixture.root, ['cifar-10-batches-bin'], path.join(work, 'cifar-10-binary.tar.gz'));
    const fromArchive = await loadCifar10({ source: archive, dataDir: dataDir() });
    const fromFolder = await loadCifar10({ source: fixture.root, dataDir: dataDir() });
    expect(fromArchive.digest).toBe(fromFolder.digest);
    expect(Buffer.from(fromArchive.train.pixels).equals(Buffer.from(fixture.train.pixels))).toBe(true);
  });

  it('refuses a truncated batch file with a message naming it', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 3, 3);
    truncateSync(path.join(fixture.batchesDir, 'test_batch.bin'), 3073 * 2 + 1000);
    const load = loadCifar10({ source: fixture.batchesDir, dataDir: dataDir() });
    await expect(load).rejects.toThrow(DataError);
    await expect(load).rejects.toThrow(/test_batch\.bin is truncated.*3073-byte records/);
  });

  it('refuses a truncated archive instead of loading part of it', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 20, 20);
    const archive = await packTarGz(fixture.root, ['cifar-10-batches-bin'], path.join(work, 'c.tar.gz'));
    truncateSync(archive, Math.floor(readFileSync(archive).length / 2));
    await expect(loadCifar10({ source: archive, dataDir: dataDir() })).rejects.toThrow(/cannot read archive .*c\.tar\.gz/);
  });

  it('names the missing batch of an incomplete folder', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 2, 2);
    rmSync(path.join(fixture.batchesDir, 'data_batch_4.bin'));
    await expect(loadCifar10({ source: fixture.root, dataDir: dataDir() })).rejects.toThrow(/missing cifar-10-batches-bin\/data_batch_4\.bin/);
  });

  it('uses MLDEPLOY_CIFAR10 when no source is given', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 2, 2);
    process.env.MLDEPLOY_CIFAR10 = fixture.root;
    try {
      expect((await loadCifar10({ dataDir: dataDir() })).source).toBe(fixture.root);
    } finally {
      delete process.env.MLDEPLOY_CIFAR10;
    }
  });

  it('explains which forms are accepted when a folder is none of them', async () => {
    writeFileSync(path.join(work, 'notes.txt'), 'hello');
    await expect(loadCifar10({ source: work, dataDir: dataDir() })).rejects.toThrow(/not a CIFAR-10 source: expected the official/);
    await expect(loadCifar10({ source: path.join(work, 'nope'), dataDir: dataDir() })).rejects.toThrow(/data source not found/);
  });
});

describe('default download (served locally in place of the official URL)', () => {
  let server: http.Server;
  let requests: number;
  let payload: Buffer;
  let url: string;

  beforeEach(async () => {
    requests = 0;
    server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cifar-10-binary.tar.gz`;
  });
  afterEach(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  const archiveFor = (md5: string): OfficialArchive => ({ ...CIFAR10_ARCHIVE, url, md5 });

  it('downloads once, verifies the md5, extracts into the data dir and reuses it', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 3, 2);
    payload = readFileSync(await packTarGz(fixture.root, ['cifar-10-batches-bin'], path.join(work, 'good.tar.gz')));
    const md5 = createHash('md5').update(payload).digest('hex');
    const progress: string[] = [];
    const first = await loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(md5), onProgress: (p) => progress.push(p.phase) });
    expect(first.source).toBe(url);
    expect(first.train.count).toBe(15);
    expect(progress).toContain('download');
    expect(readdirSync(dataDir())).toEqual(['cifar-10-batches-bin']);
    const second = await loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(md5) });
    expect(requests).toBe(1);
    expect(second.digest).toBe(first.digest);
  });

  it('discards a download whose md5 does not match and leaves nothing that looks complete', async () => {
    payload = Buffer.from('this is not the CIFAR-10 archive');
    const load = loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(CIFAR10_ARCHIVE.md5) });
    await expect(load).rejects.toThrow(DataError);
    await expect(loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(CIFAR10_ARCHIVE.md5) })).rejects.toThrow(
      /is corrupt: md5 [0-9a-f]{32}, expected c32a1d4ab5d03f1284b67883e8d87530/,
    );
    expect(readdirSync(dataDir())).toEqual([]);
  });

  it('offline: names the URL, --data and MLDEPLOY_CIFAR10', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const load = loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(CIFAR10_ARCHIVE.md5) });
    // The port that served `url` is closed now: the connection is refused, as when offline.
    await expect(load).rejects.toThrow(DatasetUnavailableError);
    await expect(loadCifar10({ dataDir: dataDir(), officialArchive: archiveFor(CIFAR10_ARCHIVE.md5) })).rejects.toThrow(
      new RegExp(`could not be downloaded from ${url.replace(/[.]/g, '\\.')} \\(ECONNREFUSED\\)\\. Pass --data <path-or-url> or set MLDEPLOY_CIFAR10`),
    );
  });

  it('--data <URL> downloads the archive into the data dir once', async () => {
    const fixture = writeCifar10Binary(path.join(work, 'src'), 2, 2);
    payload = readFileSync(await packTarGz(fixture.root, ['cifar-10-batches-bin'], path.join(work, 'good.tar.gz')));
    const first = await loadCifar10({ source: url, dataDir: dataDir() });
    await loadCifar10({ source: url, dataDir: dataDir() });
    expect(first.source).toBe(url);
    expect(requests).toBe(1);
  });
});

describe('class-folder datasets', () => {
  const classes = ['cat', 'dog', 'ship'];

  /** Maps each written image's bytes to its class, to check every loaded image kept its label. */
  function expectLabelsMatch(written: Map<string, Uint8Array>, set: { pixels: Uint8Array; labels: Uint8Array; count: number }, names: string[]) {
    const classByImage = new Map<string, string>();
    for (const [file, rgb] of written) classByImage.set(Buffer.from(rgb).toString('base64'), file.split('/').at(-2)!);
    for (let i = 0; i < set.count; i++) {
      const key = Buffer.from(set.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)).toString('base64');
      expect(classByImage.get(key)).toBe(names[set.labels[i]]);
    }
  }

  it('loads a folder (inside a wrapper folder) with sorted class names and a mixed training order', async () => {
    const written = writeClassFolders(work, classes, 8, 2, 'mydata');
    const loaded = await loadCifar10({ source: path.join(work, 'mydata'), dataDir: dataDir() });
    expect(loaded.format).toBe('class-folders');
    expect(loaded.classNames).toEqual(classes);
    expect([loaded.train.count, loaded.test.count]).toEqual([24, 6]);
    expectLabelsMatch(written, loaded.train, loaded.classNames);
    expectLabelsMatch(written, loaded.test, loaded.classNames);
    // Stored order is shuffled, so the first few images (what --limit takes) are not all one class.
    expect(new Set(loaded.train.labels.subarray(0, 8)).size).toBeGreaterThan(1);
  });

  it('loads a .tar.gz with a top folder, and caches the decoded data for the next run', async () => {
    const written = writeClassFolders(work, classes, 5, 2, 'cifar10-jpeg');
    const archive = await packTarGz(work, ['cifar10-jpeg'], path.join(work, 'images.tar.gz'));
    const first = await loadClassFolders(archive, dataDir());
    expect(first.fromCache).toBe(false);
    expectLabelsMatch(written, first.train, first.classNames);
    const cacheFiles = readdirSync(path.join(dataDir(), 'cache'));
    expect(cacheFiles).toHaveLength(1);

    const second = await loadClassFolders(archive, dataDir());
    expect(second.fromCache).toBe(true);
    expect(second.digest).toBe(first.digest);
    expect(Buffer.from(second.train.pixels).equals(Buffer.from(first.train.pixels))).toBe(true);
    expect(Array.from(second.test.labels)).toEqual(Array.from(first.test.labels));
    expect(`sha256:${first.digest}`).toBe((await loadCifar10({ source: archive, dataDir: dataDir() })).digest);
  });

  it('ignores and rewrites a damaged cache file', async () => {
    writeClassFolders(work, classes, 3, 1, 'd');
    const source = path.join(work, 'd');
    const first = await loadClassFolders(source, dataDir());
    const cacheFile = path.join(dataDir(), 'cache', readdirSync(path.join(dataDir(), 'cache'))[0]);
    truncateSync(cacheFile, 100);
    const second = await loadClassFolders(source, dataDir());
    expect(second.fromCache).toBe(false);
    expect(second.digest).toBe(first.digest);
    expect((await loadClassFolders(source, dataDir())).fromCache).toBe(true);
  });

  it('refuses test classes that have no training folder, and undecodable images by name', async () => {
    writeClassFolders(work, classes, 2, 1, 'd');
    writeClassFolders(work, ['horse'], 0, 1, 'd');
    await expect(loadCifar10({ source: path.join(work, 'd'), dataDir: dataDir() })).rejects.toThrow(/test classes horse have no train\/ folder/);
    rmSync(path.join(work, 'd', 'test', 'horse'), { recursive: true });
    writeFileSync(path.join(work, 'd', 'train', 'cat', 'broken.jpg'), Buffer.from('not a jpeg'));
    await expect(loadCifar10({ source: path.join(work, 'd'), dataDir: dataDir() })).rejects.toThrow(/cannot decode train\/cat\/broken\.jpg/);
    expect(existsSync(path.join(dataDir(), 'cache'))).toBe(false);
  });
});
