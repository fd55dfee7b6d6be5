/**
 * The files of a `mldeploy monitor` run, all rendered from the one result object and written
 * atomically: monitor_report.json (the result), monitor_report.txt, monitor_report.png (chart.ts)
 * and monitor_report.html (self-contained: the chart inline, no scripts or external requests),
 * one row per window.
 */
import { formatPValue } from '../report/drift-calibrated';
import { reportPaths, writeReportFiles } from '../report/report-files';
import { renderMonitorChart } from './chart';
import type { MonitorGateFailure } from './gate';
import type { MonitorRunResult, MonitorWindowRow } from './offline';
import { escapeHtml, htmlPage } from '../report/html-page';

export const MONITOR_OUTPUT_FILES = { json: 'monitor_report.json', text: 'monitor_report.txt', html: 'monitor_report.html', chart: 'monitor_report.png' } as const;
export type MonitorOutputFiles = Record<keyof typeof MONITOR_OUTPUT_FILES, string>;

export const WINDOW_COLUMNS = ['window', 'model', 'first', 'last', 'images', 'drift', 'min p (corrected)', 'strongest test', 'estimated', '95% interval', 'reference'];

const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

export function windowCells(w: MonitorWindowRow): string[] {
  const strongest = w.drift.tests.reduce<MonitorWindowRow['drift']['tests'][number] | null>((best, t) => (best === null || t.corrected_p_value < best.corrected_p_value ? t : best), null);
  const estimate = w.estimated_accuracy;
  return [
    String(w.index),
    w.model_version,
    w.first_timestamp,
    w.last_timestamp,
    String(w.samples),
    w.drift.detected === null ? 'not tested' : w.drift.detected ? 'DRIFT' : 'no',
    w.drift.p_value === null ? '-' : formatPValue(w.drift.p_value),
    strongest ? `${strongest.name} ${strongest.signal}` : '-',
    percent(estimate?.value ?? null),
    estimate ? `${percent(estimate.ci_low)}-${percent(estimate.ci_high)}` : '-',
    percent(w.reference_accuracy),
  ];
}

export function describeMonitorFailure(failure: MonitorGateFailure): string {
  if (failure.reason) return `${failure.rule}: ${failure.reason}`;
  return failure.window === null ? `${failure.rule} (value ${failure.value})` : `${failure.rule} in window ${failure.window} (value ${failure.value === null ? '-' : Number(failure.value.toPrecision(4))})`;
}

function headline(result: MonitorRunResult): string[] {
  const { records, summary, config } = result;
  return [
    `log:        ${result.log} (${records.monitored} predictions monitored${records.skipped_schema_1 ? `, ${records.skipped_schema_1} schema-1 lines without the monitor's fields skipped` : ''})`,
    `windows:    ${summary.windows} of up to ${config.window} predictions, ${summary.tested} tested (at least ${config.min_samples} predictions and a reference), alpha ${config.alpha}`,
    `drift:      ${summary.drift_windows} of ${summary.tested} tested windows flagged; lowest estimated accuracy ${percent(summary.min_estimated_accuracy)}`,
  ];
}

function gateLines(result: MonitorRunResult): string[] {
  if (result.gate.rules.length === 0) return ['gate: no --fail-on rules'];
  if (result.gate.passed) return [`gate passed: ${result.gate.rules.join(' ')}`];
  return result.gate.failures.map((f) => `gate failed: ${describeMonitorFailure(f)}`);
}

export function renderMonitorText(result: MonitorRunResult): string {
  const rows = result.windows.map(windowCells);
  const widths = WINDOW_COLUMNS.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c <= 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  const reasons = result.windows.filter((w) => w.drift.reason).map((w) => `  window ${w.index}: ${w.drift.reason}`);
  return [
    'mldeploy monitor report',
    '=======================',
    `generated:  ${result.generated_at}`,
    ...headline(result),
    '',
    line(WINDOW_COLUMNS),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    ...(reasons.length ? ['', 'Not tested:', ...reasons] : []),
    '',
    ...gateLines(result),
    '',
  ].join('\n');
}

export function renderMonitorHtml(result: MonitorRunResult, chart: Buffer): string {
  const cells = (values: string[], tag: 'td' | 'th') => values.map((v) => `<${tag}>${escapeHtml(v)}</${tag}>`).join('');
  const rows = result.windows.map((w) => `<tr class="${w.drift.detected ? 'drift' : ''}">${cells(windowCells(w), 'td')}</tr>`).join('\n');
  const gate = gateLines(result).map((l) => `<li class="${result.gate.passed ? '' : 'fail'}">${escapeHtml(l)}</li>`).join('\n');
  return htmlPage(
    'mldeploy monitor report',
    `tr.drift td { background: #fdecea; }
li.fail { color: #c62828; font-weight: 600; }
.meta { color: #555; white-space: pre-wrap; }`,
    `<p class="meta">Generated ${escapeHtml(result.generated_at)}.
${headline(result).map(escapeHtml).join('\n')}</p>
<img alt="estimated accuracy and detector p-value per window" src="data:image/png;base64,${chart.toString('base64')}">
<h2>Windows</h2>
<div style="overflow-x:auto"><table>
<tr>${cells(WINDOW_COLUMNS, 'th')}</tr>
${rows}
</table></div>
<h2>Gate</h2>
<ul>
${gate}
</ul>`,
  );
}

export async function writeMonitorOutputs(result: MonitorRunResult, outDir: string): Promise<MonitorOutputFiles> {
  return writeReportFiles(reportPaths(MONITOR_OUTPUT_FILES, outDir), result, { text: renderMonitorText, chart: renderMonitorChart, html: renderMonitorHtml });
}
