/**
 * Any folder (or archive) of images, e.g. a drift scenario's own images: optionally one
 * subfolder per class, optionally wrapped in a top folder or split into train/ and test/.
 */
import * as path from 'node:path';
import { DataError } from '../errors';
import { PIXELS_PER_IMAGE, decodeImageToRgb32 } from '../preprocess';
import { isImagePath, readTree, TreeFile } from './file-tree';
import type { ImageSet } from './types';

export interface ImageFolder {
  images: ImageSet;
  /** True when every image sits in a class subfolder (and, if classNames were given, each folder is one of them). */
  labelled: boolean;
  /** The given classNames when labelled by them; else the subfolder names found (labels index into them); [] for a flat folder. */
  classNames: string[];
}

const SPLIT_FOLDERS = new Set(['train', 'test', 'val', 'validation']);

export async function loadImageFolder(pathOrTarGz: string, classNames?: string[]): Promise<ImageFolder> {
  const files = selectImages(await readTree(pathOrTarGz, isImagePath));
  if (files.length === 0) throw new DataError(`no images (.png, .jpg, .bmp, .gif, .tiff) found in ${pathOrTarGz}`);
  const classOf = (file: TreeFile) => (file.path.includes('/') ? file.path.split('/')[0] : null);
  const inFolders = files.every((file) => classOf(file) !== null);
  const found = inFolders ? [...new Set(files.map((file) => classOf(file)!))].sort() : [];
  const labelled = inFolders && (classNames === undefined || found.every((name) => classNames.includes(name)));
  const names = labelled && classNames ? classNames : found;

  const images: ImageSet = {
    pixels: new Uint8Array(files.length * PIXELS_PER_IMAGE),
    labels: new Uint8Array(files.length),
    count: files.length,
  };
  for (let i = 0; i < files.length; i++) {
    try {
      images.pixels.set(await decodeImageToRgb32(files[i].bytes), i * PIXELS_PER_IMAGE);
    } catch (err) {
      throw new DataError(`cannot decode ${files[i].path} in ${pathOrTarGz}: ${(err as Error).message}`);
    }
    images.labels[i] = inFolders ? names.indexOf(classOf(files[i])!) : 0;
  }
  return { images, labelled, classNames: names };
}

/**
 * Strips wrapper folders (one top folder holding everything) and, in a train/test layout,
 * keeps only test/. Returned paths are relative to the folder that holds the classes.
 */
function selectImages(files: TreeFile[]): TreeFile[] {
  let current = files;
  for (;;) {
    const tops = new Set(current.map((file) => file.path.split('/')[0]));
    const depthOk = current.every((file) => file.path.split('/').length >= 3);
    if (tops.size === 1 && depthOk) {
      current = stripTop(current, [...tops][0]);
    } else if (tops.has('test') && [...tops].every((top) => SPLIT_FOLDERS.has(top))) {
      current = stripTop(current.filter((file) => file.path.startsWith('test/')), 'test');
    } else {
      return current;
    }
  }
}

function stripTop(files: TreeFile[], top: string): TreeFile[] {
  return files.map((file) => ({ ...file, path: path.posix.relative(top, file.path) }));
}
