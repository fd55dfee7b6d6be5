/**
 * Sum over the leading axes [0..k) of a float32 tensor (every bias gradient) as column sums in
 * one pass; the stock kernel transposes the whole gradient first. Other cases go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { f32, size, stock, wasmKernel, type TensorInfo, type WasmKernelFunc } from './wasm-heap';

const sum: WasmKernelFunc<tf.SumInputs, tf.SumAttrs> = (args) => {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((axis, i) => axis === i);
  if (!leading || x.dtype !== 'float32' || size(x.shape) === 0) return stock(tf.Sum, args);
  const keptShape = x.shape.slice(axes.length);
  const width = size(keptShape);
  const rows = size(x.shape) / width;
  const out = backend.makeOutput(attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : keptShape, 'float32');
  const src = f32(backend, x);
  // Double accumulators, like the cpu backend's JS sums.
  const acc = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let i = 0; i < width; i++) acc[i] += src[base + i];
  }
  f32(backend, out).set(acc);
  return out;
};

export const sumKernel = wasmKernel(tf.Sum, sum);
