/**
 * Training kernels for the wasm backend, built only from its fast XNNPACK paths.
 *
 * Stock tfjs-backend-wasm has no Conv2DBackpropFilter (tfjs issue #8474), and its MatMul with
 * transposeA/transposeB and its Conv2DBackpropInput run a naive loop at 0.6-2.5 GFLOP/s, while
 * plain Conv2D and MatMul run on XNNPACK at ~20 GFLOP/s. tfjs-core's registered gradients
 * (Conv2D, MatMul, fused ops) call exactly these three kernels, so we register wasm kernels for
 * them that rearrange data in JS (linear-time copies on the wasm heap) and leave every
 * multiply-add to XNNPACK:
 *  - BatchMatMul with a transposed operand: explicit transpose of the cheaper side + plain matmul;
 *  - Conv2DBackpropInput: conv2d of the (stride-dilated, padded) output gradient with the
 *    spatially flipped, in/out-swapped filter;
 *  - Conv2DBackpropFilter: im2col of the input (written transposed) times the output gradient;
 *  - Sum over leading axes (every bias gradient): the stock kernel transposes the whole
 *    gradient first; ours adds rows in one pass.
 *  - MaxPoolGrad: tfjs 4.22's wasm kernel starts its running max at FLT_MIN (the smallest
 *    positive float), so a window of negative values sends its gradient to the wrong pixel.
 *    Ours routes each output's gradient to the first maximum of its window, like the cpu backend.
 * The gradient formulas themselves stay tfjs-core's, so the cpu backend computes the same values.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: object }) => TensorInfo;

let registered = false;
let plainMatMul: KernelFunc;
let plainConv2d: KernelFunc;
let plainSum: KernelFunc;

/** Registers the kernels once; must run before tf.setBackend('wasm') so setup functions run. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const matMulConfig = tf.getKernel(tf.BatchMatMul, 'wasm');
  const convConfig = tf.getKernel(tf.Conv2D, 'wasm');
  if (!matMulConfig || !convConfig) throw new Error('the wasm backend kernels are not registered');
  plainMatMul = matMulConfig.kernelFunc as unknown as KernelFunc;
  plainConv2d = convConfig.kernelFunc as unknown as KernelFunc;

  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel({ ...matMulConfig, kernelFunc: batchMatMul as unknown as tf.KernelFunc });
  if (tf.getKernel(tf.Conv2DBackpropInput, 'wasm')) tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
  });
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')) tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  });
  if (tf.getKernel(tf.MaxPoolGrad, 'wasm')) tf.unregisterKernel(tf.MaxPoolGrad, 'wasm');
  tf.registerKernel({ kernelName: tf.MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as tf.KernelFunc });
  const sumConfig = tf.getKernel(tf.Sum, 'wasm');
  if (sumConfig) {
    plainSum = sumConfig.kernelFunc as unknown as KernelFunc;
    tf.unregisterKernel(tf.Sum, 'wasm');
    tf.registerKernel({ ...sumConfig, kernelFunc: sum as unknown as tf.KernelFunc });
  }
  registered = true;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  // A fresh view every time: any allocation may grow (and so detach) the wasm heap.
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** rows x cols matrix -> its transpose, as a new wasm tensor of shape [1, cols, rows]. */
function transposed(backend: BackendWasm, m: TensorInfo, rows: number, cols: number): TensorInfo {
  const out = backend.makeOutput([1, cols, rows], 'float32');
  const src = f32(backend, m);
  const dst = f32(backend, out);
  // Blocked so both sides stay in cache.
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[rowBase + c];
      }
    }
  }
  return out;
}

let scratchBuffer = new Float32Array(0);

/**
 * A reused JS-side buffer of at least n floats (contents undefined). Each training step would
 * otherwise allocate megabytes of large-object space here, and V8 answers with full GCs.
 */
function scratch(n: number): Float32Array {
  if (scratchBuffer.length < n) scratchBuffer = new Float32Array(n);
  return scratchBuffer;
}

function matMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return plainMatMul({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}

function as3d(info: TensorInfo, rows: number, cols: number): TensorInfo {
  return { dataId: info.dataId, shape: [1, rows, cols], dtype: info.dtype };
}

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * C = op(A) op(B) with op = optional transpose, for unbatched float32 operands. Each case is
 * rewritten to plain products, transposing whichever side costs fewer element copies
 * (e.g. dX = dY W^T for a 4096x512 dense weight transposes dY and the result, not W).
 */
function batchMatMul(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if ((!transposeA && !transposeB) || batchA !== 1 || batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return plainMatMul(args as never);
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
    const ba = matMul(backend, as3d(b, bRows, bCols), as3d(a, aRows, aCols));
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
        result = matMul(backend, as3d(a, aRows, aCols), bt);
      } else {
        // A B^T = (B A^T)^T
        const at = transposed(backend, a, aRows, aCols);
        const bat = matMul(backend, as3d(b, bRows, bCols), at);
        temps.push(at, bat);
        result = transposed(backend, bat, n, m);
      }
    } else if (sizeA <= sizeB + sizeOut) {
      const at = transposed(backend, a, aRows, aCols);
      temps.push(at);
      result = matMul(backend, at, as3d(b, bRows, bCols));
    } else {
      // A^T B = (B^T A)^T
      const bt = transposed(backend, b, bRows, bCols);
      const bta = matMul(backend, bt, as3d(a, aRows, aCols));
      temps.push(bt, bta);
      result = transposed(backend, bta, n, m);
    }
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return { dataId: result.dataId, shape: outShape, dtype: 'float32' };
}

interface ConvBackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util_ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
type backend_util_ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

function convInfo(xShape: number[], filterShape: number[], attrs: ConvBackpropAttrs) {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error("the wasm backend's conv2d gradients support only channels-last (NHWC) data");
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * dX = conv2d(dY dilated by the stride and padded, W flipped in space with in/out channels
 * swapped), stride 1. For stride 1 and ordinary padding dY is used in place with explicit pads.
 */
function conv2dBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: ConvBackpropAttrs & { inputShape: number[] };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;

  const flipped = backend.makeOutput([fh, fw, outChannels, inChannels], 'float32');
  {
    const w = f32(backend, filter);
    const wf = f32(backend, flipped);
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const src = ((fh - 1 - i) * fw + (fw - 1 - j)) * inChannels * outChannels;
        const dst = (i * fw + j) * outChannels * inChannels;
        for (let c = 0; c < inChannels; c++) {
          for (let o = 0; o < outChannels; o++) wf[dst + o * inChannels + c] = w[src + c * outChannels + o];
        }
      }
    }
  }
  // Padding of the dilated dY so a stride-1 valid conv yields exactly inHeight x inWidth.
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const bottom = inHeight - (outHeight - 1) * sh - 1 + info.padInfo.top;
  const right = inWidth - (outWidth - 1) * sw - 1 + info.padInfo.left;

  let source = dy;
  let pad: backend_util_ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
  let ownsSource = false;
  if (sh !== 1 || sw !== 1 || Math.min(top, bottom, left, right) < 0) {
    const ph = inHeight + fh - 1;
    const pw = inWidth + fw - 1;
    source = backend.makeOutput([batchSize, ph, pw, outChannels], 'float32');
    ownsSource = true;
    const src = f32(backend, dy);
    const dst = f32(backend, source);
    dst.fill(0);
    for (let n = 0; n < batchSize; n++) {
      for (let oh = 0; oh < outHeight; oh++) {
        const ph_ = oh * sh + top;
        if (ph_ < 0 || ph_ >= ph) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const pw_ = ow * sw + left;
          if (pw_ < 0 || pw_ >= pw) continue;
          const s = ((n * outHeight + oh) * outWidth + ow) * outChannels;
          dst.set(src.subarray(s, s + outChannels), ((n * ph + ph_) * pw + pw_) * outChannels);
        }
      }
    }
    pad = [[0, 0], [0, 0], [0, 0], [0, 0]];
  }
  const out = plainConv2d({
    inputs: { x: source, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  });
  backend.disposeData(flipped.dataId);
  if (ownsSource) backend.disposeData(source.dataId);
  return out;
}

/**
 * dW[kh,kw,c,o] = sum over n,oh,ow of x[n, oh*s+kh-pt, ow*s+kw-pl, c] * dY[n,oh,ow,o]:
 * the im2col matrix of x, written directly in transposed [kh*kw*c, n*oh*ow] layout, times dY
 * viewed as [n*oh*ow, o] — one plain XNNPACK matmul.
 */
function conv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: ConvBackpropAttrs & { filterShape: number[] };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const rows = fh * fw * inChannels;
  const positions = batchSize * outHeight * outWidth;

  // x in [c][n][h][w] order first, so each im2col row is filled from contiguous runs.
  const planar = scratch(x.shape[0] * inHeight * inWidth * inChannels);
  {
    const src = f32(backend, x);
    const pixels = batchSize * inHeight * inWidth;
    for (let p = 0; p < pixels; p++) {
      const base = p * inChannels;
      for (let c = 0; c < inChannels; c++) planar[c * pixels + p] = src[base + c];
    }
  }
  const cols = backend.makeOutput([1, rows, positions], 'float32');
  const dst = f32(backend, cols);
  let d = 0;
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      // Output columns whose input column ow*sw+kw-pl falls inside the image.
      const owFirst = Math.min(outWidth, Math.max(0, Math.ceil((pl - kw) / sw)));
      const owEnd = Math.max(owFirst, Math.min(outWidth, Math.ceil((inWidth + pl - kw) / sw)));
      for (let c = 0; c < inChannels; c++) {
        for (let n = 0; n < batchSize; n++) {
          const imageBase = (c * batchSize + n) * inHeight;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * sh + kh - pt;
            if (ih < 0 || ih >= inHeight) {
              dst.fill(0, d, d + outWidth);
              d += outWidth;
              continue;
            }
            const rowBase = (imageBase + ih) * inWidth + kw - pl;
            for (let ow = 0; ow < owFirst; ow++) dst[d + ow] = 0;
            for (let ow = owFirst; ow < owEnd; ow++) dst[d + ow] = planar[rowBase + ow * sw];
            for (let ow = owEnd; ow < outWidth; ow++) dst[d + ow] = 0;
            d += outWidth;
          }
        }
      }
    }
  }
  const out = matMul(backend, cols, as3d(dy, positions, outChannels));
  backend.disposeData(cols.dataId);
  return { dataId: out.dataId, shape: attrs.filterShape, dtype: 'float32' };
}

interface PoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function maxPoolGrad(args: {
  inputs: { dy: TensorInfo; input: TensorInfo };
  backend: BackendWasm;
  attrs: PoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = backend.makeOutput(input.shape, 'float32');
  const x = f32(backend, input);
  const g = f32(backend, dy);
  const out = f32(backend, dx);
  out.fill(0);
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && pt === 0 && pl === 0 && 2 * outHeight <= inHeight && 2 * outWidth <= inWidth) {
    maxPoolGrad2x2(x, g, out, info);
    return dx;
  }
  // Per output pixel, all channels at once so every read is contiguous.
  const best = new Float32Array(channels);
  const bestAt = new Int32Array(channels);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = Math.max(0, oh * sh - pt);
      const h1 = Math.min(inHeight, oh * sh - pt + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = Math.max(0, ow * sw - pl);
        const w1 = Math.min(inWidth, ow * sw - pl + fw);
        if (h0 >= h1 || w0 >= w1) continue;
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const base = ((n * inHeight + h) * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c];
              // Strict > keeps the first maximum, as the cpu backend does.
              if (v > best[c] || bestAt[c] < 0) {
                best[c] = v;
                bestAt[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) out[bestAt[c]] += g[dyBase + c];
      }
    }
  }
  return dx;
}

/**
 * The common 2x2 stride-2 unpadded pool, unrolled: windows do not overlap, so each output's
 * gradient lands on one input. ~1.6x faster than the general loop.
 */
function maxPoolGrad2x2(x: Float32Array, g: Float32Array, out: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const rowStride = inWidth * channels;
  let d = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const base = ((n * inHeight + oh * 2) * inWidth + ow * 2) * channels;
        for (let c = 0; c < channels; c++, d++) {
          // Window order (top-left, top-right, bottom-left, bottom-right); strict > keeps the first maximum.
          const i0 = base + c;
          let at = i0;
          let best = x[i0];
          const i1 = i0 + channels;
          if (x[i1] > best) {
            best = x[i1];
            at = i1;
          }
          const i2 = i0 + rowStride;
          if (x[i2] > best) {
            best = x[i2];
            at = i2;
          }
          const i3 = i2 + channels;
          if (x[i3] > best) at = i3;
          out[at] = g[d];
        }
      }
    }
  }
}

/** Sum over the leading axes [0..k) of a float32 tensor as column sums; other cases go to the stock kernel. */
function sum(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: { axis: number | number[]; keepDims: boolean } }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((axis, i) => axis === i);
  if (!leading || x.dtype !== 'float32' || size(x.shape) === 0) return plainSum(args as never);
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
}
