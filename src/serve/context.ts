/** What every route of the HTTP layer works with: the served versions, the one predictor and the server's services. */
import type { Logger } from 'pino';
import type { MonitoringAccess } from '../monitor/access';
import type { ServingEngineInfo } from '../model/onnx/serving';
import { PredictionSink } from './prediction-log';
import { BatchingPredictor } from './predictor';
import { ModelRepository, ReloadResult } from './repository';
import { ServeMetrics } from './metrics';
import type { ShadowRunner } from './shadow';
import type { RollbackSection } from '../rollout/monitoring-contract';
import { TrafficAccess } from './traffic';

export interface ServeContext {
  /** The served versions (stable, labelled, canary) and who answers a request. */
  repository: ModelRepository;
  predictor: BatchingPredictor;
  /** Per-version request figures (in cluster mode kept by the primary). */
  traffic: TrafficAccess;
  /** Header whose value keeps a client on one side of the canary split (else the request id). */
  canaryKeyHeader: string;
  metrics: ServeMetrics;
  predictionLog: PredictionSink;
  logger: Logger;
  engine: ServingEngineInfo;
  /** The TF Serving model name (`/v1/models/<name>`). */
  modelName: string;
  apiKey?: string;
  /** Comma-separated allowed origins, or `*`. */
  cors?: string;
  /** Refreshes the served versions (in cluster mode: this worker, then the others). */
  reload: () => Promise<ReloadResult>;
  /** Prometheus text; in cluster mode aggregated over every worker. */
  metricsText: () => Promise<string>;
  metricsContentType: string;
  /** The rolling drift/accuracy monitor (GET /monitoring); absent with --no-monitor. */
  monitoring?: MonitoringAccess;
  /** Shadows the primary's answers on the shadow version (models dirs only). */
  shadow?: ShadowRunner;
  /** serve --rollback-if (run here, or in the cluster primary): /monitoring's `rollback` section. */
  rollback?: { section(): RollbackSection };
}
