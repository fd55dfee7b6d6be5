/** After a prediction: its metrics and its predictions.jsonl line (the drift monitor's input). */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Response } from 'express';
import { ServeContext } from './context';
import { timing } from './middleware';
import { formatRecord } from './prediction-log';
import { ImagePrediction } from './predictor';

/** Counts and logs one image's prediction; returns the request's latency so far, in ms. */
export function recordPrediction(context: ServeContext, res: Response, prediction: ImagePrediction, bytes: Uint8Array): number {
  const { startedAt, route } = timing(res);
  const latencyMs = Math.round((performance.now() - startedAt) * 100) / 100;
  const className = prediction.model.classNames[prediction.classIndex];
  context.metrics.predictions.inc({ class: className });
  context.metrics.confidence.observe(prediction.confidence);
  context.predictionLog.append(
    formatRecord({
      timestamp: new Date().toISOString(),
      model_version: prediction.model.version,
      predicted_class: className,
      confidence: prediction.confidence,
      latency_ms: latencyMs,
      input_sha256: createHash('sha256').update(bytes).digest('hex'),
      route,
    }),
  );
  return latencyMs;
}
