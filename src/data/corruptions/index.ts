/**
 * Named, seeded measurement shifts over a labelled image set (uint8 [N,32,32,3]):
 * - `<corruption>:<severity>`, the CIFAR-10-C corruptions (./cifar10c.ts), e.g. `contrast:3`;
 * - `noise_std<1|10|100>:<10|50|100>%`, Failing Loudly's Gaussian noise on a share of the images;
 * - `transform:<small|medium|large>`, its image transformations;
 * - `knockout_class0:<10|50|100>%`, its label shift (a share of class 0 removed).
 * Same (name, images, seed) -> same bytes; each name draws from its own seeded stream.
 */
import { shuffledOrder, pickImages } from '../sample';
import type { ImageSet } from '../types';
import { PIXELS_PER_IMAGE } from '../../preprocess';
import { UsageError } from '../../errors';
import { createRandom, deriveSeed, type Random } from '../../util/random';
import {
  brightness,
  CIFAR10C_CONSTANTS,
  CIFAR10C_CORRUPTIONS,
  contrast,
  defocusBlur,
  gaussianBlur,
  gaussianNoise,
  impulseNoise,
  pixelate,
  SEVERITIES,
  shotNoise,
  type Cifar10cCorruption,
} from './cifar10c';
import { addNoise, affineTransform, AFFECTED_PERCENTS, drawAffine, IMAGE_TRANSFORMS, NOISE_STDS, type TransformSize } from './failing-loudly';
import { jpegCompression } from './jpeg';

type ImageTransform = (image: Uint8Array, random: Random) => Uint8Array | Promise<Uint8Array>;

function cifar10cTransform(corruption: Cifar10cCorruption, severity: number): ImageTransform {
  const constant = CIFAR10C_CONSTANTS[corruption][severity - 1];
  switch (corruption) {
    case 'gaussian_noise':
      return (image, random) => gaussianNoise(image, constant as number, random);
    case 'shot_noise':
      return (image, random) => shotNoise(image, constant as number, random);
    case 'impulse_noise':
      return (image, random) => impulseNoise(image, constant as number, random);
    case 'defocus_blur': {
      const [radius, alias] = constant as readonly [number, number];
      return (image) => defocusBlur(image, radius, alias);
    }
    case 'gaussian_blur':
      return (image) => gaussianBlur(image, constant as number);
    case 'brightness':
      return (image) => brightness(image, constant as number);
    case 'contrast':
      return (image) => contrast(image, constant as number);
    case 'jpeg_compression':
      return (image) => jpegCompression(image, constant as number);
    case 'pixelate':
      return (image) => pixelate(image, constant as number);
  }
}

export const CIFAR10C_SHIFTS = CIFAR10C_CORRUPTIONS.flatMap((c) => SEVERITIES.map((s) => `${c}:${s}`));
export const NOISE_SHIFTS = NOISE_STDS.flatMap((std) => AFFECTED_PERCENTS.map((p) => `noise_std${std}:${p}%`));
export const TRANSFORM_SHIFTS = (Object.keys(IMAGE_TRANSFORMS) as TransformSize[]).map((size) => `transform:${size}`);
export const KNOCKOUT_SHIFTS = AFFECTED_PERCENTS.map((p) => `knockout_class0:${p}%`);
export const SHIFT_NAMES = [...CIFAR10C_SHIFTS, ...NOISE_SHIFTS, ...TRANSFORM_SHIFTS, ...KNOCKOUT_SHIFTS];

export function isShiftName(name: string): boolean {
  return SHIFT_NAMES.includes(name);
}

/** Applies the named shift; labels follow their images (knock-out returns fewer images). */
export async function applyShift(name: string, images: ImageSet, seed: number): Promise<ImageSet> {
  if (!isShiftName(name)) throw new UsageError(`unknown shift "${name}"; known: ${SHIFT_NAMES.join(', ')}`);
  if (images.pixels.length !== images.count * PIXELS_PER_IMAGE) {
    throw new UsageError(`image set holds ${images.pixels.length} bytes, expected ${images.count * PIXELS_PER_IMAGE}`);
  }
  const streamSeed = deriveSeed(seed, name);
  const [kind, level] = name.split(':');
  if (kind === 'knockout_class0') return knockOutClass(images, 0, Number.parseInt(level, 10) / 100, streamSeed);
  if (kind.startsWith('noise_std')) {
    const std = Number(kind.slice('noise_std'.length));
    return transformShare(images, Number.parseInt(level, 10) / 100, (image, random) => addNoise(image, std, random), streamSeed);
  }
  if (kind === 'transform') {
    const ranges = IMAGE_TRANSFORMS[level as TransformSize];
    return transformShare(images, 1, (image, random) => affineTransform(image, drawAffine(ranges, random)), streamSeed);
  }
  return transformShare(images, 1, cifar10cTransform(kind as Cifar10cCorruption, Number(level)), streamSeed);
}

/** Transforms ceil(share * N) images chosen at random (all when share = 1); the rest stay as they are. */
async function transformShare(images: ImageSet, share: number, transform: ImageTransform, seed: number): Promise<ImageSet> {
  const random = createRandom(seed);
  const chosen = new Uint8Array(images.count);
  const affected = Math.ceil(share * images.count);
  shuffledOrder(images.count, seed ^ 0x5bd1e995).subarray(0, affected).forEach((index) => (chosen[index] = 1));
  const pixels = images.pixels.slice();
  for (let i = 0; i < images.count; i++) {
    if (!chosen[i]) continue;
    const offset = i * PIXELS_PER_IMAGE;
    pixels.set(await transform(images.pixels.subarray(offset, offset + PIXELS_PER_IMAGE), random), offset);
  }
  return { pixels, labels: images.labels.slice(), count: images.count };
}

/** Removes ceil(share * n_c) of the images of class c, chosen at random; order of the rest kept. */
function knockOutClass(images: ImageSet, classIndex: number, share: number, seed: number): ImageSet {
  const ofClass = Array.from(images.labels.keys()).filter((i) => images.labels[i] === classIndex);
  const order = shuffledOrder(ofClass.length, seed);
  const removed = new Set(Array.from(order.subarray(0, Math.ceil(share * ofClass.length)), (k) => ofClass[k]));
  return pickImages(images, Array.from(images.labels.keys()).filter((i) => !removed.has(i)));
}
