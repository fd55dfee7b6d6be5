#!/usr/bin/env node
'use strict';
/**
 * npm run bench:monitor [-- --model <path>] [--workers 1,2] [--connections 16] [--duration 10] [--rounds 3]
 *
 * What the live monitor costs the server: `mldeploy serve` (built CLI) with the monitor on
 * (default window 500) and with --no-monitor, alternating A/B per round under the same
 * autocannon load on POST /predict (64 distinct PNGs), for each --workers count listed (1: one
 * process; 2: cluster primary + 2 workers, the monitor in the primary), in the same rounds;
 * medians side by side, with the % the monitor loses in req/s and adds in server CPU per
 * request, and the load average while it ran (the machine may be shared); then the
 * cost of one window evaluation (detectShift + estimateAccuracy + shares) on the model's
 * reference, which the monitor pays once per 500 predictions and per /monitoring or /metrics read.
 * Model: --model, else saved_models/latest, else a throwaway SimpleCNN (bench/common.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, removeTempDirs, chooseModel, startServer, stopServer, runBench } = require('./common');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    workers: { type: 'string', default: '1,2' },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});

/** 64 distinct seeded-noise 32x32 PNGs as /predict bodies (no response can come from a cache). */
async function pngBodies() {
  const { encodePng } = require(path.join(root, 'dist', 'preprocess'));
  const { createRandom } = require(path.join(root, 'dist', 'util', 'random'));
  const random = createRandom(17);
  const images = Array.from({ length: 64 }, () => Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(random.next() * 256)));
  return Promise.all(images.map(async (rgb) => JSON.stringify({ image_base64: (await encodePng(rgb)).toString('base64') })));
}

function load(url, bodies, duration) {
  const autocannon = require('autocannon');
  let next = 0;
  const setupRequest = (request) => ({ ...request, body: bodies[next++ % bodies.length] });
  return autocannon({ url: `${url}/predict`, connections: Number(args.connections), duration, requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest }] });
}

/** CPU seconds of the server and its children so far (Linux /proc): robust to other load on the machine. */
function processTreeCpuSeconds(pid) {
  const ticks = (p) => {
    const fields = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return [pid, ...children].reduce((sum, p) => sum + ticks(p), 0) / 100;
}

async function measure(modelPath, bodies, workers, monitor) {
  const { child, url } = await startServer(modelPath, workers, monitor ? [] : ['--no-monitor']);
  try {
    await load(url, bodies, 2);
    const cpuBefore = processTreeCpuSeconds(child.pid);
    const result = await load(url, bodies, Number(args.duration));
    const cpuMs = ((processTreeCpuSeconds(child.pid) - cpuBefore) * 1000) / result.requests.total;
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${failed} requests failed`);
    const loadAverage = os.loadavg()[0];
    log(`${workers} worker(s), ${monitor ? 'monitor on ' : 'monitor off'}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, server CPU ${cpuMs.toFixed(3)} ms/request, load average ${loadAverage.toFixed(2)}`);
    return { reqPerS: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuMs, loadAverage };
  } finally {
    await stopServer(child);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** CPU ms to record one default-size window, including the evaluation its last prediction triggers. */
async function evaluationCost(modelPath) {
  const { readMetadata, resolveModelDir } = require(path.join(root, 'dist', 'model', 'artifacts'));
  const { monitorReference } = require(path.join(root, 'dist', 'monitor', 'reference'));
  const { MonitorWindow, DEFAULT_MONITOR_WINDOW } = require(path.join(root, 'dist', 'monitor', 'window'));
  const metadata = await readMetadata(resolveModelDir(modelPath));
  if (!metadata.calibration) return null;
  const window = new MonitorWindow(metadata.version, metadata.num_classes, monitorReference(metadata, DEFAULT_MONITOR_WINDOW), { size: DEFAULT_MONITOR_WINDOW });
  const { probabilities, input_signals: inputs } = metadata.calibration.reference;
  const times = [];
  for (let round = 0; round < 5; round++) {
    const samples = Array.from({ length: DEFAULT_MONITOR_WINDOW }, (_, i) => {
      const j = (round * 97 + i) % probabilities.length;
      return { probabilities: probabilities[j], inputs: Object.fromEntries(Object.keys(inputs).map((s) => [s, inputs[s][j]])) };
    });
    // Recording a full window; its last sample closes a history entry, which evaluates the window.
    // CPU time, not wall time: unaffected by whatever else the machine runs.
    const started = process.cpuUsage();
    for (const sample of samples) window.record(sample);
    const used = process.cpuUsage(started);
    times.push((used.user + used.system) / 1000);
  }
  return median(times);
}

async function main() {
  ensureBuilt();
  const modelPath = chooseModel(args.model);
  const bodies = await pngBodies();
  const workerCounts = args.workers.split(',');
  const runs = new Map(workerCounts.map((w) => [w, { on: [], off: [] }]));
  try {
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const workers of workerCounts) {
        for (const monitor of round % 2 ? [false, true] : [true, false]) runs.get(workers)[monitor ? 'on' : 'off'].push(await measure(modelPath, bodies, workers, monitor));
      }
    }
  } finally {
    removeTempDirs();
  }
  const medians = (list) => Object.fromEntries(['reqPerS', 'p50', 'p99', 'cpuMs', 'loadAverage'].map((key) => [key, median(list.map((r) => r[key]))]));
  const change = (a, b) => ((a - b) / b) * 100;
  log(`\nmedians over ${args.rounds} A/B round(s), ${args.connections} connections, ${args.duration} s each:`);
  log('| workers | monitor | req/s | p50 ms | p99 ms | server CPU ms/request | load average |');
  log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const summary = workerCounts.map((workers) => {
    const on = medians(runs.get(workers).on);
    const off = medians(runs.get(workers).off);
    log(`| ${workers} | on (window 500) | ${Math.round(on.reqPerS)} | ${on.p50} | ${on.p99} | ${on.cpuMs.toFixed(3)} | ${on.loadAverage.toFixed(1)} |`);
    log(`| ${workers} | off (--no-monitor) | ${Math.round(off.reqPerS)} | ${off.p50} | ${off.p99} | ${off.cpuMs.toFixed(3)} | ${off.loadAverage.toFixed(1)} |`);
    return { workers, throughputLoss: -change(on.reqPerS, off.reqPerS), cpuIncrease: change(on.cpuMs, off.cpuMs), cpuAddedMs: on.cpuMs - off.cpuMs };
  });
  for (const s of summary) {
    log(`${s.workers} worker(s): the monitor loses ${s.throughputLoss.toFixed(1)} % req/s and adds ${s.cpuIncrease.toFixed(1)} % server CPU per request (+${s.cpuAddedMs.toFixed(3)} ms)`);
  }
  const cost = await evaluationCost(modelPath);
  log(`window evaluation: ${cost === null ? 'n/a (model has no calibration reference)' : `${cost.toFixed(1)} CPU ms per 500 predictions (recording + one evaluation)`}`);
  for (const s of summary) log(`workers=${s.workers} throughput_loss_pct=${s.throughputLoss.toFixed(1)} cpu_per_request_increase_pct=${s.cpuIncrease.toFixed(1)}`);
}

runBench(main);
