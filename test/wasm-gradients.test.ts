/**
 * The wasm training kernels (src/model/wasm-gradients.ts) against the pure-JS cpu backend,
 * tfjs's reference: every gradient our models train through, relative error <= 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/model/engine';

type Op = (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

async function gradientsOn(backend: 'cpu' | 'wasm', op: Op, xShape: number[], wShape: number[]): Promise<Float32Array[]> {
  await initEngine(backend);
  return tf.tidy(() => {
    const x = tf.randomUniform(xShape, -1, 1, 'float32', 1);
    const w = tf.randomUniform(wShape, -1, 1, 'float32', 2);
    // A non-uniform upstream gradient (square) so every output position matters differently.
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a, b).square().sum())([x, w]);
  }).map((g) => {
    const data = g.dataSync() as Float32Array;
    g.dispose();
    return data;
  });
}

function relativeError(expected: Float32Array, actual: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return worst / scale;
}

const convCases: [number, number, 'same' | 'valid'][] = [
  [3, 1, 'same'],
  [3, 2, 'same'],
  [3, 1, 'valid'],
  [3, 2, 'valid'],
  [5, 1, 'same'],
  [5, 2, 'valid'],
  [1, 1, 'same'],
  [1, 2, 'valid'],
];

const cases: [string, Op, number[], number[]][] = [
  ...convCases.map(([k, s, p]): [string, Op, number[], number[]] => [
    `conv2d ${k}x${k} stride ${s} ${p}`,
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, p),
    [3, 11, 9, 4],
    [k, k, 4, 6],
  ]),
  [
    'conv2d 4x4 stride 3 same + bias (sum over leading axes)',
    (x, w) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 3, 'same'), tf.sum(w, [0, 1, 2])),
    [3, 11, 9, 4],
    [4, 4, 4, 6],
  ],
  ['dense (matMul)', (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), [7, 300], [300, 40]],
  ['matMul transposeA transposeB', (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, true, true), [20, 7], [5, 20]],
  ['maxPool 2x2 stride 2', (x, w) => tf.maxPool(tf.mul(x, w.sum()) as tf.Tensor4D, 2, 2, 'same'), [2, 8, 8, 3], [2]],
  ['maxPool 3x3 stride 2 valid', (x, w) => tf.maxPool(tf.mul(x, w.sum()) as tf.Tensor4D, 3, 2, 'valid'), [2, 7, 7, 3], [2]],
  ['maxPool 3x3 stride 1 same (overlapping windows)', (x, w) => tf.maxPool(tf.mul(x, w.sum()) as tf.Tensor4D, 3, 1, 'same'), [2, 6, 6, 3], [2]],
  [
    'dense + relu + softmax cross-entropy',
    (x, w) => tf.log(tf.clipByValue(tf.softmax(tf.relu(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D))), 1e-7, 1)),
    [7, 20],
    [20, 5],
  ],
];

describe('wasm gradients equal the cpu backend', () => {
  it.each(cases)('%s', async (_name, op, xShape, wShape) => {
    const expected = await gradientsOn('cpu', op, xShape, wShape);
    const actual = await gradientsOn('wasm', op, xShape, wShape);
    expected.forEach((g, i) => expect(relativeError(g, actual[i])).toBeLessThanOrEqual(1e-4));
  });

  it.each([
    ['2x2 stride 2', 2, 2, 'valid'],
    ['3x3 stride 2', 3, 2, 'same'],
  ] as const)('routes max-pool gradients of tied windows (ReLU zeros) to the first maximum: %s', async (_name, size, stride, pad) => {
    const routed = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await initEngine(backend);
      return tf.tidy(() => {
        // Few distinct values, so most windows hold ties.
        const input = tf.relu(tf.round(tf.randomUniform([2, 8, 8, 5], -2, 2, 'float32', 3))) as tf.Tensor4D;
        const output = tf.maxPool(input, size, stride, pad);
        const dy = tf.randomUniform(output.shape, 1, 2, 'float32', 4);
        const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, { filterSize: size, strides: stride, pad }) as tf.Tensor;
        return dx.dataSync() as Float32Array;
      });
    };
    // Overlapping windows add in a different order; a wrongly routed gradient would be off by ~1.
    expect(relativeError(await routed('cpu'), await routed('wasm'))).toBeLessThanOrEqual(1e-6);
  });

  it('gives the same losses over a few Adam steps of a small CNN', async () => {
    const lossesOn = async (backend: 'cpu' | 'wasm'): Promise<number[]> => {
      await initEngine(backend);
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init(2) }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(3) }),
        ],
      });
      const optimizer = tf.train.adam(0.01);
      const x = tf.randomUniform([6, 12, 12, 3], -1, 1, 'float32', 7);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32'), 4);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor), true) as tf.Scalar;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
      return losses;
    };
    const cpu = await lossesOn('cpu');
    const wasm = await lossesOn('wasm');
    expect(cpu[3]).toBeLessThan(cpu[0]);
    wasm.forEach((loss, i) => expect(Math.abs(loss - cpu[i]) / cpu[i]).toBeLessThanOrEqual(1e-4));
  });
});
