#!/usr/bin/env node
'use strict';
/**
 * npm run test:fuzz [-- --seconds 120] [--budget-ms 5000] [--seed <n>]
 *
 * Coverage-guided fuzzing of the image decoder entry (fuzz/decode-target.js) for a bounded
 * time, seeded from the test images. Fails (exit 1) on a crash (anything but a refusal), on a
 * decode that runs past the budget (serve's decode deadline), or on the fuzzing worker dying
 * (e.g. out of memory). The input is saved under .tmp-fuzz/ and printed as base64.
 *
 * Jazzer.js (@jazzer.js/core 4) would be the engine of choice, but its prebuilt
 * libFuzzer addon needs glibc 2.38 and this machine (and CI, the same kind) has 2.36, so the
 * loop here steers on V8's block coverage instead (so it is not a dependency); the target keeps
 * Jazzer's `fuzz(data)` shape, ready for it once CI has a newer glibc.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Worker } = require('node:worker_threads');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    'budget-ms': { type: 'string', default: '5000' },
    seed: { type: 'string', default: String(Date.now() % 0x7fffffff) },
  },
});
const seconds = Number(args.seconds);
const budgetMs = Number(args['budget-ms']);
const seed = Number(args.seed);
const findings = path.resolve(__dirname, '..', '.tmp-fuzz');

console.log(`fuzzing the image decoder for ${seconds} s (seed ${seed}, budget ${budgetMs} ms per input)`);
const worker = new Worker(path.join(__dirname, 'fuzz-worker.js'), {
  workerData: { seconds, seed },
  execArgv: ['--require', require.resolve('tsx/cjs')],
  resourceLimits: { maxOldGenerationSizeMb: 1024 },
});
let current = Buffer.alloc(0);
let startedAt = 0;
let finished = false;

function fail(kind, detail) {
  if (finished) return;
  finished = true;
  fs.mkdirSync(findings, { recursive: true });
  const file = path.join(findings, `${kind}-${createHash('sha1').update(current).digest('hex').slice(0, 12)}.bin`);
  fs.writeFileSync(file, current);
  console.error(`FUZZ FAILED: ${kind}: ${detail}\ninput (${current.length} bytes, saved to ${file}):\n${current.toString('base64')}`);
  process.exitCode = 1;
  void worker.terminate();
  clearInterval(watchdog);
}

const watchdog = setInterval(() => {
  if (startedAt && Date.now() - startedAt > budgetMs) fail('slow', `one decode took longer than ${budgetMs} ms`);
}, 100);

worker.on('message', (message) => {
  if (message.type === 'start') {
    current = Buffer.from(message.input);
    startedAt = Date.now();
  } else if (message.type === 'crash') {
    current = Buffer.from(message.input);
    fail('crash', message.error);
  } else if (message.type === 'done') {
    finished = true;
    clearInterval(watchdog);
    console.log(`fuzz passed: ${message.execs} inputs in ${seconds} s, ${message.seeds} seeds -> corpus ${message.corpus}, ${message.covered} coverage features`);
  }
});
worker.on('error', (err) => fail('worker-error', err.stack || String(err)));
worker.on('exit', () => {
  if (!finished) fail('worker-exit', 'the fuzzing worker exited before finishing');
  clearInterval(watchdog);
});
