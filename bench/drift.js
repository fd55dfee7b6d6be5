#!/usr/bin/env node
'use strict';
/**
 * npm run bench:drift [-- --model <path>] [--data <cifar-10 source>] [--samples 1000]
 *                        [--scenarios clean,noisy,very_noisy,blur] [--concurrency 16] [--workers <n>]
 *
 * Starts `mldeploy serve` (the built CLI in dist/) as a child process, then times a full
 * `mldeploy drift --url ...` run against it as a separate process, exactly as a user or CI job
 * would: 4 scenarios x 1000 images by default (blur stands in for cifar100 where CIFAR-100 cannot
 * be had). A short warm-up drift run first fills the data cache, so the timed run measures
 * "data already cached".
 * Model: --model, else saved_models/latest, else an untrained SimpleCNN fixture (same cost per image).
 * Data: --data, else $MLDEPLOY_CIFAR10, else ../shared/datasets/cifar10-jpeg.tar.gz if present,
 * else drift's default (the official archive cached in data/).
 * The last line printed is: images_per_s=<n>  (images replayed / wall-clock seconds of the drift run)
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, tempDir, removeTempDirs, chooseModel, startServer, stopServer, runBench } = require('./common');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    samples: { type: 'string', default: '1000' },
    scenarios: { type: 'string', default: 'clean,noisy,very_noisy,blur' },
    concurrency: { type: 'string', default: '16' },
    workers: { type: 'string' },
  },
});

function chooseData() {
  if (args.data) return args.data;
  if (process.env.MLDEPLOY_CIFAR10) return process.env.MLDEPLOY_CIFAR10;
  const shared = path.resolve(root, '..', 'shared', 'datasets', 'cifar10-jpeg.tar.gz');
  return fs.existsSync(shared) ? shared : undefined;
}

/** Runs `mldeploy drift` as its own process; resolves with its exit code and wall-clock seconds. */
function runDrift(url, data, outDir, samples, scenarios) {
  const cliArgs = ['bin/mldeploy', 'drift', '--url', url, '--samples', String(samples), '--scenarios', scenarios,
    '--concurrency', args.concurrency, '--out', outDir, '--plots-dir', outDir, '--fail-on', 'psi>1000'];
  if (data) cliArgs.push('--data', data);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, cliArgs, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, stderr }));
  });
}

async function main() {
  ensureBuilt();
  const modelPath = chooseModel(args.model);
  const data = chooseData();
  const { child, url } = await startServer(modelPath, args.workers);
  const outDir = tempDir('mldeploy-bench-drift-out-');
  try {
    const warm = await runDrift(url, data, outDir, 16, 'clean');
    if (warm.code !== 0) throw new Error(`warm-up drift run failed (exit ${warm.code}):\n${warm.stderr}`);
    const timed = await runDrift(url, data, outDir, Number(args.samples), args.scenarios);
    if (timed.code !== 0) throw new Error(`drift run failed (exit ${timed.code}):\n${timed.stderr}`);
    const result = JSON.parse(fs.readFileSync(path.join(outDir, 'performance_log.json'), 'utf8'));
    const images = result.scenarios.reduce((sum, s) => sum + s.samples, 0);
    const failed = result.scenarios.reduce((sum, s) => sum + s.requests.failed, 0);
    const replaySeconds = result.scenarios.reduce((sum, s) => sum + s.duration_s, 0);
    for (const s of result.scenarios) {
      log(`${s.name}: ${s.samples} images in ${s.duration_s.toFixed(2)} s (${s.throughput_rps.toFixed(0)} req/s), p50 ${s.latency_ms.p50?.toFixed(1)} ms, p99 ${s.latency_ms.p99?.toFixed(1)} ms`);
    }
    log(`model: ${result.target.model_version}; data: ${data ?? 'official archive (data/)'}; concurrency ${args.concurrency}; cpus: ${os.cpus().length}`);
    log(`drift run: ${images} images, ${failed} failed, wall ${timed.seconds.toFixed(2)} s (replay ${replaySeconds.toFixed(2)} s, ${(images / replaySeconds).toFixed(0)} img/s)`);
    if (failed > 0) throw new Error(`${failed} requests failed`);
    log(`images_per_s=${Math.round(images / timed.seconds)}`);
  } finally {
    await stopServer(child);
    removeTempDirs();
  }
}

runBench(main);
