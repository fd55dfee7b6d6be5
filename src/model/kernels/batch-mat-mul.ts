/**
 * BatchMatMul with a transposed operand. The stock wasm kernel runs transposeA/transposeB as a
 * naive loop (0.6-2.5 GFLOP/s); plain products run on XNNPACK (~20 GFLOP/s). Each case is
 * rewritten to plain products, transposing whichever side costs fewer element copies
 * (e.g. dX = dY W^T for a 4096x512 dense weight transposes dY and the result, not W).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { transposeBlocked } from '../../util/transpose';
import { as3d, f32, plainMatMul, size, stock, wasmKernel, type TensorInfo, type WasmKernelFunc } from './wasm-heap';

/** rows x cols matrix -> its transpose, as a new wasm tensor of shape [1, cols, rows]. */
function transposed(backend: BackendWasm, m: TensorInfo, rows: number, cols: number): TensorInfo {
  const out = backend.makeOutput([1, cols, rows], 'float32');
  transposeBlocked(f32(backend, m), rows, cols, f32(backend, out));
  return out;
}

const batchMatMul: WasmKernelFunc<tf.BatchMatMulInputs, tf.BatchMatMulAttrs> = (args) => {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if ((!transposeA && !transposeB) || batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return stock(tf.BatchMatMul, args);
  }
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows;
  const n = transposeB ? bRows : bCols;
  const outShape = [...(a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2), m, n];
  const temps: TensorInfo[] = [];
  let result: TensorInfo;
  if (transposeA && transposeB) {
    // A^T B^T = (B A)^T
    const ba = plainMatMul(backend, as3d(b, bRows, bCols), as3d(a, aRows, aCols));
    temps.push(ba);
    result = transposed(backend, ba, n, m);
  } else {
    const sizeA = aRows * aCols;
    const sizeB = bRows * bCols;
    const sizeOut = m * n;
    if (transposeB) {
      if (sizeB <= sizeA + sizeOut) {
        const bt = transposed(backend, b, bRows, bCols);
        temps.push(bt);
        result = plainMatMul(backend, as3d(a, aRows, aCols), bt);
      } else {
        // A B^T = (B A^T)^T
        const at = transposed(backend, a, aRows, aCols);
        const bat = plainMatMul(backend, as3d(b, bRows, bCols), at);
        temps.push(at, bat);
        result = transposed(backend, bat, n, m);
      }
    } else if (sizeA <= sizeB + sizeOut) {
      const at = transposed(backend, a, aRows, aCols);
      temps.push(at);
      result = plainMatMul(backend, at, as3d(b, bRows, bCols));
    } else {
      // A^T B = (B^T A)^T
      const bt = transposed(backend, b, bRows, bCols);
      const bta = plainMatMul(backend, bt, as3d(a, aRows, aCols));
      temps.push(bt, bta);
      result = transposed(backend, bta, n, m);
    }
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return { dataId: result.dataId, shape: outShape, dtype: 'float32' };
};

export const batchMatMulKernel = wasmKernel(tf.BatchMatMul, batchMatMul);
