/**
 * predictions.jsonl: one JSON line per prediction (written by prediction-file.ts in one process,
 * or by the cluster primary for all workers). The lines' schema and reader are in
 * src/monitor/prediction-record.ts, the contract between the server and the monitor.
 */
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
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

type RecordV1Fields = Omit<PredictionRecordV1, 'schema_version'>;
type MonitorFields = Pick<MonitoredPredictionRecord, 'probabilities' | 'input_stats'>;

/** A record with the monitor's fields is written as schema 2, one without them as schema 1. */
export function formatRecord(record: Omit<MonitoredPredictionRecord, 'schema_version'> | RecordV1Fields): string {
  if ('probabilities' in record) return formatMonitoredRecord(record, record);
  return JSON.stringify({ schema_version: 1, ...record }) + '\n';
}

/**
 * The schema-2 line of a prediction's record and the monitor's fields, without merging them into
 * one object first. Written out field by field: the text JSON.stringify gives for the merged record
 * (same keys, order and numbers; test/monitor-fast-path.test.ts), at less than half its cost, and
 * the server writes one per prediction.
 */
export function formatMonitoredRecord(record: RecordV1Fields, fields: MonitorFields): string {
  const probabilities = fields.probabilities;
  let probabilityList = '';
  for (let i = 0; i < probabilities.length; i++) probabilityList += (i > 0 ? ',' : '') + jsonNumber(probabilities[i]);
  let stats = '';
  for (const signal of IMAGE_SIGNALS) stats += `${stats ? ',' : ''}"${signal}":${jsonNumber(fields.input_stats[signal])}`;
  return (
    `{"schema_version":${PREDICTION_LOG_SCHEMA_VERSION},"timestamp":${JSON.stringify(record.timestamp)},` +
    `"model_version":${JSON.stringify(record.model_version)},"predicted_class":${JSON.stringify(record.predicted_class)},` +
    `"confidence":${jsonNumber(record.confidence)},"latency_ms":${jsonNumber(record.latency_ms)},` +
    `"input_sha256":${JSON.stringify(record.input_sha256)},"route":${JSON.stringify(record.route)},` +
    `"probabilities":[${probabilityList}],"input_stats":{${stats}}}\n`
  );
}

/** JSON's spelling of a number: the shortest round-trip digits, null when not finite. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
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
