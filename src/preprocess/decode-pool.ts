/**
 * Decoding with a hard budget. Header checks catch the hostile inputs we know of; this catches
 * the next decoder bug: images outside the fast path decode in worker threads with a capped
 * heap and a deadline, and a worker that overruns either is terminated and replaced, so the
 * request gets a 422 and the server keeps answering.
 *
 * A small pool over node:worker_threads rather than tinypool: tinypool is ESM-only (jest's
 * CommonJS loader cannot load it) and imports its task file with import(), which cannot load
 * the TypeScript sources the tests run; what is needed here is one task per worker, a FIFO
 * queue and terminate-on-deadline.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeCheckedImage } from './decode';
import { DECODE_TIMEOUT_MS, ImageDecodeError } from './decode-limits';
import type { DecodeReply, DecodeRequest } from './decode-worker';
import { ImageHeader, readImageHeader } from './image-header';

/** PNG/JPEG images at most this many pixels and bytes decode in the calling thread (no hop). */
export const FAST_PATH_MAX_PIXELS = 128 * 128;
export const FAST_PATH_MAX_BYTES = 64 * 1024;
/** Decode worker threads (started on first use; an idle one exits after IDLE_WORKER_MS). */
export const DECODE_WORKERS = Math.max(1, Math.min(2, availableParallelism()));
/** V8 heap cap per decode worker; pixel buffers live outside it and are bounded by the pixel limit. */
export const DECODE_WORKER_HEAP_MB = 256;
const IDLE_WORKER_MS = 30_000;

export interface DecodeBudget {
  timeoutMs: number;
  heapMb: number;
}

/**
 * Bytes -> 32x32 RGB pixels, bounded: the header is checked here, small PNG/JPEG decode in this
 * thread, everything else in the shared decode pool. Same pixels as decodeImageToRgb32.
 */
export async function decodeImageBounded(bytes: Uint8Array, header: ImageHeader = readImageHeader(bytes)): Promise<Uint8Array> {
  const fast = (header.type === 'png' || header.type === 'jpg') && header.decodedPixels <= FAST_PATH_MAX_PIXELS && bytes.length <= FAST_PATH_MAX_BYTES;
  if (fast) return decodeCheckedImage(bytes, header);
  sharedPool ??= new DecodePool(DECODE_WORKERS, { timeoutMs: DECODE_TIMEOUT_MS, heapMb: DECODE_WORKER_HEAP_MB });
  return sharedPool.decode(bytes, header);
}

let sharedPool: DecodePool | undefined;

interface Task {
  request: DecodeRequest;
  resolve: (pixels: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  timer?: NodeJS.Timeout;
}

export class DecodePool {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Task[] = [];
  /** Workers terminated for overrunning their budget (for tests and metrics). */
  replaced = 0;

  constructor(
    private readonly size: number,
    private readonly budget: DecodeBudget,
  ) {}

  decode(bytes: Uint8Array, header: ImageHeader): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { bytes, header }, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates every worker (queued and running tasks are refused). */
  async close(): Promise<void> {
    for (const task of this.queue.splice(0)) task.reject(new Error('the decode pool was closed'));
    await Promise.all([...this.slots].map((slot) => this.retire(slot, new Error('the decode pool was closed'))));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.spawn() : undefined);
      if (!slot) return;
      clearTimeout(slot.timer);
      const task = this.queue.shift() as Task;
      slot.task = task;
      slot.worker.ref();
      slot.timer = setTimeout(() => {
        this.replaced++;
        void this.retire(slot, new ImageDecodeError('image_decode_timeout', `decoding took longer than ${this.budget.timeoutMs} ms and was stopped`));
      }, this.budget.timeoutMs);
      slot.worker.postMessage(task.request);
    }
  }

  private spawn(): Slot {
    const entry = workerEntry();
    const worker = new Worker(entry.file, {
      execArgv: entry.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: this.budget.heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
    });
    const slot: Slot = { worker };
    this.slots.add(slot);
    worker.on('message', (reply: DecodeReply) => this.finish(slot, reply));
    worker.on('error', (err: Error & { code?: string }) => {
      this.replaced++;
      const outOfMemory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      void this.retire(
        slot,
        outOfMemory
          ? new ImageDecodeError('image_decode_out_of_memory', `decoding needed more than ${this.budget.heapMb} MB of heap and was stopped`)
          : err,
      );
    });
    worker.on('exit', () => void this.retire(slot, new Error('the decode worker exited')));
    return slot;
  }

  private finish(slot: Slot, reply: DecodeReply): void {
    const task = slot.task;
    if (!task) return;
    clearTimeout(slot.timer);
    slot.task = undefined;
    if (reply.ok) task.resolve(reply.pixels);
    else task.reject(new ImageDecodeError(reply.code, reply.message));
    slot.worker.unref();
    slot.timer = setTimeout(() => void this.retire(slot, new Error('idle')), IDLE_WORKER_MS).unref();
    this.idle.push(slot);
    this.dispatch();
  }

  /** Removes a worker for good: its task (if any) fails with `reason`; queued work moves on. */
  private async retire(slot: Slot, reason: Error): Promise<void> {
    if (!this.slots.delete(slot)) return;
    clearTimeout(slot.timer);
    const idleAt = this.idle.indexOf(slot);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    slot.task?.reject(reason);
    slot.task = undefined;
    const exited = slot.worker.terminate();
    this.dispatch();
    await exited;
  }
}

/** Compiled JS beside this file, or the TypeScript source under tests (run through tsx). */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'decode-worker.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: path.join(__dirname, 'decode-worker.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
}
