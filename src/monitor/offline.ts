/**
 * `mldeploy monitor`: the live monitor's evaluation over a predictions.jsonl file, one row per
 * window of N consecutive predictions of one model version (tumbling: the windows the server's
 * history closes), each against that version's reference, then the --fail-on gate.
 */
import { DEFAULT_ALPHA } from '../drift/detect/shift';
import { DataError } from '../errors';
import type { ModelMetadata } from '../model/metadata';
import type { ImageSignal } from '../preprocess/image-stats';
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
import type { MonitoredPredictionRecord, PredictionRecord } from './prediction-record';
import { evaluateWindow, MIN_WINDOW_SAMPLES, untestedDrift, type AccuracyVerdict, type DriftVerdict } from './evaluate';
import { evaluateMonitorGate, type MonitorGate, type MonitorRule, type WindowMetrics } from './gate';
import { monitorReference, type MonitorReference } from './reference';

export const MONITOR_RESULT_SCHEMA_VERSION = 1;

export interface MonitorWindowRow {
  index: number;
  model_version: string;
  first_timestamp: string;
  last_timestamp: string;
  samples: number;
  drift: DriftVerdict;
  estimated_accuracy: AccuracyVerdict | null;
  reference_accuracy: number | null;
  class_distribution: { current: number[]; reference: number[] | null };
  /** Why the window could not be tested against a reference, when it could not. */
  unavailable: string | null;
}

export interface MonitorRunResult {
  schema_version: typeof MONITOR_RESULT_SCHEMA_VERSION;
  generated_at: string;
  log: string;
  config: { window: number; alpha: number; min_samples: number; model: string };
  records: { total: number; monitored: number; skipped_schema_1: number };
  class_names: string[];
  windows: MonitorWindowRow[];
  summary: { windows: number; tested: number; drift_windows: number; min_estimated_accuracy: number | null };
  gate: MonitorGate;
}

export interface MonitorRunOptions {
  log: string;
  records: PredictionRecord[];
  window: number;
  alpha?: number;
  modelPath: string;
  rules: MonitorRule[];
  /** metadata.json of a version (null: not found); see model-lookup.ts. */
  metadataOf: (version: string) => Promise<ModelMetadata | null>;
  now?: () => Date;
}

export async function runMonitorLog(options: MonitorRunOptions): Promise<MonitorRunResult> {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const monitored = options.records.filter((r): r is MonitoredPredictionRecord => r.schema_version === 2);
  if (monitored.length === 0) {
    throw new DataError(`${options.log} has no schema-2 lines (probabilities and input statistics): it was written by a server older than the monitor`);
  }
  const references = new Map<string, MonitorReference | null>();
  const windows: MonitorWindowRow[] = [];
  for (const group of windowsOf(monitored, options.window)) {
    const version = group[0].model_version;
    if (!references.has(version)) {
      const metadata = await options.metadataOf(version);
      references.set(version, metadata && monitorReference(metadata, options.window));
    }
    windows.push(evaluateRow(windows.length, group, references.get(version) ?? null, alpha, options.modelPath));
  }
  const tested = windows.filter((w) => w.drift.detected !== null);
  const estimates = windows.flatMap((w) => (w.estimated_accuracy ? [w.estimated_accuracy.value] : []));
  const driftWindows = tested.filter((w) => w.drift.detected).length;
  return {
    schema_version: MONITOR_RESULT_SCHEMA_VERSION,
    generated_at: (options.now?.() ?? new Date()).toISOString(),
    log: options.log,
    config: { window: options.window, alpha, min_samples: MIN_WINDOW_SAMPLES, model: options.modelPath },
    records: { total: options.records.length, monitored: monitored.length, skipped_schema_1: options.records.length - monitored.length },
    class_names: [...references.values()].find((r) => r)?.classNames ?? [],
    windows,
    summary: { windows: windows.length, tested: tested.length, drift_windows: driftWindows, min_estimated_accuracy: estimates.length ? Math.min(...estimates) : null },
    gate: evaluateMonitorGate(options.rules, windows.map(windowMetrics), driftWindows),
  };
}

/** Consecutive runs of one version, cut every `size` records (a version's last window may be shorter). */
function windowsOf(records: MonitoredPredictionRecord[], size: number): MonitoredPredictionRecord[][] {
  const out: MonitoredPredictionRecord[][] = [];
  let current: MonitoredPredictionRecord[] = [];
  for (const record of records) {
    if (current.length === size || (current.length > 0 && current[0].model_version !== record.model_version)) {
      out.push(current);
      current = [];
    }
    current.push(record);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function evaluateRow(index: number, group: MonitoredPredictionRecord[], reference: MonitorReference | null, alpha: number, modelPath: string): MonitorWindowRow {
  const version = group[0].model_version;
  const base = { index, model_version: version, first_timestamp: group[0].timestamp, last_timestamp: group[group.length - 1].timestamp, samples: group.length };
  if (!reference) {
    const why = `no metadata.json for model version ${version} under ${modelPath}`;
    return { ...base, drift: untestedDrift(alpha, why), estimated_accuracy: null, reference_accuracy: null, class_distribution: { current: [], reference: null }, unavailable: why };
  }
  const inputs = Object.fromEntries(IMAGE_SIGNALS.map((s) => [s, group.map((r) => r.input_stats[s])])) as Record<ImageSignal, number[]>;
  const evaluation = evaluateWindow(reference, { probabilities: group.map((r) => r.probabilities), inputs }, { alpha });
  return {
    ...base,
    drift: evaluation.drift,
    estimated_accuracy: evaluation.estimated_accuracy,
    reference_accuracy: reference.accuracy,
    class_distribution: { current: evaluation.class_shares, reference: reference.classShares },
    unavailable: reference.unavailable,
  };
}

function windowMetrics(row: MonitorWindowRow): WindowMetrics {
  const estimate = row.estimated_accuracy?.value ?? null;
  return {
    drift: row.drift.detected === null ? null : Number(row.drift.detected),
    p_value: row.drift.p_value,
    estimated_accuracy: estimate,
    accuracy_drop: estimate === null || row.reference_accuracy === null ? null : row.reference_accuracy - estimate,
  };
}
