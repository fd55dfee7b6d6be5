/**
 * A cluster worker: one server whose prediction log, metrics, traffic figures and admin reloads go
 * through the primary. It follows the models dir for label changes itself (label-watch.ts).
 */
import { AggregatorRegistry } from 'prom-client';
import { skippedEngines } from '../model/onnx/serving';
import { WorkerMonitoring } from '../monitor/cluster';
import { PrimaryMessage, send, sendAndWait, ServeOptions, waitForStopSignal } from './lifecycle';
import { readyVersions } from './ready-summary';
import { refusedReloadNotice, reloadNotice } from './reload-notice';
import { BufferedSink, PredictionSink } from './prediction-log';
import { RunningServer, startServer } from './server';
import { ForwardedTraffic } from './traffic';
import { ForwardedShadowStats } from './shadow-cluster';
import type { RollbackSection } from '../rollout/monitoring-contract';

export async function runWorker(options: ServeOptions): Promise<void> {
  // SIGHUP reaches workers too when sent to the whole process group, also during start-up;
  // the primary forwards reloads itself.
  process.on('SIGHUP', () => {});
  let lastSend: Promise<void> = Promise.resolve();
  const toPrimary: PredictionSink = {
    append: (lines) => {
      lastSend = sendAndWait({ type: 'mldeploy:predictions', lines });
    },
    close: () => lastSend,
  };
  const shadow = new ForwardedShadowStats((events) => send(process, { type: 'mldeploy:shadow', events }));
  // Shadow results still buffered here go first, so the answer includes this worker's latest.
  const monitoring =
    options.monitor === false
      ? undefined
      : new WorkerMonitoring((id, version) => {
          shadow.flush();
          send(process, { type: 'mldeploy:monitoring-request', id, version });
        });
  const traffic = new ForwardedTraffic(
    (samples) => send(process, { type: 'mldeploy:traffic', samples }),
    (id, versions) => send(process, { type: 'mldeploy:traffic-request', id, versions }),
  );
  // The primary runs --rollback-if; its state comes with every monitoring answer.
  let lastRollback: RollbackSection | null = null;
  const notice = (message: string) => send(process, { type: 'mldeploy:notice', message });
  let server: RunningServer;
  try {
    server = await startServer({
      ...options,
      workers: 1,
      notice,
      cluster: {
        predictionSink: new BufferedSink(toPrimary, 20),
        metricsText: requestClusterMetrics,
        afterAdminReload: () => send(process, { type: 'mldeploy:reload-others' }),
        monitoring,
        traffic,
        serving: (versions) => send(process, { type: 'mldeploy:serving', versions }),
        shadow,
        rollback: options.rollback ? { section: () => lastRollback ?? { rule: options.rollback!.rule, after: options.rollback!.after } } : undefined,
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
    if (message?.type === 'mldeploy:monitoring-response') {
      lastRollback = message.rollback ?? null;
      shadow.settle(message.shadow ?? null);
      monitoring?.settle(message.id, message.report);
    }
    if (message?.type === 'mldeploy:traffic-response') traffic.settle(message.id, message.figures);
    if (message?.type === 'mldeploy:shutdown') stopRequested();
    if (message?.type === 'mldeploy:reload') {
      server.reload().then(
        (result) => notice(reloadNotice(result)),
        (err: Error) => notice(refusedReloadNotice(err)),
      );
    }
  });
  await sendAndWait({ type: 'mldeploy:ready', url: server.url, version: server.version, engine: server.engine.backend, engineSkipped: skippedEngines(server.engine), versions: readyVersions(server.repository.versions()) });
  await Promise.race([waitForStopSignal(), shutdownMessage]);
  await server.close();
  traffic.flush();
  shadow.flush();
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
