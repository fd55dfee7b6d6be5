/**
 * Conv2DBackpropInput (dX of a conv2d). The stock wasm kernel is a naive loop; this one is
 * conv2d of dY (dilated by the stride and padded) with the filter flipped in space and its
 * in/out channels swapped, stride 1, on XNNPACK. For stride 1 and ordinary padding dY is used
 * in place with explicit pads.
 */
import * as tf from '@tensorflow/tfjs';
import { convInfo } from './conv-info';
import { f32, stock, wasmKernel, type TensorInfo, type WasmKernelFunc } from './wasm-heap';

type ExplicitPadding = tf.backend_util.ExplicitPadding;

const conv2dBackpropInput: WasmKernelFunc<tf.Conv2DBackpropInputInputs, tf.Conv2DBackpropInputAttrs> = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
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
  let pad: ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
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
        const row = oh * sh + top;
        if (row < 0 || row >= ph) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const column = ow * sw + left;
          if (column < 0 || column >= pw) continue;
          const s = ((n * outHeight + oh) * outWidth + ow) * outChannels;
          dst.set(src.subarray(s, s + outChannels), ((n * ph + row) * pw + column) * outChannels);
        }
      }
    }
    pad = [[0, 0], [0, 0], [0, 0], [0, 0]];
  }
  const out = stock<tf.Conv2DInputs, tf.Conv2DAttrs>(tf.Conv2D, {
    inputs: { x: source, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  });
  backend.disposeData(flipped.dataId);
  if (ownsSource) backend.disposeData(source.dataId);
  return out;
};

export const conv2dBackpropInputKernel = wasmKernel(tf.Conv2DBackpropInput, conv2dBackpropInput);
