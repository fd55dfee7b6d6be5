#!/usr/bin/env node
'use strict';
/**
 * npm run test:node [-- <jest args>]: the engine-dependent suites again, on tfjs-node.
 *
 * Sets MLDEPLOY_TEST_ENGINE=node (test/helpers/test-engine.ts): suites that choose an engine use
 * node, and `auto` must resolve to it, so a tfjs-node that stopped loading fails the run instead
 * of passing quietly on wasm. A suite counts as engine-dependent when it starts an engine, a
 * server, a training run or the CLI process (the markers below); pure suites ran already in `npm test`.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// (initEngine with an explicit 'wasm' or 'cpu' is not a marker: those suites test that engine.)
const ENGINE_MARKERS = /initEngine\(('auto')?\)|startServer|runTraining|trainClassifier|createModelFixture|mldeploy-from-sources|TEST_ENGINE|expectedAutoEngine/;

const probe = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node').add(1, 1).dataSync()"], { cwd: root, encoding: 'utf8' });
if (probe.status !== 0) {
  const why = (probe.stderr || '').trim().split('\n').filter(Boolean).pop() ?? `exit ${probe.status ?? probe.signal}`;
  console.error(`test:node: @tensorflow/tfjs-node does not run here (${why}).`);
  console.error('Install it with its binding (npm rebuild @tensorflow/tfjs-node), or on machines without internet ../shared/tools/tfjs-node-from-wheel.sh.');
  process.exit(1);
}

const testDir = path.join(root, 'test');
const read = (file) => fs.readFileSync(file, 'utf8');
// Helpers that start an engine (model fixtures, servers) make the suites that import them engine-dependent.
const helpersDir = path.join(testDir, 'helpers');
const engineHelpers = fs
  .readdirSync(helpersDir)
  .filter((name) => /\.[jt]s$/.test(name) && ENGINE_MARKERS.test(read(path.join(helpersDir, name))))
  .map((name) => name.replace(/\.[jt]s$/, ''));
const importsEngineHelper = new RegExp(`from '\\./helpers/(${engineHelpers.join('|')})'`);
const suites = fs
  .readdirSync(testDir)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => {
    const source = read(path.join(testDir, name));
    return ENGINE_MARKERS.test(source) || importsEngineHelper.test(source);
  })
  .map((name) => path.join('test', name));
console.log(`test:node: ${suites.length} engine-dependent suites on tfjs-node: ${suites.map((s) => path.basename(s, '.test.ts')).join(', ')}`);

const env = { ...process.env, MLDEPLOY_TEST_ENGINE: 'node' };
delete env.MLDEPLOY_SKIP_NODE;
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2), ...suites], { cwd: root, env, stdio: 'inherit' });
process.exit(jest.status ?? 1);
