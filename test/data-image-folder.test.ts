import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadImageFolder } from '../src/data/image-folder';
import { sampleImages, splitValidation } from '../src/data/sample';
import type { ImageSet } from '../src/data/types';
import { PIXELS_PER_IMAGE } from '../src/preprocess';
import { fixtureImage, packTarGz, seededRandom, writeClassFolders } from './helpers/cifar-fixtures';
import { handMadePng } from './helpers/png';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-folder-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('loadImageFolder', () => {
  it('labels images by subfolder, indexing into the given class names when every folder is one of them', async () => {
    writeClassFolders(work, ['cat', 'ship'], 0, 2, 'mine');
    const loaded = await loadImageFolder(path.join(work, 'mine'), ['airplane', 'cat', 'ship']);
    expect(loaded.labelled).toBe(true);
    expect(loaded.classNames).toEqual(['airplane', 'cat', 'ship']);
    expect(Array.from(loaded.images.labels)).toEqual([1, 1, 2, 2]);
  });

  it('is unlabelled when a folder is not one of the given classes, and reports the folders found', async () => {
    writeClassFolders(work, ['cat', 'unicorn'], 0, 1, 'mine');
    const loaded = await loadImageFolder(path.join(work, 'mine'), ['cat', 'dog']);
    expect(loaded.labelled).toBe(false);
    expect(loaded.classNames).toEqual(['cat', 'unicorn']);
  });

  it('treats a flat folder as unlabelled and decodes every image', async () => {
    const random = seededRandom(9);
    const first = fixtureImage(0, random);
    writeFileSync(path.join(work, 'a.png'), handMadePng(32, 32, 2, first));
    writeFileSync(path.join(work, 'b.png'), handMadePng(32, 32, 2, fixtureImage(1, random)));
    writeFileSync(path.join(work, 'notes.txt'), 'not an image');
    const loaded = await loadImageFolder(work);
    expect(loaded).toMatchObject({ labelled: false, classNames: [] });
    expect(loaded.images.count).toBe(2);
    expect(Buffer.from(loaded.images.pixels.subarray(0, PIXELS_PER_IMAGE)).equals(Buffer.from(first))).toBe(true);
  });

  it('reads a .tar.gz, unwrapping its top folder and keeping only test/ of a train/test layout', async () => {
    writeClassFolders(work, ['cat', 'dog'], 3, 1, 'wrapped');
    const archive = await packTarGz(work, ['wrapped'], path.join(work, 'w.tar.gz'));
    const loaded = await loadImageFolder(archive, ['cat', 'dog']);
    expect(loaded.images.count).toBe(2);
    expect(loaded.labelled).toBe(true);
  });

  it('refuses a folder without images', async () => {
    mkdirSync(path.join(work, 'empty'));
    await expect(loadImageFolder(path.join(work, 'empty'))).rejects.toThrow(/no images .* found in/);
  });
});

describe('sampling', () => {
  const set: ImageSet = { count: 50, labels: new Uint8Array(50).map((_, i) => i), pixels: new Uint8Array(50 * PIXELS_PER_IMAGE).map((_, i) => Math.floor(i / PIXELS_PER_IMAGE)) };

  it('sampleImages is reproducible for a seed, draws without replacement and keeps pixels with labels', () => {
    const a = sampleImages(set, 20, 7);
    const b = sampleImages(set, 20, 7);
    const c = sampleImages(set, 20, 8);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.labels)).not.toEqual(Array.from(c.labels));
    expect(new Set(a.labels).size).toBe(20);
    for (let i = 0; i < a.count; i++) expect(a.pixels[i * PIXELS_PER_IMAGE]).toBe(a.labels[i]);
    expect(sampleImages(set, 500, 1).count).toBe(50);
  });

  it('splitValidation holds out the tail fraction as views', () => {
    const { train, validation } = splitValidation(set, 0.1);
    expect([train.count, validation.count]).toEqual([45, 5]);
    expect(Array.from(validation.labels)).toEqual([45, 46, 47, 48, 49]);
    expect(validation.pixels[0]).toBe(45);
    expect(splitValidation(set, 0).validation.count).toBe(0);
  });
});
