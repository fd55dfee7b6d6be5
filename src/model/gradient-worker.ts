/** Worker thread of GradientWorkerPool: one model replica computing shard gradients. */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { buildModel } from './architectures';
import { initEngine } from './engine';
import type { ShardTask, WorkerSetup } from './gradient-workers';
import { batchGradients } from './trainer';

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort!;
  try {
    await initEngine(setup.backend);
  } catch (err) {
    port.postMessage({ error: (err as Error).message });
    return;
  }
  const model = buildModel(setup.architecture, setup.numClasses, setup.seed);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const shapes = variables.map((v) => v.shape);
  let offset = 0;
  const weightViews: Float32Array[] = [];
  const gradientViews: Float32Array[] = [];
  for (const size of setup.weightSizes) {
    weightViews.push(new Float32Array(setup.weights, offset * 4, size));
    gradientViews.push(new Float32Array(setup.gradients, offset * 4, size));
    offset += size;
  }
  port.on('message', (task: ShardTask) => {
    try {
      tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(weightViews[i], shapes[i]))));
      const { grads, lossSum, correct } = batchGradients(model, task, task.masks);
      variables.forEach((v, i) => gradientViews[i].set(grads[v.name].dataSync() as Float32Array));
      tf.dispose(grads);
      port.postMessage({ lossSum, correct });
    } catch (err) {
      port.postMessage({ error: (err as Error).message });
    }
  });
  port.postMessage({ ready: true });
}

void main();
