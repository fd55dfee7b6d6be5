/**
 * The shared memory of data-parallel training on wasm and cpu. tfjs disables wasm threads in
 * Node, so each extra core gets a worker thread (worker-pool.ts) with its own engine and model
 * replica. The parameters live once, as a flat float32 vector in shared memory; so does each
 * participant's gradient (participant 0 is the main thread). Per step:
 *  1. every participant loads the current weights, computes the summed-loss gradients of its
 *     shard of the batch and writes them to its gradient vector;
 *  2. every participant applies Adam to its own slice of the parameters, adding the gradient
 *     vectors in participant order (so the result does not depend on timing), and rewrites its
 *     part of the transposed copies of large dense kernels.
 * The sum of shard gradients is the batch gradient, so the update is the single-worker update up
 * to float summation order.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { sliceBounds, type AdamSlice } from './adam-slice';

/** Shared buffers of a data-parallel run; structured-cloneable, so workers attach to the same memory. */
export interface SharedParametersLayout {
  /** Shape of each trainable weight, in model.trainableWeights order. */
  shapes: number[][];
  weights: SharedArrayBuffer;
  /** One gradient vector per participant. */
  gradients: SharedArrayBuffer[];
  /** Transposed copies of the large 2-D weights (dense kernels), kept current with the weights. */
  transposed: { variable: number; buffer: SharedArrayBuffer }[];
}

/**
 * 2-D weights of at least this many elements get a transposed copy. XNNPACK repacks a matmul's
 * right-hand operand whenever its tensor is new, as the weights are every step: for SimpleCNN's
 * 4096x512 dense kernel that took longer than the product itself. With W^T at hand, the forward
 * product is computed as (W^T x^T)^T, where only the small x^T is packed.
 */
const TRANSPOSED_MIN_SIZE = 65_536;

export class SharedParameters {
  readonly weights: Float32Array;
  readonly gradients: Float32Array[];
  private readonly weightViews: Float32Array[];
  private readonly gradientViews: Float32Array[][];
  private readonly offsets: number[];

  constructor(readonly layout: SharedParametersLayout) {
    const sizes = layout.shapes.map(sizeOf);
    this.offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    this.weights = new Float32Array(layout.weights);
    this.gradients = layout.gradients.map((buffer) => new Float32Array(buffer));
    this.weightViews = splitViews(layout.weights, sizes);
    this.gradientViews = layout.gradients.map((buffer) => splitViews(buffer, sizes));
  }

  /** Buffers for `participants` threads, the weights initialised from `variables`. */
  static fromVariables(variables: tf.Variable[], participants: number, transposedMinSize = TRANSPOSED_MIN_SIZE): SharedParameters {
    const shapes = variables.map((v) => v.shape);
    const total = variables.reduce((sum, v) => sum + v.size, 0);
    const params = new SharedParameters({
      shapes,
      weights: new SharedArrayBuffer(total * 4),
      gradients: Array.from({ length: participants }, () => new SharedArrayBuffer(total * 4)),
      transposed: variables
        .map((v, variable) => ({ v, variable }))
        .filter(({ v }) => v.rank === 2 && v.size >= transposedMinSize)
        .map(({ v, variable }) => ({ variable, buffer: new SharedArrayBuffer(v.size * 4) })),
    });
    variables.forEach((v, i) => params.weightViews[i].set(v.dataSync() as Float32Array));
    for (let p = 0; p < participants; p++) params.refreshTransposed(p);
    return params;
  }

  get participants(): number {
    return this.gradients.length;
  }

  /** The parameters [start, end) that `participant` updates. */
  slice(participant: number): [number, number] {
    return sliceBounds(this.weights.length, this.participants, participant);
  }

  /**
   * Copies the shared weights into fresh tensors for `variables`. Fresh, not written in place:
   * the wasm engine caches XNNPACK operators (with their packed weights) by tensor id.
   */
  loadInto(variables: tf.Variable[]): void {
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(this.weightViews[i], v.shape))));
  }

  /** Fresh tensors of the transposed copies, keyed by the variable they transpose (caller disposes). */
  loadTransposed(variables: tf.Variable[]): TransposedWeights {
    const loaded: TransposedWeights = new Map();
    for (const { variable, buffer } of this.layout.transposed) {
      const [rows, cols] = this.layout.shapes[variable];
      loaded.set(variables[variable], tf.tensor2d(new Float32Array(buffer), [cols, rows]));
    }
    return loaded;
  }

  /**
   * `participant`'s share of Adam step `step` (gradient = sum of all gradient vectors / divisor),
   * then its part of the transposed copies.
   */
  applyUpdate(participant: number, adam: AdamSlice, divisor: number, step: number): void {
    adam.apply(this.weights, this.gradients, divisor, step);
    this.refreshTransposed(participant);
  }

  /** Rewrites the transposed copies where they overlap `participant`'s slice. */
  private refreshTransposed(participant: number): void {
    const [start, end] = this.slice(participant);
    for (const { variable, buffer } of this.layout.transposed) {
      const [rows, cols] = this.layout.shapes[variable];
      const offset = this.offsets[variable];
      const from = Math.max(start, offset) - offset;
      const to = Math.min(end, offset + rows * cols) - offset;
      if (from < to) transposeRange(this.weightViews[variable], rows, cols, new Float32Array(buffer), from, to);
    }
  }

  /** Writes `participant`'s gradients (keyed by variable name) to its shared vector. */
  storeGradients(participant: number, variables: tf.Variable[], grads: tf.NamedTensorMap): void {
    const views = this.gradientViews[participant];
    variables.forEach((v, i) => views[i].set(tensorValues(grads[v.name])));
  }
}

/** Transposed copies of some weights, by the variable they transpose. */
export type TransposedWeights = Map<tf.Variable, tf.Tensor2D>;

/**
 * dst[c][r] = src[r][c] for the row-major positions r * cols + c in [from, to), in 64x64 blocks
 * (reads strided, writes contiguous) so both sides stay in cache.
 */
function transposeRange(src: Float32Array, rows: number, cols: number, dst: Float32Array, from: number, to: number): void {
  const block = 64;
  const firstRow = Math.floor(from / cols);
  const endRow = Math.floor((to - 1) / cols) + 1;
  for (let r0 = firstRow; r0 < endRow; r0 += block) {
    const r1 = Math.min(r0 + block, endRow);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols);
      for (let c = c0; c < c1; c++) {
        const column = c * rows;
        for (let r = r0; r < r1; r++) {
          const i = r * cols + c;
          if (i >= from && i < to) dst[column + r] = src[i];
        }
      }
    }
  }
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor's float32 values: a view of the wasm heap when possible (no copy), else dataSync's copy. */
function tensorValues(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as Partial<BackendWasm>;
  if (backend.typedArrayFromHeap) return backend.typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

function splitViews(buffer: SharedArrayBuffer, sizes: number[]): Float32Array[] {
  const views: Float32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    views.push(new Float32Array(buffer, offset * 4, size));
    offset += size;
  }
  return views;
}

