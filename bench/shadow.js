#!/usr/bin/env node
'use strict';
/**
 * npm run bench:shadow [-- --model <version dir>] [--connections 1,8] [--share 100] [--duration 10] [--rounds 3]
 *
 * What `serve --shadow` costs the clients: a models dir holding the model twice (stable + a copy
 * as shadow) is served by the built CLI without and with `--shadow` (and `--shadow-share`), alternating the order each
 * round, and POST /predict is loaded with autocannon at each connection count. Prints per setting
 * the medians of req/s, p50 and p99, and how many images the shadow compared and skipped.
 * The last lines printed are: connections=<n> shadow=<off|on> req_per_s=<n> p50_ms=<n> p99_ms=<n>.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, tempDir, removeTempDirs, chooseModel, startServer, stopServer, loadPredict, median, runBench } = require('./common');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    connections: { type: 'string', default: '1,8' },
    share: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});

/** A models dir with the model as v1 (stable) and an identical v2 (the shadow). */
function modelsDirOf(versionDir) {
  const dir = tempDir('mldeploy-bench-shadow-');
  const real = fs.realpathSync(versionDir);
  for (const name of ['v1_2026_01_01', 'v2_2026_01_01']) {
    fs.cpSync(real, path.join(dir, name), { recursive: true });
    const file = path.join(dir, name, 'metadata.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), version: name }));
  }
  fs.symlinkSync('v2_2026_01_01', path.join(dir, 'latest'));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify({ schema_version: 1, labels: { stable: 'v1_2026_01_01' } }));
  return dir;
}

async function requestBodies() {
  const { encodePng } = require(path.join(root, 'dist', 'preprocess'));
  const bodies = [];
  let seed = 4242;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 64; i++) {
    const rgb = new Uint8Array(32 * 32 * 3).map(() => Math.floor(random() * 256));
    bodies.push(JSON.stringify({ image_base64: (await encodePng(rgb)).toString('base64') }));
  }
  return bodies;
}

async function measure(modelsDir, bodies, connections, shadow) {
  const { child, url } = await startServer(modelsDir, '1', shadow ? ['--shadow', 'v2_2026_01_01', '--shadow-share', args.share] : []);
  try {
    await loadPredict(url, bodies, connections, Number(args.warmup));
    const result = await loadPredict(url, bodies, connections, Number(args.duration));
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${failed} requests failed`);
    const section = (await (await fetch(`${url}/monitoring`)).json()).shadow;
    log(`connections ${connections}, shadow ${shadow ? 'on' : 'off'}: ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms` + (section ? `, shadow compared ${section.compared}, skipped ${section.skipped}` : ''));
    return { reqPerS: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, compared: section?.compared, skipped: section?.skipped };
  } finally {
    await stopServer(child);
  }
}

async function main() {
  ensureBuilt();
  const modelsDir = modelsDirOf(chooseModel(args.model));
  const bodies = await requestBodies();
  const runs = [];
  try {
    for (const connections of args.connections.split(',').map(Number)) {
      for (let round = 0; round < Number(args.rounds); round++) {
        for (const shadow of round % 2 ? [true, false] : [false, true]) runs.push({ connections, shadow, ...(await measure(modelsDir, bodies, connections, shadow)) });
      }
    }
  } finally {
    removeTempDirs();
  }
  log(`\nmedians over ${args.rounds} rounds, ${args.duration} s each, --shadow-share ${args.share}:`);
  log('| connections | shadow | req/s | p50 ms | p99 ms | shadow compared / skipped images |');
  log('| ---: | --- | ---: | ---: | ---: | --- |');
  const lines = [];
  for (const connections of args.connections.split(',').map(Number)) {
    for (const shadow of [false, true]) {
      const r = runs.filter((x) => x.connections === connections && x.shadow === shadow);
      const s = { reqPerS: median(r.map((x) => x.reqPerS)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)) };
      const counts = shadow ? `${median(r.map((x) => x.compared))} / ${median(r.map((x) => x.skipped))}` : '-';
      log(`| ${connections} | ${shadow ? 'on' : 'off'} | ${Math.round(s.reqPerS)} | ${s.p50} | ${s.p99} | ${counts} |`);
      lines.push(`connections=${connections} shadow=${shadow ? 'on' : 'off'} req_per_s=${Math.round(s.reqPerS)} p50_ms=${s.p50} p99_ms=${s.p99}`);
    }
  }
  for (const line of lines) log(line);
}

runBench(main);
