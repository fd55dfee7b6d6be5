/**
 * The node:cluster primary behind `mldeploy serve --workers N`: forks the workers, owns
 * predictions.jsonl (one writer, safe rotation), aggregates /metrics over the workers with
 * prom-client's AggregatorRegistry, keeps the per-version traffic figures and the monitor,
 * forwards reloads, and replaces crashed workers with
 * exponential backoff. A worker that fails during start-up is not restarted (it would fail
 * again: broken model, bad flags); during the initial start-up that fails the whole server.
 */
import cluster, { Worker } from 'node:cluster';
import * as path from 'node:path';
import { AggregatorRegistry, Registry } from 'prom-client';
import { MldeployError, ModelError } from '../errors';
import { PrimaryMonitor } from '../monitor/cluster';
import { ServeEvents, ServeOptions, WorkerMessage, send, waitForStopSignal } from './lifecycle';
import { predictionLogDroppedCounter } from './metrics';
import { reportingHealth, RotatingFileSink } from './prediction-file';
import { PREDICTION_LOG_FILE } from './prediction-log';
import { DEFAULT_LOG_DIR } from './server';
import { VersionTraffic } from './traffic';
import { applyShadowEvents } from './shadow-cluster';
import { ShadowMetrics, ShadowStats } from './shadow-stats';
import { stableFiguresFrom, startRollbackWatch } from '../rollout/server-rollout';

/** Delay before replacing a crashed worker: doubles per crash, back to the base after a quiet minute. */
export class RestartBackoff {
  private streak = 0;
  private lastCrash = -Infinity;

  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 30_000,
    private readonly quietMs = 60_000,
  ) {}

  next(now: number): number {
    if (now - this.lastCrash > this.quietMs) this.streak = 0;
    this.lastCrash = now;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** this.streak);
    this.streak += 1;
    return delay;
  }
}

export async function runPrimary(options: ServeOptions, events: ServeEvents): Promise<void> {
  const started = Date.now();
  const logDir = options.logDir ?? DEFAULT_LOG_DIR;
  let state: 'starting' | 'serving' | 'stopping' = 'starting';
  let reloadAfterStartup = false;
  const onHangup = () => {
    if (state === 'starting') {
      reloadAfterStartup = true;
      events.notice('SIGHUP during start-up: the workers reload once they are all ready');
    } else if (state === 'serving') {
      events.notice('SIGHUP: reloading the model in every worker');
      for (const worker of liveWorkers()) send(worker, { type: 'mldeploy:reload' });
    }
  };
  process.on('SIGHUP', onHangup);

  const ownRegistry = new Registry();
  const logFile = path.join(logDir, PREDICTION_LOG_FILE);
  const health = reportingHealth(predictionLogDroppedCounter(ownRegistry), (message) => events.notice(`prediction log: ${message}`), logFile);
  const predictionLog = new RotatingFileSink(logDir, options.rotation, health);
  const aggregator = new AggregatorRegistry();
  const monitor = options.monitor === false ? undefined : new PrimaryMonitor(options.modelPath, ownRegistry, { size: options.monitor?.window });
  const traffic = new VersionTraffic(options.monitor ? options.monitor.window : undefined);
  // The workers' shadow results, counted here once (the metrics in this process's registry).
  const shadowStats = new ShadowStats(new ShadowMetrics(ownRegistry));
  /** What the workers serve, the primary (stable) version first. */
  let servingVersions: string[] = [];
  // --rollback-if runs here, beside the monitor; every worker follows the labels.json change itself.
  const rollback =
    options.rollback && monitor
      ? startRollbackWatch({
          modelPath: options.modelPath,
          setting: options.rollback,
          registry: ownRegistry,
          figures: stableFiguresFrom(() => servingVersions[0] ?? null, monitor.monitor, traffic),
          refresh: async () => liveWorkers().forEach((worker) => send(worker, { type: 'mldeploy:reload' })),
          log: (_event, message) => events.notice(message),
        })
      : null;
  const ready = new Set<number>();
  const startupErrors = new Map<number, string>();
  const backoff = new RestartBackoff();
  const restartTimers = new Set<NodeJS.Timeout>();
  let startupDone: () => void = () => {};
  const startup = new Promise<void>((resolve) => (startupDone = resolve));
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  failed.catch(() => {}); // raced below; a late failure while stopping is not an unhandled rejection

  const onMessage = (worker: Worker, message: WorkerMessage) => {
    switch (message?.type) {
      case 'mldeploy:ready':
        ready.add(worker.id);
        if (state === 'starting' && ready.size === options.workers) {
          state = 'serving';
          events.ready({ url: message.url, version: message.version, engine: message.engine, engineSkipped: message.engineSkipped, workers: options.workers, logDir, startupMs: Date.now() - started, versions: message.versions });
          startupDone();
          if (reloadAfterStartup) onHangup();
        } else if (state === 'serving') {
          events.notice(`worker ${worker.process.pid} ready (${ready.size} of ${options.workers} serving)`);
        }
        break;
      case 'mldeploy:startup-failed':
        startupErrors.set(worker.id, message.message);
        if (state === 'starting') fail(new ModelError(message.message));
        break;
      case 'mldeploy:predictions':
        predictionLog.append(message.lines);
        monitor?.recordLines(message.lines);
        break;
      case 'mldeploy:monitoring-request':
        send(worker, { type: 'mldeploy:monitoring-response', id: message.id, report: monitor?.report(message.version) ?? null, rollback: rollback?.watcher.section() ?? null, shadow: shadowStats.current() });
        break;
      case 'mldeploy:shadow':
        applyShadowEvents(message.events, shadowStats, monitor && ((record) => monitor.monitor.record(record)));
        break;
      case 'mldeploy:traffic':
        for (const sample of message.samples) traffic.record(sample);
        break;
      case 'mldeploy:traffic-request':
        void traffic.figures(message.versions).then((figures) => send(worker, { type: 'mldeploy:traffic-response', id: message.id, figures }));
        break;
      case 'mldeploy:serving':
        monitor?.provideVersions(message.versions);
        servingVersions = message.versions;
        break;
      case 'mldeploy:metrics-request':
        Promise.all([aggregator.clusterMetrics(), ownRegistry.metrics()]).then(
          ([workers, own]) => send(worker, { type: 'mldeploy:metrics-response', id: message.id, text: workers + own }),
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
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    // What the worker sent just before it exited (its start-up error) may still be in the channel:
    // decide once the channel is closed, when every message has been read.
    if (worker.isConnected()) worker.once('disconnect', () => afterExit(worker, code, signal));
    else afterExit(worker, code, signal);
  };

  const afterExit = (worker: Worker, code: number | null, signal: string | null) => {
    const wasReady = ready.delete(worker.id);
    const how = startupErrors.get(worker.id) ?? `exited with ${signal ?? `code ${code}`}`;
    if (state === 'stopping') return;
    if (signal === 'SIGHUP' && !wasReady) {
      // A SIGHUP to the process group can reach a worker before its handler is installed (while
      // it loads modules): that is no start-up failure, so it simply starts again.
      events.notice(`worker ${worker.process.pid} was stopped by SIGHUP while starting; starting it again`);
      cluster.fork();
      return;
    }
    if (state === 'starting') return fail(new MldeployError(`worker ${worker.process.pid} failed during start-up: ${how}`));
    if (!wasReady) {
      events.notice(`worker ${worker.process.pid} failed during start-up (${how}); not restarting it; ${ready.size} of ${options.workers} workers serving`);
      if (liveWorkers().length === 0 && restartTimers.size === 0) fail(new MldeployError(`no worker left: the last one failed during start-up (${how})`));
      return;
    }
    const delay = backoff.next(Date.now());
    events.notice(`worker ${worker.process.pid} ${how}; starting a replacement in ${delay} ms`);
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (state === 'serving') cluster.fork();
    }, delay);
    restartTimers.add(timer);
  };

  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  for (let i = 0; i < options.workers; i++) cluster.fork();

  const stopSignal = waitForStopSignal();
  let failure: unknown;
  try {
    const first = await Promise.race([startup.then(() => 'started' as const), stopSignal, failed]);
    if (first === 'started') await Promise.race([stopSignal, failed]);
    events.notice('stopping: workers are finishing in-flight requests');
  } catch (err) {
    failure = err;
  } finally {
    state = 'stopping';
    rollback?.stop();
    for (const timer of restartTimers) clearTimeout(timer);
    await stopWorkers(ready);
    process.off('SIGHUP', onHangup);
    cluster.off('message', onMessage);
    cluster.off('exit', onExit);
    await predictionLog.close();
  }
  if (failure) throw failure;
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}

/** Ready workers finish their in-flight requests; workers still starting are terminated. */
function stopWorkers(ready: Set<number>): Promise<void> {
  return Promise.all(
    liveWorkers().map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          if (ready.has(worker.id)) send(worker, { type: 'mldeploy:shutdown' });
          else worker.process.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}
