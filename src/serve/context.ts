/** What every route of the HTTP layer works with: the one predictor and the server's services. */
import type { Logger } from 'pino';
import type { MonitoringAccess } from '../monitor/access';
import type { ServingEngineInfo } from '../model/onnx/serving';
import { PredictionSink } from './prediction-log';
import { BatchingPredictor } from './predictor';
import { ModelRepository, ReloadResult } from './repository';
import { ServeMetrics } from './metrics';

export interface ServeContext {
  repository: ModelRepository;
  predictor: BatchingPredictor;
  metrics: ServeMetrics;
  predictionLog: PredictionSink;
  logger: Logger;
  engine: ServingEngineInfo;
  /** The TF Serving model name (`/v1/models/<name>`). */
  modelName: string;
  apiKey?: string;
  /** Comma-separated allowed origins, or `*`. */
  cors?: string;
  /** Reloads the model (in cluster mode: this worker, then the others). */
  reload: () => Promise<ReloadResult>;
  /** Prometheus text; in cluster mode aggregated over every worker. */
  metricsText: () => Promise<string>;
  metricsContentType: string;
  /** The rolling drift/accuracy monitor (GET /monitoring); absent with --no-monitor. */
  monitoring?: MonitoringAccess;
}
