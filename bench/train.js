#!/usr/bin/env node
'use strict';
/**
 * npm run bench:train [-- --backend auto|node|wasm|cpu] [--workers <n>] [--steps 40] [--batch-size 64]
 *
 * Trains SimpleCNN (the compiled trainer in dist/, built here if missing) for a fixed number of
 * steps on synthetic 32x32 images and times the steps after a short warm-up. Figures do not depend
 * on the data, only on the network and batch size.
 * The last line printed is: train_img_per_s=<n> peak_rss_mb=<n> backend=<name>
 * (bench/train-vs-torch.js runs it alternately with bench/torch_train.py, the PyTorch anchor).
 */
const path = require('node:path');
const { parseArgs } = require('node:util');
const { root, log, ensureBuilt, runBench } = require('./common');
const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'auto' },
    workers: { type: 'string' },
    steps: { type: 'string', default: '40' },
    'batch-size': { type: 'string', default: '64' },
    warmup: { type: 'string', default: '3' },
  },
});

ensureBuilt();
const { trainClassifier } = require(path.join(root, 'dist', 'model', 'trainer.js'));
const { initEngine, describeEngine } = require(path.join(root, 'dist', 'model', 'engine.js'));

const steps = Number(args.steps);
const batchSize = Number(args['batch-size']);
const warmup = Number(args.warmup);

/** Seeded noise images with random labels: the cost of a step does not depend on content. */
function syntheticSet(count) {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
  const pixels = new Uint8Array(count * 3072);
  for (let i = 0; i < pixels.length; i++) pixels[i] = next();
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = next() % 10;
  return { pixels, labels, count };
}

async function main() {
  const engine = await initEngine(args.backend);
  log(describeEngine(engine));
  let timedFrom = 0;
  let cpuFrom = process.cpuUsage();
  let timedImages = 0;
  let stepStart = 0;
  const stepMs = [];
  const result = await trainClassifier({
    architecture: 'simple_cnn',
    numClasses: 10,
    train: syntheticSet(steps * batchSize),
    epochs: 1,
    batchSize,
    learningRate: 0.001,
    seed: 1,
    backend: engine.backend,
    workers: args.workers === undefined ? undefined : Number(args.workers),
    onBatch: (p) => {
      const now = performance.now();
      if (p.batch === warmup) {
        timedFrom = now;
        cpuFrom = process.cpuUsage();
      }
      if (p.batch > warmup) {
        timedImages += batchSize;
        stepMs.push(now - stepStart);
      }
      stepStart = now;
      if (p.batch % 10 === 0) log(`step ${p.batch}/${p.batches}: ${p.imagesPerSecond.toFixed(0)} img/s (running)`);
    },
  });
  const seconds = (performance.now() - timedFrom) / 1000;
  const cpu = process.cpuUsage(cpuFrom);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  log(`${steps - warmup} timed steps of batch ${batchSize} with ${result.workers} worker(s) in ${seconds.toFixed(2)} s`);
  // A long tail over the median means other load on the machine (or GC pauses), not the engine.
  const sorted = [...stepMs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  log(`step ms: min ${at(0)} median ${at(0.5)} p90 ${at(0.9)} max ${at(1)}`);
  // CPU time (every thread of the process) per image moves less than img/s when other work shares the cores.
  log(`cpu: ${((cpu.user + cpu.system) / 1000 / timedImages).toFixed(2)} ms per image`);
  log(`train_img_per_s=${(timedImages / seconds).toFixed(0)} peak_rss_mb=${peakRssMb.toFixed(0)} backend=${engine.backend}`);
  result.model.dispose();
}

runBench(main);
