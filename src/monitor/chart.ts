/**
 * monitor_report.png: per window, the estimated accuracy with its interval against the model's
 * test accuracy, and the detector's smallest corrected p-value against alpha (log scale).
 */
import type { ChartConfiguration } from 'chart.js';
import { renderChartGrid } from '../report/chart-png';
import type { MonitorRunResult } from './offline';

const ESTIMATE = '#1f77b4';
const REFERENCE = '#2e7d32';
const ALPHA = '#c62828';
/** Where a p-value too small to draw on a log axis is pinned. */
const P_FLOOR = 1e-30;

export function renderMonitorChart(result: MonitorRunResult): Buffer {
  const labels = result.windows.map((w) => String(w.index));
  const percent = (v: number | null | undefined) => (v === null || v === undefined ? null : v * 100);
  const line = (label: string, data: (number | null)[], colour: string, extra: object = {}) => ({ label, data, borderColor: colour, backgroundColor: colour, spanGaps: false, ...extra });
  const accuracy: ChartConfiguration = {
    type: 'line',
    data: {
      labels,
      datasets: [
        line('estimated accuracy', result.windows.map((w) => percent(w.estimated_accuracy?.value)), ESTIMATE),
        line('interval low', result.windows.map((w) => percent(w.estimated_accuracy?.ci_low)), ESTIMATE, { borderDash: [4, 4], pointRadius: 0 }),
        line('interval high', result.windows.map((w) => percent(w.estimated_accuracy?.ci_high)), ESTIMATE, { borderDash: [4, 4], pointRadius: 0 }),
        line('test accuracy', result.windows.map((w) => percent(w.reference_accuracy)), REFERENCE, { pointRadius: 0 }),
      ],
    },
    options: {
      plugins: { title: { display: true, text: 'Estimated accuracy per window (label-free)', font: { size: 16 } }, legend: { position: 'bottom' } },
      scales: { x: { title: { display: true, text: 'window' } }, y: { min: 0, max: 100, title: { display: true, text: 'accuracy (%)' } } },
    },
  };
  const pValues: ChartConfiguration = {
    type: 'line',
    data: {
      labels,
      datasets: [
        line('smallest corrected p-value', result.windows.map((w) => (w.drift.p_value === null ? null : Math.max(P_FLOOR, w.drift.p_value))), ESTIMATE),
        line(`alpha ${result.config.alpha}`, result.windows.map(() => result.config.alpha), ALPHA, { pointRadius: 0 }),
      ],
    },
    options: {
      plugins: { title: { display: true, text: `Shift detector per window (drift at or below alpha; floor ${P_FLOOR})`, font: { size: 16 } }, legend: { position: 'bottom' } },
      scales: { x: { title: { display: true, text: 'window' } }, y: { type: 'logarithmic', min: P_FLOOR, max: 1, title: { display: true, text: 'p-value' }, ticks: { callback: powerOfTenLabel } } },
    },
  };
  return renderChartGrid([{ config: accuracy, column: 0, row: 0 }, { config: pValues, column: 1, row: 0 }], 2);
}

/** Tick labels on the log axis: 1e-5 style at powers of ten (every 5th), none between. */
function powerOfTenLabel(value: number | string): string {
  const exponent = Math.log10(Number(value));
  const rounded = Math.round(exponent);
  return Math.abs(exponent - rounded) < 1e-9 && rounded % 5 === 0 ? (rounded === 0 ? '1' : `1e${rounded}`) : '';
}
