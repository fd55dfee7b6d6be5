/** How the HTTP layer reaches the monitor, and the single-process server's own monitor. */
import type { Registry } from 'prom-client';
import type { ModelMetadata } from '../model/metadata';
import { registerMonitorGauges } from './gauges';
import { LiveMonitor, type MonitoredRecord, type MonitoringReport } from './live';
import type { WindowOptions } from './window';

/** The HTTP layer's view of the monitor: `record` where it runs in-process, `report` in every mode. */
export interface MonitoringAccess {
  /** Absent in cluster workers: their prediction lines feed the primary's monitor. */
  record?: (record: MonitoredRecord) => void;
  /** The report for the version this process serves; null when the monitor has not seen it. */
  report: (version: string) => Promise<MonitoringReport | null>;
}

/** In-process access to a monitor (single-process servers). */
export function localMonitoring(monitor: LiveMonitor): MonitoringAccess {
  return { record: (record) => monitor.record(record), report: async (version) => monitor.report(version) };
}

/** A single-process server's monitor: windows, gauges in its registry, the served model as reference. */
export function inProcessMonitor(registry: Registry, metadata: ModelMetadata, options: WindowOptions = {}): LiveMonitor {
  const monitor = new LiveMonitor(options);
  monitor.provideModel(metadata);
  registerMonitorGauges(registry, monitor);
  return monitor;
}
