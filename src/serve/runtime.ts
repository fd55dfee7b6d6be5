/**
 * runServe: the process-level lifecycle behind `mldeploy serve` — one server, or a node:cluster
 * primary with N workers sharing the port; SIGHUP reloads, SIGTERM/SIGINT stop gracefully.
 * In cluster mode the primary owns predictions.jsonl (one writer, safe rotation) and aggregates
 * /metrics over the workers with prom-client's AggregatorRegistry.
 */
import cluster, { Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { ModelError } from '../errors';
import { BufferedSink, PredictionSink, RotatingFileSink } from './prediction-log';
import { ReloadResult } from './repository';
import { DEFAULT_LOG_DIR, resolveLimits, RunningServer, startServer, StartServerOptions } from './server';

export interface ServeOptions extends Omit<StartServerOptions, 'workers' | 'cluster'> {
  workers: number;
}

export interface ReadyInfo {
  url: string;
  version: string;
  engine: string;
  workers: number;
  logDir: string;
  startupMs: number;
}

export interface ServeEvents {
  ready(info: ReadyInfo): void;
  /** Operational messages (reloads, stops, worker restarts) for the CLI to print. */
  notice(message: string): void;
}

type WorkerMessage =
  | { type: 'mldeploy:ready'; url: string; version: string; engine: string }
  | { type: 'mldeploy:startup-failed'; message: string }
  | { type: 'mldeploy:predictions'; lines: string }
  | { type: 'mldeploy:metrics-request'; id: number }
  | { type: 'mldeploy:reload-others' }
  | { type: 'mldeploy:notice'; message: string };

type PrimaryMessage =
  | { type: 'mldeploy:metrics-response'; id: number; text?: string; error?: string }
  | { type: 'mldeploy:reload' }
  | { type: 'mldeploy:shutdown' };

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Runs until stopped by a signal; rejects (one-line error) if the server cannot start. */
export async function runServe(options: ServeOptions, events: ServeEvents): Promise<void> {
  resolveLimits(options.limits);
  if (cluster.isWorker) return runWorker(options);
  if (options.workers > 1) return runPrimary(options, events);
  return runSingle(options, events);
}

async function runSingle(options: ServeOptions, events: ServeEvents): Promise<void> {
  const started = Date.now();
  const server = await startServer({ ...options, workers: 1 });
  events.ready({
    url: server.url,
    version: server.version,
    engine: server.engine.backend,
    workers: 1,
    logDir: options.logDir ?? DEFAULT_LOG_DIR,
    startupMs: Date.now() - started,
  });
  const onHangup = () => {
    server.reload().then(
      (result) => events.notice(reloadNotice(result)),
      (err: Error) => events.notice(`reload refused: ${err.message}; still serving the previous model`),
    );
  };
  process.on('SIGHUP', onHangup);
  await waitForStopSignal();
  events.notice('stopping: finishing in-flight requests');
  await server.close();
  process.off('SIGHUP', onHangup);
}

function reloadNotice(result: ReloadResult): string {
  return result.changed ? `reloaded: now serving ${result.version} (was ${result.previous_version})` : `reloaded: still ${result.version} (no newer model)`;
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, handler);
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, handler);
  });
}

async function runPrimary(options: ServeOptions, events: ServeEvents): Promise<void> {
  const started = Date.now();
  const logDir = options.logDir ?? DEFAULT_LOG_DIR;
  const predictionLog = new RotatingFileSink(logDir, options.rotation);
  const aggregator = new AggregatorRegistry();
  let state: 'starting' | 'serving' | 'stopping' = 'starting';
  let readyCount = 0;
  let startupDone: (err?: Error) => void = () => {};
  const startup = new Promise<void>((resolve, reject) => {
    startupDone = (err) => (err ? reject(err) : resolve());
  });

  cluster.on('message', (worker: Worker, message: WorkerMessage) => {
    switch (message?.type) {
      case 'mldeploy:ready':
        readyCount += 1;
        if (state === 'starting' && readyCount === options.workers) {
          state = 'serving';
          events.ready({ url: message.url, version: message.version, engine: message.engine, workers: options.workers, logDir, startupMs: Date.now() - started });
          startupDone();
        }
        break;
      case 'mldeploy:startup-failed':
        if (state === 'starting') startupDone(new ModelError(message.message));
        break;
      case 'mldeploy:predictions':
        predictionLog.append(message.lines);
        break;
      case 'mldeploy:metrics-request':
        aggregator.clusterMetrics().then(
          (text) => send(worker, { type: 'mldeploy:metrics-response', id: message.id, text }),
          (err: Error) => send(worker, { type: 'mldeploy:metrics-response', id: message.id, error: err.message }),
        );
        break;
      case 'mldeploy:reload-others':
        for (const other of liveWorkers()) if (other !== worker) send(other, { type: 'mldeploy:reload' });
        break;
      case 'mldeploy:notice':
        events.notice(`worker ${worker.process.pid}: ${message.message}`);
        break;
      default:
        break;
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    if (state !== 'serving') return;
    events.notice(`worker ${worker.process.pid} exited (${signal ?? code}); starting a replacement`);
    cluster.fork();
  });

  for (let i = 0; i < options.workers; i++) cluster.fork();

  const onHangup = () => {
    events.notice('SIGHUP: reloading the model in every worker');
    for (const worker of liveWorkers()) send(worker, { type: 'mldeploy:reload' });
  };
  const stopSignal = waitForStopSignal();
  try {
    await Promise.race([startup, stopSignal]);
  } catch (err) {
    state = 'stopping';
    await stopWorkers();
    await predictionLog.close();
    throw err;
  }
  process.on('SIGHUP', onHangup);
  await stopSignal;
  state = 'stopping';
  events.notice('stopping: workers are finishing in-flight requests');
  await stopWorkers();
  process.off('SIGHUP', onHangup);
  await predictionLog.close();
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}

/** Asks every worker to stop gracefully and waits until all have exited. */
function stopWorkers(): Promise<void> {
  return Promise.all(
    liveWorkers().map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          send(worker, { type: 'mldeploy:shutdown' });
        }),
    ),
  ).then(() => undefined);
}

function send(target: Worker | NodeJS.Process, message: PrimaryMessage | WorkerMessage): void {
  try {
    if (target === process) process.send?.(message);
    else (target as Worker).send(message);
  } catch {
    // The other side is already gone (stopping or crashed): nothing to deliver to.
  }
}

function sendAndWait(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Worker side: one server whose prediction log, metrics and admin reloads go through the primary. */
async function runWorker(options: ServeOptions): Promise<void> {
  let lastSend: Promise<void> = Promise.resolve();
  const toPrimary: PredictionSink = {
    append: (lines) => {
      lastSend = sendAndWait({ type: 'mldeploy:predictions', lines });
    },
    close: () => lastSend,
  };
  let server: RunningServer;
  try {
    server = await startServer({
      ...options,
      workers: 1,
      cluster: {
        predictionSink: new BufferedSink(toPrimary, 20),
        metricsText: requestClusterMetrics,
        afterAdminReload: () => send(process, { type: 'mldeploy:reload-others' }),
      },
    });
  } catch (err) {
    await sendAndWait({ type: 'mldeploy:startup-failed', message: (err as Error).message });
    process.exit(1);
  }
  // Constructing one installs prom-client's worker-side listener, which answers the primary's
  // aggregation requests from the registries set here.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([server.metrics.registry]);

  let stopRequested: () => void = () => {};
  const shutdownMessage = new Promise<void>((resolve) => (stopRequested = resolve));
  process.on('message', (message: PrimaryMessage) => {
    if (message?.type === 'mldeploy:metrics-response') settleMetricsRequest(message);
    if (message?.type === 'mldeploy:shutdown') stopRequested();
    if (message?.type === 'mldeploy:reload') {
      server.reload().then(
        (result) => send(process, { type: 'mldeploy:notice', message: reloadNotice(result) }),
        (err: Error) => send(process, { type: 'mldeploy:notice', message: `reload refused: ${err.message}; still serving the previous model` }),
      );
    }
  });
  // SIGHUP reaches workers too when sent to the whole process group; the primary forwards it already.
  process.on('SIGHUP', () => {});
  await sendAndWait({ type: 'mldeploy:ready', url: server.url, version: server.version, engine: server.engine.backend });
  await Promise.race([waitForStopSignal(), shutdownMessage]);
  await server.close();
  process.exit(0);
}

/** /metrics requests a worker forwarded to the primary, by id. */
const metricsRequests = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
let nextMetricsRequestId = 0;

function requestClusterMetrics(): Promise<string> {
  const id = nextMetricsRequestId++;
  return new Promise((resolve, reject) => {
    metricsRequests.set(id, { resolve, reject });
    send(process, { type: 'mldeploy:metrics-request', id });
  });
}

function settleMetricsRequest(message: { id: number; text?: string; error?: string }): void {
  const waiter = metricsRequests.get(message.id);
  if (!waiter) return;
  metricsRequests.delete(message.id);
  if (message.text !== undefined) waiter.resolve(message.text);
  else waiter.reject(new Error(message.error ?? 'metrics aggregation failed'));
}
