/**
 * The calibrated parts of a drift report as table rows, shared by the text and HTML reports:
 * the shift detector's decision per scenario, and the label-free accuracy estimates beside the
 * true accuracy. Pure formatting of the result object.
 */
import type { DriftResult, ScenarioResult } from '../drift/result';

function percent(value: number | null | undefined): string {
  return value == null ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

/** p-values span many orders of magnitude: fixed notation near 1, exponent notation when tiny. */
export function formatPValue(p: number): string {
  if (p < 1e-300) return '<1e-300';
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** The test with the smallest corrected p-value (the one that decides). */
function strongestTest(s: ScenarioResult): string {
  const tests = s.drift?.tests ?? [];
  if (tests.length === 0) return '-';
  return tests.reduce((best, t) => (t.corrected_p_value < best.corrected_p_value ? t : best)).name;
}

/** One phrase: "drift detected (p 3.1e-12, ks(noise))", "no drift detected (p 0.412)", "reference", or why not run. */
export function detectionSummary(s: ScenarioResult): string {
  const drift = s.drift;
  if (!drift) return 'reference';
  if (drift.detected === null) return `detector not run (${drift.detection_note ?? 'no detection in this log'})`;
  const p = formatPValue(drift.p_value!);
  return drift.detected ? `drift detected (p ${p}, ${strongestTest(s)})` : `no drift detected (p ${p})`;
}

/** Yes/no per scenario for the performance table. */
export function detectedCell(s: ScenarioResult): string {
  if (!s.drift) return 'reference';
  return s.drift.detected === null ? 'n/a' : s.drift.detected ? 'yes' : 'no';
}

export const DETECTION_COLUMNS = ['scenario', 'detected', 'corrected p', 'tests fired', 'strongest test', 'smallest raw p'];

/** Rows for the scenarios compared with the reference. */
export function detectionRows(result: DriftResult): string[][] {
  return result.scenarios
    .filter((s) => s.drift)
    .map((s) => {
      const drift = s.drift!;
      if (drift.detected === null) return [s.name, 'n/a', '-', '-', drift.detection_note ?? '-', '-'];
      const fired = drift.tests.filter((t) => t.detected).length;
      const smallestRaw = Math.min(...drift.tests.map((t) => t.p_value));
      return [s.name, drift.detected ? 'yes' : 'no', formatPValue(drift.p_value!), `${fired}/${drift.tests.length}`, strongestTest(s), formatPValue(smallestRaw)];
    });
}

/** The detector's heading line: alpha, detector and reference. */
export function detectionHeading(result: DriftResult): string {
  const alpha = result.config.alpha;
  return (
    `Shift detection (${alpha === null ? 'not run' : `family-wise alpha ${alpha}`}: KS per softmax output and input statistic, ` +
    `chi-square on predicted classes; BBSD's Bonferroni rule, the rest on a null calibration; reference ${result.reference.detector_samples} images)`
  );
}

/** Estimator names in a fixed order: the ones any scenario has. */
function estimatorNames(result: DriftResult): string[] {
  const names = new Set<string>();
  for (const s of result.scenarios) for (const name of Object.keys(s.estimated_accuracy?.methods ?? {})) names.add(name);
  return [...names];
}

export function estimateColumns(result: DriftResult): string[] {
  const level = result.scenarios.find((s) => s.estimated_accuracy)?.estimated_accuracy?.confidence_level ?? 0.95;
  return ['scenario', 'actual', 'estimated', `${Math.round(level * 100)}% CI`, 'error', ...estimatorNames(result)];
}

/** Estimated vs actual accuracy per scenario; a scenario without an estimate says why. */
export function estimateRows(result: DriftResult): string[][] {
  const methods = estimatorNames(result);
  return result.scenarios.map((s) => {
    const estimate = s.estimated_accuracy;
    if (!estimate) return [s.name, percent(s.accuracy), 'n/a', s.estimated_accuracy_note ?? '-', '-', ...methods.map(() => '-')];
    const error = s.accuracy === null ? '-' : `${estimate.value >= s.accuracy ? '+' : ''}${((estimate.value - s.accuracy) * 100).toFixed(1)} pts`;
    return [
      s.name,
      percent(s.accuracy),
      `${percent(estimate.value)} (${estimate.method})`,
      `${percent(estimate.ci_low)}-${percent(estimate.ci_high)}`,
      error,
      ...methods.map((name) => percent(estimate.methods[name]?.value)),
    ];
  });
}

/** True when any scenario has an estimate or a reason for lacking one (version 1 logs have neither). */
export function hasEstimates(result: DriftResult): boolean {
  return result.scenarios.some((s) => s.estimated_accuracy !== null || s.estimated_accuracy_note !== null);
}

/** When no compared scenario has a detection (e.g. an older model's reference), the one reason, else null. */
export function detectionUnavailable(result: DriftResult): string | null {
  const compared = result.scenarios.filter((s) => s.drift);
  if (compared.length === 0 || compared.some((s) => s.drift!.detected !== null)) return null;
  return [...new Set(compared.map((s) => s.drift!.detection_note ?? 'no detection'))].join('; ');
}

/** When no scenario has an estimate (e.g. a model without calibration), the one reason, else null. */
export function estimatesUnavailable(result: DriftResult): string | null {
  if (result.scenarios.length === 0 || result.scenarios.some((s) => s.estimated_accuracy !== null)) return null;
  return [...new Set(result.scenarios.map((s) => s.estimated_accuracy_note ?? 'no estimate'))].join('; ');
}
