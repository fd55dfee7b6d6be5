'use strict';
/**
 * npm run bench:soak [-- --duration 60] [--model <path>] [--workers 2] [--valid 2] [--slow 500]
 *
 * Soak: `mldeploy serve --workers 2` (the built CLI in dist/, run `npm run build` after changes)
 * as a child process on 127.0.0.1, loaded for --duration seconds with valid requests on every
 * prediction route mixed with every hostile input of issue 11: a self-referencing TIFF IFD, a
 * TIFF tag count of 0xFFFFFFFF, a 31-byte GIF whose frame claims 46340x46340, a truncated JPEG,
 * a batch of 64 1-bit 4000x4000 PNGs, a gzip bomb body, slowloris sockets and a wrong API key.
 * /ping is probed every 100 ms. Prints requests answered, 5xx, requests never answered, worker
 * deaths, RSS per worker (start, max, end), /ping max and p99, and live tensors before/after.
 * Targets: 0 5xx, 0 worker deaths, /ping p99 < 250 ms, RSS and tensor count flat.
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');
const os = require('node:os');
const { parseArgs } = require('node:util');
const zlib = require('node:zlib');
const sharp = require('sharp');
const { root, log, ensureBuilt, tempDir, removeTempDirs, chooseModel, runBench } = require('./common');

require('tsx/cjs');
const hostile = require(path.join(root, 'test', 'helpers', 'hostile-images'));

const KEY = 'soak-key';
const REQUEST_TIMEOUT_MS = 30_000;

// ---- hostile inputs: the byte strings of issue 11, from the builders the decode tests use ----

async function buildInputs() {
  const noise = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 5) * 131) % 256));
  const png = await sharp(noise(32 * 32 * 3), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
  const jpeg = await sharp(noise(64 * 64 * 3), { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const bombJson = Buffer.concat([Buffer.from('{"image_base64":"'), Buffer.alloc(200 * 1024 * 1024, 0x41), Buffer.from('"}')]);
  return {
    png,
    selfReferencingTiff: hostile.SELF_LOOP_TIFF,
    hugeCountTiff: hostile.HUGE_COUNT_TIFF,
    hugeFrameGif: hostile.HUGE_FRAME_GIF,
    truncatedJpeg: hostile.truncatedJpeg(jpeg),
    oneBitPng: hostile.oneBitPng(4000, 4000),
    gzipBomb: zlib.gzipSync(bombJson, { level: 9 }),
  };
}

// ---- requests ----

function post(url, route, body, headers = {}) {
  return fetch(url + route, { method: 'POST', headers: { 'x-api-key': KEY, ...headers }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

const json = (value) => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });

function fileForm(bytes, name) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  return form;
}

/** Every kind of request the soak sends: valid ones on each route and each hostile input. */
function requestKinds(url, inputs) {
  const b64 = inputs.png.toString('base64');
  const predictJson = (value, headers) => {
    const { body, headers: h } = json(value);
    return post(url, '/predict', body, { ...h, ...headers });
  };
  const batch = (images) => {
    const { body, headers } = json({ images });
    return post(url, '/predict/batch', body, headers);
  };
  return [
    { name: 'valid /predict', valid: true, send: () => predictJson({ image_base64: b64 }) },
    { name: 'valid /predict-file', valid: true, send: () => post(url, '/predict-file', fileForm(inputs.png, 'x.png')) },
    { name: 'valid /predict/batch x8', valid: true, send: () => batch(new Array(8).fill(b64)) },
    {
      name: 'valid TF Serving :predict',
      valid: true,
      send: () => {
        const { body, headers } = json({ instances: [{ b64 }, { b64 }] });
        return post(url, '/v1/models/default:predict', body, headers);
      },
    },
    { name: 'TIFF, IFD pointing at itself', send: () => post(url, '/predict-file', fileForm(inputs.selfReferencingTiff, 'x.tiff')) },
    { name: 'TIFF, tag count 0xFFFFFFFF', send: () => post(url, '/predict-file', fileForm(inputs.hugeCountTiff, 'x.tiff')) },
    { name: 'GIF frame 46340x46340', send: () => post(url, '/predict-file', fileForm(inputs.hugeFrameGif, 'x.gif')) },
    { name: 'truncated JPEG', send: () => predictJson({ image_base64: inputs.truncatedJpeg.toString('base64') }) },
    { name: '64 x 1-bit 4000x4000 PNG batch', send: () => batch(new Array(64).fill(inputs.oneBitPng.toString('base64'))) },
    { name: 'gzip bomb (200 MB inflated)', send: () => post(url, '/predict', inputs.gzipBomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }) },
    { name: 'wrong API key', send: () => predictJson({ image_base64: b64 }, { 'x-api-key': 'wrong' }) },
  ];
}

/** Sends `kind` in a loop until `stop()`; counts statuses ('no answer' for timeouts and resets). */
async function loop(kind, stop) {
  while (!stop()) {
    let status;
    try {
      const res = await kind.send();
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 'no answer';
    }
    kind.statuses[status] = (kind.statuses[status] ?? 0) + 1;
  }
}

/** `count` sockets that never finish their headers; each one the server closes is replaced. */
function slowloris(port, count, stop) {
  let opened = 0;
  let cutOff = 0;
  const open = () => {
    if (stop()) return;
    opened += 1;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let drip;
    socket.once('connect', () => {
      socket.write('POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      drip = setInterval(() => socket.write('x-slow: 1\r\n'), 1000);
    });
    socket.once('close', () => {
      clearInterval(drip);
      if (!stop()) {
        cutOff += 1;
        setTimeout(open, 50);
      }
    });
    sockets.add(socket);
  };
  const sockets = new Set();
  for (let i = 0; i < count; i++) open();
  return {
    stats: () => ({ opened, cutOff }),
    destroy: () => sockets.forEach((s) => s.destroy()),
  };
}

// ---- server and process monitoring ----

function startServe(modelPath, workers) {
  const args = ['bin/mldeploy', 'serve', '--model', modelPath, '--port', '0', '--workers', String(workers), '--api-key', KEY, '--log-dir', tempDir('mldeploy-soak-logs-')];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const ready = new Promise((resolve, reject) => {
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        child.stdout.off('data', check);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`mldeploy serve exited with code ${code} before it was ready`)));
  });
  return { child, ready, output: () => output };
}

function workerPids(primaryPid) {
  try {
    return execFileSync('pgrep', ['-P', String(primaryPid), '-f', 'mldeploy'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function rssMiB(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
    return kb / 1024;
  } catch {
    return undefined;
  }
}

async function liveTensors(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^mldeploy_tensors (\d+)/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** /ping round trips every 100 ms until `stop()`: latencies of the answered ones, and failures. */
async function probePing(url, stop) {
  const latencies = [];
  let failures = 0;
  while (!stop()) {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) latencies.push(performance.now() - started);
      else failures += 1;
    } catch {
      failures += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { latencies, failures };
}

function describePings({ latencies, failures }) {
  return `${latencies.length} answered, ${failures} failed; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const { values } = parseArgs({
    options: { duration: { type: 'string', default: '60' }, model: { type: 'string' }, workers: { type: 'string', default: '2' }, valid: { type: 'string', default: '2' }, slow: { type: 'string', default: '500' } },
  });
  const durationS = Number(values.duration);
  ensureBuilt();
  const modelPath = chooseModel(values.model);
  const inputs = await buildInputs();
  const server = startServe(modelPath, Number(values.workers));
  try {
    const url = await server.ready;
    const port = Number(new URL(url).port);
    log(server.output().trim());
    const kinds = requestKinds(url, inputs).map((kind) => ({ ...kind, statuses: {} }));
    for (const kind of kinds.filter((k) => k.valid)) await (await kind.send()).arrayBuffer(); // warm-up
    const tensorsBefore = await liveTensors(url);
    const rss = new Map(); // pid -> { start, max, end, samples }
    const sample = () => {
      for (const pid of workerPids(server.child.pid)) {
        const mib = rssMiB(pid);
        if (mib === undefined) continue;
        const entry = rss.get(pid) ?? { start: mib, max: mib, end: mib, samples: [] };
        entry.max = Math.max(entry.max, mib);
        entry.end = mib;
        entry.samples.push(mib);
        rss.set(pid, entry);
      }
    };
    sample();
    const firstWorkers = new Set(rss.keys());

    // The machine may be busy with other work: /ping on the idle server first, as the baseline.
    const baselineEnd = Date.now() + 5000;
    const baseline = await probePing(url, () => Date.now() >= baselineEnd);
    const loadBefore = os.loadavg()[0];
    log(`soak: ${durationS} s, ${values.valid} client(s) per valid route, 1 per hostile input, ${values.slow} slowloris sockets, /ping every 100 ms`);
    const endAt = Date.now() + durationS * 1000;
    const stop = () => Date.now() >= endAt;
    const pinger = probePing(url, stop);
    const monitor = setInterval(sample, 500);
    const slow = slowloris(port, Number(values.slow), stop);
    const clients = kinds.flatMap((kind) => Array.from({ length: kind.valid ? Number(values.valid) : 1 }, () => loop(kind, stop)));
    const [pings] = await Promise.all([pinger, ...clients]);
    const loadAfter = os.loadavg()[0];
    clearInterval(monitor);
    slow.destroy();
    sample();
    await new Promise((resolve) => setTimeout(resolve, 2000)); // in-flight batches settle
    const tensorsAfter = await liveTensors(url);

    // ---- report ----
    const statuses = (kind) => Object.entries(kind.statuses).map(([s, n]) => `${s} x${n}`).join(', ');
    log('\n| request | sent | answers |');
    log('| --- | ---: | --- |');
    let answered = 0;
    let serverErrors = 0;
    let unanswered = 0;
    for (const kind of kinds) {
      const sent = Object.values(kind.statuses).reduce((a, b) => a + b, 0);
      log(`| ${kind.name} | ${sent} | ${statuses(kind)} |`);
      for (const [status, n] of Object.entries(kind.statuses)) {
        if (status === 'no answer') unanswered += n;
        else {
          answered += n;
          if (Number(status) >= 500) serverErrors += n;
        }
      }
    }
    const deaths = (server.output().match(/ exited with /g) ?? []).length;
    const replaced = [...rss.keys()].filter((pid) => !firstWorkers.has(pid)).length;
    const { opened, cutOff } = slow.stats();
    log(`\nrequests answered: ${answered} | 5xx: ${serverErrors} | never answered: ${unanswered}`);
    log(`worker deaths: ${deaths} (replacement workers seen: ${replaced})`);
    const quarters = (samples) => [1, 2, 3].map((q) => samples[Math.floor((q * samples.length) / 4)].toFixed(0)).join(', ');
    for (const [pid, r] of rss) {
      log(`worker ${pid} RSS MiB: start ${r.start.toFixed(0)}, at 1/4, 1/2, 3/4 of the run ${quarters(r.samples)}, max ${r.max.toFixed(0)}, end ${r.end.toFixed(0)}`);
    }
    log(`/ping under the soak: ${describePings(pings)}`);
    log(`/ping on the idle server before it (baseline, 5 s): ${describePings(baseline)}`);
    log(`machine load average (1 min, ${os.cpus().length} cores): ${loadBefore.toFixed(1)} before the soak, ${loadAfter.toFixed(1)} at its end`);
    log(`slowloris: ${opened} sockets opened, ${cutOff} cut off by the server`);
    log(`live tensors (all workers): before ${tensorsBefore}, after ${tensorsAfter}`);
    const p99 = percentile(pings.latencies, 99);
    const targets = [
      ['0 5xx', serverErrors === 0],
      ['0 requests never answered', unanswered === 0],
      ['0 worker deaths', deaths === 0],
      ['/ping p99 < 250 ms', p99 < 250 && pings.failures === 0],
      ['tensor count flat', tensorsBefore === tensorsAfter],
    ];
    log(`targets: ${targets.map(([name, ok]) => `${name} ${ok ? 'met' : 'MISSED'}`).join(' | ')}`);
  } finally {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    removeTempDirs();
  }
}

runBench(main);
