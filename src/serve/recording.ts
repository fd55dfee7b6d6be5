/** After a prediction: its metrics, its predictions.jsonl line and the live monitor's sample (the same fields). */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Response } from 'express';
import { monitorFields } from '../monitor/record';
import { ServeContext } from './context';
import { timing } from './middleware';
import { formatMonitoredRecord, formatRecord } from './prediction-log';
import { ImagePrediction } from './predictor';

/** Counts and logs one image's prediction; returns the request's latency so far, in ms. */
export function recordPrediction(context: ServeContext, res: Response, prediction: ImagePrediction, bytes: Uint8Array): number {
  const { startedAt, route } = timing(res);
  const latencyMs = Math.round((performance.now() - startedAt) * 100) / 100;
  const className = prediction.model.classNames[prediction.classIndex];
  context.metrics.predictions.inc({ class: className, version: prediction.model.version });
  context.metrics.confidence.observe({ version: prediction.model.version }, prediction.confidence);
  const record = {
    timestamp: new Date().toISOString(),
    model_version: prediction.model.version,
    predicted_class: className,
    confidence: prediction.confidence,
    latency_ms: latencyMs,
    input_sha256: createHash('sha256').update(bytes).digest('hex'),
    route,
  };
  // The monitor's fields make the line schema 2; with --no-monitor none of its per-prediction work is done (schema 1 lines).
  if (!context.monitoring) {
    context.predictionLog.append(formatRecord(record));
    return latencyMs;
  }
  // Computed once: the window and the log line get the same numbers.
  const fields = monitorFields(prediction);
  context.monitoring.record?.({ model_version: record.model_version, probabilities: fields.probabilities, input_stats: fields.input_stats });
  context.predictionLog.append(formatMonitoredRecord(record, fields));
  return latencyMs;
}
