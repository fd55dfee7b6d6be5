/** The micro-batching predictor and the rotating prediction log, without HTTP. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../src/errors';
import { PIXELS_PER_IMAGE } from '../src/preprocess';
import { RotatingFileSink } from '../src/serve/prediction-file';
import { PredictionRecord, readPredictionLog } from '../src/monitor/prediction-record';
import { formatRecord } from '../src/serve/prediction-log';
import { BatchingPredictor } from '../src/serve/predictor';
import { ModelRepository, ServedModel } from '../src/serve/repository';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

describe('BatchingPredictor', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-units-'));
  const repository = new ModelRepository(path.join(workDir, 'models'));
  const images = syntheticImages(10, 21);
  const image = (i: number) => images.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);

  beforeAll(async () => {
    await createModelFixture(path.join(workDir, 'models'), { seed: 5 });
    await repository.load();
  });

  afterAll(() => {
    repository.dispose();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('puts images that arrive together into bounded batches, each answered with its own row', async () => {
    const batches: number[] = [];
    const predictor = new BatchingPredictor({ maxBatchSize: 4, maxWaitMs: 5 }, (size) => batches.push(size));
    const model = repository.current;
    const alone = await Promise.all(Array.from({ length: 10 }, (_, i) => new BatchingPredictor({ maxBatchSize: 1, maxWaitMs: 0 }).predict(image(i), model)));
    const together = await Promise.all(Array.from({ length: 10 }, (_, i) => predictor.predict(image(i), model)));
    expect(batches).toEqual([4, 4, 2]);
    together.forEach((p, i) => {
      expect(p.classIndex).toBe(alone[i].classIndex);
      Array.from(p.probabilities).forEach((v, c) => expect(v).toBeCloseTo(alone[i].probabilities[c], 5));
      expect(p.confidence).toBe(p.probabilities[p.classIndex]);
    });
  });

  it('waits at most maxWaitMs for company, then runs a partial batch', async () => {
    const batches: number[] = [];
    const predictor = new BatchingPredictor({ maxBatchSize: 32, maxWaitMs: 1 }, (size) => batches.push(size));
    const model = repository.current;
    await predictor.predict(image(0), model);
    await Promise.all([predictor.predict(image(1), model), predictor.predict(image(2), model)]);
    expect(batches).toEqual([1, 2]);
    await predictor.idle();
    expect(predictor.pending).toBe(0);
  });

  it('refuses an image that is not 32x32x3 bytes', async () => {
    const predictor = new BatchingPredictor();
    await expect(predictor.predict(new Uint8Array(10), repository.current)).rejects.toThrow(/expected 3072 pixel bytes/);
  });

  it('rejects every image of a failing batch and keeps working afterwards', async () => {
    const failing = { predict: () => Promise.reject(new Error('engine failure')), acquire: () => () => {} } as unknown as ServedModel;
    const predictor = new BatchingPredictor({ maxBatchSize: 8, maxWaitMs: 1 });
    const results = await Promise.allSettled([predictor.predict(image(0), failing), predictor.predict(image(1), failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(predictor.predict(image(0), repository.current)).resolves.toHaveProperty('classIndex');
  });

  it('batches only images for the same version, in arrival order', async () => {
    const batches: Array<[number, string]> = [];
    const predictor = new BatchingPredictor({ maxBatchSize: 8, maxWaitMs: 5 }, (size, model) => batches.push([size, model.version]));
    const model = repository.current;
    const other = Object.create(model, { version: { value: 'other' } }) as ServedModel;
    const answers = await Promise.all([0, 1, 2, 3].map((i) => predictor.predict(image(i), i % 2 === 0 ? model : other)));
    expect(batches).toEqual([
      [2, model.version],
      [2, 'other'],
    ]);
    expect(answers.map((a) => a.model.version)).toEqual([model.version, 'other', model.version, 'other']);
  });
});

describe('ModelRepository reload failures', () => {
  it('a refresh that is still loading when the server stops keeps nothing it loaded', async () => {
    const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-stop-'));
    await createModelFixture(modelsDir, { seed: 7 });
    const before = tf.memory().numTensors;
    const repository = new ModelRepository(modelsDir);
    await repository.load();
    await createModelFixture(modelsDir, { seed: 8 });
    const refresh = repository.reload();
    repository.dispose();
    await expect(refresh).rejects.toThrow(/stopped during a refresh/);
    expect(tf.memory().numTensors).toBe(before);
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('leak no tensors, whatever part of the new version is broken', async () => {
    const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-leak-'));
    const good = await createModelFixture(modelsDir, { seed: 6 });
    const repository = new ModelRepository(path.join(modelsDir, 'latest'));
    await repository.load();
    const breakages: Array<[string, (dir: string) => void]> = [
      ['a short weights.bin', (dir) => fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(100))],
      ['NaN weights', (dir) => fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(fs.statSync(path.join(dir, 'weights.bin')).size, 0xff))],
      ['a truncated model.json', (dir) => fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ')],
    ];
    for (const [i, [what, breakIt]] of breakages.entries()) {
      const broken = path.join(modelsDir, `v${90 + i}_2020_01_01`);
      fs.cpSync(good, broken, { recursive: true });
      breakIt(broken);
      fs.rmSync(path.join(modelsDir, 'latest'));
      fs.symlinkSync(path.basename(broken), path.join(modelsDir, 'latest'));
      const before = tf.memory().numTensors;
      await expect(repository.reload()).rejects.toThrow(ModelError);
      expect({ what, tensors: tf.memory().numTensors }).toEqual({ what, tensors: before });
    }
    expect(repository.current.dir).toBe(good);
    expect(repository.versions().map((v) => v.model.dir)).toEqual([good]);
    repository.dispose();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });
});

describe('RotatingFileSink', () => {
  const record: Omit<PredictionRecord, 'schema_version'> = {
    timestamp: '2025-01-01T00:00:00.000Z',
    model_version: 'v1_2025_01_01',
    predicted_class: 'cat',
    confidence: 0.5,
    latency_ms: 3.2,
    input_sha256: 'a'.repeat(64),
    route: 'predict',
  };

  it('appends whole lines and rotates by size, keeping the configured number of files', async () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-log-'));
    const line = formatRecord({ ...record, latency_ms: 0 }); // the length of each line below
    const sink = new RotatingFileSink(logDir, { maxBytes: line.length * 3, keepFiles: 2 });
    for (let i = 0; i < 10; i++) sink.append(formatRecord({ ...record, latency_ms: i }));
    await sink.close();
    await new Promise((resolve) => setTimeout(resolve, 20)); // rotated streams finish closing
    const read = (name: string) => readPredictionLog(path.join(logDir, name)).map((r) => r.latency_ms);
    expect(fs.readdirSync(logDir).sort()).toEqual(['predictions.jsonl', 'predictions.jsonl.1', 'predictions.jsonl.2']);
    expect(read('predictions.jsonl')).toEqual([9]);
    expect(read('predictions.jsonl.1')).toEqual([6, 7, 8]);
    expect(read('predictions.jsonl.2')).toEqual([3, 4, 5]);
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('writes lines the reader validates, and the reader names the first bad line', () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-log-'));
    const file = path.join(logDir, 'predictions.jsonl');
    fs.writeFileSync(file, formatRecord(record) + formatRecord({ ...record, route: 'predict-file' }));
    expect(readPredictionLog(file)).toEqual([
      { schema_version: 1, ...record },
      { schema_version: 1, ...record, route: 'predict-file' },
    ]);
    const bad = (line: string) => {
      fs.writeFileSync(file, formatRecord(record) + line + '\n');
      return () => readPredictionLog(file);
    };
    expect(bad('{"truncated": ')).toThrow(`${file} line 2 is not JSON`);
    expect(bad(formatRecord({ ...record, confidence: 1.5 }).trim())).toThrow(`${file} line 2 is invalid at "confidence"`);
    expect(bad(JSON.stringify({ ...record, schema_version: 3 }))).toThrow(/line 2 is invalid at "schema_version"/);
    expect(bad(JSON.stringify({ ...record, schema_version: 2 }))).toThrow(/line 2 is invalid at "probabilities"/); // 2 needs the monitor's fields
    expect(bad(JSON.stringify(record))).toThrow(/line 2 is invalid at "schema_version"/);
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('continues an existing file (size counted) instead of truncating it', async () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-log-'));
    fs.writeFileSync(path.join(logDir, 'predictions.jsonl'), formatRecord(record));
    const sink = new RotatingFileSink(logDir);
    sink.append(formatRecord(record));
    await sink.close();
    expect(fs.readFileSync(path.join(logDir, 'predictions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    fs.rmSync(logDir, { recursive: true, force: true });
  });
});
