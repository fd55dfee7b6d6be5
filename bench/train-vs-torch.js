#!/usr/bin/env node
'use strict';
/**
 * node bench/train-vs-torch.js --python <venv>/bin/python [--backends node,wasm] [--rounds 5] [--steps 80] [--threads 2]
 *   [--torch='--adam fused' --torch='--adam for-loop' ...]  (the = is needed: the value starts with a dash)
 *
 * bench:train (each backend) and the PyTorch anchor (bench/torch_train.py, same SimpleCNN, batch,
 * optimizer and data path; each --torch gives one configuration of it, default its defaults) run
 * in turn, the order alternating every round, so a machine that other work slows down slows all
 * alike. Prints every run, then per engine the median img/s, the median CPU ms per image (all
 * threads), and the median over rounds of its ratio to the round's fastest PyTorch run.
 * PyTorch is not a dependency of mldeploy: install it in a venv (`pip install torch`).
 */
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, median } = require('./common');

const { values: args } = parseArgs({
  options: {
    torch: { type: 'string', multiple: true, default: [''] },
    python: { type: 'string' },
    backends: { type: 'string', default: 'node' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '80' },
    threads: { type: 'string', default: '2' },
  },
});
if (!args.python) {
  console.error('train-vs-torch: --python <interpreter with torch> is required');
  process.exit(2);
}

/** One run's figures from its output (the img/s line is the last line of both scripts). */
function run(command, commandArgs) {
  const child = spawnSync(command, commandArgs, { cwd: root, encoding: 'utf8' });
  const imgPerS = /train_img_per_s=(\d+)/.exec(child.stdout ?? '');
  if (child.status !== 0 || !imgPerS) {
    throw new Error(`${path.basename(command)} ${commandArgs.join(' ')} failed (${child.status ?? child.signal}): ${(child.stderr ?? '').trim().split('\n').pop()}`);
  }
  const cpu = /cpu: ([\d.]+) ms per image/.exec(child.stdout);
  return { imgPerS: Number(imgPerS[1]), cpuMsPerImage: cpu ? Number(cpu[1]) : NaN, line: child.stdout.trim().split('\n').pop() };
}

ensureBuilt();
const engines = [
  ...args.backends.split(',').map((backend) => ({ name: backend, run: () => run(process.execPath, ['bench/train.js', '--backend', backend, '--steps', args.steps]) })),
  ...args.torch.map((extra) => ({
    name: `torch${extra ? ` ${extra}` : ''}`,
    torch: true,
    run: () => run(args.python, ['bench/torch_train.py', '--threads', args.threads, '--steps', args.steps, ...extra.split(' ').filter(Boolean)]),
  })),
];
const results = new Map(engines.map((e) => [e.name, []]));
for (let round = 1; round <= Number(args.rounds); round++) {
  const order = round % 2 ? engines : [...engines].reverse();
  log(`round ${round}: load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const engine of order) {
    const figures = engine.run();
    results.get(engine.name).push(figures);
    log(`  ${engine.name}: ${figures.line} cpu_ms_per_img=${figures.cpuMsPerImage}`);
  }
}
const torchRuns = engines.filter((e) => e.torch).map((e) => results.get(e.name));
const fastestTorch = (round) => Math.max(...torchRuns.map((runs) => runs[round].imgPerS));
for (const engine of engines) {
  const runs = results.get(engine.name);
  const ratio = engine.torch ? '' : ` ratio_to_fastest_torch=${median(runs.map((r, i) => r.imgPerS / fastestTorch(i))).toFixed(2)}`;
  log(`${engine.name}: median_img_per_s=${median(runs.map((r) => r.imgPerS)).toFixed(0)} median_cpu_ms_per_img=${median(runs.map((r) => r.cpuMsPerImage)).toFixed(2)}${ratio}`);
}
