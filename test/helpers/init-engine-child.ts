// initEngine in a fresh process (each engine starts once per process), for the fallback tests:
//   node -r tsx/cjs test/helpers/init-engine-child.ts '<json>'
// with {choice, node: NodeEngineOptions}; prints one JSON line: the engine and a matMul on it, or the error.
import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine } from '../../src/model/engine';

async function main(): Promise<void> {
  const { choice, node } = JSON.parse(process.argv[2]);
  try {
    const info = await initEngine(choice, { node });
    const product = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 1, 1, 1], [2, 2])).dataSync();
    console.log(JSON.stringify({ info, line: describeEngine(info), product: Array.from(product), tfBackend: tf.getBackend() }));
  } catch (err) {
    console.log(JSON.stringify({ error: (err as Error).message }));
  }
}

void main();
