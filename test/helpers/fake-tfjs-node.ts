/**
 * Packages standing in for @tensorflow/tfjs-node, for the engine's fallback tests: each can
 * load fine, throw on its first op (tfjs-node 4.22 on Node >= 23), kill its process with SIGILL
 * (no AVX), hang, or lack its native binding. Every load appends a line to `loads.log`, so a
 * test can tell whether a probe ran again or was answered from the cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type FakeBehaviour = 'works' | 'throws-on-op' | 'sigill' | 'hangs' | 'no-binding';

export interface FakePackage {
  dir: string;
  /** How many times the package was loaded (in probes and in-process). */
  loads(): number;
  /** Rewrites the package's code only (same binding file, so the probe cache still matches). */
  become(behaviour: FakeBehaviour): void;
}

const BEHAVIOUR_CODE: Record<FakeBehaviour, string> = {
  works: `registerTensorflow((kernel) => kernel.kernelFunc);`,
  'throws-on-op': `registerTensorflow(() => () => { throw new TypeError('(0 , util_1.isNullOrUndefined) is not a function'); });`,
  sigill: `process.kill(process.pid, 'SIGILL');`,
  // Blocks without spinning a core.
  hangs: `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
  'no-binding': `throw new Error('never loaded: the engine refuses a package without its binding');`,
};

export function writeFakeTfjsNode(parent: string, behaviour: FakeBehaviour): FakePackage {
  const dir = path.join(parent, `fake-tfjs-node-${behaviour}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0-fake', main: 'index.js' }));
  if (behaviour !== 'no-binding') {
    fs.mkdirSync(path.join(dir, 'lib', 'napi-v8'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
  }
  const loadsFile = path.join(dir, 'loads.log');
  const become = (next: FakeBehaviour) => {
    const code = `
const fs = require('fs');
fs.appendFileSync(${JSON.stringify(loadsFile)}, process.pid + '\\n');
const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))});
const cpu = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))});
/** A 'tensorflow' backend made of the cpu backend's kernels (or failing ones). */
function registerTensorflow(kernelFunc) {
  tf.registerBackend('tensorflow', () => new cpu.MathBackendCPU(), 3);
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow', kernelFunc: kernelFunc(kernel) });
}
${BEHAVIOUR_CODE[next]}
module.exports = tf;
`;
    fs.writeFileSync(path.join(dir, 'index.js'), code);
  };
  become(behaviour);
  return {
    dir,
    loads: () => (fs.existsSync(loadsFile) ? fs.readFileSync(loadsFile, 'utf8').trim().split('\n').length : 0),
    become,
  };
}
