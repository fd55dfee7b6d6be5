/**
 * The pieces of the exports on their own: every layer setting the ONNX mapping supports (strided
 * SAME convolutions, SAME pooling, each activation, a separate Activation layer, no bias) against
 * tfjs in ONNX Runtime; the uint8 affine range; the probability comparison.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../src/model/engine';
import { compareProbabilities } from '../src/model/export/compare';
import { affineRange } from '../src/model/export/quantize';
import { convertToOnnx } from '../src/model/onnx/convert';
import { OnnxClassifier } from '../src/model/onnx/runtime';
import { toInputTensor } from '../src/preprocess';
import { syntheticImages } from './helpers/model-fixture';

describe('ONNX mapping of layer settings', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-onnx-units-'));
  beforeAll(() => initEngine('auto'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('matches tfjs within 1e-4 for strided/odd-sized SAME and VALID convolutions and pools, each activation', async () => {
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    const model = tf.sequential({
      layers: [
        // 32 -> 16 (stride 2 SAME: the extra padding row goes at the end, as in TensorFlow)
        tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 6, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: init(1) }),
        // 16 -> 14 (VALID), no bias
        tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'valid', useBias: false, activation: 'sigmoid', kernelInitializer: init(2) }),
        // 14 -> 5 (SAME pooling, 3x3 window, stride 3)
        tf.layers.maxPooling2d({ poolSize: 3, strides: 3, padding: 'same' }),
        tf.layers.conv2d({ filters: 4, kernelSize: 2, dilationRate: 2, padding: 'same', kernelInitializer: init(3) }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, activation: 'linear', kernelInitializer: init(4) }),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 7, kernelInitializer: init(5) }),
        tf.layers.activation({ activation: 'softmax' }),
      ],
    });
    // Larger weights so the outputs are far from uniform.
    const last = model.layers[8];
    last.setWeights([tf.mul(last.getWeights()[0], 30), last.getWeights()[1]]);
    const file = path.join(work, 'settings.onnx');
    writeFileSync(file, convertToOnnx(model));
    const classifier = await OnnxClassifier.open(file);
    const pixels = syntheticImages(9, 8);
    const expected = tf.tidy(() => (model.predict(toInputTensor(pixels, 9)) as tf.Tensor).dataSync() as Float32Array);
    const actual = await classifier.predict(pixels, 9);
    expect(actual.length).toBe(9 * 7);
    let maxDiff = 0;
    actual.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - expected[i]))));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(Math.max(...expected)).toBeGreaterThan(0.5);
    await classifier.dispose();
    model.dispose();
  });
});

describe('affineRange (uint8 quantization, as tfjs-converter)', () => {
  it('nudges the range so that 0 is exactly representable', () => {
    const range = affineRange(-0.3, 0.7);
    expect(range.scale).toBeCloseTo(1 / 255, 12);
    const zeroLevel = -range.min / range.scale;
    expect(Math.abs(zeroLevel - Math.round(zeroLevel))).toBeLessThan(1e-9);
    expect(range.max - range.min).toBeCloseTo(1, 12);
  });

  it('keeps a range that does not contain 0, and a constant tensor', () => {
    expect(affineRange(0.2, 1.2)).toEqual({ scale: 1 / 255, min: 0.2, max: 1.2 });
    expect(affineRange(0.5, 0.5)).toEqual({ scale: 1, min: 0.5, max: 0.5 });
  });
});

describe('compareProbabilities', () => {
  it('counts accuracy of both, agreement and the largest difference', () => {
    const reference = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);
    const candidate = Float32Array.from([0.8, 0.2, 0.6, 0.4, 0.6, 0.4]);
    const labels = Uint8Array.from([0, 1, 1]);
    const result = compareProbabilities(candidate, reference, labels, 2);
    expect(result.referenceAccuracy).toBeCloseTo(2 / 3, 12);
    expect(result.accuracy).toBeCloseTo(1 / 3, 12);
    expect(result.agreement).toBeCloseTo(2 / 3, 12);
    expect(result.maxAbsDiff).toBeCloseTo(0.4, 6);
  });

  it('refuses arrays that do not fit the labels', () => {
    expect(() => compareProbabilities(new Float32Array(4), new Float32Array(4), new Uint8Array(3), 2)).toThrow('do not match 3 images x 2 classes');
  });
});
