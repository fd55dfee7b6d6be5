/**
 * Data-parallel gradient workers. tfjs disables wasm threads in Node, so each extra core gets a
 * worker thread with its own engine and model replica: per step the main thread publishes the
 * current weights in shared memory, each worker computes the summed-loss gradients of its shard
 * of the batch into its own shared buffer, and the main thread adds them to its own shard's and
 * applies one optimizer step. The sum of shard gradients is the batch gradient, so the update is
 * the single-worker update up to float summation order.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ArchitectureName } from './architectures';
import type { EngineName } from './engine';

export interface WorkerSetup {
  architecture: ArchitectureName;
  numClasses: number;
  seed: number;
  backend: EngineName;
  /** Element count of each trainable weight, in model.trainableWeights order. */
  weightSizes: number[];
  /** Current weights, written by the main thread before each step. */
  weights: SharedArrayBuffer;
  /** This worker's gradients, written by the worker for each step. */
  gradients: SharedArrayBuffer;
}

export interface ShardTask {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  masks: Float32Array[];
}

export interface ShardResult {
  lossSum: number;
  correct: number;
}

/** Where the worker code is: compiled JS beside this file, or the TypeScript source under tests. */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'gradient-worker.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return {
    file: path.join(__dirname, 'gradient-worker.ts'),
    execArgv: ['--require', path.resolve(__dirname, '../../scripts/ts-register.js')],
  };
}

export class GradientWorkerPool {
  readonly weightViews: Float32Array[];
  private readonly workers: Worker[] = [];
  private readonly gradientViews: Float32Array[][] = [];

  constructor(size: number, setup: Omit<WorkerSetup, 'weights' | 'gradients'>) {
    const total = setup.weightSizes.reduce((a, b) => a + b, 0);
    const weights = new SharedArrayBuffer(total * 4);
    this.weightViews = splitViews(weights, setup.weightSizes);
    const entry = workerEntry();
    for (let i = 0; i < size; i++) {
      const gradients = new SharedArrayBuffer(total * 4);
      this.gradientViews.push(splitViews(gradients, setup.weightSizes));
      const workerData: WorkerSetup = { ...setup, weights, gradients };
      this.workers.push(new Worker(entry.file, { workerData, execArgv: entry.execArgv }));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Waits until every worker has its engine and model (or fails with the worker's error). */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => nextMessage<{ ready: true }>(w)));
  }

  /** Runs one shard per worker against the weights in `weightViews`; returns results in order. */
  async computeShards(tasks: ShardTask[]): Promise<{ result: ShardResult; gradients: Float32Array[] }[]> {
    const replies = tasks.map((task, i) => {
      const worker = this.workers[i];
      const reply = nextMessage<ShardResult>(worker);
      worker.postMessage(task, [task.pixels.buffer, task.labels.buffer, ...task.masks.map((m) => m.buffer)] as ArrayBuffer[]);
      return reply;
    });
    const results = await Promise.all(replies);
    return results.map((result, i) => ({ result, gradients: this.gradientViews[i] }));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function splitViews(buffer: SharedArrayBuffer, sizes: number[]): Float32Array[] {
  const views: Float32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    views.push(new Float32Array(buffer, offset * 4, size));
    offset += size;
  }
  return views;
}

function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: T | { error: string }) => {
      cleanup();
      if (message && typeof message === 'object' && 'error' in message) reject(new Error(`training worker: ${message.error}`));
      else resolve(message as T);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`training worker: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`training worker exited with code ${code}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
