/** The fields a prediction-log line (schema 2) carries for the monitor, at the precision stored. */
import { imageStats, type ImageSignal } from '../preprocess/image-stats';
import { toStoredPrecision } from '../util/stored-precision';

/** Computed once per monitored prediction; the same object feeds its log line and the window. */
export function monitorFields(prediction: { probabilities: ArrayLike<number>; pixels: Uint8Array }): {
  probabilities: number[];
  input_stats: Record<ImageSignal, number>;
} {
  const source = prediction.probabilities;
  const probabilities = new Array<number>(source.length);
  for (let i = 0; i < source.length; i++) probabilities[i] = toStoredPrecision(source[i]);
  const stats = imageStats(prediction.pixels);
  // Written out (not mapped over IMAGE_SIGNALS): one object shape, in the log's key order.
  return {
    probabilities,
    input_stats: {
      mean_r: toStoredPrecision(stats.mean_r),
      mean_g: toStoredPrecision(stats.mean_g),
      mean_b: toStoredPrecision(stats.mean_b),
      std_r: toStoredPrecision(stats.std_r),
      std_g: toStoredPrecision(stats.std_g),
      std_b: toStoredPrecision(stats.std_b),
      brightness: toStoredPrecision(stats.brightness),
      noise: toStoredPrecision(stats.noise),
    },
  };
}
