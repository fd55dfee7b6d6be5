import { applyShift } from '../src/data/corruptions';
import type { ImageSet } from '../src/data/types';
import { createRandom, deriveSeed } from '../src/util/random';
import {
  addGaussianNoise,
  applyScenario,
  BRIGHTNESS_SHIFT,
  CONTRAST_FACTOR,
  describeScenario,
  isTransformScenario,
  NOISE_SIGMA,
  rotateImage,
  SCENARIOS,
  SHIFT_SCENARIO_GROUPS,
  TRANSFORM_SCENARIO_NAMES,
} from '../src/drift/scenarios';
import { UsageError } from '../src/errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '../src/preprocess';

function meanAndStd(values: ArrayLike<number>, minus = 0): { mean: number; std: number } {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] - minus;
  const mean = total / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - minus - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

/** Byte-for-byte equality (jest's deep equality walks typed arrays element by element, slowly). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function fraction(values: Uint8Array, value: number): number {
  let hits = 0;
  for (const v of values) if (v === value) hits++;
  return hits / values.length;
}

function uniformImages(count: number, level: number): ImageSet {
  return { pixels: new Uint8Array(count * PIXELS_PER_IMAGE).fill(level), labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

/** Smooth, varied test images: gradients in each channel, different per image. */
function gradientImages(count: number): ImageSet {
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < IMAGE_SIZE; y++) {
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const offset = n * PIXELS_PER_IMAGE + (y * IMAGE_SIZE + x) * 3;
        pixels[offset] = 60 + 4 * x;
        pixels[offset + 1] = 60 + 4 * y;
        pixels[offset + 2] = (40 + 7 * n + 2 * (x + y)) % 256;
      }
    }
  }
  return { pixels, labels: Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10), count };
}

describe('seeded random numbers', () => {
  it('repeats a sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const random = createRandom(seed);
      return Array.from({ length: 8 }, () => random.next());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(2 ** 40 + 1)).not.toEqual(draw(1)); // high bits of large seeds count
    expect(deriveSeed(42, 'noisy')).not.toBe(deriveSeed(42, 'very_noisy'));
    expect(deriveSeed(42, 'noisy')).toBe(deriveSeed(42, 'noisy'));
  });

  it('draws uniforms in [0, 1) and standard normals with mean 0 and std 1', () => {
    const random = createRandom(7);
    const uniforms = Float64Array.from({ length: 200_000 }, () => random.next());
    expect(uniforms.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(meanAndStd(uniforms).mean).toBeCloseTo(0.5, 2);
    const normals = Float64Array.from({ length: 200_000 }, () => random.normal());
    const { mean, std } = meanAndStd(normals);
    // Standard errors: 1/sqrt(2e5) = 0.0022 for the mean, 0.0016 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.008);
    const beyondTwo = normals.filter((v) => Math.abs(v) > 2).length / normals.length;
    expect(Math.abs(beyondTwo - 0.0455)).toBeLessThan(0.003); // P(|Z| > 2) = 0.0455
  });

  it('rejects a non-finite seed', () => {
    expect(() => createRandom(NaN)).toThrow(RangeError);
  });
});

describe('Gaussian noise', () => {
  // Expected moments of round(base + sigma*Z) clipped to 0..255, from scipy:
  //   v = np.arange(256); lo = (v - .5 - base)/sigma; hi = (v + .5 - base)/sigma; lo[0] = -inf; hi[-1] = inf
  //   p = norm.cdf(hi) - norm.cdf(lo); mean = sum(p*(v - base)); std = sqrt(sum(p*(v - base - mean)**2))
  const gray = uniformImages(150, 128).pixels; // 460,800 values

  it('has mean 0 and std sigma where clipping cannot happen', () => {
    const { mean, std } = meanAndStd(addGaussianNoise(gray, 10, createRandom(1)), 128);
    expect(Math.abs(mean)).toBeLessThan(0.06); // standard error 0.015
    expect(Math.abs(std - 10.004165798972611)).toBeLessThan(0.05); // sqrt(100 + 1/12): rounding; s.e. 0.01
  });

  it('noisy: sigma = 0.2*255 on mid-gray, clipped at 0 and 255 as predicted', () => {
    expect(NOISE_SIGMA.noisy).toBe(51);
    const noisy = addGaussianNoise(gray, NOISE_SIGMA.noisy, createRandom(2));
    const { mean, std } = meanAndStd(noisy, 128);
    // Standard errors here: 0.075 for the mean, 0.053 for the std, 0.00012 for the share at 255.
    expect(Math.abs(mean - -0.006209665325776825)).toBeLessThan(0.3);
    expect(Math.abs(std - 50.425234505315984)).toBeLessThan(0.25);
    expect(Math.abs(fraction(noisy, 255) - 0.006561897820138052)).toBeLessThan(0.0006);
  });

  it('very_noisy: sigma = 0.5*255, about 16% of values pinned at each end', () => {
    expect(NOISE_SIGMA.very_noisy).toBe(127.5);
    const noisy = addGaussianNoise(gray, NOISE_SIGMA.very_noisy, createRandom(3));
    // Standard errors: about 0.1 for the std, 0.00054 for each share.
    expect(Math.abs(meanAndStd(noisy, 128).std - 91.59261547113651)).toBeLessThan(0.45);
    expect(Math.abs(fraction(noisy, 0) - 0.15865525393145707)).toBeLessThan(0.0025);
    expect(Math.abs(fraction(noisy, 255) - 0.16056050584971082)).toBeLessThan(0.0025);
  });
});

describe('applyScenario', () => {
  const images = gradientImages(6);

  it('lists the transforms and tells data sources apart', () => {
    expect(TRANSFORM_SCENARIO_NAMES).toEqual(['clean', 'noisy', 'very_noisy', 'blur', 'brightness', 'contrast', 'jpeg', 'rotate']);
    expect(isTransformScenario('noisy')).toBe(true);
    expect(isTransformScenario('cifar100')).toBe(false);
    expect(isTransformScenario('toString')).toBe(false);
    expect(isTransformScenario('gaussian_noise:3')).toBe(true);
    expect(isTransformScenario('gaussian_noise:0')).toBe(false);
  });

  it('applies a corruption-library shift exactly as src/data/corruptions does, labels following their images', async () => {
    for (const name of ['contrast:5', 'gaussian_noise:3', 'noise_std100:50%', 'transform:large']) {
      const ours = await applyScenario(name, images, 9);
      const theirs = await applyShift(name, images, 9);
      expect(sameBytes(ours.pixels, theirs.pixels)).toBe(true);
      expect(sameBytes(ours.pixels, images.pixels)).toBe(false);
      expect(ours.labels).toEqual(images.labels);
    }
    const labelled = { ...images, labels: Uint8Array.from([0, 1, 0, 2, 0, 3]) };
    const knocked = await applyScenario('knockout_class0:100%', labelled, 9);
    expect(Array.from(knocked.labels)).toEqual([1, 2, 3]);
  });

  it('describes every shift for the reports', () => {
    expect(describeScenario('contrast:5')).toBe('CIFAR-10-C contrast, severity 5 (constant 0.15)');
    expect(describeScenario('defocus_blur:1')).toBe('CIFAR-10-C defocus_blur, severity 1 (constant [0.3,0.4])');
    expect(describeScenario('noise_std10:50%')).toBe('Gaussian noise, std 10 levels, on 50% of the images (Failing Loudly)');
    expect(describeScenario('transform:large')).toBe(
      'random affine transform (rotation 90 deg, shift 0.4, shear 0.3, zoom 0.4, horizontal and vertical flips; Failing Loudly large)',
    );
    expect(describeScenario('knockout_class0:10%')).toBe('10% of the class-0 images removed (label shift; Failing Loudly)');
    expect(describeScenario('noisy')).toBe(SCENARIOS.noisy.description);
    for (const group of SHIFT_SCENARIO_GROUPS) for (const name of group.names) expect(describeScenario(name)).not.toBe('');
    expect(SHIFT_SCENARIO_GROUPS.flatMap((g) => g.names)).toHaveLength(45 + 9 + 3 + 3);
  });

  it.each(TRANSFORM_SCENARIO_NAMES)('%s: keeps labels and count, leaves the input alone, repeats with the seed', async (name) => {
    const before = images.pixels.slice();
    const first = await applyScenario(name, images, 42);
    expect(first.count).toBe(images.count);
    expect(first.labels).toEqual(images.labels);
    expect(first.labels).not.toBe(images.labels);
    expect(first.pixels.length).toBe(images.pixels.length);
    expect(sameBytes(images.pixels, before)).toBe(true);
    expect(sameBytes((await applyScenario(name, images, 42)).pixels, first.pixels)).toBe(true);
    expect(sameBytes(first.pixels, images.pixels)).toBe(name === 'clean');
  });

  it('draws different noise for a different seed', async () => {
    const a = await applyScenario('noisy', images, 1);
    const b = await applyScenario('noisy', images, 2);
    expect(sameBytes(a.pixels, b.pixels)).toBe(false);
  });

  it('refuses unknown names and malformed image sets', async () => {
    await expect(applyScenario('cifar100', images, 1)).rejects.toThrow(UsageError);
    await expect(applyScenario('fog', images, 1)).rejects.toThrow(/unknown scenario "fog"; transform scenarios: clean, noisy/);
    await expect(applyScenario('clean', { ...images, count: 7 }, 1)).rejects.toThrow(UsageError);
  });

  it('blur keeps flat images flat and smooths edges', async () => {
    const flat = uniformImages(2, 77);
    expect(sameBytes((await applyScenario('blur', flat, 1)).pixels, flat.pixels)).toBe(true);
    const checker = uniformImages(1, 0);
    for (let p = 0; p < IMAGE_SIZE * IMAGE_SIZE; p++) {
      if ((Math.floor(p / IMAGE_SIZE) + p) % 2 === 0) checker.pixels.fill(255, p * 3, p * 3 + 3);
    }
    const blurred = (await applyScenario('blur', checker, 1)).pixels;
    expect(meanAndStd(blurred).std).toBeLessThan(meanAndStd(checker.pixels).std / 4);
    expect(Math.abs(meanAndStd(blurred).mean - meanAndStd(checker.pixels).mean)).toBeLessThan(2);
  });

  it('brightness shifts each whole image up or down by the documented amount', async () => {
    const mid = uniformImages(40, 128);
    const shifted = await applyScenario('brightness', mid, 5);
    const levels = new Set<number>();
    for (let n = 0; n < mid.count; n++) {
      const image = shifted.pixels.subarray(n * PIXELS_PER_IMAGE, (n + 1) * PIXELS_PER_IMAGE);
      expect(new Set(image).size).toBe(1);
      levels.add(image[0]);
    }
    expect([...levels].sort((a, b) => a - b)).toEqual([128 - BRIGHTNESS_SHIFT, 128 + BRIGHTNESS_SHIFT]);
  });

  it('contrast scales deviations from the image mean', async () => {
    const result = await applyScenario('contrast', images, 1);
    const original = meanAndStd(images.pixels.subarray(0, PIXELS_PER_IMAGE));
    const reduced = meanAndStd(result.pixels.subarray(0, PIXELS_PER_IMAGE));
    expect(reduced.mean).toBeCloseTo(original.mean, 0);
    expect(reduced.std / original.std).toBeCloseTo(CONTRAST_FACTOR, 2);
  });

  it('jpeg re-encodes at low quality: close to the original but lossy', async () => {
    const result = await applyScenario('jpeg', images, 1);
    let absoluteError = 0;
    for (let i = 0; i < images.pixels.length; i++) absoluteError += Math.abs(result.pixels[i] - images.pixels[i]);
    const meanError = absoluteError / images.pixels.length;
    expect(meanError).toBeGreaterThan(1);
    expect(meanError).toBeLessThan(30);
  });

  it('rotate turns images about their centre with bilinear sampling', () => {
    const image = gradientImages(1).pixels;
    expect(sameBytes(rotateImage(image, 0), image)).toBe(true);
    // +90 degrees (counter-clockwise): the source's right edge becomes the top row.
    const turned = rotateImage(image, 90);
    const at = (pixels: Uint8Array, y: number, x: number, c: number) => pixels[(y * IMAGE_SIZE + x) * 3 + c];
    for (let x = 0; x < IMAGE_SIZE; x++) {
      expect(at(turned, 0, x, 0)).toBe(at(image, IMAGE_SIZE - 1 - x, IMAGE_SIZE - 1, 0));
    }
    // 45 degrees: corners fall outside the source and are black; the centre stays.
    const tilted = rotateImage(image, 45);
    expect([at(tilted, 0, 0, 0), at(tilted, 0, 0, 1), at(tilted, 0, 0, 2)]).toEqual([0, 0, 0]);
    expect(Math.abs(at(tilted, 16, 16, 0) - at(image, 16, 16, 0))).toBeLessThanOrEqual(4);
  });
});
