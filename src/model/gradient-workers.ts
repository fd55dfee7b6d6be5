/**
 * Data-parallel training state and workers. tfjs disables wasm threads in Node, so each extra
 * core gets a worker thread with its own engine and model replica. The parameters live once, as
 * a flat float32 vector in shared memory; so does each participant's gradient (participant 0 is
 * the main thread). Per step:
 *  1. every participant loads the current weights, computes the summed-loss gradients of its
 *     shard of the batch and writes them to its gradient vector;
 *  2. every participant applies Adam to its own slice of the parameters, adding the gradient
 *     vectors in participant order (so the result does not depend on timing).
 * The sum of shard gradients is the batch gradient, so the update is the single-worker update up
 * to float summation order.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sliceBounds } from './adam';
import type { ArchitectureName } from './architectures';
import type { EngineName } from './engine';

/** Shared buffers of a data-parallel run; structured-cloneable, so workers attach to the same memory. */
export interface SharedParametersLayout {
  /** Element count of each trainable weight, in model.trainableWeights order. */
  sizes: number[];
  weights: SharedArrayBuffer;
  /** One gradient vector per participant. */
  gradients: SharedArrayBuffer[];
}

export class SharedParameters {
  readonly weights: Float32Array;
  readonly gradients: Float32Array[];
  private readonly weightViews: Float32Array[];
  private readonly gradientViews: Float32Array[][];

  constructor(readonly layout: SharedParametersLayout) {
    this.weights = new Float32Array(layout.weights);
    this.gradients = layout.gradients.map((buffer) => new Float32Array(buffer));
    this.weightViews = splitViews(layout.weights, layout.sizes);
    this.gradientViews = layout.gradients.map((buffer) => splitViews(buffer, layout.sizes));
  }

  /** Buffers for `participants` threads, the weights initialised from `variables`. */
  static fromVariables(variables: tf.Variable[], participants: number): SharedParameters {
    const sizes = variables.map((v) => v.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const params = new SharedParameters({
      sizes,
      weights: new SharedArrayBuffer(total * 4),
      gradients: Array.from({ length: participants }, () => new SharedArrayBuffer(total * 4)),
    });
    variables.forEach((v, i) => params.weightViews[i].set(v.dataSync() as Float32Array));
    return params;
  }

  get participants(): number {
    return this.gradients.length;
  }

  /** The parameters [start, end) that `participant` updates. */
  slice(participant: number): [number, number] {
    return sliceBounds(this.weights.length, this.participants, participant);
  }

  /**
   * Copies the shared weights into fresh tensors for `variables`. Fresh, not written in place:
   * the wasm engine caches XNNPACK operators (with their packed weights) by tensor id.
   */
  loadInto(variables: tf.Variable[]): void {
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(this.weightViews[i], v.shape))));
  }

  /** Writes `participant`'s gradients (keyed by variable name) to its shared vector. */
  storeGradients(participant: number, variables: tf.Variable[], grads: tf.NamedTensorMap): void {
    const views = this.gradientViews[participant];
    variables.forEach((v, i) => views[i].set(tensorValues(grads[v.name])));
  }
}

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

export interface ShardResult {
  lossSum: number;
  correct: number;
}

export type WorkerRequest =
  | { kind: 'gradients'; shard: ShardTask }
  | { kind: 'update'; step: number; divisor: number };

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
  computeGradients(shards: ShardTask[]): Promise<ShardResult[]> {
    return Promise.all(
      shards.map((shard, i) => {
        const worker = this.workers[i];
        const reply = nextMessage<ShardResult>(worker);
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

/** A tensor's float32 values: a view of the wasm heap when possible (no copy), else dataSync's copy. */
function tensorValues(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as Partial<BackendWasm>;
  if (backend.typedArrayFromHeap) return backend.typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
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
