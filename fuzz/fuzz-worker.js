'use strict';
/**
 * The fuzzing loop (a worker thread of fuzz/run.js, which watches the clock): seeds, then
 * mutated corpus entries into the decode target; an input that reaches decoder code not
 * reached before (V8 block coverage, hit counts bucketed) joins the corpus. Before each input
 * its bytes go to the parent, so a decode that never returns can still be reported.
 */
const inspector = require('node:inspector');
const { parentPort, workerData } = require('node:worker_threads');
const { fuzz } = require('./decode-target');
const { createMutator } = require('./mutate');
const { seedCorpus } = require('./seeds');

/** The code coverage guides on: our header checks and the decoders jimp uses. */
const GUIDED = /[\\/](src[\\/]preprocess|jpeg-js|pngjs|utif2|omggif|bmp-ts|gifwrap|@jimp[\\/](js-[a-z]+|plugin-resize))[\\/]/;

// omggif reports short or long LZW data with console.log; one line per input would drown the report.
console.log = () => {};

const session = new inspector.Session();
session.connect();
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
const seen = new Set();

/** Ranges (with a log2 bucket of their hit count) not seen before, since the last call. */
async function newCoverage() {
  const { result } = await post('Profiler.takePreciseCoverage');
  let fresh = 0;
  for (const script of result) {
    if (!GUIDED.test(script.url)) continue;
    for (const fn of script.functions) {
      for (const range of fn.ranges) {
        if (range.count === 0) continue;
        const key = `${script.url}:${range.startOffset}:${range.endOffset}:${Math.min(8, Math.floor(Math.log2(range.count)))}`;
        if (!seen.has(key)) {
          seen.add(key);
          fresh++;
        }
      }
    }
  }
  return fresh;
}

async function main() {
  await post('Profiler.enable');
  await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const corpus = [];
  let execs = 0;
  const run = async (input) => {
    parentPort.postMessage({ type: 'start', input });
    try {
      await fuzz(input);
    } catch (err) {
      parentPort.postMessage({ type: 'crash', input, error: String((err && err.stack) || err) });
      return false;
    }
    execs++;
    return (await newCoverage()) > 0;
  };
  for (const seed of await seedCorpus()) {
    await run(seed);
    corpus.push(seed);
  }
  const seeds = corpus.length;
  const mutate = createMutator(workerData.seed);
  const end = Date.now() + workerData.seconds * 1000;
  while (Date.now() < end) {
    const input = mutate(corpus);
    if (await run(input)) corpus.push(input);
  }
  parentPort.postMessage({ type: 'done', execs, seeds, corpus: corpus.length, covered: seen.size });
}

main().catch((err) => parentPort.postMessage({ type: 'crash', input: Buffer.alloc(0), error: String(err.stack || err) }));
