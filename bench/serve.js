#!/usr/bin/env node
'use strict';
/**
 * npm run bench:serve [-- --model <path>] [--workers <n>] [--connections 16] [--duration 15]
 *                      [--backend wasm,onnx,node] [--rounds 1]
 *
 * Starts `mldeploy serve` (the built CLI in dist/) as a child process and loads POST /predict with
 * autocannon: base64 JSON bodies of 32x32 PNGs (64 distinct images, rotated, so nothing can be
 * served from a cache). Model: --model, else saved_models/latest if it exists, else an untrained
 * SimpleCNN fixture saved to a temp dir (same architecture, so the same cost per image).
 * --backend runs one server per engine listed (serve's --backend), in turn, --rounds times
 * (alternating the order each round), and prints a table of each engine's medians.
 * The last line printed is: req_per_s=<n> p50_ms=<n> p99_ms=<n>; with several engines, one such
 * line per engine, prefixed backend=<engine>.
 */
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, removeTempDirs, chooseModel, startServer, stopServer, loadPredict, median, processTreeCpuSeconds, runBench } = require('./common');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    workers: { type: 'string' },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    backend: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});

/** 64 distinct 32x32 PNGs (smooth gradients + noise) as /predict JSON bodies. */
async function requestBodies() {
  const { encodePng } = require(path.join(root, 'dist', 'preprocess'));
  const bodies = [];
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 64; i++) {
    const rgb = new Uint8Array(32 * 32 * 3);
    const base = [random() * 200, random() * 200, random() * 200];
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.max(0, Math.min(255, base[c] + ((p % 32) + (p >> 5)) + (random() - 0.5) * 40));
    }
    const png = await encodePng(rgb);
    bodies.push(JSON.stringify({ image_base64: png.toString('base64') }));
  }
  return bodies;
}

/** CPU seconds used so far by the server process and its cluster workers (Linux /proc; else undefined). */
function serverCpuSeconds(pid) {
  try {
    return processTreeCpuSeconds(pid);
  } catch {
    return undefined;
  }
}

/** One measured run against a fresh server started with `backend` (undefined: serve's default). */
async function measure(modelPath, bodies, backend) {
  const { child, url } = await startServer(modelPath, args.workers, backend ? ['--backend', backend] : []);
  try {
    const connections = Number(args.connections);
    await loadPredict(url, bodies, connections, Number(args.warmup));
    const cpuBefore = serverCpuSeconds(child.pid);
    const result = await loadPredict(url, bodies, connections, Number(args.duration));
    const cpuAfter = serverCpuSeconds(child.pid);
    const failed = result.non2xx + result.errors + result.timeouts;
    // Independent of other load on the machine: what one request costs the server in CPU time.
    const cpuMs = cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) * 1000) / result.requests.total : undefined;
    if (cpuMs !== undefined) log(`server cpu: ${cpuMs.toFixed(3)} ms per request`);
    log(`load: ${connections} connections, ${args.duration} s, ${result.requests.total} requests, ${failed} failed; cpus: ${os.cpus().length}, load average before stop: ${os.loadavg()[0].toFixed(2)}`);
    log(`latency ms: p50 ${result.latency.p50} p90 ${result.latency.p90} p99 ${result.latency.p99} max ${result.latency.max}`);
    if (failed > 0) throw new Error(`${failed} requests failed`);
    return { reqPerS: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuMs };
  } finally {
    await stopServer(child);
  }
}

async function main() {
  ensureBuilt();
  const modelPath = chooseModel(args.model);
  const bodies = await requestBodies();
  const backends = args.backend ? args.backend.split(',') : [undefined];
  const runs = new Map(backends.map((b) => [b, []]));
  /** Engines whose server would not start here (e.g. tfjs-node not installed), with why. */
  const unavailable = new Map();
  try {
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const backend of round % 2 ? [...backends].reverse() : backends) {
        if (unavailable.has(backend)) continue;
        log(`--- round ${round + 1}${backend ? `, --backend ${backend}` : ''}`);
        try {
          runs.get(backend).push(await measure(modelPath, bodies, backend));
        } catch (err) {
          if (backends.length === 1 || !/before it was ready/.test(err.message)) throw err;
          unavailable.set(backend, err.message);
          log(`--backend ${backend}: not available here (${err.message}); skipped`);
        }
      }
    }
  } finally {
    removeTempDirs();
  }
  for (const [backend, why] of unavailable) log(`${backend}: not measured (${why})`);
  const summary = backends.filter((b) => !unavailable.has(b)).map((backend) => {
    const r = runs.get(backend);
    return { backend, reqPerS: median(r.map((x) => x.reqPerS)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), cpuMs: median(r.map((x) => x.cpuMs)) };
  });
  if (backends.length > 1 || Number(args.rounds) > 1) {
    log(`\nmedians over ${args.rounds} round(s), ${args.connections} connections, ${args.duration} s each:`);
    log('| engine | req/s | p50 ms | p99 ms | server CPU ms/request |');
    log('| --- | ---: | ---: | ---: | ---: |');
    for (const s of summary) log(`| ${s.backend ?? 'default'} | ${Math.round(s.reqPerS)} | ${s.p50} | ${s.p99} | ${s.cpuMs === undefined ? 'n/a' : s.cpuMs.toFixed(2)} |`);
  }
  for (const s of summary) log(`${s.backend && backends.length > 1 ? `backend=${s.backend} ` : ''}req_per_s=${Math.round(s.reqPerS)} p50_ms=${s.p50} p99_ms=${s.p99}`);
}

runBench(main);
