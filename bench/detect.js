'use strict';
/**
 * npm run bench:detect — how well the shift detectors and the label-free accuracy estimators
 * work, measured with a trained model predicting in-process.
 *
 * The reference is the model's stored calibration profile (metadata.json `calibration`); every
 * sample is drawn from the test images the calibration did not use. For each shift (the
 * Failing Loudly shifts and the 45 CIFAR-10-C scenarios) a pool of images is shifted and
 * predicted once; samples of 50..1000 are then drawn from it (seeded) and tested.
 * Prints (1) detection rate per shift x sample size for the default detector, plain BBSD and the
 * `psi>0.2` rule, with the false-alarm rate on clean resamples, and (2) estimated vs actual
 * accuracy per CIFAR-10-C scenario for each estimator, with the mean absolute error.
 *
 * Options: --model DIR (default saved_models/latest; a calibrated, schema-2 model), --data (as train's:
 * default $MLDEPLOY_CIFAR10, else the official archive), --data-dir (default data),
 * --pool N (images shifted per scenario, default 2000), --resamples N (per shift and size,
 * default 20), --clean-resamples N (default 300: the false-alarm rate's standard error is then 1.3 points), --sizes 50,100,..., --seed N, --alpha A,
 * --shifts a,b (only these), --json FILE (every figure), --cache DIR (keep each shifted pool's
 * predicted signals there and reuse them in later runs with the same model, pool and seed: the
 * shifting and predicting is most of a run, and the detectors do not change it).
 */
require('tsx/cjs');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { log, runBench } = require('./common');
const { initEngine } = require('../src/model/engine.ts');
const { loadModelVersion } = require('../src/model/artifacts.ts');
const { missingProfileParts } = require('../src/model/metadata.ts');
const { predictSet, probabilityRow } = require('../src/model/evaluate.ts');
const { splitTestSet } = require('../src/model/calibration-record.ts');
const { loadCifar10 } = require('../src/data/cifar10.ts');
const { pickImages, sampleImages, shuffledOrder } = require('../src/data/sample.ts');
const { applyShift, CIFAR10C_SHIFTS, SHIFT_NAMES } = require('../src/data/corruptions/index.ts');
const { batchImageStats, IMAGE_SIGNALS } = require('../src/preprocess/image-stats.ts');
const { decideShift, detectShift } = require('../src/drift/detect/shift.ts');
const { nullCalibration, summarizeCalibration } = require('../src/drift/detect/null-calibration.ts');
const { prepareReference } = require('../src/drift/detect/reference.ts');
const { estimateAccuracy, ESTIMATORS, DEFAULT_ESTIMATOR } = require('../src/drift/estimate/estimators.ts');
const { psiCategorical, psiContinuous, PSI_THRESHOLDS } = require('../src/drift/stats.ts');
const { argmax } = require('../src/model/calibration.ts');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'saved_models/latest' },
    data: { type: 'string' },
    'data-dir': { type: 'string', default: 'data' },
    pool: { type: 'string', default: '2000' },
    resamples: { type: 'string', default: '20' },
    'clean-resamples': { type: 'string', default: '300' },
    sizes: { type: 'string', default: '50,100,200,500,1000' },
    seed: { type: 'string', default: '1' },
    alpha: { type: 'string', default: '0.05' },
    shifts: { type: 'string' },
    json: { type: 'string' },
    cache: { type: 'string' },
  },
});
const poolSize = Number(args.pool);
const resamples = Number(args.resamples);
const cleanResamples = Number(args['clean-resamples']);
const sizes = args.sizes.split(',').map(Number);
const seed = Number(args.seed);
const alpha = Number(args.alpha);
const detectionShifts = args.shifts ? args.shifts.split(',') : SHIFT_NAMES;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

/** Per-image signals of a predicted set, in the shape detectShift takes, plus labels. */
function signalsOf(set, predictions) {
  const probabilities = Array.from({ length: set.count }, (_, i) => probabilityRow(predictions, i));
  return { probabilities, inputs: batchImageStats(set.pixels, set.count), labels: set.labels };
}

/**
 * `compute()`'s signals, or with --cache the copy an earlier run saved under `key` (JSON keeps
 * every float exactly, so the figures are the same either way).
 */
async function cachedSignals(key, compute) {
  if (!args.cache) return compute();
  const file = path.join(args.cache, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const signals = await compute();
  const plain = { probabilities: signals.probabilities.map((row) => Array.from(row)), inputs: Object.fromEntries(Object.entries(signals.inputs).map(([k, v]) => [k, Array.from(v)])), labels: Array.from(signals.labels) };
  fs.mkdirSync(args.cache, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(plain));
  return plain;
}

function subsample(signals, indices) {
  const inputs = Object.fromEntries(IMAGE_SIGNALS.map((s) => [s, indices.map((i) => signals.inputs[s][i])]));
  return { probabilities: indices.map((i) => signals.probabilities[i]), inputs, labels: indices.map((i) => signals.labels[i]) };
}

/** The `psi` rule metric: the largest PSI over confidence, predicted class and every input signal. */
function psiMax(reference, current) {
  const confidence = (rows) => Array.from(rows, (row) => argmax(row).value);
  const classCounts = (rows) => {
    const counts = new Array(rows[0].length).fill(0);
    for (const row of rows) counts[argmax(row).index] += 1;
    return counts;
  };
  let largest = Math.max(
    psiContinuous(confidence(reference.probabilities), confidence(current.probabilities)),
    psiCategorical(classCounts(reference.probabilities), classCounts(current.probabilities)),
  );
  for (const signal of IMAGE_SIGNALS) largest = Math.max(largest, psiContinuous(reference.inputs[signal], current.inputs[signal]));
  return largest;
}

function accuracyOf(signals) {
  let correct = 0;
  signals.probabilities.forEach((row, i) => (correct += argmax(row).index === signals.labels[i] ? 1 : 0));
  return correct / signals.probabilities.length;
}

/**
 * Detection rates of the three rules over seeded samples of each size drawn from `signals`.
 * `reference` null: each sample gets a fresh reference of `freshReferenceSize` other images from
 * `signals` (the false-alarm rate of the procedure, not of one fixed reference draw).
 */
function detectionRates(reference, signals, count, streamSeed, freshReferenceSize = 0) {
  const rates = {};
  for (const size of sizes) {
    if (size + freshReferenceSize > signals.probabilities.length) continue;
    const hits = { default: 0, bbsd: 0, psi: 0 };
    for (let r = 0; r < count; r++) {
      const order = shuffledOrder(signals.probabilities.length, streamSeed * 7919 + size * 104729 + r);
      const indices = Array.from(order.subarray(0, size));
      const current = subsample(signals, indices);
      const against = reference ?? subsample(signals, Array.from(order.subarray(size, size + freshReferenceSize)));
      const detection = detectShift(against, current, { alpha });
      if (detection.detected) hits.default += 1;
      if (decideShift(detection.tests, size, against.probabilities.length, { alpha, detector: 'bbsd' }).detected) hits.bbsd += 1;
      if (psiMax(against, current) > PSI_THRESHOLDS.significant) hits.psi += 1;
    }
    rates[size] = { default: hits.default / count, bbsd: hits.bbsd / count, psi: hits.psi / count };
  }
  return rates;
}

function pct(value) {
  return `${(100 * value).toFixed(0)}%`.padStart(5);
}

async function main() {
  await initEngine('auto');
  const { model, metadata } = await loadModelVersion(args.model);
  const missing = missingProfileParts(metadata);
  if (missing.length > 0) throw new Error(`${args.model} lacks ${missing.join('; ')}`);
  const { calibration } = metadata;
  const dataset = await loadCifar10({ source: args.data, dataDir: args['data-dir'] });
  const evaluationPool =
    calibration.source === 'test-half' ? pickImages(dataset.test, splitTestSet(dataset.test.count, calibration.split_seed).reported) : dataset.test;
  log(`model ${metadata.version} (test accuracy ${pct(metadata.test_accuracy).trim()}), temperature ${calibration.temperature.toFixed(3)}, ECE ${(100 * calibration.ece_before).toFixed(1)}% -> ${(100 * calibration.ece_after).toFixed(1)}% on ${calibration.images} held-out images (${calibration.source})`);
  log(`reference: ${calibration.reference.probabilities.length} stored calibration images; samples from ${evaluationPool.count} other test images; alpha ${alpha}`);

  const reference = { probabilities: calibration.reference.probabilities, inputs: calibration.reference.input_signals };
  const cacheKey = (name) => JSON.stringify([path.resolve(args.model), metadata.version, metadata.created_at, name, poolSize, seed]);
  const cleanSignals = await cachedSignals(cacheKey('clean'), async () => signalsOf(evaluationPool, await predictSet(model, evaluationPool)));
  const allTestSignals = await cachedSignals(cacheKey('all-test'), async () => signalsOf(dataset.test, await predictSet(model, dataset.test)));
  const pool = sampleImages(evaluationPool, poolSize, seed);
  const results = {
    clean_fresh_reference: detectionRates(null, allTestSignals, cleanResamples, 0, reference.probabilities.length),
    clean: detectionRates(reference, cleanSignals, cleanResamples, 0),
    shifts: {},
    accuracy: {},
    calibration: Object.fromEntries(sizes.map((size) => [size, summarizeCalibration(nullCalibration(prepareReference(reference), size, IMAGE_SIGNALS), alpha)])),
  };
  log(`clean resamples predicted and tested (${elapsed()})`);

  const shiftNames = [...new Set([...detectionShifts, ...CIFAR10C_SHIFTS])];
  for (const [index, name] of shiftNames.entries()) {
    const signals = await cachedSignals(cacheKey(name), async () => {
      const shifted = await applyShift(name, pool, seed);
      return signalsOf(shifted, await predictSet(model, shifted));
    });
    if (detectionShifts.includes(name)) results.shifts[name] = detectionRates(reference, signals, resamples, index + 1);
    if (CIFAR10C_SHIFTS.includes(name)) {
      const estimate = estimateAccuracy(calibration, signals.probabilities);
      results.accuracy[name] = { actual: accuracyOf(signals), n: signals.labels.length, ...estimate };
    }
    if ((index + 1) % 10 === 0) log(`${index + 1}/${shiftNames.length} shifts (${elapsed()})`);
  }
  model.dispose();
  printDetection(results);
  printAccuracy(results);
  log(`done in ${elapsed()}`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ model: metadata.version, alpha, sizes, resamples, cleanResamples, poolSize, results }, null, 2));
}

function printDetection(results) {
  log(`\nnull calibration of the default detector on the stored reference (${Object.values(results.calibration)[0].simulations} splits per size):`);
  for (const [size, c] of Object.entries(results.calibration)) {
    log(`  n=${size}: plain BBSD rejects ${pct(c.bbsd_null_rate).trim()} of null splits (Bonferroni allows ${pct(alpha).trim()}); chi-square and input tests detect at p < ${c.other_threshold.toPrecision(3)}; default rejects ${(100 * c.null_rate).toFixed(1)}%`);
  }
  log(`\n(1) detection rate at alpha ${alpha}: default (BBSD + chi-square + input KS at the calibrated threshold) / plain BBSD / psi>0.2`);
  log(`${'shift'.padEnd(24)}${sizes.map((s) => `n=${s}`.padStart(20)).join('')}`);
  const row = (name, rates) => log(`${name.padEnd(24)}${sizes.map((s) => (rates[s] ? `${pct(rates[s].default)}${pct(rates[s].bbsd)}${pct(rates[s].psi)}` : '-').padStart(20)).join('')}`);
  row('clean, fresh reference', results.clean_fresh_reference);
  row('clean, stored reference', results.clean);
  for (const [name, rates] of Object.entries(results.shifts)) row(name, rates);
  const lessPowerful = [];
  let cells = 0;
  let morePowerful = 0;
  for (const [name, rates] of Object.entries(results.shifts)) {
    for (const s of sizes) {
      if (!rates[s]) continue;
      cells += 1;
      if (rates[s].default < rates[s].bbsd) lessPowerful.push(`${name} n=${s} (${pct(rates[s].default).trim()} < ${pct(rates[s].bbsd).trim()})`);
      if (rates[s].default > rates[s].bbsd) morePowerful += 1;
    }
  }
  for (const [label, rates] of [['a fresh reference each time', results.clean_fresh_reference], ['the stored reference', results.clean]]) {
    const measured = sizes.filter((s) => rates[s]);
    const worst = Math.max(...measured.map((s) => rates[s].default));
    const each = measured.map((s) => `n=${s} ${(100 * rates[s].default).toFixed(1)}% (BBSD ${(100 * rates[s].bbsd).toFixed(1)}%)`).join(', ');
    log(`false-alarm rate of the default detector with ${label} (${cleanResamples} clean samples per size): ${each}; largest ${(100 * worst).toFixed(1)}% (target <= ${pct(alpha + 0.02).trim()})`);
  }
  log(`default less powerful than plain BBSD: ${lessPowerful.length === 0 ? 'nowhere' : lessPowerful.join(', ')}; more powerful in ${morePowerful} of ${cells} shift x size cells`);
}

function printAccuracy(results) {
  log(`\n(2) estimated vs actual accuracy per CIFAR-10-C scenario (${poolSize} images each); default estimator: ${DEFAULT_ESTIMATOR}`);
  log(`${'scenario'.padEnd(20)}${'actual'.padStart(8)}${ESTIMATORS.map((e) => e.padStart(20)).join('')}`);
  const errors = Object.fromEntries(ESTIMATORS.map((e) => [e, []]));
  const covered = Object.fromEntries(ESTIMATORS.map((e) => [e, 0]));
  for (const [name, r] of Object.entries(results.accuracy)) {
    const cells = ESTIMATORS.map((e) => {
      const m = r.methods[e];
      errors[e].push(Math.abs(m.value - r.actual));
      if (r.actual >= m.ci_low && r.actual <= m.ci_high) covered[e] += 1;
      return `${(100 * m.value).toFixed(1)} [${(100 * m.ci_low).toFixed(0)},${(100 * m.ci_high).toFixed(0)}]`.padStart(20);
    });
    log(`${name.padEnd(20)}${(100 * r.actual).toFixed(1).padStart(8)}${cells.join('')}`);
  }
  const count = Object.keys(results.accuracy).length;
  log(`${'MAE (points)'.padEnd(28)}${ESTIMATORS.map((e) => (errors[e].reduce((a, b) => a + b, 0) / count * 100).toFixed(2).padStart(20)).join('')}`);
  log(`${'max error (points)'.padEnd(28)}${ESTIMATORS.map((e) => (Math.max(...errors[e]) * 100).toFixed(2).padStart(20)).join('')}`);
  log(`${'95% CI covers actual'.padEnd(28)}${ESTIMATORS.map((e) => `${covered[e]}/${count}`.padStart(20)).join('')}`);
}

runBench(main);
