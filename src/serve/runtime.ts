/**
 * runServe: the process-level lifecycle behind `mldeploy serve` — one server, or a node:cluster
 * primary with N workers sharing the port (cluster-primary.ts, cluster-worker.ts); SIGHUP
 * reloads (also when it arrives during start-up), a models dir is followed for label changes,
 * SIGTERM/SIGINT stop gracefully.
 */
import cluster from 'node:cluster';
import { runPrimary } from './cluster-primary';
import { runWorker } from './cluster-worker';
import { skippedEngines } from '../model/onnx/serving';
import { checkFleetOptions } from './fleet-plan';
import { DEFAULT_MONITOR_WINDOW } from '../monitor/window';
import { checkRollbackSetting } from '../rollout/server-rollout';
import { ServeEvents, ServeOptions, waitForStopSignal } from './lifecycle';
import { readyVersions } from './ready-summary';
import { refusedReloadNotice, reloadNotice } from './reload-notice';
import { DEFAULT_LOG_DIR, resolveLimits, RunningServer, startServer } from './server';

export type { ServeOptions, ServeEvents, ReadyInfo } from './lifecycle';

/** Runs until stopped by a signal; rejects (one-line error) if the server cannot start. */
export async function runServe(options: ServeOptions, events: ServeEvents): Promise<void> {
  resolveLimits(options.limits);
  checkFleetOptions(options.modelPath, { canary: options.canary, pinned: options.pinned });
  if (options.rollback) checkRollbackSetting(options.modelPath, options.rollback, options.monitor === false ? null : (options.monitor?.window ?? DEFAULT_MONITOR_WINDOW));
  if (cluster.isWorker) return runWorker(options);
  if (options.workers > 1) return runPrimary(options, events);
  return runSingle(options, events);
}

async function runSingle(options: ServeOptions, events: ServeEvents): Promise<void> {
  const started = Date.now();
  let server: RunningServer | undefined;
  let reloadAfterStartup = false;
  const onHangup = () => {
    if (!server) {
      reloadAfterStartup = true;
      events.notice('SIGHUP during start-up: reloading once the server is ready');
      return;
    }
    server.reload().then(
      (result) => events.notice(reloadNotice(result)),
      (err: Error) => events.notice(refusedReloadNotice(err)),
    );
  };
  process.on('SIGHUP', onHangup);
  try {
    server = await startServer({ ...options, workers: 1, notice: events.notice });
  } catch (err) {
    process.off('SIGHUP', onHangup);
    throw err;
  }
  events.ready({
    url: server.url,
    version: server.version,
    engine: server.engine.backend,
    engineSkipped: skippedEngines(server.engine),
    workers: 1,
    logDir: options.logDir ?? DEFAULT_LOG_DIR,
    startupMs: Date.now() - started,
    versions: readyVersions(server.repository.versions()),
  });
  if (reloadAfterStartup) onHangup();
  await waitForStopSignal();
  events.notice('stopping: finishing in-flight requests');
  await server.close();
  process.off('SIGHUP', onHangup);
}

