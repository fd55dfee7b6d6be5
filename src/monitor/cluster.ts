/**
 * The monitor in cluster mode. The primary owns the one LiveMonitor: every worker's prediction
 * lines already pass through it on their way to predictions.jsonl, so it reads the monitor's
 * fields from them (the same records `mldeploy monitor` reads from the file) and the windows are
 * exactly those one process would have. Workers ask it for /monitoring over IPC.
 */
import type { Registry } from 'prom-client';
import { registerMonitorGauges } from './gauges';
import { metadataOfVersion } from './model-lookup';
import type { MonitoringAccess } from './access';
import { LiveMonitor, type MonitoredRecord, type MonitoringReport } from './live';
import type { WindowOptions } from './window';

export class PrimaryMonitor {
  readonly monitor: LiveMonitor;
  private readonly provided = new Set<string>();

  constructor(
    private readonly modelPath: string,
    registry: Registry,
    options: WindowOptions = {},
  ) {
    this.monitor = new LiveMonitor({ ...options, resolveModel: (version) => metadataOfVersion(modelPath, version) });
    registerMonitorGauges(registry, this.monitor);
    // The served model's reference, ready before the first worker answers.
    metadataOfVersion(modelPath, null).then(
      (metadata) => metadata && this.monitor.provideModel(metadata),
      () => {},
    );
  }

  /** The versions the workers serve: each window gets its version's reference before its first prediction. */
  provideVersions(versions: string[]): void {
    for (const version of versions) {
      if (this.provided.has(version)) continue;
      this.provided.add(version);
      metadataOfVersion(this.modelPath, version).then(
        (metadata) => metadata && this.monitor.provideModel(metadata),
        () => this.provided.delete(version),
      );
    }
  }

  /** Prediction lines as workers send them (newline-terminated JSON); lines without the monitor's fields are skipped. */
  recordLines(lines: string): void {
    let start = 0;
    for (let end = lines.indexOf('\n'); end !== -1; start = end + 1, end = lines.indexOf('\n', start)) {
      const record = JSON.parse(lines.slice(start, end)) as Partial<MonitoredRecord>;
      if (record.model_version && record.probabilities && record.input_stats) this.monitor.record(record as MonitoredRecord);
    }
  }

  report(version: string): MonitoringReport | null {
    return this.monitor.report(version);
  }
}

/** A worker's side: /monitoring asks the primary, by request id. */
export class WorkerMonitoring implements MonitoringAccess {
  private readonly waiting = new Map<number, (report: MonitoringReport | null) => void>();
  private nextId = 0;

  constructor(private readonly ask: (id: number, version: string) => void) {}

  report = (version: string): Promise<MonitoringReport | null> => {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ask(id, version);
    });
  };

  settle(id: number, report: MonitoringReport | null): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(report);
  }
}
