/**
 * drift_report.html: one self-contained page (inline CSS, charts as a data: URL PNG, no
 * scripts or external requests) rendered from the drift result object.
 */
import { describeGateFailure } from '../drift/gate';
import type { DriftResult, ScenarioResult } from '../drift/result';
import {
  DETECTION_COLUMNS,
  detectionHeading,
  detectionRows,
  detectionUnavailable,
  estimateColumns,
  estimateRows,
  estimatesUnavailable,
  hasEstimates,
} from './drift-calibrated';
import { formatNumber, formatPValue, performanceCells, PERFORMANCE_COLUMNS, referenceDescription, verdictLine } from './drift-text';
import { escapeHtml, htmlPage } from './html-page';

function row(cells: string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
}

function verdictBadge(scenario: ScenarioResult): string {
  const verdict = scenario.drift ? scenario.drift.verdict : 'reference';
  return `<span class="badge ${verdict}">${verdict}</span>`;
}

function performanceTable(result: DriftResult): string {
  const body = result.scenarios
    .map((s) => row(performanceCells(s)).replace('</tr>', `<td>${verdictBadge(s)}</td></tr>`))
    .join('\n');
  return `<table>\n${row([...PERFORMANCE_COLUMNS, 'PSI verdict'], true)}\n${body}\n</table>`;
}

/** The shift detector's decisions and the estimated-vs-actual accuracy table (absent from version 1 logs). */
function calibratedTables(result: DriftResult): string {
  const parts: string[] = [];
  const detections = detectionRows(result);
  const noDetection = detectionUnavailable(result);
  const noEstimate = estimatesUnavailable(result);
  if (detections.length > 0 && result.config.alpha !== null) {
    parts.push(
      noDetection !== null
        ? `<h2>Shift detection</h2>\n<p>Not run: ${escapeHtml(noDetection)}.</p>`
        : `<h2>Shift detection</h2>\n<p class="meta">${escapeHtml(detectionHeading(result))}</p>\n<table>\n${row(DETECTION_COLUMNS, true)}\n${detections.map((r) => row(r)).join('\n')}\n</table>`,
    );
  }
  if (hasEstimates(result) && noEstimate !== null) {
    parts.push(`<h2>Accuracy: estimated vs actual</h2>\n<p>No label-free estimate: ${escapeHtml(noEstimate)}.</p>`);
  } else if (hasEstimates(result)) {
    parts.push(
      `<h2>Accuracy: estimated vs actual</h2>\n<p class="meta">Label-free estimates from the model's train-time calibration; error = estimated - actual.</p>\n` +
        `<div class="scroll"><table>\n${row(estimateColumns(result), true)}\n${estimateRows(result).map((r) => row(r)).join('\n')}\n</table></div>`,
    );
  }
  return parts.join('\n');
}

function driftTable(result: DriftResult): string {
  const compared = result.scenarios.filter((s) => s.drift);
  if (compared.length === 0) return '';
  const signals = Object.keys(compared[0].drift!.ks);
  const header = ['scenario', 'PSI class', ...signals.map((k) => `PSI ${k}`), ...signals.map((k) => `KS ${k} D (p)`), 'chi-square (dof, p)'];
  const rows = compared.map((s) => {
    const d = s.drift!;
    return row([
      s.name,
      formatNumber(d.psi.class),
      ...signals.map((k) => formatNumber(d.psi[k])),
      ...signals.map((k) => `${formatNumber(d.ks[k].statistic)} (${formatPValue(d.ks[k].p_value)})`),
      `${formatNumber(d.chi2.statistic, 1)} (${d.chi2.dof}, ${formatPValue(d.chi2.p_value)})`,
    ]);
  });
  return `<h2>Drift statistics</h2>\n<div class="scroll"><table>\n${row(header, true)}\n${rows.join('\n')}\n</table></div>`;
}

function gateSection(result: DriftResult): string {
  const gate = result.gate;
  const items = [
    ...(result.complete ? [] : [`<li class="fail">run incomplete: ${escapeHtml(result.incomplete_reason ?? '')}</li>`]),
    ...gate.failures.map((f) => `<li class="fail">${escapeHtml(describeGateFailure(f))}</li>`),
    ...gate.skipped.map((s) => `<li>skipped <code>${escapeHtml(s.rule)}</code> on ${escapeHtml(s.scenario)}: ${escapeHtml(s.reason)}</li>`),
  ];
  const verdict = gate.passed ? '<span class="badge none">PASSED</span>' : '<span class="badge significant">FAILED</span>';
  return (
    `<h2>Gate ${verdict}</h2>\n<p>Rules: ${gate.rules.length === 0 ? 'no <code>--fail-on</code> rules given' : gate.rules.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}; ` +
    `every scenario needs a success rate of at least ${result.config.min_success_rate} (<code>--min-success-rate</code>).</p>\n` +
    (items.length > 0 ? `<ul>${items.join('')}</ul>` : '')
  );
}

export function renderDriftHtml(result: DriftResult, chartPng: Buffer): string {
  const target = result.target;
  const verdicts = result.scenarios.map((s) => `<li><b>${escapeHtml(s.name)}</b>: ${escapeHtml(verdictLine(s))}</li>`).join('\n');
  const recommendations = result.scenarios
    .flatMap((s) => s.recommendations.map((r) => `<li><b>${escapeHtml(s.name)}</b>: ${escapeHtml(r)}</li>`))
    .join('\n');
  return htmlPage(
    'mldeploy drift report',
    `th:first-child, td:first-child { text-align: left; }
.scroll { overflow-x: auto; }
.badge { padding: 0.1rem 0.5rem; border-radius: 0.6rem; font-size: 0.85rem; color: #fff; background: #777; }
.badge.none { background: #2e7d32; } .badge.moderate { background: #ef6c00; } .badge.significant { background: #c62828; }
li.fail, p.fail { color: #c62828; font-weight: 600; }
.meta { color: #555; }`,
    `${result.complete ? '' : `<p class="fail"><b>Incomplete run:</b> ${escapeHtml(result.incomplete_reason ?? '')}. The figures cover what was measured.</p>\n`}<p class="meta">Generated ${escapeHtml(result.generated_at)} against <code>${escapeHtml(target.url)}</code>, model
${escapeHtml(target.model_version ?? 'unknown')}${target.model_type ? ` (${escapeHtml(target.model_type)})` : ''}.
Reference: ${escapeHtml(referenceDescription(result))}.${result.reference.missing.map((line) => ` Lacks: ${escapeHtml(line)}.`).join('')} ${result.config.samples} images per scenario, seed ${result.config.seed},
concurrency ${result.config.concurrency}; ${result.duration_s.toFixed(1)} s.</p>
<h2>Performance</h2>
${performanceTable(result)}
${calibratedTables(result)}
${driftTable(result)}
<h2>Verdicts</h2>
<ul>
${verdicts}
</ul>
${gateSection(result)}
<h2>Recommendations</h2>
<ul>
${recommendations}
</ul>
<h2>Charts</h2>
<img alt="accuracy, confidence, success rate, latency and confidence histograms per scenario" src="data:image/png;base64,${chartPng.toString('base64')}">`,
  );
}
