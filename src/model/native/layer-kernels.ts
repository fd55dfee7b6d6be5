/**
 * Conv2D and Dense layers (with bias, ReLU or linear) as single tfjs kernels on tfjs-node, with
 * gradients made of TensorFlow's own gradient ops: ReluGrad and BiasAddGrad instead of tfjs's
 * step-based ReLU gradient and bias Sum, and only the input gradients the tape asks for.
 * The maths is the layer's: the same forward values, and the same gradients up to float rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerOverride } from '../training-step';
import { NativeOps, type Conv2DGeometry } from './tf-ops';

const CONV_KERNEL = 'MldeployNativeConv2D';
const DENSE_KERNEL = 'MldeployNativeDense';
const BACKEND = 'tensorflow';

interface LayerAttrs {
  relu: boolean;
  strides?: [number, number];
  padding?: Conv2DGeometry['padding'];
}

function attrsOf(attrs: tf.NamedAttrMap): LayerAttrs {
  return attrs as unknown as LayerAttrs;
}

function geometry(attrs: LayerAttrs): Conv2DGeometry {
  return { strides: attrs.strides!, padding: attrs.padding! };
}

/** Kernels and gradients run on the active backend, the one they were registered for. */
function native(): NativeOps {
  return new NativeOps(tf.backend());
}

/** Registers the two kernels and their gradients once per process (tfjs keeps them globally). */
export function registerNativeLayerKernels(): void {
  if (tf.getKernel(CONV_KERNEL, BACKEND)) return;
  tf.registerKernel({
    kernelName: CONV_KERNEL,
    backendName: BACKEND,
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrsOf(attrs!);
      return tf.tidy(() => {
        const linear = native().biasAdd(native().conv2d(inputs.x as tf.Tensor, inputs.filter as tf.Tensor, geometry(a)), inputs.bias as tf.Tensor);
        return a.relu ? native().relu(linear) : linear;
      });
    },
  });
  tf.registerGradient({
    kernelName: CONV_KERNEL,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, [x, filter, y], attrs) => {
      const a = attrsOf(attrs);
      const g = a.relu ? native().reluGrad(dy as tf.Tensor, y) : (dy as tf.Tensor);
      return {
        x: () => native().conv2dInputGradient(x.shape, filter, g, geometry(a)),
        filter: () => native().conv2dFilterGradient(x, filter.shape, g, geometry(a)),
        bias: () => native().biasAddGrad(g),
      };
    },
  });
  tf.registerKernel({
    kernelName: DENSE_KERNEL,
    backendName: BACKEND,
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const linear = native().biasAdd(native().matMul(inputs.x as tf.Tensor, inputs.kernel as tf.Tensor, false, false), inputs.bias as tf.Tensor);
        return attrsOf(attrs!).relu ? native().relu(linear) : linear;
      }),
  });
  tf.registerGradient({
    kernelName: DENSE_KERNEL,
    inputsToSave: ['x', 'kernel'],
    outputsToSave: [true],
    gradFunc: (dy, [x, kernel, y], attrs) => {
      const g = attrsOf(attrs).relu ? native().reluGrad(dy as tf.Tensor, y) : (dy as tf.Tensor);
      return {
        x: () => native().matMul(g, kernel, false, true),
        kernel: () => native().matMul(x, g, true, false),
        bias: () => native().biasAddGrad(g),
      };
    },
  });
}

interface LayerConfig {
  activation: string;
  useBias: boolean;
  strides?: number[];
  padding?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
}

const ACTIVATIONS = new Set(['relu', 'linear', 'softmax']);

/**
 * The layer's training-mode output through the native kernels, or undefined for a layer they do
 * not cover (which then runs as itself). Softmax stays tfjs's, on the native linear output.
 */
export const nativeLayer: LayerOverride = (layer, x) => {
  const kind = layer.getClassName();
  if (kind !== 'Conv2D' && kind !== 'Dense') return undefined;
  const config = layer.getConfig() as unknown as LayerConfig;
  if (!config.useBias || !ACTIVATIONS.has(config.activation)) return undefined;
  const [kernel, bias] = layer.trainableWeights.map((w) => w.read());
  const attrs: LayerAttrs = { relu: config.activation === 'relu' };
  let output: tf.Tensor;
  if (kind === 'Conv2D') {
    const dilation = [config.dilationRate ?? 1].flat();
    const padding = { same: 'SAME', valid: 'VALID' }[config.padding ?? ''] as Conv2DGeometry['padding'] | undefined;
    if (!padding || config.dataFormat !== 'channelsLast' || dilation.some((d) => d !== 1) || x.rank !== 4) return undefined;
    attrs.strides = [config.strides![0], config.strides![1]];
    attrs.padding = padding;
    output = tf.engine().runKernel(CONV_KERNEL, { x, filter: kernel, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  } else {
    if (x.rank !== 2) return undefined;
    output = tf.engine().runKernel(DENSE_KERNEL, { x, kernel, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return config.activation === 'softmax' ? tf.softmax(output) : output;
};
