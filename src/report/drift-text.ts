/**
 * drift_report.txt: the drift result rendered as plain text (table, verdicts with the
 * figures behind them, gate outcome, recommendations). Pure formatting, nothing recomputed.
 */
import { describeGateFailure, gateVerdict } from '../drift/gate';
import { describeCauses, type DriftResult, type ScenarioResult } from '../drift/result';
import {
  DETECTION_COLUMNS,
  detectedCell,
  detectionHeading,
  detectionRows,
  detectionSummary,
  detectionUnavailable,
  estimateColumns,
  estimateRows,
  estimatesUnavailable,
  formatPValue,
  hasEstimates,
} from './drift-calibrated';

export { formatPValue };

export function formatPercent(value: number | null, digits = 1): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(digits)}%`;
}

/** The per-scenario performance table, shared by the text and HTML reports. */
export const PERFORMANCE_COLUMNS = ['scenario', 'images', 'accuracy', 'estimated', 'confidence', 'success', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s', 'PSI max', 'drift detected'];

export function performanceCells(s: ScenarioResult): string[] {
  return [
    s.name,
    String(s.samples),
    formatPercent(s.accuracy),
    formatPercent(s.estimated_accuracy?.value ?? null),
    formatNumber(s.mean_confidence),
    formatPercent(s.success_rate),
    String(s.requests.failed),
    formatNumber(s.latency_ms.p50, 1),
    formatNumber(s.latency_ms.p95, 1),
    formatNumber(s.latency_ms.p99, 1),
    s.throughput_rps.toFixed(0),
    s.drift ? formatNumber(s.drift.psi_max) : '-',
    detectedCell(s),
  ];
}

export function formatNumber(value: number | null, digits = 3): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

export function referenceDescription(result: DriftResult): string {
  const ref = result.reference;
  return ref.kind === 'model'
    ? `the reference profile saved with the model (${ref.samples} test images)`
    : `the ${ref.scenario} replay of this run (${ref.samples} images)`;
}

/** The verdict with the figures behind it, e.g. "significant drift: PSI max 3.2 (noise); ...". */
export function verdictLine(scenario: ScenarioResult): string {
  const drift = scenario.drift;
  if (!drift) return 'reference (the other scenarios are measured against it)';
  const parts = [
    `PSI max ${formatNumber(drift.psi_max)} (${drift.psi_max_signal})`,
    `PSI confidence ${formatNumber(drift.psi.confidence)}, class ${formatNumber(drift.psi.class)}`,
    `KS confidence D=${formatNumber(drift.ks.confidence.statistic)} p=${formatPValue(drift.ks.confidence.p_value)}`,
    `chi-square ${formatNumber(drift.chi2.statistic, 1)} (dof ${drift.chi2.dof}) p=${formatPValue(drift.chi2.p_value)}`,
  ];
  if (scenario.accuracy_drop !== null) {
    parts.push(`accuracy ${formatPercent(scenario.accuracy)} (${signedPoints(-scenario.accuracy_drop)} vs reference)`);
  }
  const label = drift.verdict === 'none' ? 'no drift' : `${drift.verdict} drift`;
  const psiLine = `${label}: ${parts.join('; ')}`;
  return drift.detected === null ? psiLine : `${detectionSummary(scenario)}; PSI says ${psiLine}`;
}

function signedPoints(fraction: number): string {
  const points = fraction * 100;
  return `${points >= 0 ? '+' : ''}${points.toFixed(1)} pts`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function renderDriftText(result: DriftResult): string {
  const out: string[] = [];
  const target = result.target;
  out.push('mldeploy drift report');
  out.push('=====================');
  out.push(`generated:  ${result.generated_at}`);
  out.push(
    `target:     ${target.url}${target.mode === 'model' ? ' (started for this run)' : ''}, model ${target.model_version ?? 'unknown'}` +
      (target.model_type ? ` (${target.model_type})` : ''),
  );
  out.push(`reference:  ${referenceDescription(result)}`);
  for (const line of result.reference.missing) out.push(`  lacks:    ${line}`);
  out.push(
    `run:        ${result.config.samples} images per scenario, seed ${result.config.seed}, concurrency ${result.config.concurrency}, ` +
      `timeout ${result.config.timeout_ms} ms, retries ${result.config.retries}, ${result.duration_s.toFixed(1)} s in all`,
  );
  if (!result.complete) out.push(`INCOMPLETE: ${result.incomplete_reason}; the figures below cover what was measured`);
  out.push('');

  out.push('Performance');
  out.push(
    ...table(
      [...PERFORMANCE_COLUMNS, 'PSI verdict'],
      result.scenarios.map((s) => [...performanceCells(s), s.drift ? s.drift.verdict : 'reference']),
    ),
  );
  out.push('');

  const detections = detectionRows(result);
  const noDetection = detectionUnavailable(result);
  if (detections.length > 0 && result.config.alpha !== null) {
    if (noDetection !== null) out.push(`Shift detection: not run (${noDetection})`);
    else out.push(detectionHeading(result), ...table(DETECTION_COLUMNS, detections));
    out.push('');
  }
  if (hasEstimates(result)) {
    const noEstimate = estimatesUnavailable(result);
    if (noEstimate !== null) out.push(`Accuracy estimate (label-free): none (${noEstimate})`);
    else out.push('Accuracy: label-free estimate vs actual (error = estimated - actual)', ...table(estimateColumns(result), estimateRows(result)));
    out.push('');
  }

  const signals = Object.keys(result.scenarios[0]?.input_stats ?? {});
  if (signals.length > 0) {
    out.push('Input statistics (mean over images, 0-255 scale)');
    out.push(...table(['scenario', ...signals], result.scenarios.map((s) => [s.name, ...signals.map((k) => formatNumber(s.input_stats[k].mean, 1))])));
    out.push('');
  }

  const compared = result.scenarios.filter((s) => s.drift);
  if (compared.length > 0) {
    const psiSignals = Object.keys(compared[0].drift!.psi);
    out.push(`PSI per signal (quantile bins of the reference; < 0.1 none, 0.1-0.2 moderate, > 0.2 significant)`);
    out.push(...table(['scenario', ...psiSignals], compared.map((s) => [s.name, ...psiSignals.map((k) => formatNumber(s.drift!.psi[k]))])));
    out.push('');
    const ksSignals = Object.keys(compared[0].drift!.ks);
    out.push('Kolmogorov-Smirnov D (p-value) per signal');
    out.push(
      ...table(
        ['scenario', ...ksSignals],
        compared.map((s) => [s.name, ...ksSignals.map((k) => `${formatNumber(s.drift!.ks[k].statistic)} (${formatPValue(s.drift!.ks[k].p_value)})`)]),
      ),
    );
    out.push('');
  }

  out.push('Verdicts');
  for (const s of result.scenarios) out.push(`  ${s.name}: ${verdictLine(s)}`);
  for (const s of result.scenarios) {
    if (s.requests.failed > 0) out.push(`  ${s.name}: ${s.requests.failed} failed requests (${describeCauses(s.requests.errors)})`);
    if (s.requests.unsent > 0) out.push(`  ${s.name}: ${s.requests.unsent} images not sent (the run stopped early)`);
  }
  out.push('');

  out.push('Gate (--fail-on, --min-success-rate)');
  const minSuccessRate = result.config.min_success_rate;
  if (result.gate.rules.length === 0 && minSuccessRate === 0) out.push('  no rules given: nothing gated (exit 0)');
  else {
    out.push(
      `  rules: ${result.gate.rules.length === 0 ? 'none given' : result.gate.rules.join('  ')}` +
        (minSuccessRate > 0 ? `; every scenario must answer at least ${formatPercent(minSuccessRate)} of its requests` : ''),
    );
  }
  for (const failure of result.gate.failures) out.push(`  FAILED: ${describeGateFailure(failure)}`);
  if (!result.complete) out.push(`  FAILED: run incomplete: ${result.incomplete_reason}`);
  for (const skipped of result.gate.skipped) out.push(`  skipped: ${skipped.rule} on ${skipped.scenario} (${skipped.reason})`);
  out.push(`  result: ${gateVerdict(result)}`);
  out.push('');

  out.push('Recommendations');
  for (const s of result.scenarios) {
    for (const recommendation of s.recommendations) out.push(`  - ${s.name}: ${recommendation}`);
  }
  return out.join('\n') + '\n';
}
