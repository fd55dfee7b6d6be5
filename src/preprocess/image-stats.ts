/**
 * Per-image input statistics that drift and the model's reference profile compare:
 * pure functions of 32x32 RGB uint8 pixels (no I/O, no tensors).
 */
import { CHANNELS, IMAGE_SIZE, PIXELS_PER_IMAGE } from './decode';

export const IMAGE_SIGNALS = [
  'mean_r',
  'mean_g',
  'mean_b',
  'std_r',
  'std_g',
  'std_b',
  'brightness',
  'noise',
] as const;
export type ImageSignal = (typeof IMAGE_SIGNALS)[number];
export type ImageStats = Record<ImageSignal, number>;

/** ITU-R BT.601 luma weights, as PIL's convert('L') uses. */
const LUMA = [0.299, 0.587, 0.114];
/** One image's luma, reused by every call (imageStats is synchronous, so no call sees another's). */
const lumaScratch = new Float64Array(IMAGE_SIZE * IMAGE_SIZE);

/**
 * Statistics of one image (values on the 0-255 scale):
 * per-channel mean and std, brightness (mean luma) and noise, the mean absolute
 * 4-neighbour Laplacian of luma over interior pixels (a high-frequency measure that
 * rises sharply with added noise and falls with blur).
 *
 * The server computes this for every prediction it monitors, so it is one pass over the pixels
 * (integer sums) and one over the luma, with no allocation. Every floating-point operation is
 * the one the formulas above spell out, in the same order, so the results are bit-identical to
 * computing them separately (test/monitor-fast-path.test.ts).
 */
export function imageStats(rgb: Uint8Array, offset = 0): ImageStats {
  // Locals, not the imported bindings: a CommonJS import is a property read (a getter when
  // re-exported) on every pixel, which made this ~6x slower.
  const size = IMAGE_SIZE;
  const channels = CHANNELS;
  const n = size * size;
  const [weightR, weightG, weightB] = LUMA;
  const luma = lumaScratch;
  let sumR = 0;
  let sumG = 0;
  let sumB = 0;
  let sumSqR = 0;
  let sumSqG = 0;
  let sumSqB = 0;
  let lumaSum = 0;
  for (let p = 0, i = offset; p < n; p++, i += channels) {
    const r = rgb[i];
    const g = rgb[i + 1];
    const b = rgb[i + 2];
    sumR += r;
    sumG += g;
    sumB += b;
    sumSqR += r * r;
    sumSqG += g * g;
    sumSqB += b * b;
    const y = weightR * r + weightG * g + weightB * b;
    luma[p] = y;
    lumaSum += y;
  }
  let laplacian = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let p = y * size + 1, end = p + size - 2; p < end; p++) {
      laplacian += Math.abs(4 * luma[p] - luma[p - 1] - luma[p + 1] - luma[p - size] - luma[p + size]);
    }
  }
  const meanR = sumR / n;
  const meanG = sumG / n;
  const meanB = sumB / n;
  return {
    mean_r: meanR,
    mean_g: meanG,
    mean_b: meanB,
    std_r: Math.sqrt(Math.max(0, sumSqR / n - meanR * meanR)),
    std_g: Math.sqrt(Math.max(0, sumSqG / n - meanG * meanG)),
    std_b: Math.sqrt(Math.max(0, sumSqB / n - meanB * meanB)),
    brightness: lumaSum / n,
    noise: laplacian / ((size - 2) * (size - 2)),
  };
}

/** Statistics of each image in a packed [count,32,32,3] uint8 array, one array per signal. */
export function batchImageStats(pixels: Uint8Array, count: number): Record<ImageSignal, number[]> {
  const out = Object.fromEntries(IMAGE_SIGNALS.map((s) => [s, [] as number[]])) as Record<ImageSignal, number[]>;
  for (let i = 0; i < count; i++) {
    const stats = imageStats(pixels, i * PIXELS_PER_IMAGE);
    for (const signal of IMAGE_SIGNALS) out[signal].push(stats[signal]);
  }
  return out;
}
