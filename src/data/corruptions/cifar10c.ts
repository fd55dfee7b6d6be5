/**
 * The CIFAR-10-C corruptions (Hendrycks & Dietterich, "Benchmarking Neural Network Robustness
 * to Common Corruptions and Perturbations", ICLR 2019), reproduced from their make_cifar_c.py
 * with its published constants: images on the [0, 1] scale, 5 severities each, and the result
 * stored as np.uint8 does (truncated). Pure functions of one 32x32x3 uint8 image; randomness
 * comes from the seeded generator passed in. jpeg_compression needs an encoder: ./jpeg.ts.
 */
import poisson = require('@stdlib/random-base-poisson');
import { IMAGE_SIZE } from '../../preprocess';
import type { Random } from '../../util/random';

export const SEVERITIES = [1, 2, 3, 4, 5] as const;

/** Constants per severity 1..5, as published. */
export const CIFAR10C_CONSTANTS = {
  gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.1],
  shot_noise: [500, 250, 100, 75, 50],
  impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
  defocus_blur: [
    [0.3, 0.4],
    [0.4, 0.5],
    [0.5, 0.6],
    [1, 0.2],
    [1.5, 0.1],
  ],
  gaussian_blur: [0.4, 0.6, 0.7, 0.8, 1],
  brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
  jpeg_compression: [80, 65, 58, 50, 40],
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
} as const;
export type Cifar10cCorruption = keyof typeof CIFAR10C_CONSTANTS;
export const CIFAR10C_CORRUPTIONS = Object.keys(CIFAR10C_CONSTANTS) as Cifar10cCorruption[];

const SIDE = IMAGE_SIZE;

/** [0, 1] floats -> uint8 the way np.uint8(np.clip(x, 0, 1) * 255) does (truncation). */
function toBytes(values: Float64Array): Uint8Array {
  return Uint8Array.from(values, (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255));
}

function toUnit(image: Uint8Array): Float64Array {
  return Float64Array.from(image, (v) => v / 255);
}

export function gaussianNoise(image: Uint8Array, scale: number, random: Random): Uint8Array {
  return toBytes(toUnit(image).map((v) => v + scale * random.normal()));
}

/** Poisson(x * c) / c per value; Poisson draws use @stdlib's sampler fed by our seeded uniform stream. */
export function shotNoise(image: Uint8Array, photons: number, random: Random): Uint8Array {
  const draw = poisson.factory({ prng: random.next });
  return toBytes(toUnit(image).map((v) => draw(v * photons) / photons));
}

/** skimage.util.random_noise(mode='s&p', amount): each value flips with probability amount, half to 1, half to 0. */
export function impulseNoise(image: Uint8Array, amount: number, random: Random): Uint8Array {
  return toBytes(
    toUnit(image).map((v) => {
      const flipped = random.next() <= amount;
      const salted = random.next() <= 0.5;
      return flipped ? (salted ? 1 : 0) : v;
    }),
  );
}

/**
 * make_cifar_c's disk(radius, alias_blur): the 17x17 indicator of x^2 + y^2 <= r^2, normalised,
 * then cv2.GaussianBlur with a 3x3 kernel of sigma alias_blur. Returned cropped to its non-zero
 * square (the rest is exactly 0), with its half-width.
 */
export function defocusKernel(radius: number, aliasBlur: number): { kernel: Float64Array; half: number } {
  const full = 8;
  const size = 2 * full + 1;
  const disk = new Float64Array(size * size);
  let total = 0;
  for (let y = -full; y <= full; y++) {
    for (let x = -full; x <= full; x++) {
      if (x * x + y * y <= radius * radius) {
        disk[(y + full) * size + x + full] = 1;
        total += 1;
      }
    }
  }
  for (let i = 0; i < disk.length; i++) disk[i] = Math.fround(disk[i] / total);
  // cv2's 3-tap Gaussian: exp(-x^2 / (2 sigma^2)) at -1, 0, 1, normalised.
  const side = Math.exp(-1 / (2 * aliasBlur * aliasBlur));
  const taps = [side / (1 + 2 * side), 1 / (1 + 2 * side), side / (1 + 2 * side)].map(Math.fround);
  const blurred = separable(disk, size, taps, reflect101, Math.fround);
  const half = Math.ceil(radius) + 1;
  const kernel = new Float64Array((2 * half + 1) ** 2);
  for (let y = -half; y <= half; y++) {
    for (let x = -half; x <= half; x++) kernel[(y + half) * (2 * half + 1) + x + half] = blurred[(y + full) * size + x + full];
  }
  return { kernel, half };
}

/** cv2.filter2D of each channel with the defocus kernel (border: BORDER_REFLECT_101). */
export function defocusBlur(image: Uint8Array, radius: number, aliasBlur: number): Uint8Array {
  const { kernel, half } = defocusKernel(radius, aliasBlur);
  const width = 2 * half + 1;
  const unit = toUnit(image);
  const out = new Float64Array(unit.length);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      for (let c = 0; c < 3; c++) {
        let total = 0;
        for (let dy = -half; dy <= half; dy++) {
          for (let dx = -half; dx <= half; dx++) {
            total += kernel[(dy + half) * width + dx + half] * unit[(reflect101(y + dy, SIDE) * SIDE + reflect101(x + dx, SIDE)) * 3 + c];
          }
        }
        out[(y * SIDE + x) * 3 + c] = total;
      }
    }
  }
  return toBytes(out);
}

/** skimage.filters.gaussian(sigma, multichannel): scipy gaussian_filter, mode 'nearest', truncate 4. */
export function gaussianBlur(image: Uint8Array, sigma: number): Uint8Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const unit = toUnit(image);
  const out = new Float64Array(unit.length);
  for (let c = 0; c < 3; c++) {
    const plane = Float64Array.from({ length: SIDE * SIDE }, (_, p) => unit[p * 3 + c]);
    const blurred = separable(plane, SIDE, taps.map((t) => t / total), clampIndex);
    for (let p = 0; p < SIDE * SIDE; p++) out[p * 3 + c] = blurred[p];
  }
  return toBytes(out);
}

/**
 * rgb2hsv, V + c clipped to 1, hsv2rgb. Hue and saturation stay, so every channel scales by
 * V'/V; a black pixel (V = 0, saturation 0) becomes grey V'.
 */
export function brightness(image: Uint8Array, shift: number): Uint8Array {
  const unit = toUnit(image);
  for (let p = 0; p < unit.length; p += 3) {
    const value = Math.max(unit[p], unit[p + 1], unit[p + 2]);
    const raised = Math.min(1, value + shift);
    for (let c = 0; c < 3; c++) unit[p + c] = value === 0 ? raised : (unit[p + c] * raised) / value;
  }
  return toBytes(unit);
}

/** (x - mean) * c + mean, the mean per channel over the image. */
export function contrast(image: Uint8Array, factor: number): Uint8Array {
  const unit = toUnit(image);
  const means = [0, 1, 2].map((c) => {
    let total = 0;
    for (let p = c; p < unit.length; p += 3) total += unit[p];
    return total / (SIDE * SIDE);
  });
  return toBytes(unit.map((v, i) => (v - means[i % 3]) * factor + means[i % 3]));
}

/** PIL: resize to int(32 c) square with BOX, then back to 32 with BOX (8-bit fixed point, as Pillow computes it). */
export function pixelate(image: Uint8Array, factor: number): Uint8Array {
  const small = Math.trunc(SIDE * factor);
  return pillowBoxResize(pillowBoxResize(image, SIDE, small), small, SIDE);
}

/** Pillow's fixed-point precision for 8-bit resampling (Resample.c). */
const PRECISION_BITS = 32 - 8 - 2;

/** Pillow's ImagingResample with the BOX filter on a square RGB image: horizontal pass, then vertical. */
export function pillowBoxResize(image: Uint8Array, from: number, to: number): Uint8Array {
  const { bounds, weights } = pillowBoxCoefficients(from, to);
  const horizontal = new Uint8Array(from * to * 3);
  for (let y = 0; y < from; y++) {
    for (let x = 0; x < to; x++) {
      for (let c = 0; c < 3; c++) {
        let total = 1 << (PRECISION_BITS - 1);
        for (let k = 0; k < bounds[x].count; k++) total += weights[x][k] * image[(y * from + bounds[x].start + k) * 3 + c];
        horizontal[(y * to + x) * 3 + c] = clip8(total);
      }
    }
  }
  const out = new Uint8Array(to * to * 3);
  for (let y = 0; y < to; y++) {
    for (let x = 0; x < to; x++) {
      for (let c = 0; c < 3; c++) {
        let total = 1 << (PRECISION_BITS - 1);
        for (let k = 0; k < bounds[y].count; k++) total += weights[y][k] * horizontal[((bounds[y].start + k) * to + x) * 3 + c];
        out[(y * to + x) * 3 + c] = clip8(total);
      }
    }
  }
  return out;
}

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc for the box filter (support 0.5). */
function pillowBoxCoefficients(from: number, to: number): { bounds: { start: number; count: number }[]; weights: number[][] } {
  const scale = from / to;
  const filterScale = Math.max(scale, 1);
  const support = 0.5 * filterScale;
  const bounds: { start: number; count: number }[] = [];
  const weights: number[][] = [];
  for (let xx = 0; xx < to; xx++) {
    const centre = (xx + 0.5) * scale;
    const start = Math.max(0, Math.trunc(centre - support + 0.5));
    const end = Math.min(from, Math.trunc(centre + support + 0.5));
    const raw: number[] = [];
    for (let x = start; x < end; x++) {
      const offset = (x - centre + 0.5) / filterScale;
      raw.push(offset > -0.5 && offset <= 0.5 ? 1 : 0);
    }
    const total = raw.reduce((a, b) => a + b, 0);
    bounds.push({ start, count: raw.length });
    weights.push(raw.map((w) => Math.trunc(0.5 + (total === 0 ? w : w / total) * (1 << PRECISION_BITS))));
  }
  return { bounds, weights };
}

function clip8(total: number): number {
  return Math.min(255, Math.max(0, Math.floor(total / (1 << PRECISION_BITS))));
}

/**
 * 1-D correlation along rows then columns of a square plane, `edge` mapping out-of-range
 * indices, `round` applied to each pass's output (Math.fround where the original is float32:
 * make_cifar_c's disk kernel is, and its rounding decides which side of a level a sum lands on).
 */
function separable(
  plane: Float64Array,
  side: number,
  taps: number[],
  edge: (i: number, n: number) => number,
  round: (v: number) => number = (v) => v,
): Float64Array {
  const radius = (taps.length - 1) / 2;
  const rows = new Float64Array(plane.length);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let total = 0;
      for (let k = -radius; k <= radius; k++) total += taps[k + radius] * plane[y * side + edge(x + k, side)];
      rows[y * side + x] = round(total);
    }
  }
  const out = new Float64Array(plane.length);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let total = 0;
      for (let k = -radius; k <= radius; k++) total += taps[k + radius] * rows[edge(y + k, side) * side + x];
      out[y * side + x] = round(total);
    }
  }
  return out;
}

/** OpenCV's BORDER_REFLECT_101 (scipy 'mirror'): ... 2 1 | 0 1 2 ... n-1 | n-2 ... */
function reflect101(i: number, n: number): number {
  let index = i;
  while (index < 0 || index >= n) index = index < 0 ? -index : 2 * (n - 1) - index;
  return index;
}

/** scipy's 'nearest' extension: the edge value repeats. */
function clampIndex(i: number, n: number): number {
  return Math.min(n - 1, Math.max(0, i));
}
