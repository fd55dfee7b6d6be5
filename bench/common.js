'use strict';
/** Shared by the bench:* scripts: build check, temp dirs, the model to load, starting `mldeploy serve`. */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { writeCifar10Fixture } = require('../scripts/cifar10-fixture');

const root = path.resolve(__dirname, '..');

function log(message) {
  process.stdout.write(`${message}\n`);
}

/** The benches run the compiled code in dist/; build it when it is missing. */
function ensureBuilt() {
  if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) {
    log('building dist/ (npm run build)...');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
}

/** Temp dirs this run created, removed by removeTempDirs() at the end. */
const tempDirs = [];

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function removeTempDirs() {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * --model if given, else saved_models/latest if it exists, else a SimpleCNN trained for one epoch
 * on a small synthetic set by the built `mldeploy train` (same architecture as a real model, so
 * the same cost per image).
 */
function chooseModel(modelArg) {
  if (modelArg) return modelArg;
  const latest = path.join(root, 'saved_models', 'latest');
  if (fs.existsSync(path.join(latest, 'model.json'))) return latest;
  const modelsDir = tempDir('mldeploy-bench-model-');
  log(`no saved_models/latest: training a throwaway SimpleCNN (1 epoch, synthetic images) into ${modelsDir}`);
  const data = writeCifar10Fixture(tempDir('mldeploy-bench-data-'), 60, 100);
  const trainArgs = ['bin/mldeploy', 'train', '--data', data, '--epochs', '1', '--models-dir', modelsDir];
  trainArgs.push('--plots-dir', tempDir('mldeploy-bench-plots-'), '--data-dir', tempDir('mldeploy-bench-cache-'));
  execFileSync(process.execPath, trainArgs, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return path.join(modelsDir, 'latest');
}

/** Starts the built `mldeploy serve` on a free port (plus `extraArgs`); resolves once it prints its ready line. */
function startServer(modelPath, workers, extraArgs = []) {
  const cliArgs = ['bin/mldeploy', 'serve', '--model', modelPath, '--port', '0', '--log-dir', tempDir('mldeploy-bench-logs-'), ...extraArgs];
  if (workers) cliArgs.push('--workers', workers);
  const child = spawn(process.execPath, cliArgs, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match && output.endsWith('\n')) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        log(output.trim());
        resolve({ child, url: match[1] });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mldeploy serve exited with code ${code} before it was ready`)));
  });
}

async function stopServer(child) {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** autocannon POSTing JSON `bodies` (in turn) to `<url>/predict` over `connections` for `duration` s. */
function loadPredict(url, bodies, connections, duration) {
  const autocannon = require('autocannon');
  let next = 0;
  return autocannon({
    url: `${url}/predict`,
    connections,
    duration,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
}

/** The median of the defined values (undefined for none). */
function median(values) {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** CPU seconds used so far by process `pid` and its children, e.g. cluster workers (Linux /proc; throws elsewhere). */
function processTreeCpuSeconds(pid) {
  const ticks = (p) => {
    const fields = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return [pid, ...children].reduce((sum, p) => sum + ticks(p), 0) / 100;
}

/** Runs a bench's main(); a failure prints one line and exits 1. */
function runBench(main) {
  main().catch((err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  });
}

module.exports = { root, log, ensureBuilt, tempDir, removeTempDirs, chooseModel, startServer, stopServer, loadPredict, median, processTreeCpuSeconds, runBench };
