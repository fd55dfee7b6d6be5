/** Worker thread of GradientWorkerPool: one model replica and one slice of the Adam update. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildModel } from '../architectures';
import { initEngine } from '../engine';
import { AdamSlice } from './adam-slice';
import { shardGradients } from './data-parallel-step';
import { SharedParameters } from './shared-parameters';
import type { WorkerRequest, WorkerSetup } from './worker-pool';

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
  const parameters = new SharedParameters(setup.parameters);
  const adam = new AdamSlice(...parameters.slice(setup.participant), { learningRate: setup.learningRate });
  port.on('message', (request: WorkerRequest) => {
    try {
      if (request.kind === 'gradients') {
        port.postMessage(shardGradients(model, parameters, setup.participant, request.shard));
      } else {
        parameters.applyUpdate(setup.participant, adam, request.divisor, request.step);
        port.postMessage({ updated: true });
      }
    } catch (err) {
      port.postMessage({ error: (err as Error).message });
    }
  });
  port.postMessage({ ready: true });
}

void main();
