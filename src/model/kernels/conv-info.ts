/** Output geometry of a 2-D convolution, for the conv gradient kernels (channels-last only). */
import * as tf from '@tensorflow/tfjs';

type ConvGradientAttrs = Pick<tf.Conv2DBackpropInputAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>;

export function convInfo(xShape: number[], filterShape: number[], attrs: ConvGradientAttrs): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error("the wasm backend's conv2d gradients support only channels-last (NHWC) data");
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
