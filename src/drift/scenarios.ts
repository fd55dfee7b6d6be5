/**
 * Drift scenarios that transform a labelled image set (labels unchanged): noise, blur,
 * lighting, compression and rotation applied to the CIFAR-10 test images. Every random
 * choice comes from a generator seeded by (seed, scenario name), so a run is reproducible
 * and adding a scenario leaves the others' images unchanged.
 *
 * Besides these workshop scenarios, every shift of src/data/corruptions is a scenario under its
 * name there: the CIFAR-10-C corruptions as `<corruption>:<severity>` (e.g. `contrast:5`) and the
 * Failing Loudly shifts `noise_std<1|10|100>:<10|50|100>%`, `transform:<small|medium|large>` and
 * `knockout_class0:<10|50|100>%` (a label shift: fewer images of class 0).
 *
 * `cifar100` and `--scenario name=<folder>` are data sources, not transforms: the runner
 * loads those images itself (see {@link isTransformScenario}).
 */
import { createCanvas, ImageData } from '@napi-rs/canvas';
import { applyShift, CIFAR10C_SHIFTS, isShiftName, KNOCKOUT_SHIFTS, NOISE_SHIFTS, TRANSFORM_SHIFTS } from '../data/corruptions';
import { CIFAR10C_CONSTANTS, type Cifar10cCorruption } from '../data/corruptions/cifar10c';
import { IMAGE_TRANSFORMS, type TransformSize } from '../data/corruptions/failing-loudly';
import type { ImageSet } from '../data/types';
import { UsageError } from '../errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE, decodeImageToRgb32 } from '../preprocess';
import { createRandom, deriveSeed, type Random } from '../util/random';

/** Noise standard deviations in pixel levels, as the workshop defines them. */
export const NOISE_SIGMA = { noisy: 0.2 * 255, very_noisy: 0.5 * 255 } as const;
/** Brightness shift in pixel levels; the sign (brighter or darker) is drawn per image. */
export const BRIGHTNESS_SHIFT = 64;
/** Contrast kept around each image's mean level. */
export const CONTRAST_FACTOR = 0.4;
/** JPEG quality of the re-encode. */
export const JPEG_QUALITY = 10;
/** Rotation magnitude range in degrees; the angle and direction are drawn per image. */
export const ROTATION_DEGREES = { min: 15, max: 30 } as const;

interface ScenarioDefinition {
  description: string;
  transform(pixels: Uint8Array, random: Random): Uint8Array | Promise<Uint8Array>;
}

export const SCENARIOS = {
  clean: {
    description: 'the images unchanged (the baseline)',
    transform: (pixels) => pixels.slice(),
  },
  noisy: {
    description: `Gaussian noise, sigma = 0.2*255 = ${NOISE_SIGMA.noisy} levels, clipped to 0..255`,
    transform: (pixels, random) => addGaussianNoise(pixels, NOISE_SIGMA.noisy, random),
  },
  very_noisy: {
    description: `Gaussian noise, sigma = 0.5*255 = ${NOISE_SIGMA.very_noisy} levels, clipped to 0..255`,
    transform: (pixels, random) => addGaussianNoise(pixels, NOISE_SIGMA.very_noisy, random),
  },
  blur: {
    description: 'Gaussian blur (5x5 binomial kernel, sigma = 1 pixel, edges clamped)',
    transform: (pixels) => mapImages(pixels, blurImage),
  },
  brightness: {
    description: `brightness shifted by ${BRIGHTNESS_SHIFT} levels, up or down per image, clipped`,
    transform: (pixels, random) =>
      mapImages(pixels, (image) => shiftBrightness(image, random.next() < 0.5 ? -BRIGHTNESS_SHIFT : BRIGHTNESS_SHIFT)),
  },
  contrast: {
    description: `contrast reduced to ${CONTRAST_FACTOR * 100}% around each image's mean level`,
    transform: (pixels) => mapImages(pixels, (image) => scaleContrast(image, CONTRAST_FACTOR)),
  },
  jpeg: {
    description: `JPEG re-encode at quality ${JPEG_QUALITY} (libjpeg-turbo via @napi-rs/canvas)`,
    transform: (pixels) => jpegRoundTrip(pixels, JPEG_QUALITY),
  },
  rotate: {
    description: `rotated ${ROTATION_DEGREES.min}-${ROTATION_DEGREES.max} degrees either way (bilinear, black corners)`,
    transform: (pixels, random) =>
      mapImages(pixels, (image) => {
        const magnitude = ROTATION_DEGREES.min + (ROTATION_DEGREES.max - ROTATION_DEGREES.min) * random.next();
        return rotateImage(image, random.next() < 0.5 ? -magnitude : magnitude);
      }),
  },
} satisfies Record<string, ScenarioDefinition>;

export type TransformScenarioName = keyof typeof SCENARIOS;
export const TRANSFORM_SCENARIO_NAMES = Object.keys(SCENARIOS) as TransformScenarioName[];

/** The corruption-library shifts, grouped for --help and the docs. */
export const SHIFT_SCENARIO_GROUPS = [
  { names: CIFAR10C_SHIFTS, description: 'CIFAR-10-C corruptions <corruption>:<severity 1-5>, Hendrycks & Dietterich constants' },
  { names: NOISE_SHIFTS, description: 'Failing Loudly: Gaussian noise of std 1/10/100 levels on 10/50/100% of the images' },
  { names: TRANSFORM_SHIFTS, description: 'Failing Loudly: rotation/shift/shear/zoom/flips, small/medium/large' },
  { names: KNOCKOUT_SHIFTS, description: 'Failing Loudly label shift: that share of the class-0 images removed' },
];

/** True for names applyScenario handles (workshop scenarios and corruption shifts); false for data sources. */
export function isTransformScenario(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(SCENARIOS, name) || isShiftName(name);
}

/** What a transform scenario does, in one line for the reports. */
export function describeScenario(name: string): string {
  if (Object.prototype.hasOwnProperty.call(SCENARIOS, name)) return SCENARIOS[name as TransformScenarioName].description;
  const [kind, level] = name.split(':');
  if (kind === 'knockout_class0') return `${level} of the class-0 images removed (label shift; Failing Loudly)`;
  if (kind.startsWith('noise_std')) return `Gaussian noise, std ${kind.slice('noise_std'.length)} levels, on ${level} of the images (Failing Loudly)`;
  if (kind === 'transform') {
    const r = IMAGE_TRANSFORMS[level as TransformSize];
    const flips = [r.horizontalFlip ? 'horizontal' : '', r.verticalFlip ? 'vertical' : ''].filter(Boolean).join(' and ');
    return `random affine transform (rotation ${r.rotation} deg, shift ${r.shift}, shear ${r.shear}, zoom ${r.zoom}${flips ? `, ${flips} flips` : ''}; Failing Loudly ${level})`;
  }
  const constant = CIFAR10C_CONSTANTS[kind as Cifar10cCorruption][Number(level) - 1];
  return `CIFAR-10-C ${kind}, severity ${level} (constant ${JSON.stringify(constant)})`;
}

/** Transform a labelled image set; labels follow their images. Same (name, images, seed) -> same bytes. */
export async function applyScenario(name: string, images: ImageSet, seed: number): Promise<ImageSet> {
  if (isShiftName(name)) return applyShift(name, images, seed);
  if (!isTransformScenario(name)) {
    throw new UsageError(`unknown scenario "${name}"; transform scenarios: ${TRANSFORM_SCENARIO_NAMES.join(', ')} and the corruption shifts (--help)`);
  }
  if (images.pixels.length !== images.count * PIXELS_PER_IMAGE) {
    throw new UsageError(`image set holds ${images.pixels.length} bytes, expected ${images.count * PIXELS_PER_IMAGE}`);
  }
  const definition: ScenarioDefinition = SCENARIOS[name as TransformScenarioName];
  const pixels = await definition.transform(images.pixels, createRandom(deriveSeed(seed, name)));
  return { pixels, labels: images.labels.slice(), count: images.count };
}

/** pixel + sigma * N(0,1), rounded and clipped to 0..255, independently for every byte. */
export function addGaussianNoise(pixels: Uint8Array, sigma: number, random: Random): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = clampByte(pixels[i] + sigma * random.normal());
  return out;
}

function mapImages(pixels: Uint8Array, transform: (image: Uint8Array) => Uint8Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let offset = 0; offset < pixels.length; offset += PIXELS_PER_IMAGE) {
    out.set(transform(pixels.subarray(offset, offset + PIXELS_PER_IMAGE)), offset);
  }
  return out;
}

const BINOMIAL_5 = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** Separable 5x5 binomial blur (a close Gaussian approximation), edge pixels repeated. */
function blurImage(image: Uint8Array): Uint8Array {
  const horizontal = new Float64Array(image.length);
  const out = new Uint8Array(image.length);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        let total = 0;
        for (let k = -2; k <= 2; k++) total += BINOMIAL_5[k + 2] * image[(y * IMAGE_SIZE + clampIndex(x + k)) * 3 + c];
        horizontal[(y * IMAGE_SIZE + x) * 3 + c] = total;
      }
    }
  }
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        let total = 0;
        for (let k = -2; k <= 2; k++) total += BINOMIAL_5[k + 2] * horizontal[(clampIndex(y + k) * IMAGE_SIZE + x) * 3 + c];
        out[(y * IMAGE_SIZE + x) * 3 + c] = clampByte(total);
      }
    }
  }
  return out;
}

function shiftBrightness(image: Uint8Array, shift: number): Uint8Array {
  return image.map((value) => clampByte(value + shift));
}

function scaleContrast(image: Uint8Array, factor: number): Uint8Array {
  let total = 0;
  for (const value of image) total += value;
  const mean = total / image.length;
  return image.map((value) => clampByte(mean + (value - mean) * factor));
}

/**
 * Encode with @napi-rs/canvas (Skia's libjpeg-turbo, ~0.03 ms per 32x32 image) and decode through
 * the same preprocessing as serve. jimp's pure-JS encoder (preprocess.encodeJpeg) rebuilds its
 * Huffman tables on every call, ~50 ms per image: 50 s for a 1000-image scenario.
 */
async function jpegRoundTrip(pixels: Uint8Array, quality: number): Promise<Uint8Array> {
  const canvas = createCanvas(IMAGE_SIZE, IMAGE_SIZE);
  const context = canvas.getContext('2d');
  const rgba = new Uint8ClampedArray(IMAGE_SIZE * IMAGE_SIZE * 4).fill(255);
  const out = new Uint8Array(pixels.length);
  for (let offset = 0; offset < pixels.length; offset += PIXELS_PER_IMAGE) {
    for (let p = 0; p < IMAGE_SIZE * IMAGE_SIZE; p++) {
      rgba[p * 4] = pixels[offset + p * 3];
      rgba[p * 4 + 1] = pixels[offset + p * 3 + 1];
      rgba[p * 4 + 2] = pixels[offset + p * 3 + 2];
    }
    context.putImageData(new ImageData(rgba, IMAGE_SIZE, IMAGE_SIZE), 0, 0);
    out.set(await decodeImageToRgb32(canvas.encodeSync('jpeg', quality)), offset);
  }
  return out;
}

/** Rotate about the image centre by `degrees` (positive = counter-clockwise), bilinear; outside is black. */
export function rotateImage(image: Uint8Array, degrees: number): Uint8Array {
  const out = new Uint8Array(image.length);
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const centre = (IMAGE_SIZE - 1) / 2;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      // Inverse mapping: where in the source does this output pixel come from?
      const dx = x - centre;
      const dy = y - centre;
      const sx = centre + cos * dx - sin * dy;
      const sy = centre + sin * dx + cos * dy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const sample = (py: number, px: number) =>
          px < 0 || py < 0 || px >= IMAGE_SIZE || py >= IMAGE_SIZE ? 0 : image[(py * IMAGE_SIZE + px) * 3 + c];
        const top = sample(y0, x0) * (1 - fx) + sample(y0, x0 + 1) * fx;
        const bottom = sample(y0 + 1, x0) * (1 - fx) + sample(y0 + 1, x0 + 1) * fx;
        out[(y * IMAGE_SIZE + x) * 3 + c] = clampByte(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

function clampIndex(i: number): number {
  return Math.min(Math.max(i, 0), IMAGE_SIZE - 1);
}

function clampByte(value: number): number {
  return Math.min(255, Math.max(0, Math.round(value)));
}
