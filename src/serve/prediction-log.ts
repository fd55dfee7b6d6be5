/**
 * predictions.jsonl: one JSON line per prediction, appended through a write stream and rotated by
 * size (predictions.jsonl -> .1 -> .2 ...). The zod schema is the file's contract: lines carry
 * its `schema_version`, and readers validate every line against it.
 */
import { createWriteStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, WriteStream } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DataError } from '../errors';
import { describeInvalid } from '../util/validation';

export const PREDICTION_LOG_FILE = 'predictions.jsonl';
export const PREDICTION_LOG_SCHEMA_VERSION = 1;

const predictionRecordSchema = z
  .object({
    schema_version: z.literal(PREDICTION_LOG_SCHEMA_VERSION),
    timestamp: z.string().datetime(),
    model_version: z.string().min(1),
    predicted_class: z.string().min(1),
    confidence: z.number().min(0).max(1),
    latency_ms: z.number().nonnegative(),
    input_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    route: z.string().min(1),
  })
  .strict();

export type PredictionRecord = z.infer<typeof predictionRecordSchema>;

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

export function formatRecord(record: Omit<PredictionRecord, 'schema_version'>): string {
  return JSON.stringify({ schema_version: PREDICTION_LOG_SCHEMA_VERSION, ...record }) + '\n';
}

export class RotatingFileSink implements PredictionSink {
  readonly file: string;
  private stream: WriteStream;
  private bytes: number;

  constructor(
    logDir: string,
    private readonly rotation: RotationOptions = DEFAULT_ROTATION,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.file = path.join(logDir, PREDICTION_LOG_FILE);
    this.bytes = existsSync(this.file) ? statSync(this.file).size : 0;
    this.stream = this.open();
  }

  append(lines: string): void {
    if (this.bytes > 0 && this.bytes + Buffer.byteLength(lines) > this.rotation.maxBytes) this.rotate();
    this.stream.write(lines);
    this.bytes += Buffer.byteLength(lines);
  }

  /** Flushes everything written so far and closes the file. */
  close(): Promise<void> {
    return endStream(this.stream);
  }

  /** Opened synchronously so the file exists at once and a rename moves the stream's file with it. */
  private open(): WriteStream {
    const stream = createWriteStream(this.file, { fd: openSync(this.file, 'a') });
    // A full disk must not crash the server; predictions keep being answered.
    stream.on('error', () => {});
    return stream;
  }

  /** Renames happen on paths, so the old stream keeps flushing into the renamed file. */
  private rotate(): void {
    const old = this.stream;
    const keep = this.rotation.keepFiles;
    rmSync(`${this.file}.${keep}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      if (existsSync(`${this.file}.${n}`)) renameSync(`${this.file}.${n}`, `${this.file}.${n + 1}`);
    }
    renameSync(this.file, `${this.file}.1`);
    void endStream(old);
    this.stream = this.open();
    this.bytes = 0;
  }
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed || stream.destroyed) return resolve();
    stream.end(() => resolve());
  });
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
