/**
 * predictions.jsonl on disk, rotated by size (predictions.jsonl -> .1 -> .2 ...) by
 * rotating-file-stream, and kept alive through faults: a write, open or rotation error (disk
 * full, EACCES, a directory in the way) never throws to the caller; the lines are counted as
 * dropped, the first error of an outage is reported once, and the file is reopened a second
 * later. A file deleted or moved away under the server is noticed within a second and recreated.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { createStream, RotatingFileStream } from 'rotating-file-stream';
import { DEFAULT_ROTATION, PREDICTION_LOG_FILE, PredictionSink, RotationOptions } from './prediction-log';

/** How the sink tells the server about faults (metrics and one log line per outage). */
export interface SinkHealth {
  dropped(lines: number): void;
  /** The first error of an outage. */
  failing(err: Error): void;
  /** Writing works again; `dropped` lines were lost during the outage. */
  recovered(dropped: number): void;
}

const QUIET_HEALTH: SinkHealth = { dropped: () => {}, failing: () => {}, recovered: () => {} };
const RETRY_MS = 1000;
const RECHECK_MS = 1000;

export class RotatingFileSink implements PredictionSink {
  readonly file: string;
  private stream: RotatingFileStream | undefined;
  private failedAt = 0;
  private lastError: Error | undefined;
  private outageDropped = 0;
  private inOutage = false;
  /** Inode of the file the stream has open; undefined while opening or rotating. */
  private inode: number | undefined;
  private checkedAt = 0;

  constructor(
    private readonly logDir: string,
    private readonly rotation: RotationOptions = DEFAULT_ROTATION,
    private readonly health: SinkHealth = QUIET_HEALTH,
  ) {
    this.file = path.join(logDir, PREDICTION_LOG_FILE);
    this.stream = this.open();
  }

  append(lines: string): void {
    const stream = this.writable();
    if (!stream) return this.drop(lines, this.lastError ?? new Error('the prediction log is not open'));
    stream.write(lines, (err) => {
      if (err) this.fail(stream, lines, (stream.errored as Error | null) ?? err);
      else if (this.inOutage) {
        this.inOutage = false;
        this.health.recovered(this.outageDropped);
        this.outageDropped = 0;
      }
    });
  }

  /** Flushes everything written so far and closes the file. */
  close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    return endStream(stream);
  }

  private open(): RotatingFileStream {
    const stream = createStream(PREDICTION_LOG_FILE, { path: this.logDir, size: `${this.rotation.maxBytes}B`, rotate: this.rotation.keepFiles });
    this.inode = undefined;
    stream.on('error', (err) => this.fail(stream, '', err));
    stream.on('rotation', () => {
      if (this.stream === stream) this.inode = undefined;
    });
    stream.on('open', () => {
      if (this.stream !== stream) return;
      try {
        this.inode = statSync(this.file).ino;
      } catch {
        this.inode = undefined;
      }
    });
    return stream;
  }

  /** The stream to write to now, reopening after a failure or when the file vanished. */
  private writable(): RotatingFileStream | undefined {
    const now = Date.now();
    if (!this.stream) {
      if (now - this.failedAt < RETRY_MS) return undefined;
      this.stream = this.open();
      return this.stream;
    }
    if (this.inode !== undefined && now - this.checkedAt >= RECHECK_MS) {
      this.checkedAt = now;
      if (this.currentInode() !== this.inode) {
        void endStream(this.stream); // its lines land in the moved file, if it still exists
        this.stream = this.open();
      }
    }
    return this.stream;
  }

  private currentInode(): number | undefined {
    try {
      return statSync(this.file).ino;
    } catch {
      return undefined;
    }
  }

  private fail(stream: RotatingFileStream, lines: string, err: Error): void {
    if (this.stream === stream) {
      this.stream = undefined;
      this.failedAt = Date.now();
      this.lastError = err;
    }
    if (lines) this.drop(lines, err);
  }

  private drop(lines: string, err: Error): void {
    const count = countLines(lines);
    if (!this.inOutage) {
      this.inOutage = true;
      this.health.failing(err);
    }
    this.outageDropped += count;
    this.health.dropped(count);
  }
}

function countLines(lines: string): number {
  let count = 0;
  for (let i = lines.indexOf('\n'); i >= 0; i = lines.indexOf('\n', i + 1)) count++;
  return count;
}

function endStream(stream: RotatingFileStream | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!stream || stream.destroyed || stream.writableFinished) return resolve();
    stream.once('error', () => resolve());
    stream.end(() => resolve());
  });
}

/** SinkHealth that counts dropped lines and reports the start and end of an outage (one line each). */
export function reportingHealth(
  dropped: { inc(count: number): void },
  report: (message: string, recovered: boolean) => void,
  file: string,
): SinkHealth {
  return {
    dropped: (count) => dropped.inc(count),
    failing: (err) =>
      report(`cannot write ${file} (${err.message}); predictions are still answered, and lost lines are counted in mldeploy_prediction_log_dropped_total`, false),
    recovered: (count) => report(`writing ${file} again; ${count} line${count === 1 ? ' was' : 's were'} lost meanwhile`, true),
  };
}
