/**
 * The server's monitor: one rolling window per served model version (the newest few kept),
 * fed one prediction record at a time, answering GET /monitoring and the monitoring gauges.
 * Single-process servers own one; in cluster mode the primary owns it and the workers' lines
 * reach it over IPC, so every worker's predictions land in the same windows.
 */
import { DEFAULT_ALPHA } from '../drift/detect/shift';
import type { ModelMetadata } from '../model/metadata';
import type { ImageSignal } from '../preprocess/image-stats';
import { untestedDrift, type AccuracyVerdict, type DriftVerdict } from './evaluate';
import { monitorReference } from './reference';
import { DEFAULT_MONITOR_WINDOW, MonitorWindow, type HistoryEntry, type WindowOptions } from './window';

/** Versions whose windows are kept (those served at once — stable, canary, shadow, labelled — and those they replaced). */
const KEPT_VERSIONS = 6;

/** The part of a prediction-log record the monitor reads. */
export interface MonitoredRecord {
  model_version: string;
  probabilities: ArrayLike<number>;
  input_stats: Record<ImageSignal, number>;
}

export interface MonitoringReport {
  model_version: string;
  /** `total`: predictions since the window started; `reference_samples`: calibration images the tests compare with. */
  window: { size: number; samples: number; min_samples: number; total: number; reference_samples: number | null };
  drift: DriftVerdict;
  estimated_accuracy: AccuracyVerdict | null;
  reference_accuracy: number | null;
  class_names: string[];
  class_distribution: { current: number[]; reference: number[] | null };
  confidence_histogram: { bin_edges: number[]; current: number[]; reference: number[] | null };
  history: HistoryEntry[];
  /** Set when drift tests or estimates cannot be computed for this model, saying why. */
  unavailable?: string;
}

export interface LiveMonitorOptions extends WindowOptions {
  /** Metadata of a version met in a record before provideModel() (cluster primary: read from disk). */
  resolveModel?: (version: string) => Promise<ModelMetadata | null>;
}

export class LiveMonitor {
  private readonly windows = new Map<string, MonitorWindow>();
  private newest: string | null = null;

  constructor(private readonly options: LiveMonitorOptions = {}) {}

  get size(): number {
    return this.options.size ?? DEFAULT_MONITOR_WINDOW;
  }

  /** The model now served: its window gets the reference (created if new). */
  provideModel(metadata: ModelMetadata): void {
    const reference = monitorReference(metadata, this.size);
    const existing = this.windows.get(metadata.version);
    if (existing) existing.setReference(reference);
    else this.addWindow(new MonitorWindow(metadata.version, metadata.num_classes, reference, this.options));
  }

  record(record: MonitoredRecord): void {
    let window = this.windows.get(record.model_version);
    if (!window) {
      window = new MonitorWindow(record.model_version, record.probabilities.length, null, this.options);
      this.addWindow(window);
      this.resolve(record.model_version);
    }
    window.record({ probabilities: record.probabilities, inputs: record.input_stats });
  }

  /** Versions with a window, newest first. */
  versions(): string[] {
    return [...this.windows.keys()].reverse();
  }

  /** The report for `version` (default: the newest), null when the monitor has never seen it. */
  report(version: string | null = this.newest): MonitoringReport | null {
    const window = version === null ? undefined : this.windows.get(version);
    return window ? monitoringReport(window, this.options.alpha ?? DEFAULT_ALPHA) : null;
  }

  private addWindow(window: MonitorWindow): void {
    this.windows.set(window.version, window);
    this.newest = window.version;
    while (this.windows.size > KEPT_VERSIONS) this.windows.delete(this.windows.keys().next().value as string);
  }

  private resolve(version: string): void {
    this.options.resolveModel?.(version).then(
      (metadata) => {
        if (metadata && metadata.version === version) this.provideModel(metadata);
      },
      () => {
        // Unreadable metadata: the window reports `unavailable` until a reference is provided.
      },
    );
  }
}

export function monitoringReport(window: MonitorWindow, alpha: number): MonitoringReport {
  const reference = window.referenceModel;
  const evaluation = window.evaluate();
  const windowPart = {
    size: window.size,
    samples: window.samples,
    min_samples: window.minSamples,
    total: window.total,
    reference_samples: reference?.signals?.probabilities.length ?? null,
  };
  if (!reference || !evaluation) {
    const why = `no metadata.json found for model version ${window.version}`;
    return {
      model_version: window.version,
      window: windowPart,
      drift: untestedDrift(alpha, why),
      estimated_accuracy: null,
      reference_accuracy: null,
      class_names: [],
      class_distribution: { current: [], reference: null },
      confidence_histogram: { bin_edges: [], current: [], reference: null },
      history: [...window.history],
      unavailable: why,
    };
  }
  return {
    model_version: window.version,
    window: windowPart,
    drift: evaluation.drift,
    estimated_accuracy: evaluation.estimated_accuracy,
    reference_accuracy: reference.accuracy,
    class_names: reference.classNames,
    class_distribution: { current: evaluation.class_shares, reference: reference.classShares },
    confidence_histogram: { bin_edges: reference.confidenceBinEdges, current: evaluation.confidence_shares, reference: reference.confidenceShares },
    history: [...window.history],
    ...(reference.unavailable ? { unavailable: reference.unavailable } : {}),
  };
}
