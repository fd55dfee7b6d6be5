/**
 * The measurement shifts (src/data/corruptions): shape, determinism, severity order, and one
 * reference image per deterministic corruption computed in dev with the original code paths
 * (Hendrycks' make_cifar_c.py functions with scikit-image 0.26, opencv 5.0, Pillow 12.3;
 * Keras' apply_affine_transform maths with scipy.ndimage.affine_transform 1.17, order 1,
 * mode 'nearest') on the test pattern below: the byte sum and 8 sampled bytes of the result.
 */
import { applyShift, CIFAR10C_SHIFTS, KNOCKOUT_SHIFTS, NOISE_SHIFTS, SHIFT_NAMES, TRANSFORM_SHIFTS } from '../src/data/corruptions';
import { brightness, contrast, defocusBlur, gaussianBlur, pixelate } from '../src/data/corruptions/cifar10c';
import { affineTransform } from '../src/data/corruptions/failing-loudly';
import { jpegCompression } from '../src/data/corruptions/jpeg';
import type { ImageSet } from '../src/data/types';
import { imageStats } from '../src/preprocess/image-stats';

/** img[y, x, c] = (x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256 */
const pattern = new Uint8Array(32 * 32 * 3);
for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) pattern[(y * 32 + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 17)) % 256;

const SAMPLED = [0, 100, 777, 1500, 2222, 3071, 1234, 2900];
const REFERENCE: Record<string, { sum: number; at: number[] }> = {
  'defocus_blur:5': { sum: 391946, at: [13, 71, 133, 90, 178, 208, 147, 30] },
  'defocus_blur:1': { sum: 391569, at: [1, 71, 132, 90, 178, 215, 141, 30] },
  'gaussian_blur:3': { sum: 391254, at: [4, 71, 133, 89, 178, 213, 145, 30] },
  'brightness:4': { sum: 460370, at: [0, 100, 145, 114, 228, 255, 177, 32] },
  'contrast:2': { sum: 391214, at: [65, 99, 131, 110, 151, 171, 133, 77] },
  'jpeg_compression:5': { sum: 392205, at: [0, 72, 128, 86, 146, 251, 146, 71] },
  'pixelate:3': { sum: 393317, at: [0, 71, 133, 98, 178, 217, 140, 30] },
  'pixelate:5': { sum: 393959, at: [11, 61, 144, 80, 168, 211, 143, 42] },
  affine: { sum: 399404, at: [61, 107, 94, 55, 52, 14, 29, 72] },
};

/** Byte equality without jest's element-by-element diffing (slow on 18 kB arrays). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function byteSum(image: Uint8Array): number {
  return image.reduce((a, b) => a + b, 0);
}

/** Within `levels` of the reference at every sampled byte, and the sum within `levels` per byte on average. */
function expectMatches(image: Uint8Array, name: string, levels: number): void {
  const reference = REFERENCE[name];
  SAMPLED.forEach((index, i) => expect(Math.abs(image[index] - reference.at[i])).toBeLessThanOrEqual(levels));
  expect(Math.abs(byteSum(image) - reference.sum)).toBeLessThanOrEqual(levels * image.length * 0.05);
}

function set(count: number): ImageSet {
  const pixels = new Uint8Array(count * pattern.length);
  for (let i = 0; i < count; i++) pixels.set(pattern.map((v) => (v + i * 40) % 256), i * pattern.length);
  return { pixels, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

describe('CIFAR-10-C corruptions match the original implementations', () => {
  it('reproduces Pillow BOX pixelation, contrast and the Keras affine transform exactly', () => {
    expectMatches(pixelate(pattern, 0.85), 'pixelate:3', 0);
    expectMatches(pixelate(pattern, 0.65), 'pixelate:5', 0);
    expectMatches(contrast(pattern, 0.5), 'contrast:2', 0);
    expectMatches(affineTransform(pattern, { theta: 30, tx: 2.5, ty: -4, shear: 20, zx: 0.8, zy: 1.3, flipHorizontal: false, flipVertical: false }), 'affine', 0);
  });

  it('reproduces the blurs exactly and HSV brightness within one level (skimage rounds through hue)', () => {
    expectMatches(defocusBlur(pattern, 1.5, 0.1), 'defocus_blur:5', 0);
    expectMatches(defocusBlur(pattern, 0.3, 0.4), 'defocus_blur:1', 0);
    expectMatches(gaussianBlur(pattern, 0.7), 'gaussian_blur:3', 0);
    expectMatches(brightness(pattern, 0.2), 'brightness:4', 1);
  });

  it('re-encodes JPEG like Pillow at the same quality (libjpeg; decoders differ by a few levels)', async () => {
    const image = await jpegCompression(pattern, 40);
    expect(image).toHaveLength(pattern.length);
    expectMatches(image, 'jpeg_compression:5', 6);
  });
});

describe('named shifts', () => {
  const images = set(2);

  it('names 45 CIFAR-10-C scenarios and the Failing Loudly shifts', () => {
    expect(CIFAR10C_SHIFTS).toHaveLength(45);
    expect(CIFAR10C_SHIFTS).toContain('defocus_blur:4');
    expect(NOISE_SHIFTS).toEqual(['noise_std1:10%', 'noise_std1:50%', 'noise_std1:100%', 'noise_std10:10%', 'noise_std10:50%', 'noise_std10:100%', 'noise_std100:10%', 'noise_std100:50%', 'noise_std100:100%']);
    expect(TRANSFORM_SHIFTS).toEqual(['transform:small', 'transform:medium', 'transform:large']);
    expect(KNOCKOUT_SHIFTS).toEqual(['knockout_class0:10%', 'knockout_class0:50%', 'knockout_class0:100%']);
  });

  it('keeps shape and labels, and gives the same bytes for the same seed and other bytes for another', async () => {
    for (const name of SHIFT_NAMES.filter((n) => !n.startsWith('knockout'))) {
      const first = await applyShift(name, images, 7);
      expect(first.count).toBe(2);
      expect(first.pixels).toHaveLength(images.pixels.length);
      expect(first.labels).toEqual(images.labels);
      expect(sameBytes((await applyShift(name, images, 7)).pixels, first.pixels)).toBe(true);
    }
    for (const name of ['gaussian_noise:1', 'shot_noise:3', 'impulse_noise:2', 'noise_std10:100%', 'transform:medium']) {
      expect(sameBytes((await applyShift(name, images, 8)).pixels, (await applyShift(name, images, 7)).pixels)).toBe(false);
    }
    expect(sameBytes(images.pixels, set(2).pixels)).toBe(true); // inputs untouched
  });

  it('gets measurably stronger with severity', async () => {
    const mid = set(1);
    mid.pixels.fill(128);
    const grey = mid;
    const deviation = (a: Uint8Array, b: Uint8Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length);
    const noiseLevels = async (corruption: string) => Promise.all([1, 2, 3, 4, 5].map(async (s) => deviation((await applyShift(`${corruption}:${s}`, grey, 1)).pixels, grey.pixels)));
    const increasing = (values: number[]) => values.every((v, i) => i === 0 || v > values[i - 1]);
    // Noise std on mid-grey: about c * 255 for gaussian_noise (10.2 ... 25.5 levels).
    const gaussian = await noiseLevels('gaussian_noise');
    expect(increasing(gaussian)).toBe(true);
    expect(gaussian[4]).toBeGreaterThan(22);
    expect(gaussian[4]).toBeLessThan(29);
    // Shot noise: Poisson(x c) / c has std sqrt(x / c); x = 128/255, c = 50 -> 25.5 levels.
    const shot = await noiseLevels('shot_noise');
    expect(increasing(shot)).toBe(true);
    expect(Math.abs(shot[4] - 25.5)).toBeLessThan(3);
    expect(increasing(await noiseLevels('impulse_noise'))).toBe(true);
    // Impulse noise: each value flips to 0 or 255 with probability 0.07 at severity 5 (binomial sd 0.005 here).
    const impulse = (await applyShift('impulse_noise:5', grey, 1)).pixels;
    const flipped = impulse.filter((v) => v === 0 || v === 255).length / impulse.length;
    expect(Math.abs(flipped - 0.07)).toBeLessThan(0.02);
    const feature = async (corruption: string, statistic: (image: Uint8Array) => number) =>
      Promise.all([1, 2, 3, 4, 5].map(async (s) => statistic((await applyShift(`${corruption}:${s}`, set(1), 1)).pixels)));
    const noise = (image: Uint8Array) => imageStats(image).noise;
    const spread = (image: Uint8Array) => imageStats(image).std_g;
    const decreasing = (values: number[]) => values.every((v, i) => i === 0 || v < values[i - 1]);
    expect(decreasing(await feature('defocus_blur', noise))).toBe(true);
    expect(decreasing(await feature('gaussian_blur', noise))).toBe(true);
    expect(decreasing(await feature('contrast', spread))).toBe(true);
    expect(increasing(await feature('brightness', (image) => imageStats(image).brightness))).toBe(true);
    const pixelated = await feature('pixelate', noise);
    expect(pixelated[4]).toBeLessThan(pixelated[0]);
    const jpegError = await Promise.all([1, 5].map(async (s) => deviation((await applyShift(`jpeg_compression:${s}`, set(1), 1)).pixels, set(1).pixels)));
    expect(jpegError[1]).toBeGreaterThan(jpegError[0]);
  });

  it('adds Failing Loudly noise to the stated share of the images only', async () => {
    const ten = set(10);
    const changed = async (name: string) => {
      const shifted = await applyShift(name, ten, 3);
      return Array.from({ length: 10 }, (_, i) => shifted.pixels.subarray(i * 3072, (i + 1) * 3072).some((v, j) => v !== ten.pixels[i * 3072 + j])).filter(Boolean).length;
    };
    expect(await changed('noise_std100:10%')).toBe(1);
    expect(await changed('noise_std100:50%')).toBe(5);
    expect(await changed('noise_std100:100%')).toBe(10);
  });

  it('knocks out the stated share of class 0 and keeps every other image in order', async () => {
    const twenty = set(20); // labels i % 10: class 0 at 0 and 10
    expect((await applyShift('knockout_class0:100%', twenty, 1)).labels).toEqual(twenty.labels.filter((l) => l !== 0));
    const half = await applyShift('knockout_class0:50%', twenty, 1);
    expect(half.count).toBe(19);
    expect(half.labels.filter((l) => l === 0)).toHaveLength(1);
  });

  it('refuses unknown names and malformed sets', async () => {
    await expect(applyShift('contrast:6', images, 1)).rejects.toThrow(/unknown shift "contrast:6"/);
    await expect(applyShift('contrast:1', { ...images, count: 7 }, 1)).rejects.toThrow(/expected/);
  });
});
