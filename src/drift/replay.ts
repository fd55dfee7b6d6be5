/**
 * The replay: every image of a scenario through the client's /predict with bounded concurrency.
 * Failed requests are counted by cause, never thrown; the replay stops early when the target is
 * down or the run is aborted (--deadline), and says why.
 */
import type { ImageSet } from '../data/types';
import { PIXELS_PER_IMAGE, encodePng } from '../preprocess';
import type { PredictClient } from './client';

export interface ReplayProgress {
  done: number;
  total: number;
  failed: number;
}

export interface ReplayOutcome {
  predictions: (string | null)[];
  confidences: (number | null)[];
  /** Per image, the answer's class name -> probability (null: failed, or the server sent none). */
  probabilities: (Record<string, number> | null)[];
  /** Latencies of successful requests, in completion order. */
  latenciesMs: number[];
  failed: number;
  retries: number;
  errors: Record<string, number>;
  /** Images never sent (or cancelled in flight) because the replay stopped early. */
  unsent: number;
  /** Why the replay stopped early (target down, run aborted); null when every image was sent. */
  stopped: string | null;
  durationS: number;
}

/**
 * Replays every image of the set through /predict with `concurrency` requests in flight.
 * PNG encoding happens inside each worker so encoding overlaps with waiting on the server.
 * Stops early when `signal` aborts (requests in flight are cancelled and count as unsent) or
 * when a request fails below HTTP and GET /ping no longer answers either (the target is down).
 */
export async function replayImages(
  client: PredictClient,
  images: ImageSet,
  concurrency: number,
  onProgress?: (progress: ReplayProgress) => void,
  signal?: AbortSignal,
): Promise<ReplayOutcome> {
  const total = images.count;
  const predictions = new Array<string | null>(total).fill(null);
  const confidences = new Array<number | null>(total).fill(null);
  const probabilities = new Array<Record<string, number> | null>(total).fill(null);
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  let failed = 0;
  let retries = 0;
  let done = 0;
  let unsent = 0;
  let next = 0;
  let stopped: string | null = null;
  let livenessCheck: Promise<string | null> | null = null;
  const started = performance.now();

  const checkTarget = async (cause: string): Promise<void> => {
    // One /ping at a time however many workers fail together.
    livenessCheck ??= client.liveness().finally(() => (livenessCheck = null));
    const down = await livenessCheck;
    if (down !== null) stopped ??= `the target stopped answering (${cause}; GET /ping: ${down}) after ${done} of ${total} images`;
  };

  const worker = async (): Promise<void> => {
    while (next < total && stopped === null && !signal?.aborted) {
      const index = next++;
      const rgb = images.pixels.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE);
      const outcome = await client.predict(await encodePng(rgb), signal);
      retries += outcome.retries;
      if (outcome.ok) {
        predictions[index] = outcome.predictedClass;
        confidences[index] = outcome.confidence;
        probabilities[index] = outcome.probabilities;
        latenciesMs.push(outcome.latencyMs);
      } else if (outcome.error === 'aborted') {
        unsent += 1;
        continue;
      } else {
        failed += 1;
        const cause = outcome.error ?? 'unknown';
        errors[cause] = (errors[cause] ?? 0) + 1;
        if (isTransportFailure(cause)) await checkTarget(cause);
      }
      done += 1;
      onProgress?.({ done, total, failed });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  unsent += total - next;
  if (stopped === null && unsent > 0) stopped = `${abortReason(signal)} after ${done} of ${total} images`;
  return { predictions, confidences, probabilities, latenciesMs, failed, retries, errors, unsent, stopped, durationS: (performance.now() - started) / 1000 };
}

/** No HTTP answer at all (refused, reset, timed out): the target may be gone. */
function isTransportFailure(cause: string): boolean {
  return !cause.startsWith('http_') && cause !== 'invalid_response';
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason.message : String(reason ?? 'stopped');
}
