/**
 * predictions.jsonl: one JSON line per prediction (written by prediction-file.ts in one process,
 * or by the cluster primary for all workers). The lines' schema and reader are in
 * src/monitor/prediction-record.ts, the contract between the server and the monitor.
 */
import { PREDICTION_LOG_SCHEMA_VERSION, type MonitoredPredictionRecord, type PredictionRecordV1 } from '../monitor/prediction-record';

export const PREDICTION_LOG_FILE = 'predictions.jsonl';

export interface RotationOptions {
  /** Rotate once the current file reaches this many bytes. */
  maxBytes: number;
  /** How many rotated files (.1 .. .N) to keep. */
  keepFiles: number;
}

export const DEFAULT_ROTATION: RotationOptions = { maxBytes: 50 * 1024 * 1024, keepFiles: 5 };

/** Where prediction lines go: a file in single-process mode, the primary over IPC in cluster mode. */
export interface PredictionSink {
  append(lines: string): void;
  close(): Promise<void>;
}

/** A record with the monitor's fields is written as schema 2, one without them as schema 1. */
export function formatRecord(record: Omit<MonitoredPredictionRecord, 'schema_version'> | Omit<PredictionRecordV1, 'schema_version'>): string {
  return JSON.stringify({ schema_version: 'probabilities' in record ? PREDICTION_LOG_SCHEMA_VERSION : 1, ...record }) + '\n';
}

/** Buffers lines briefly so a busy server writes in chunks rather than per prediction. */
export class BufferedSink implements PredictionSink {
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: PredictionSink,
    private readonly flushMs = 50,
    private readonly flushBytes = 64 * 1024,
  ) {}

  append(lines: string): void {
    this.buffer += lines;
    if (this.buffer.length >= this.flushBytes) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = '';
    this.target.append(lines);
  }

  async close(): Promise<void> {
    this.flush();
    await this.target.close();
  }
}
