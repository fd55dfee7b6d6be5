/** What every wasm training kernel shares: typed views of the wasm heap, shapes, the stock kernels. */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;

/** A kernel function with its op's own input and attribute types (tfjs-core's `*Inputs`/`*Attrs`). */
export type WasmKernelFunc<Inputs, Attrs> = (args: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }) => TensorInfo;

/** A wasm kernel to register over the stock one. */
export interface WasmKernel {
  kernelName: string;
  kernelFunc: tf.KernelFunc;
}

export function wasmKernel<Inputs, Attrs>(kernelName: string, kernelFunc: WasmKernelFunc<Inputs, Attrs>): WasmKernel {
  // tfjs types every kernel as taking a generic attribute map; each op's attributes are its own interface.
  return { kernelName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

const stockKernels = new Map<string, tf.KernelFunc>();

/** Keeps the stock wasm kernels ours fall back to or build on, before ours replace them. */
export function captureStockKernels(names: string[]): void {
  for (const name of names) {
    const config = tf.getKernel(name, 'wasm');
    if (!config) throw new Error(`the wasm backend has no ${name} kernel registered`);
    stockKernels.set(name, config.kernelFunc);
  }
}

/** Runs the stock wasm kernel `name` (captured by captureStockKernels). */
export function stock<Inputs, Attrs>(name: string, args: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const kernel = stockKernels.get(name);
  if (!kernel) throw new Error(`the stock wasm ${name} kernel was not captured`);
  return kernel(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

/** C = A B of two [1, rows, cols] float32 tensors on XNNPACK. */
export function plainMatMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return stock<tf.BatchMatMulInputs, tf.BatchMatMulAttrs>(tf.BatchMatMul, { inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  // A fresh view every time: any allocation may grow (and so detach) the wasm heap.
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** The same data seen as one [1, rows, cols] matrix. */
export function as3d(info: TensorInfo, rows: number, cols: number): TensorInfo {
  return { dataId: info.dataId, shape: [1, rows, cols], dtype: info.dtype };
}

let scratchBuffer = new Float32Array(0);

/**
 * A reused JS-side buffer of at least n floats (contents undefined). Each training step would
 * otherwise allocate megabytes of large-object space here, and V8 answers with full GCs.
 */
export function scratch(n: number): Float32Array {
  if (scratchBuffer.length < n) scratchBuffer = new Float32Array(n);
  return scratchBuffer;
}
