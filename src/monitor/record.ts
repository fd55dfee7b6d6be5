/** The fields a prediction-log line (schema 2) carries for the monitor, at the precision stored. */
import { compact } from '../model/evaluate';
import { imageStats, IMAGE_SIGNALS, type ImageSignal } from '../preprocess/image-stats';

export function monitorFields(prediction: { probabilities: ArrayLike<number>; pixels: Uint8Array }): {
  probabilities: number[];
  input_stats: Record<ImageSignal, number>;
} {
  const stats = imageStats(prediction.pixels);
  return {
    probabilities: Array.from(prediction.probabilities, compact),
    input_stats: Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, compact(stats[signal])])) as Record<ImageSignal, number>,
  };
}
