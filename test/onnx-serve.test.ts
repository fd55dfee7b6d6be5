/**
 * Serving through ONNX Runtime: --backend onnx answers with the tfjs model's probabilities (one
 * image and micro-batched concurrent requests), reports engine onnx, and refuses a version without
 * an export; auto picks onnx only when the version has model.onnx.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { loadModelVersion } from '../src/model/artifacts';
import { initEngine } from '../src/model/engine';
import { convertToOnnx } from '../src/model/onnx/convert';
import { encodePng, toInputTensor } from '../src/preprocess';
import { startServer, type RunningServer } from '../src/serve';
import { ModelRepository } from '../src/serve/repository';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';
import { sharpenedModelVersion } from './helpers/onnx-fixtures';

const PIXELS = 32 * 32 * 3;
const IMAGES = 12;

let work: string;
let exportedDir: string;
let plainDir: string;
let expected: Float32Array;
let pixels: Uint8Array;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-onnx-serve-'));
  exportedDir = await sharpenedModelVersion(path.join(work, 'exported'));
  plainDir = await createModelFixture(path.join(work, 'plain'), { seed: 2 });
  const { model } = await loadModelVersion(exportedDir);
  writeFileSync(path.join(exportedDir, 'model.onnx'), convertToOnnx(model));
  pixels = syntheticImages(IMAGES, 21);
  expected = tf.tidy(() => (model.predict(toInputTensor(pixels, IMAGES)) as tf.Tensor).dataSync() as Float32Array);
  model.dispose();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mldeploy serve --backend onnx', () => {
  let server: RunningServer;
  let bodies: string[];
  beforeAll(async () => {
    server = await startServer({ modelPath: exportedDir, port: 0, logDir: path.join(work, 'logs'), logLevel: 'silent', backend: 'onnx' });
    const pngs = await Promise.all(Array.from({ length: IMAGES }, (_, i) => encodePng(pixels.subarray(i * PIXELS, (i + 1) * PIXELS))));
    bodies = pngs.map((png) => png.toString('base64'));
  });
  afterAll(() => server?.close());

  function expectMatches(probabilities: Record<string, number>, image: number): void {
    const values = Object.values(probabilities);
    values.forEach((p, c) => expect(Math.abs(p - expected[image * 10 + c])).toBeLessThan(1e-4));
  }

  it('reports engine onnx with the runtime version', async () => {
    expect(server.engine.backend).toBe('onnx');
    expect(server.engine.versions['onnxruntime-node']).toMatch(/^\d+\.\d+/);
    const info = await request(server.app).get('/model-info').expect(200);
    expect(info.body.engine).toBe('onnx');
  });

  it('answers one image with the tfjs probabilities', async () => {
    const res = await request(server.app).post('/predict').send({ image_base64: bodies[0] }).expect(200);
    expectMatches(res.body.all_probabilities, 0);
    // Far from uniform, so the 1e-4 bound means something.
    expect(Math.max(...expected)).toBeGreaterThan(0.5);
  });

  it('answers concurrent requests (micro-batched) with each image its own probabilities', async () => {
    const responses = await Promise.all(bodies.map((b) => request(server.app).post('/predict').send({ image_base64: b }).expect(200)));
    responses.forEach((res, i) => expectMatches(res.body.all_probabilities, i));
    const batch = await request(server.app).post('/predict/batch').send({ images: bodies }).expect(200);
    (batch.body.predictions as Array<{ all_probabilities: Record<string, number> }>).forEach((p, i) => expectMatches(p.all_probabilities, i));
  });

  it('refuses a version without an ONNX export, saying how to make one', async () => {
    await expect(startServer({ modelPath: plainDir, port: 0, logDir: path.join(work, 'logs-plain'), logLevel: 'silent', backend: 'onnx' })).rejects.toThrow(
      `--backend onnx: ${plainDir} has no ONNX export (run "mldeploy export --format onnx" first)`,
    );
  });
});

describe('serve --backend auto across a reload', () => {
  it('reports the engine of the version being served: onnx, then tfjs after reloading to a version without an export', async () => {
    const modelsDir = path.join(work, 'reloading');
    const first = await sharpenedModelVersion(modelsDir, 13);
    const { model } = await loadModelVersion(first);
    writeFileSync(path.join(first, 'model.onnx'), convertToOnnx(model));
    model.dispose();
    const server = await startServer({ modelPath: path.join(modelsDir, 'latest'), port: 0, logDir: path.join(work, 'logs-reload'), logLevel: 'silent' });
    try {
      expect((await request(server.app).get('/model-info').expect(200)).body.engine).toBe('onnx');
      await createModelFixture(modelsDir, { seed: 14 });
      expect((await server.reload()).changed).toBe(true);
      expect(['node', 'wasm', 'cpu']).toContain((await request(server.app).get('/model-info').expect(200)).body.engine);
      const png = await encodePng(pixels.subarray(0, PIXELS));
      await request(server.app).post('/predict').send({ image_base64: png.toString('base64') }).expect(200);
      expect(await server.metrics.registry.metrics()).toMatch(/engine="(node|wasm|cpu)"/);
    } finally {
      await server.close();
    }
  });
});

describe('ModelRepository backend choice', () => {
  beforeAll(() => initEngine('auto'));

  it('treats a broken model.onnx as no export under auto, and as an error under onnx', async () => {
    const brokenDir = await createModelFixture(path.join(work, 'broken'), { seed: 5 });
    writeFileSync(path.join(brokenDir, 'model.onnx'), 'not an onnx file');
    const auto = new ModelRepository(brokenDir, 'auto');
    expect((await auto.load()).engine).not.toBe('onnx');
    auto.dispose();
    await expect(new ModelRepository(brokenDir, 'onnx').load()).rejects.toThrow(`ONNX Runtime cannot load ${path.join(brokenDir, 'model.onnx')}`);
  });

  it.each([
    ['auto', 'exported', 'onnx'],
    ['auto', 'plain', 'tfjs'],
    ['cpu', 'exported', 'tfjs'],
  ] as const)('%s on the %s version serves with %s', async (choice, which, engine) => {
    const repository = new ModelRepository(which === 'exported' ? exportedDir : plainDir, choice);
    const served = await repository.load();
    if (engine === 'onnx') expect(served.engine).toBe('onnx');
    else expect(['node', 'wasm', 'cpu']).toContain(served.engine);
    repository.dispose();
  });
});
