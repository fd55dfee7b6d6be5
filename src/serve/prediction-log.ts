/**
 * predictions.jsonl: one JSON line per prediction (written by prediction-file.ts in one process,
 * or by the cluster primary for all workers). The zod schema is the file's contract: lines carry
 * its `schema_version`, and readers validate every line against it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError } from '../errors';
import { IMAGE_SIGNALS, type ImageSignal } from '../preprocess/image-stats';
import { describeInvalid } from '../util/validation';

export const PREDICTION_LOG_FILE = 'predictions.jsonl';
/** 2 added `probabilities` and `input_stats` (what `mldeploy monitor` needs); version 1 lines still parse. */
export const PREDICTION_LOG_SCHEMA_VERSION = 2;

const recordFields = {
  timestamp: z.string().datetime(),
  model_version: z.string().min(1),
  predicted_class: z.string().min(1),
  confidence: z.number().min(0).max(1),
  latency_ms: z.number().nonnegative(),
  input_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  route: z.string().min(1),
};
const inputStatsSchema = z.object(Object.fromEntries(IMAGE_SIGNALS.map((s) => [s, z.number()])) as Record<ImageSignal, z.ZodNumber>).strict();
const recordV1Schema = z.object({ schema_version: z.literal(1), ...recordFields }).strict();
const recordV2Schema = z
  .object({
    schema_version: z.literal(2),
    ...recordFields,
    /** Softmax vector in class order (6 significant digits). */
    probabilities: z.array(z.number().min(0).max(1)).min(2),
    /** The image's input statistics (src/preprocess/image-stats.ts). */
    input_stats: inputStatsSchema,
  })
  .strict();
const predictionRecordSchema = z.discriminatedUnion('schema_version', [recordV1Schema, recordV2Schema]);

export type PredictionRecord = z.infer<typeof predictionRecordSchema>;
export type MonitoredPredictionRecord = z.infer<typeof recordV2Schema>;

/**
 * Every line of a predictions.jsonl file (or a rotated .N one), validated. The error names the
 * file and line of the first bad one.
 */
export function readPredictionLog(file: string): PredictionRecord[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const records: PredictionRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DataError(`${where} is not JSON`);
    }
    const parsed = predictionRecordSchema.safeParse(value);
    if (!parsed.success) throw new DataError(describeInvalid(where, parsed.error));
    records.push(parsed.data);
  });
  return records;
}

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
export function formatRecord(record: Omit<MonitoredPredictionRecord, 'schema_version'> | Omit<z.infer<typeof recordV1Schema>, 'schema_version'>): string {
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
