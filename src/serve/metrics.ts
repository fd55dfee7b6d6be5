/**
 * Prometheus metrics (prom-client). Each server has its own registry so several can live in one
 * process (tests, drift --model); in cluster mode the primary aggregates the workers' registries.
 * Every model metric carries the `version` that answered (HTTP series only when a request was
 * routed to a version: /metrics, /ping and the like have none).
 */
import * as tf from '@tensorflow/tfjs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServedVersion } from './repository';

export const METRIC_PREFIX = 'mldeploy_';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status' | 'version'>;
  readonly requestDuration: Histogram<'route' | 'version'>;
  readonly inFlight: Gauge;
  readonly predictions: Counter<'class' | 'version'>;
  readonly confidence: Histogram<'version'>;
  readonly batchSize: Histogram<'version'>;
  readonly modelInfo: Gauge<'version' | 'model_type' | 'engine' | 'role'>;
  readonly reloads: Counter<'result'>;
  readonly tensors: Gauge;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests by method, route, status code and the model version that answered',
      labelNames: ['method', 'route', 'status', 'version'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency by route and the model version that answered',
      labelNames: ['route', 'version'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.inFlight = new Gauge({
      name: `${METRIC_PREFIX}http_requests_in_flight`,
      help: 'HTTP requests being handled right now',
      registers,
    });
    this.predictions = new Counter({
      name: `${METRIC_PREFIX}predictions_total`,
      help: 'Predictions by predicted class and model version',
      labelNames: ['class', 'version'],
      registers,
    });
    this.confidence = new Histogram({
      name: `${METRIC_PREFIX}prediction_confidence`,
      help: 'Confidence (top probability) of each prediction, by model version',
      labelNames: ['version'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registers,
    });
    this.batchSize = new Histogram({
      name: `${METRIC_PREFIX}batch_size`,
      help: 'Images per model call (micro-batching), by model version',
      labelNames: ['version'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.modelInfo = new Gauge({
      name: `${METRIC_PREFIX}model_info`,
      help: 'The served model versions (value 1 for each) and their role: stable, canary, shadow or other',
      labelNames: ['version', 'model_type', 'engine', 'role'],
      // Every worker serves the same version: aggregate by max, not sum.
      aggregator: 'max',
      registers,
    });
    this.reloads = new Counter({
      name: `${METRIC_PREFIX}model_reloads_total`,
      help: 'Model reload attempts by result',
      labelNames: ['result'],
      registers,
    });
    this.tensors = new Gauge({
      name: `${METRIC_PREFIX}tensors`,
      help: 'Tensors alive in the tfjs engine (flat over time unless something leaks)',
      registers,
      collect() {
        this.set(tf.memory().numTensors);
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  setModels(versions: ServedVersion[]): void {
    this.modelInfo.reset();
    for (const { model, role } of versions) this.modelInfo.set({ version: model.version, model_type: model.metadata.model_type, engine: model.engine, role }, 1);
  }
}

/**
 * Prediction lines that could not be written to predictions.jsonl. Registered where the file is
 * written: the server's registry, or in cluster mode the primary's own.
 */
export function predictionLogDroppedCounter(registry: Registry): Counter {
  return new Counter({
    name: `${METRIC_PREFIX}prediction_log_dropped_total`,
    help: 'Prediction log lines that could not be written (disk full, permissions, file replaced by a directory, ...)',
    registers: [registry],
  });
}
