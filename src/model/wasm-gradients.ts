/**
 * Training kernels for the wasm backend, built only from its fast XNNPACK paths: one file per
 * kernel in ./kernels, registered from the one list below.
 *
 * Stock tfjs-backend-wasm has no Conv2DBackpropFilter (tfjs issue #8474), and its MatMul with
 * transposeA/transposeB and its Conv2DBackpropInput run a naive loop at 0.6-2.5 GFLOP/s, while
 * plain Conv2D and MatMul run on XNNPACK at ~20 GFLOP/s. tfjs-core's registered gradients
 * (Conv2D, MatMul, fused ops) call exactly these kernels, so ours rearrange data in JS
 * (linear-time copies on the wasm heap) and leave every multiply-add to XNNPACK. The gradient
 * formulas themselves stay tfjs-core's, so the cpu backend computes the same values
 * (test/wasm-gradients.test.ts checks each against it).
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulKernel } from './kernels/batch-mat-mul';
import { conv2dBackpropFilterKernel } from './kernels/conv2d-backprop-filter';
import { conv2dBackpropInputKernel } from './kernels/conv2d-backprop-input';
import { maxPoolGradKernel } from './kernels/max-pool-grad';
import { sumKernel } from './kernels/sum';
import { captureStockKernels } from './kernels/wasm-heap';

const TRAINING_KERNELS = [batchMatMulKernel, conv2dBackpropInputKernel, conv2dBackpropFilterKernel, maxPoolGradKernel, sumKernel];

/** Stock kernels ours fall back to (BatchMatMul, Sum) or build on (Conv2D). */
const STOCK_KERNELS_USED = [tf.BatchMatMul, tf.Conv2D, tf.Sum];

let registered = false;

/** Registers the kernels once; must run before tf.setBackend('wasm') so setup functions run. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  captureStockKernels(STOCK_KERNELS_USED);
  for (const { kernelName, kernelFunc } of TRAINING_KERNELS) {
    const stockConfig = tf.getKernel(kernelName, 'wasm');
    if (stockConfig) tf.unregisterKernel(kernelName, 'wasm');
    // The stock setup function stays: it binds the wasm functions the stock kernel calls when ours falls back to it.
    tf.registerKernel({ ...stockConfig, kernelName, backendName: 'wasm', kernelFunc });
  }
  registered = true;
}
