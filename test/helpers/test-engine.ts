/**
 * Which engine the engine-dependent suites run on. `npm run test:node` sets
 * MLDEPLOY_TEST_ENGINE=node: suites that pick an engine explicitly use tfjs-node, and `auto`
 * must resolve to it (a broken tfjs-node fails the run instead of passing on wasm).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export type TestEngine = 'node' | 'wasm';

export const TEST_ENGINE: TestEngine = process.env.MLDEPLOY_TEST_ENGINE === 'node' ? 'node' : 'wasm';

let autoEngine: TestEngine | undefined;

/** What `--backend auto` picks in this run, found without src/model/engine (a real op in a child process). */
export function expectedAutoEngine(): TestEngine {
  if (TEST_ENGINE === 'node') return 'node';
  const skip = process.env.MLDEPLOY_SKIP_NODE;
  if (skip && skip !== '0') return 'wasm';
  autoEngine ??=
    spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node').add(1, 1).dataSync()"], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: 'ignore',
      timeout: 60_000,
    }).status === 0
      ? 'node'
      : 'wasm';
  return autoEngine;
}
