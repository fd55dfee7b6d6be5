/**
 * The monitor's Prometheus gauges, read from the windows at scrape time, one series per model
 * version the monitor holds. Registered where the monitor lives (the server's registry, or the
 * cluster primary's), so cluster aggregation never sums them over workers.
 */
import { Gauge, type Registry } from 'prom-client';
import type { LiveMonitor, MonitoringReport } from './live';

const PREFIX = 'mldeploy_';

export function registerMonitorGauges(registry: Registry, monitor: LiveMonitor): void {
  const registers = [registry];
  const each = (fill: (report: MonitoringReport) => void) => {
    for (const version of monitor.versions()) {
      const report = monitor.report(version);
      if (report) fill(report);
    }
  };
  new Gauge({
    name: `${PREFIX}monitor_window_samples`,
    help: 'Predictions in the rolling monitoring window, by model version',
    labelNames: ['model_version'],
    registers,
    collect() {
      this.reset();
      each((r) => this.set({ model_version: r.model_version }, r.window.samples));
    },
  });
  new Gauge({
    name: `${PREFIX}drift_detected`,
    help: 'Whether the shift detector flags the current window (1) or not (0); absent while the window is too small to test',
    labelNames: ['model_version'],
    registers,
    collect() {
      this.reset();
      each((r) => {
        if (r.drift.detected !== null) this.set({ model_version: r.model_version }, r.drift.detected ? 1 : 0);
      });
    },
  });
  new Gauge({
    name: `${PREFIX}drift_p_value`,
    help: 'p-value of each shift test on the current window (uncorrected; drift when p-value times the number of tests is at most alpha)',
    labelNames: ['model_version', 'test', 'signal'],
    registers,
    collect() {
      this.reset();
      each((r) => {
        for (const t of r.drift.tests) this.set({ model_version: r.model_version, test: t.name, signal: t.signal }, t.p_value);
      });
    },
  });
  new Gauge({
    name: `${PREFIX}reference_accuracy`,
    help: 'Test-set accuracy stored with the model version: what the label-free estimate is compared with',
    labelNames: ['model_version'],
    registers,
    collect() {
      this.reset();
      each((r) => {
        if (r.reference_accuracy !== null) this.set({ model_version: r.model_version }, r.reference_accuracy);
      });
    },
  });
  new Gauge({
    name: `${PREFIX}estimated_accuracy`,
    help: 'Label-free accuracy estimate of the current window, by model version and estimator',
    labelNames: ['model_version', 'method'],
    registers,
    collect() {
      this.reset();
      each((r) => {
        if (r.estimated_accuracy) this.set({ model_version: r.model_version, method: r.estimated_accuracy.method }, r.estimated_accuracy.value);
      });
    },
  });
}
