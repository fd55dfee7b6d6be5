/**
 * The wasm and cpu engines' training step: the batch split into shards, one per participant
 * (the main thread and each worker), gradients summed through shared memory, Adam applied by
 * every participant to its own slice (see shared-parameters.ts). Also with one participant:
 * the fused Adam and the transposed dense kernel are what make a wasm step fast.
 */
import type * as tf from '@tensorflow/tfjs';
import { dispose } from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../preprocess';
import type { ImageSet } from '../../data/types';
import type { ArchitectureName } from '../architectures';
import type { EngineName } from '../engine';
import { batchGradients, trainableVariables, type StepResult, type StepRunner } from '../training-step';
import { AdamSlice } from './adam-slice';
import { denseFromTransposed } from './dense-forward';
import { SharedParameters } from './shared-parameters';
import { GradientWorkerPool, type ShardTask } from './worker-pool';

export interface DataParallelSetup {
  model: tf.LayersModel;
  architecture: ArchitectureName;
  numClasses: number;
  seed: number;
  backend: EngineName;
  learningRate: number;
  /** Participants including the main thread. */
  workers: number;
}

/** A batch cut into per-participant shards with their dropout masks, ready for one step. */
interface ShardedBatch {
  shards: ShardTask[];
  count: number;
  /** 1-based Adam step number. */
  adamStep: number;
}

/** A run's data-parallel state: the main thread's replica and share, and the workers. */
export class DataParallelStep implements StepRunner<ShardedBatch> {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly parameters: SharedParameters,
    private readonly adam: AdamSlice,
    private readonly pool: GradientWorkerPool | undefined,
  ) {}

  /** Starts the workers (if more than one participant) and waits until each has its engine and model. */
  static async start(setup: DataParallelSetup): Promise<DataParallelStep> {
    const parameters = SharedParameters.fromVariables(trainableVariables(setup.model), setup.workers);
    const pool =
      setup.workers > 1
        ? new GradientWorkerPool({
            architecture: setup.architecture,
            numClasses: setup.numClasses,
            seed: setup.seed,
            backend: setup.backend,
            learningRate: setup.learningRate,
            parameters: parameters.layout,
          })
        : undefined;
    try {
      await pool?.ready();
    } catch (err) {
      await pool?.close();
      throw err;
    }
    const adam = new AdamSlice(...parameters.slice(0), { learningRate: setup.learningRate });
    return new DataParallelStep(setup.model, parameters, adam, pool);
  }

  get workers(): number {
    return this.parameters.participants;
  }

  prepare(batch: ImageSet, masks: Float32Array[], adamStep: number): ShardedBatch {
    return { shards: splitBatch(batch, masks, this.parameters.participants), count: batch.count, adamStep };
  }

  /**
   * One Adam step on one prepared batch; `whileWaiting` runs when the main thread's own shard is
   * done. On return the shared weights hold the updated values; the main thread's model gets them
   * at the start of the next step (after the workers have their tasks) or from syncModel().
   */
  async run(batch: ShardedBatch, whileWaiting: () => void): Promise<StepResult> {
    const { parameters, adam, pool } = this;
    const { shards, count, adamStep } = batch;
    // The workers compute their shards while the main thread computes the first.
    const remote = pool && shards.length > 1 ? pool.computeGradients(shards.slice(1)) : Promise.resolve([]);
    const local = shardGradients(this.model, parameters, 0, shards[0]);
    whileWaiting();
    let { lossSum, correct } = local;
    for (const shard of await remote) {
      lossSum += shard.lossSum;
      correct += shard.correct;
    }
    // A batch smaller than the participant count leaves the last gradient vectors unused: zero them.
    for (let p = shards.length; p < parameters.participants; p++) parameters.gradients[p].fill(0);
    // Gradients of the summed loss, added in participant order -> mean over the batch, as Keras does.
    const remoteUpdate = pool ? pool.update(adamStep, count) : Promise.resolve();
    parameters.applyUpdate(0, adam, count, adamStep);
    await remoteUpdate;
    return { lossSum, correct };
  }

  syncModel(): void {
    this.parameters.loadInto(trainableVariables(this.model));
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/** Splits a batch (and its per-image dropout mask rows) into up to `parts` contiguous shards. */
function splitBatch(batch: ImageSet, masks: Float32Array[], parts: number): ShardTask[] {
  const size = Math.ceil(batch.count / parts);
  const shards: ShardTask[] = [];
  for (let start = 0; start < batch.count; start += size) {
    const end = Math.min(start + size, batch.count);
    shards.push({
      pixels: batch.pixels.slice(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE),
      labels: batch.labels.slice(start, end),
      count: end - start,
      masks: masks.map((mask) => {
        const perImage = mask.length / batch.count;
        return mask.slice(start * perImage, end * perImage);
      }),
    });
  }
  return shards;
}

/**
 * One participant's part of a step, in the main thread or a worker: load the shared weights into
 * its replica, compute its shard's gradients and write them to its shared gradient vector.
 */
export function shardGradients(model: tf.LayersModel, parameters: SharedParameters, participant: number, shard: ShardTask): StepResult {
  const variables = trainableVariables(model);
  parameters.loadInto(variables);
  const transposed = parameters.loadTransposed(variables);
  const { grads, lossSum, correct } = batchGradients(model, shard, shard.masks, (layer, x) => denseFromTransposed(layer, x, transposed));
  dispose([...transposed.values()]);
  parameters.storeGradients(participant, variables, grads);
  dispose(grads);
  return { lossSum, correct };
}
