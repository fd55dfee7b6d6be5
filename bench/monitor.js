#!/usr/bin/env node
'use strict';
/**
 * npm run bench:monitor [-- --model <path>] [--workers 1,2] [--connections 16] [--duration 4] [--rounds 10]
 *
 * What the live monitor costs the server: two `mldeploy serve` (built CLI) side by side, one with
 * the monitor on (default window 500) and one with --no-monitor, both started once and warmed up,
 * then loaded in turn with the same autocannon load on POST /predict (64 distinct PNGs) for
 * --duration seconds each, --rounds times, the order alternating each round. Short alternating
 * bursts against servers that stay up keep the two arms under the same machine load (it may be
 * shared). For each --workers count listed (1: one process; 2: cluster primary + 2 workers, the
 * monitor in the primary): medians of req/s, latency and server CPU per request (the server's
 * processes' CPU time from /proc), and the % the monitor loses in req/s and adds in CPU per
 * request, both between the medians and as the median of each round's paired change, with the
 * load average while it ran. Then the cost of one window evaluation (detectShift +
 * estimateAccuracy + shares) on the model's reference, which the monitor pays once per 500
 * predictions and per /monitoring or /metrics read.
 * Model: --model, else saved_models/latest, else a throwaway SimpleCNN (bench/common.js).
 */
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, removeTempDirs, chooseModel, startServer, stopServer, loadPredict, median, processTreeCpuSeconds, runBench } = require('./common');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    workers: { type: 'string', default: '1,2' },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '10' },
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

const load = (url, bodies, duration) => loadPredict(url, bodies, Number(args.connections), duration);

/** One burst of load on a running server: its req/s, latency and the server's CPU per request. */
async function burst(server, bodies, duration) {
  const cpuBefore = processTreeCpuSeconds(server.child.pid);
  const result = await load(server.url, bodies, duration);
  const cpuMs = ((processTreeCpuSeconds(server.child.pid) - cpuBefore) * 1000) / result.requests.total;
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) throw new Error(`${failed} requests failed`);
  return { reqPerS: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuMs, loadAverage: os.loadavg()[0] };
}

/** Both servers up at once for `workers`; rounds of alternating bursts. */
async function measureWorkers(modelPath, bodies, workers) {
  const servers = { on: await startServer(modelPath, workers), off: await startServer(modelPath, workers, ['--no-monitor']) };
  const runs = { on: [], off: [] };
  try {
    for (const arm of ['on', 'off']) await load(servers[arm].url, bodies, 3);
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const arm of round % 2 ? ['off', 'on'] : ['on', 'off']) {
        const r = await burst(servers[arm], bodies, Number(args.duration));
        log(`${workers} worker(s), round ${round + 1}, monitor ${arm.padEnd(3)}: ${Math.round(r.reqPerS)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, server CPU ${r.cpuMs.toFixed(3)} ms/request, load average ${r.loadAverage.toFixed(2)}`);
        runs[arm].push(r);
      }
    }
  } finally {
    await Promise.all([stopServer(servers.on.child), stopServer(servers.off.child)]);
  }
  return runs;
}

/** Median CPU µs per call of `step(i)` over `count` calls (5 repeats after a warm-up). CPU time: unaffected by other load. */
function cpuMicros(step, count) {
  for (let i = 0; i < count; i++) step(i);
  const repeats = [];
  for (let r = 0; r < 5; r++) {
    const started = process.cpuUsage();
    for (let i = 0; i < count; i++) step(i);
    const used = process.cpuUsage(started);
    repeats.push((used.user + used.system) / count);
  }
  return median(repeats);
}

/**
 * The monitor's work per prediction, step by step, in this process (the server runs the same
 * code): what the side-by-side figures should add up to, without their noise.
 */
async function perPredictionSteps(modelPath) {
  const dist = (module) => require(path.join(root, 'dist', ...module.split('/')));
  const { readMetadata, resolveModelDir } = dist('model/artifacts');
  const { monitorFields } = dist('monitor/record');
  const { imageStats } = dist('preprocess/image-stats');
  const { formatMonitoredRecord, formatRecord } = dist('serve/prediction-log');
  const { LiveMonitor } = dist('monitor/live');
  const { DEFAULT_MONITOR_WINDOW } = dist('monitor/window');
  const { createRandom } = dist('util/random');
  const metadata = await readMetadata(resolveModelDir(modelPath));
  const random = createRandom(23);
  const pixels = Array.from({ length: 64 }, () => Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(random.next() * 256)));
  const rows = metadata.calibration?.reference.probabilities ?? [];
  const probabilities = Array.from({ length: 64 }, (_, i) => Float32Array.from(rows[i] ?? metadata.class_names.map((_, k) => (k === 0 ? 0.91 : 0.01))));
  const record = (i) => ({
    timestamp: new Date().toISOString(),
    model_version: metadata.version,
    predicted_class: metadata.class_names[0],
    confidence: probabilities[i % 64][0],
    latency_ms: 12.34,
    input_sha256: 'a'.repeat(64),
    route: 'predict',
  });
  const records = Array.from({ length: 64 }, (_, i) => record(i));
  const fields = Array.from({ length: 64 }, (_, i) => monitorFields({ probabilities: probabilities[i], pixels: pixels[i] }));
  const lines = fields.map((f, i) => formatMonitoredRecord(records[i], f));
  const monitor = new LiveMonitor({ size: DEFAULT_MONITOR_WINDOW });
  monitor.provideModel(metadata);
  const count = DEFAULT_MONITOR_WINDOW * 10;
  const steps = {
    input_statistics: cpuMicros((i) => imageStats(pixels[i % 64]), count),
    monitor_fields: cpuMicros((i) => monitorFields({ probabilities: probabilities[i % 64], pixels: pixels[i % 64] }), count),
    // The line's extra cost: schema 2 written instead of the schema-1 line --no-monitor writes.
    log_line_extra: cpuMicros((i) => formatMonitoredRecord(records[i % 64], fields[i % 64]), count) - cpuMicros((i) => formatRecord(records[i % 64]), count),
    // Every 500th prediction closes a history entry, which evaluates the window: included here.
    window_record_and_evaluation: cpuMicros((i) => monitor.record({ model_version: metadata.version, probabilities: fields[i % 64].probabilities, input_stats: fields[i % 64].input_stats }), count),
    cluster_primary_parse: cpuMicros((i) => JSON.parse(lines[i % 64]), count),
  };
  return { ...steps, single_process: steps.monitor_fields + steps.log_line_extra + steps.window_record_and_evaluation, evaluated: Boolean(metadata.calibration) };
}

async function main() {
  ensureBuilt();
  const modelPath = chooseModel(args.model);
  const bodies = await pngBodies();
  const workerCounts = args.workers.split(',');
  const runs = new Map();
  try {
    for (const workers of workerCounts) runs.set(workers, await measureWorkers(modelPath, bodies, workers));
  } finally {
    removeTempDirs();
  }
  const medians = (list) => Object.fromEntries(['reqPerS', 'p50', 'p99', 'cpuMs', 'loadAverage'].map((key) => [key, median(list.map((r) => r[key]))]));
  const change = (a, b) => ((a - b) / b) * 100;
  log(`\nmedians over ${args.rounds} alternating rounds, ${args.connections} connections, ${args.duration} s per burst:`);
  log('| workers | monitor | req/s | p50 ms | p99 ms | server CPU ms/request | load average |');
  log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const summary = workerCounts.map((workers) => {
    const on = medians(runs.get(workers).on);
    const off = medians(runs.get(workers).off);
    log(`| ${workers} | on (window 500) | ${Math.round(on.reqPerS)} | ${on.p50} | ${on.p99} | ${on.cpuMs.toFixed(3)} | ${on.loadAverage.toFixed(1)} |`);
    log(`| ${workers} | off (--no-monitor) | ${Math.round(off.reqPerS)} | ${off.p50} | ${off.p99} | ${off.cpuMs.toFixed(3)} | ${off.loadAverage.toFixed(1)} |`);
    // Each round's on and off ran back to back: their ratio cancels load that drifts between rounds.
    const { on: ons, off: offs } = runs.get(workers);
    const paired = (key) => median(ons.map((r, i) => change(r[key], offs[i][key])));
    return {
      workers,
      throughputLoss: -change(on.reqPerS, off.reqPerS),
      cpuIncrease: change(on.cpuMs, off.cpuMs),
      cpuAddedMs: on.cpuMs - off.cpuMs,
      pairedThroughputLoss: -paired('reqPerS'),
      pairedCpuIncrease: paired('cpuMs'),
    };
  });
  for (const s of summary) {
    log(`${s.workers} worker(s): the monitor loses ${s.throughputLoss.toFixed(1)} % req/s and adds ${s.cpuIncrease.toFixed(1)} % server CPU per request (+${s.cpuAddedMs.toFixed(3)} ms) between the medians; per round (median of the paired changes): ${s.pairedThroughputLoss.toFixed(1)} % req/s lost, ${s.pairedCpuIncrease.toFixed(1)} % CPU added`);
  }
  const steps = await perPredictionSteps(modelPath);
  const cluster = steps.single_process + steps.cluster_primary_parse;
  log('\nthe monitor\'s work per prediction, measured in this process (CPU µs):');
  log('| step | µs |');
  log('| --- | ---: |');
  log(`| input statistics (imageStats) | ${steps.input_statistics.toFixed(2)} |`);
  log(`| monitorFields (input statistics + rounding 18 numbers) | ${steps.monitor_fields.toFixed(2)} |`);
  log(`| schema-2 log line instead of schema 1 | ${steps.log_line_extra.toFixed(2)} |`);
  log(`| window record, with one evaluation per 500 predictions${steps.evaluated ? '' : ' (model has no calibration reference: nothing to evaluate)'} | ${steps.window_record_and_evaluation.toFixed(2)} (${((steps.window_record_and_evaluation * 500) / 1000).toFixed(1)} ms per 500) |`);
  log(`| cluster: the primary parses the line | ${steps.cluster_primary_parse.toFixed(2)} |`);
  for (const s of summary) {
    const work = s.workers === '1' ? steps.single_process : cluster;
    const offMs = medians(runs.get(s.workers).off).cpuMs;
    log(`${s.workers} worker(s): ${work.toFixed(1)} µs of monitor work per prediction = ${((work / 1000 / offMs) * 100).toFixed(1)} % of the --no-monitor server's ${offMs.toFixed(3)} ms CPU per request`);
  }
  for (const s of summary) {
    log(`workers=${s.workers} throughput_loss_pct=${s.throughputLoss.toFixed(1)} cpu_per_request_increase_pct=${s.cpuIncrease.toFixed(1)} paired_throughput_loss_pct=${s.pairedThroughputLoss.toFixed(1)} paired_cpu_increase_pct=${s.pairedCpuIncrease.toFixed(1)}`);
  }
}

runBench(main);
