/** Worker threads of data-parallel training: one model replica and one slice of the Adam update each. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ArchitectureName } from '../architectures';
import type { EngineName } from '../engine';
import type { StepResult } from '../training-step';
import type { SharedParametersLayout } from './shared-parameters';

export interface WorkerSetup {
  architecture: ArchitectureName;
  numClasses: number;
  seed: number;
  backend: EngineName;
  learningRate: number;
  /** This worker's participant number (1..workers; the main thread is 0). */
  participant: number;
  parameters: SharedParametersLayout;
}

export interface ShardTask {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  masks: Float32Array[];
}

export type WorkerRequest =
  | { kind: 'gradients'; shard: ShardTask }
  | { kind: 'update'; step: number; divisor: number };

/** Where the worker code is: compiled JS beside this file, or the TypeScript source under tests. */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'worker.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return {
    file: path.join(__dirname, 'worker.ts'),
    execArgv: ['--require', require.resolve('tsx/cjs')],
  };
}

export class GradientWorkerPool {
  private readonly workers: Worker[] = [];

  /** One worker per participant after the main thread. */
  constructor(setup: Omit<WorkerSetup, 'participant'>) {
    const entry = workerEntry();
    for (let participant = 1; participant < setup.parameters.gradients.length; participant++) {
      const workerData: WorkerSetup = { ...setup, participant };
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

  /** Worker i computes shard i's gradients into its shared vector; results in order. */
  computeGradients(shards: ShardTask[]): Promise<StepResult[]> {
    return Promise.all(
      shards.map((shard, i) => {
        const worker = this.workers[i];
        const reply = nextMessage<StepResult>(worker);
        const transfer = [shard.pixels.buffer, shard.labels.buffer, ...shard.masks.map((m) => m.buffer)] as ArrayBuffer[];
        worker.postMessage({ kind: 'gradients', shard } satisfies WorkerRequest, transfer);
        return reply;
      }),
    );
  }

  /** Every worker applies Adam step `step` to its slice of the shared parameters. */
  async update(step: number, divisor: number): Promise<void> {
    await Promise.all(
      this.workers.map((worker) => {
        const reply = nextMessage<{ updated: true }>(worker);
        worker.postMessage({ kind: 'update', step, divisor } satisfies WorkerRequest);
        return reply;
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
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
