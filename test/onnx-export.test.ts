/**
 * mldeploy export: the ONNX file runs in ONNX Runtime with the tfjs model's outputs; the quantized
 * tfjs exports load in plain tfjs with the accuracy metadata.json records; unsupported layers are
 * refused by name; a failed export leaves the version directory as it was.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelVersion, saveModelVersion, WEIGHTS_FILE } from '../src/model/artifacts';
import { runExport } from '../src/model/export/export-run';
import { parseMetadata } from '../src/model/metadata';
import { convertToOnnx, UnsupportedLayerError } from '../src/model/onnx/convert';
import { OnnxClassifier } from '../src/model/onnx/runtime';
import { toInputTensor } from '../src/preprocess';
import { writeCifar10Binary, writeClassFolders, type BinaryFixture } from './helpers/cifar-fixtures';
import { runCli } from './helpers/cli-run';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';
import { draftOf, sharpenedModelVersion } from './helpers/onnx-fixtures';

const TEST_IMAGES = 300;

let work: string;
let data: BinaryFixture;

function tfjsProbabilities(model: tf.LayersModel, pixels: Uint8Array, count: number): Float32Array {
  return tf.tidy(() => (model.predict(toInputTensor(pixels, count)) as tf.Tensor).dataSync() as Float32Array);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Top-1 accuracy computed here, independently of src/model/export. */
function accuracy(model: tf.LayersModel, pixels: Uint8Array, labels: Uint8Array): number {
  const predicted = tf.tidy(() => (model.predict(toInputTensor(pixels, labels.length)) as tf.Tensor).argMax(1).dataSync());
  return labels.filter((label, i) => predicted[i] === label).length / labels.length;
}

/** Loads a model.json + weights the way any tfjs user would (fromMemory dequantizes). */
async function loadWithPlainTfjs(modelFile: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelFile, 'utf8')) as tf.io.ModelJSON;
  const weights = readFileSync(path.join(path.dirname(modelFile), json.weightsManifest[0].paths[0]));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}

function readRawMetadata(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-onnx-'));
  data = writeCifar10Binary(path.join(work, 'cifar'), 4, TEST_IMAGES);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ONNX conversion', () => {
  it('gives the tfjs probabilities within 1e-4 in ONNX Runtime, for CIFAR-like and gradient images', async () => {
    const dir = await sharpenedModelVersion(path.join(work, 'models-convert'));
    const { model } = await loadModelVersion(dir);
    const file = path.join(work, 'convert.onnx');
    writeFileSync(file, convertToOnnx(model));
    const classifier = await OnnxClassifier.open(file);
    const images = [
      { pixels: data.test.pixels.subarray(0, 64 * 3072), count: 64 },
      { pixels: syntheticImages(17, 5), count: 17 },
      { pixels: syntheticImages(1, 6), count: 1 },
    ];
    for (const { pixels, count } of images) {
      const expected = tfjsProbabilities(model, pixels, count);
      const actual = await classifier.predict(pixels, count);
      expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
      // The outputs are not near-uniform, so the bound means something.
      expect(Math.max(...expected)).toBeGreaterThan(0.5);
    }
    await classifier.dispose();
    model.dispose();
  });

  it('refuses layers it has no mapping for, naming each one', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, activation: 'elu', name: 'odd_conv' }),
        tf.layers.batchNormalization({ name: 'norm' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    expect(() => convertToOnnx(model)).toThrow(UnsupportedLayerError);
    expect(() => convertToOnnx(model)).toThrow('unsupported layers odd_conv (Conv2D, activation elu), norm (BatchNormalization)');
    model.dispose();
  });
});

describe('runExport', () => {
  let dir: string;
  let model: tf.LayersModel;
  beforeAll(async () => {
    dir = await sharpenedModelVersion(path.join(work, 'models-export'));
    model = (await loadModelVersion(dir)).model;
  });
  afterAll(() => model.dispose());

  it('writes model.onnx and records figures that match ONNX Runtime on the same test images', async () => {
    const result = await runExport({ modelPath: dir, format: 'onnx', data: data.root, dataDir: path.join(work, 'cache'), limit: 200 });
    const record = result.record;
    expect(record.files).toEqual(['model.onnx']);
    expect(record.bytes).toBe(statSync(path.join(dir, 'model.onnx')).size);
    expect(record.test_count).toBe(200);
    expect(record.agreement).toBe(1);
    expect(record.max_abs_diff).toBeLessThan(1e-4);
    expect(record.test_accuracy).toBe(record.float32_test_accuracy);
    expect(record.float32_test_accuracy).toBeCloseTo(accuracy(model, data.test.pixels.subarray(0, 200 * 3072), data.test.labels.subarray(0, 200)), 10);
    expect(record.runtime).toMatch(/^onnxruntime-node \d/);
    // metadata.json still validates, and kept everything it had.
    const raw = readRawMetadata(dir);
    expect(parseMetadata(raw).exports?.onnx).toEqual(record);
    expect(raw.reference).toBeDefined();
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it.each([
    ['tfjs-float16', 2, 'model-float16.json', 'weights-float16.bin'],
    ['tfjs-uint8', 4, 'model-uint8.json', 'weights-uint8.bin'],
  ] as const)('%s loads in plain tfjs with the accuracy metadata records, at 1/%i of the weights', async (format, ratio, modelFile, weightsFile) => {
    const result = await runExport({ modelPath: dir, format, data: data.root, dataDir: path.join(work, 'cache') });
    const record = result.record;
    expect(record.files).toEqual([modelFile, weightsFile]);
    expect(statSync(path.join(dir, weightsFile)).size).toBe(statSync(path.join(dir, WEIGHTS_FILE)).size / ratio);

    const quantized = await loadWithPlainTfjs(path.join(dir, modelFile));
    const { pixels, labels } = data.test;
    expect(record.test_count).toBe(TEST_IMAGES);
    expect(record.test_accuracy).toBeCloseTo(accuracy(quantized, pixels, labels), 10);
    expect(record.float32_test_accuracy).toBeCloseTo(accuracy(model, pixels, labels), 10);
    expect(record.max_abs_diff).toBeCloseTo(maxAbsDiff(tfjsProbabilities(quantized, pixels, TEST_IMAGES), tfjsProbabilities(model, pixels, TEST_IMAGES)), 6);
    expect(record.max_abs_diff).toBeGreaterThan(0); // quantization did change the weights

    // Each weight is within half a quantization step of the original.
    quantized.getWeights().forEach((weight, i) => {
      const original = model.getWeights()[i];
      const spec = (JSON.parse(readFileSync(path.join(dir, modelFile), 'utf8')) as tf.io.ModelJSON).weightsManifest[0].weights[i];
      const error = tf.tidy(() => tf.abs(tf.sub(weight, original)).max().dataSync()[0]);
      const bound = spec.quantization?.dtype === 'uint8' ? spec.quantization.scale! / 2 + 1e-7 : tf.tidy(() => tf.abs(original).max().dataSync()[0]) * 2 ** -11;
      expect(error).toBeLessThanOrEqual(bound);
    });
    quantized.dispose();
    expect(Object.keys(parseMetadata(readRawMetadata(dir)).exports ?? {})).toContain(format);
  });
});

describe('mldeploy export (CLI)', () => {
  it('exports a version by name from --models-dir and prints the measured figures', async () => {
    const modelsDir = path.join(work, 'models-cli');
    const dir = await createModelFixture(modelsDir, { seed: 3 });
    const result = await runCli('export', path.basename(dir), '--models-dir', modelsDir, '--format', 'onnx', '--data', data.root, '--data-dir', path.join(work, 'cache'), '--limit', '50');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`exported ${path.basename(dir)} as onnx: ${path.join(dir, 'model.onnx')}`);
    expect(result.stdout).toMatch(/test accuracy \d+\.\d\d% \(float32 \d+\.\d\d%, \+0\.00 points\) on 50 images/);
    expect(result.stdout).toContain('agreement with float32 100.00%');
  });

  it('exits 1 naming the unsupported layers, and writes nothing', async () => {
    const modelsDir = path.join(work, 'models-unsupported');
    const fixture = await loadModelVersion(await createModelFixture(path.join(work, 'models-unsupported-src'), { seed: 4 }));
    fixture.model.dispose();
    const model = tf.sequential({
      layers: [
        tf.layers.layerNormalization({ inputShape: [32, 32, 3], name: 'ln' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const saved = await saveModelVersion(model, draftOf(fixture.metadata), modelsDir);
    const before = readFileSync(path.join(saved.dir, 'metadata.json'), 'utf8');
    const files = readdirSync(saved.dir).sort();

    const result = await runCli('export', saved.dir, '--format', 'onnx', '--data', data.root, '--data-dir', path.join(work, 'cache'), '--limit', '10');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: cannot export to ONNX: unsupported layer ln (LayerNormalization)\n');
    expect(readdirSync(saved.dir).sort()).toEqual(files);
    expect(readFileSync(path.join(saved.dir, 'metadata.json'), 'utf8')).toBe(before);
    expect(existsSync(path.join(saved.dir, 'model.onnx'))).toBe(false);
  });

  it('refuses test data whose classes are not the model\'s (exit 1)', async () => {
    const modelsDir = path.join(work, 'models-classes');
    const dir = await createModelFixture(modelsDir, { seed: 6 });
    writeClassFolders(path.join(work, 'other-classes'), ['cats', 'dogs'], 2, 2);
    const result = await runCli('export', dir, '--format', 'tfjs-uint8', '--data', path.join(work, 'other-classes', 'dataset'), '--data-dir', path.join(work, 'cache'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: the test data's classes (cats, dogs) are not the model's (airplane, automobile,");
    expect(existsSync(path.join(dir, 'model-uint8.json'))).toBe(false);
  });

  it('drift --model --backend onnx reaches the in-process server (a version without an export is refused)', async () => {
    const dir = await createModelFixture(path.join(work, 'models-drift'), { seed: 8 });
    const result = await runCli('drift', '--model', dir, '--backend', 'onnx', '--scenarios', 'clean', '--samples', '5', '--data', data.root, '--data-dir', path.join(work, 'cache'), '--out', path.join(work, 'drift-out'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--backend onnx: ${dir} has no ONNX export`);
  });

  it('requires --format (usage error, exit 2)', async () => {
    const result = await runCli('export');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--format <format>' not specified");
  });
});
