/**
 * The rolling window of one served model version: the last `size` predictions' signals in a
 * ring buffer (count-based), evaluated against the reference on demand (cached until the next
 * prediction), and one history entry per `size` predictions (each a full, non-overlapping window).
 */
import { IMAGE_SIGNALS, type ImageSignal } from '../preprocess/image-stats';
import { requireInteger } from '../util/validation';
import { evaluateWindow, MIN_WINDOW_SAMPLES, type EvaluateOptions, type WindowEvaluation } from './evaluate';
import type { MonitorReference } from './reference';

export const DEFAULT_MONITOR_WINDOW = 500;
export const HISTORY_LENGTH = 20;

/** What one prediction contributes: its softmax vector and its input statistics. */
export interface MonitorSample {
  probabilities: ArrayLike<number>;
  inputs: Record<ImageSignal, number>;
}

export interface HistoryEntry {
  ended_at: string;
  samples: number;
  drift_detected: boolean | null;
  /** The window's smallest corrected p-value (compare with alpha). */
  min_p_value: number | null;
  estimated_accuracy: number | null;
}

export interface WindowOptions extends EvaluateOptions {
  size?: number;
  historyLength?: number;
  now?: () => Date;
}

export class MonitorWindow {
  readonly size: number;
  private readonly classes: number;
  private readonly probabilities: Float64Array;
  private readonly inputs: Float64Array;
  private recorded = 0;
  private sinceHistory = 0;
  private cached: { recorded: number; evaluation: WindowEvaluation } | null = null;
  readonly history: HistoryEntry[] = [];

  constructor(
    readonly version: string,
    classes: number,
    private reference: MonitorReference | null,
    private readonly options: WindowOptions = {},
  ) {
    this.size = options.size ?? DEFAULT_MONITOR_WINDOW;
    requireInteger('the monitor window size', this.size, 1);
    this.classes = classes;
    this.probabilities = new Float64Array(this.size * classes);
    this.inputs = new Float64Array(this.size * IMAGE_SIGNALS.length);
  }

  /** Predictions recorded since the window was created (not only those still in it). */
  get total(): number {
    return this.recorded;
  }

  get samples(): number {
    return Math.min(this.recorded, this.size);
  }

  get referenceModel(): MonitorReference | null {
    return this.reference;
  }

  setReference(reference: MonitorReference): void {
    this.reference = reference;
    this.cached = null;
  }

  record(sample: MonitorSample): void {
    if (sample.probabilities.length !== this.classes) return;
    const slot = this.recorded % this.size;
    this.probabilities.set(sample.probabilities, slot * this.classes);
    IMAGE_SIGNALS.forEach((signal, j) => (this.inputs[slot * IMAGE_SIGNALS.length + j] = sample.inputs[signal]));
    this.recorded += 1;
    this.sinceHistory += 1;
    if (this.sinceHistory === this.size) {
      this.sinceHistory = 0;
      this.closeHistoryWindow();
    }
  }

  /** The current window against the reference; null until a reference is known. */
  evaluate(): WindowEvaluation | null {
    if (!this.reference) return null;
    if (this.cached?.recorded !== this.recorded) this.cached = { recorded: this.recorded, evaluation: evaluateWindow(this.reference, this.contents(), this.options) };
    return this.cached.evaluation;
  }

  get minSamples(): number {
    return this.options.minSamples ?? MIN_WINDOW_SAMPLES;
  }

  private closeHistoryWindow(): void {
    const evaluation = this.evaluate();
    this.history.push({
      ended_at: (this.options.now?.() ?? new Date()).toISOString(),
      samples: this.size,
      drift_detected: evaluation?.drift.detected ?? null,
      min_p_value: evaluation?.drift.p_value ?? null,
      estimated_accuracy: evaluation?.estimated_accuracy?.value ?? null,
    });
    if (this.history.length > (this.options.historyLength ?? HISTORY_LENGTH)) this.history.shift();
  }

  /** The samples in the window, oldest first (views into the ring, no copies of the vectors). */
  private contents() {
    const n = this.samples;
    const first = this.recorded > this.size ? this.recorded % this.size : 0;
    const rows: Float64Array[] = [];
    const columns = IMAGE_SIGNALS.map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const slot = (first + i) % this.size;
      rows.push(this.probabilities.subarray(slot * this.classes, (slot + 1) * this.classes));
      for (let j = 0; j < IMAGE_SIGNALS.length; j++) columns[j][i] = this.inputs[slot * IMAGE_SIGNALS.length + j];
    }
    const inputs = Object.fromEntries(IMAGE_SIGNALS.map((signal, j) => [signal, columns[j]])) as Record<ImageSignal, Float64Array>;
    return { probabilities: rows, inputs };
  }
}
