/**
 * Conv2DBackpropFilter (dW of a conv2d), which stock tfjs wasm lacks (tfjs issue #8474):
 * dW[kh,kw,c,o] = sum over n,oh,ow of x[n, oh*s+kh-pt, ow*s+kw-pl, c] * dY[n,oh,ow,o]:
 * the im2col matrix of x, written directly in transposed [kh*kw*c, n*oh*ow] layout, times dY
 * viewed as [n*oh*ow, o] — one plain XNNPACK matmul.
 */
import * as tf from '@tensorflow/tfjs';
import { convInfo } from './conv-info';
import { as3d, f32, plainMatMul, scratch, wasmKernel, type TensorInfo, type WasmKernelFunc } from './wasm-heap';

const conv2dBackpropFilter: WasmKernelFunc<tf.Conv2DBackpropFilterInputs, tf.Conv2DBackpropFilterAttrs> = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
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
  const out = plainMatMul(backend, cols, as3d(dy, positions, outChannels));
  backend.disposeData(cols.dataId);
  return { dataId: out.dataId, shape: attrs.filterShape, dtype: 'float32' };
};

export const conv2dBackpropFilterKernel = wasmKernel(tf.Conv2DBackpropFilter, conv2dBackpropFilter);
