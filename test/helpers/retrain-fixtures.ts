/** Drift logs and /monitoring answers for the retrain tests, built from a few figures per scenario. */
import { writeFileSync } from 'node:fs';
import { parseDriftResult, type DriftResult, type GateFailure } from '../../src/drift/result';
import type { LiveMonitoring } from '../../src/retrain/sources';
import { driftOf, HISTOGRAM_EDGES, scenarioResult } from './drift-results';

export interface ScenarioFigures {
  name: string;
  psi?: number;
  detected?: boolean;
  accuracy?: number;
}

/** A valid performance_log.json object: `clean` is the baseline, the others carry the given PSI and detector verdict. */
export function driftLogOf(scenarios: ScenarioFigures[], failures: GateFailure[] = [], modelVersion: string | null = null): DriftResult {
  return parseDriftResult({
    schema_version: 2,
    generated_at: '2026-12-01T20:00:00.000Z',
    target: { url: 'http://127.0.0.1:8000', mode: 'url', model_version: modelVersion, model_type: 'SimpleCNN', class_names: ['cat', 'dog'] },
    config: { samples: 4, seed: 42, concurrency: 4, timeout_ms: 10000, retries: 0, psi_bins: 10, min_success_rate: 0, deadline_s: null, alpha: 0.05 },
    reference: {
      kind: 'baseline',
      scenario: 'clean',
      samples: 4,
      confidence_histogram: { bin_edges: HISTOGRAM_EDGES, counts: [0, 0, 1, 1, 2], fractions: [0, 0, 0.25, 0.25, 0.5] },
      class_distribution: { cat: 0.5, dog: 0.5 },
    },
    scenarios: scenarios.map((s) =>
      scenarioResult(s.name, {
        accuracy: s.accuracy ?? 0.75,
        drift:
          s.name === 'clean'
            ? null
            : driftOf({
                psi: { confidence: s.psi ?? 0, class: 0 },
                psi_max: s.psi ?? 0,
                psi_max_signal: 'confidence',
                verdict: (s.psi ?? 0) > 0.2 ? 'significant' : 'none',
                ks: { confidence: { statistic: 0.1, p_value: 0.5 } },
                chi2: { statistic: 1, p_value: 0.5, dof: 1 },
                detected: s.detected ?? false,
                alpha: 0.05,
                p_value: s.detected ? 0.001 : 0.5,
              }),
      }),
    ),
    gate: { rules: [...new Set(failures.map((f) => f.rule))], passed: failures.length === 0, failures, skipped: [] },
    duration_s: 1,
  });
}

export function writeDriftLog(file: string, scenarios: ScenarioFigures[], failures: GateFailure[] = [], modelVersion: string | null = null): string {
  writeFileSync(file, JSON.stringify(driftLogOf(scenarios, failures, modelVersion), null, 2));
  return file;
}

/** A /monitoring answer for `version`: drifted or not, with the input tests that fired. */
export function liveMonitoringOf(version: string, detected: boolean | null, firedInputSignals: string[] = [], estimate = 0.6): LiveMonitoring {
  const inputTests = ['noise', 'brightness', 'std_r'].map((signal) => ({ name: 'ks', family: 'input', signal, detected: firedInputSignals.includes(signal) }));
  return {
    model_version: version,
    window: { samples: 500 },
    drift: { detected, alpha: 0.05, p_value: detected ? 1e-6 : 0.4, reason: null, tests: [{ name: 'ks', family: 'softmax', signal: 'probability[0]', detected: detected === true }, ...inputTests] },
    estimated_accuracy: detected === null ? null : { value: estimate },
    reference_accuracy: 0.72,
  };
}
