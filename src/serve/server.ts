/**
 * startServer: one in-process inference server (engine -> model repository (the served versions)
 * -> predictor -> app -> HTTP listener). The CLI's cluster mode runs one of these per worker;
 * drift --model runs one in-process.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import pino, { Logger } from 'pino';
import type { Express } from 'express';
import { MldeployError, UsageError } from '../errors';
import { initEngine } from '../model/engine';
import { servingEngineInfo, ServingBackendChoice, ServingEngineInfo, tfjsEngineFor } from '../model/onnx/serving';
import { inProcessMonitor, localMonitoring, type MonitoringAccess } from '../monitor/access';
import type { LiveMonitor } from '../monitor/live';
import { createApp } from './app';
import { resolveLimits, ServerLimits } from './limits';
import { ServeContext } from './context';
import { predictionLogDroppedCounter, ServeMetrics } from './metrics';
import { reportingHealth, RotatingFileSink } from './prediction-file';
import { BufferedSink, PREDICTION_LOG_FILE, PredictionSink, RotationOptions } from './prediction-log';
import { BatchingOptions, BatchingPredictor, DEFAULT_BATCHING } from './predictor';
import { FleetOptions } from './fleet-plan';
import { followIfModelsDir } from './label-watch';
import { tellingChanges } from './reload-notice';
import { ModelRepository, ReloadResult } from './repository';
import { CanarySpec, DEFAULT_CANARY_KEY_HEADER } from './routing';
import { TrafficAccess, VersionTraffic } from './traffic';
import { isModelsDir } from './fleet-plan';
import { createShadowRunner, startLocalRollback, type RollbackSetting } from '../rollout/server-rollout';
import type { RollbackSection } from '../rollout/monitoring-contract';
import type { ForwardedShadowStats } from './shadow-cluster';

export { DEFAULT_LIMITS, resolveLimits } from './limits';
export type { ServerLimits } from './limits';

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_LOG_DIR = 'logs';
export const DEFAULT_MODEL_NAME = 'default';
export const SERVER_LOG_FILE = 'server.log';

/**
 * <logDir>/server.log for pino, written in 4 KB chunks. Opened in append mode (pino's default),
 * which is what lets logrotate's copytruncate rotate it under running processes
 * (deploy/systemd/mldeploy.logrotate).
 */
export function openServerLog(logDir: string): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: path.join(logDir, SERVER_LOG_FILE), sync: false, mkdir: true, minLength: 4096 });
}
/** How long a graceful stop waits for in-flight requests before closing their connections. */
const DRAIN_TIMEOUT_MS = 10_000;


export interface StartServerOptions {
  /** A version dir or `<models-dir>/latest` (that one version), or a models dir (stable + labelled versions). */
  modelPath: string;
  /** A share of unpinned traffic for a version (its name, or null for the `canary` label). */
  canary?: CanarySpec;
  /** Request header that keeps a client on one side of the canary split (default x-client-id). */
  canaryKeyHeader?: string;
  /** Versions served whatever the labels say, with their role (e.g. a shadow). */
  pinned?: FleetOptions['pinned'];
  /** serve --shadow-share: the share (0..1) of the primary's requests the shadow version predicts too (default 1). */
  shadowShare?: number;
  /** serve --rollback-if: roll `stable` back by itself when this rule holds on its live figures (needs a models dir and the monitor). */
  rollback?: RollbackSetting;
  /** What happens to the served set: refreshes after a label change, labels naming missing versions, versions that would not load. */
  notice?: (message: string) => void;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** startServer is one process; only 1 is accepted here (the CLI's runServe forks workers). */
  workers?: number;
  logDir?: string;
  apiKey?: string;
  cors?: string;
  modelName?: string;
  /** A tfjs engine, onnx (the version's model.onnx in ONNX Runtime), or auto (onnx when exported). */
  backend?: ServingBackendChoice;
  batching?: Partial<BatchingOptions>;
  rotation?: RotationOptions;
  limits?: Partial<ServerLimits>;
  /** Request/event log level for <logDir>/server.log ('silent' turns it off). */
  logLevel?: string;
  /** Cluster workers pass hooks that route through the primary. */
  cluster?: ClusterHooks;
  /** The rolling drift/accuracy monitor: its window in predictions (default 500), or false for none. */
  monitor?: { window: number } | false;
}

export interface ClusterHooks {
  predictionSink: PredictionSink;
  metricsText: () => Promise<string>;
  /** Called after this worker reloaded via POST /admin/reload, so the primary reloads the others. */
  afterAdminReload: () => void;
  /** The primary's monitor (it sees every worker's predictions); absent when monitoring is off. */
  monitoring?: MonitoringAccess;
  /** The primary's per-version request figures. */
  traffic: TrafficAccess;
  /** Where shadow results go (the primary keeps the shadow figures and metrics). */
  shadow: ForwardedShadowStats;
  /** /monitoring's `rollback` section from the primary, which runs --rollback-if. */
  rollback?: { section(): RollbackSection };
  /** Called with the served versions after every load and refresh (the primary's monitor reads their references). */
  serving: (versions: string[]) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  version: string;
  engine: ServingEngineInfo;
  app: Express;
  logger: Logger;
  metrics: ServeMetrics;
  /** The served versions. */
  repository: ModelRepository;
  /** Refreshes the served versions from --model (labels, latest); a broken version throws ModelError and the old one keeps serving. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, finishes in-flight requests, flushes logs. Idempotent. */
  close(): Promise<void>;
}

export interface ServerParts {
  context: ServeContext;
  app: Express;
  /** Reloads this process's model only (SIGHUP and cluster broadcasts). */
  reload(): Promise<ReloadResult>;
  /** Flushes logs and releases the model (after the listener is closed). */
  dispose(): Promise<void>;
}

/** Everything but the listener: for supertest and for startServer. */
export async function createServerParts(options: StartServerOptions): Promise<ServerParts> {
  if (options.workers !== undefined && options.workers !== 1) {
    throw new UsageError('startServer runs one process; use "mldeploy serve --workers <n>" for several');
  }
  const tfjsEngine = await initEngine(tfjsEngineFor(options.backend ?? 'auto'));
  // Warnings while the versions load come before the server log is open: kept until it is.
  const log: { to?: Logger; early: string[] } = { early: [] };
  const warn = (message: string) => {
    if (log.to) log.to.warn({ event: 'model_set_warning' }, message);
    else log.early.push(message);
    options.notice?.(message);
  };
  const repository = new ModelRepository(options.modelPath, options.backend ?? 'auto', { canary: options.canary, pinned: options.pinned }, warn);
  const served = await repository.load();
  const engine = servingEngineInfo(tfjsEngine, served.engine);
  const logDir = options.logDir ?? DEFAULT_LOG_DIR;
  const metrics = new ServeMetrics();
  const monitor = options.cluster || options.monitor === false ? undefined : inProcessMonitor(metrics.registry, served.metadata, { size: options.monitor?.window });
  const announce = () => {
    metrics.setModels(repository.versions());
    if (monitor) provideReferences(monitor, repository);
    options.cluster?.serving(repository.versions().map((v) => v.model.version));
  };
  announce();
  const predictor = new BatchingPredictor({ ...DEFAULT_BATCHING, ...options.batching }, (size, model) => metrics.batchSize.observe({ version: model.version }, size));
  const destination = openServerLog(logDir);
  const logger = pino({ level: options.logLevel ?? 'info', base: { pid: process.pid } }, destination);
  log.to = logger;
  for (const message of log.early) logger.warn({ event: 'model_set_warning' }, message);
  const predictionLog = options.cluster?.predictionSink ?? new BufferedSink(new RotatingFileSink(logDir, options.rotation, fileHealth(metrics, logger, logDir)));

  const reloadHere = async (): Promise<ReloadResult> => {
    try {
      const result = await repository.reload();
      metrics.reloads.inc({ result: 'success' });
      announce();
      logger.info({ event: 'model_reloaded', ...result }, `serving model ${result.version}`);
      return result;
    } catch (err) {
      // A refresh that failed for one version still applied the others.
      announce();
      metrics.reloads.inc({ result: 'failure' });
      logger.error({ event: 'model_reload_failed', error: (err as Error).message }, `reload refused; still serving ${repository.current.version}`);
      throw err;
    }
  };

  const context: ServeContext = {
    repository,
    predictor,
    traffic: options.cluster?.traffic ?? new VersionTraffic(options.monitor ? options.monitor.window : undefined),
    canaryKeyHeader: (options.canaryKeyHeader ?? DEFAULT_CANARY_KEY_HEADER).toLowerCase(),
    metrics,
    predictionLog,
    logger,
    engine,
    modelName: options.modelName ?? DEFAULT_MODEL_NAME,
    apiKey: options.apiKey,
    cors: options.cors,
    reload: async () => {
      const result = await reloadHere();
      options.cluster?.afterAdminReload();
      return result;
    },
    metricsText: options.cluster?.metricsText ?? (() => metrics.registry.metrics()),
    metricsContentType: metrics.registry.contentType,
    monitoring: options.cluster ? options.cluster.monitoring : monitor && localMonitoring(monitor),
  };
  if (isModelsDir(options.modelPath)) context.shadow = createShadowRunner({ repository, predictor, registry: metrics.registry, monitor, logger, share: options.shadowShare, forward: options.cluster?.shadow });
  const notice = (message: string) => options.notice?.(message);
  // --rollback-if runs where the monitor is: here, or in the cluster primary. Its refresh says what serves now, as the label watch's does.
  const refresh = tellingChanges(reloadHere, notice);
  const rollback = options.cluster ? null : startLocalRollback(options.rollback, { modelPath: options.modelPath, repository, monitor, traffic: context.traffic, registry: metrics.registry, refresh, logger, notice });
  context.rollback = options.cluster ? options.cluster.rollback : rollback?.watcher;
  const app = createApp(context);
  const stopFollowing = followIfModelsDir(options.modelPath, reloadHere, notice);
  for (const { model, labels, role } of repository.versions()) {
    logger.info({ event: 'model_loaded', version: model.version, dir: model.dir, engine: model.engine, labels, role }, `model ${model.version} loaded (${role})`);
  }

  let disposed: Promise<void> | undefined;
  const dispose = () => {
    disposed ??= (async () => {
      rollback?.stop();
      stopFollowing();
      await predictor.idle();
      await context.shadow?.idle();
      await predictionLog.close();
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      destination.end();
      repository.dispose();
    })();
    return disposed;
  };
  return { context, app, reload: reloadHere, dispose };
}

/** Every served version's reference for the monitor; the primary last, so it is the window kept longest. */
function provideReferences(monitor: LiveMonitor, repository: ModelRepository): void {
  const [primary, ...others] = repository.versions();
  for (const { model } of [...others, primary]) monitor.provideModel(model.metadata);
}

function fileHealth(metrics: ServeMetrics, logger: Logger, logDir: string) {
  const report = (message: string, recovered: boolean) => logger[recovered ? 'warn' : 'error']({ event: 'prediction_log_fault' }, message);
  return reportingHealth(predictionLogDroppedCounter(metrics.registry), report, path.join(logDir, PREDICTION_LOG_FILE));
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const limits = resolveLimits(options.limits);
  const parts = await createServerParts(options);
  const { context, app } = parts;
  let closing = false;
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s, which lets slow clients linger).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs / 2),
    },
    (req, res) => {
      // While stopping, tell keep-alive clients to reconnect elsewhere after this response.
      if (closing) res.setHeader('Connection', 'close');
      app(req, res);
    },
  );
  server.maxConnections = limits.maxConnections;
  const host = options.host ?? DEFAULT_HOST;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await parts.dispose();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new MldeployError(`port ${options.port ?? DEFAULT_PORT} on ${host} is already in use`);
    if (code === 'EACCES') throw new MldeployError(`no permission to listen on port ${options.port ?? DEFAULT_PORT}`);
    throw new MldeployError(`cannot listen on ${host}:${options.port ?? DEFAULT_PORT}: ${(err as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      try {
        await drained;
      } finally {
        clearInterval(idleSweep);
        clearTimeout(force);
      }
      await parts.dispose();
    })();
    return closed;
  };

  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    version: context.repository.current.version,
    engine: context.engine,
    app,
    logger: context.logger,
    metrics: context.metrics,
    repository: context.repository,
    reload: parts.reload,
    close,
  };
}
