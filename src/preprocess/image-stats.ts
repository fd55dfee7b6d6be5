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

/**
 * Statistics of one image (values on the 0-255 scale):
 * per-channel mean and std, brightness (mean luma) and noise, the mean absolute
 * 4-neighbour Laplacian of luma over interior pixels (a high-frequency measure that
 * rises sharply with added noise and falls with blur).
 */
export function imageStats(rgb: Uint8Array, offset = 0): ImageStats {
  // Locals, not the imported bindings: a CommonJS import is a property read (a getter when
  // re-exported) on every pixel, which made this ~6x slower.
  const size = IMAGE_SIZE;
  const channels = CHANNELS;
  const n = size * size;
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const luma = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const base = offset + p * channels;
    let y = 0;
    for (let c = 0; c < channels; c++) {
      const v = rgb[base + c];
      sum[c] += v;
      sumSq[c] += v * v;
      y += LUMA[c] * v;
    }
    luma[p] = y;
  }
  const mean = sum.map((s) => s / n);
  const std = sumSq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c] * mean[c])));
  let brightness = 0;
  for (let p = 0; p < n; p++) brightness += luma[p];
  let laplacian = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const p = y * size + x;
      laplacian += Math.abs(4 * luma[p] - luma[p - 1] - luma[p + 1] - luma[p - size] - luma[p + size]);
    }
  }
  return {
    mean_r: mean[0],
    mean_g: mean[1],
    mean_b: mean[2],
    std_r: std[0],
    std_g: std[1],
    std_b: std[2],
    brightness: brightness / n,
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
