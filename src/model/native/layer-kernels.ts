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
const POOL_KERNEL = 'MldeployNativeMaxPool';
const BACKEND = 'tensorflow';

interface LayerAttrs {
  relu: boolean;
  /** Max pooling: the window, also the stride. */
  k?: number;
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
    kernelName: POOL_KERNEL,
    backendName: BACKEND,
    kernelFunc: ({ inputs, attrs }) => native().maxPool(inputs.x as tf.Tensor, attrsOf(attrs!).k!),
  });
  tf.registerGradient({
    kernelName: POOL_KERNEL,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => ({ x: () => maxPoolGradient(native(), x, y, dy as tf.Tensor, attrsOf(attrs).k!) }),
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

/**
 * MaxPoolGrad's routing (each window's gradient to its first maximum, in row-major order) from
 * elementwise ops on the windows' k*k slots: TensorFlow's MaxPoolGrad recomputes the pooling in
 * scalar loops and cost more than the convolutions here.
 */
function maxPoolGradient(ops: NativeOps, x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, k: number): tf.Tensor {
  const slots = ops.splitLast(ops.spaceToDepth(x, k), k * k);
  const zeros = tf.zerosLike(dy);
  const parts: tf.Tensor[] = [];
  let rest = dy;
  for (const slot of slots.slice(0, -1)) {
    const isMax = ops.equal(slot, y);
    parts.push(ops.select(isMax, rest, zeros));
    rest = ops.select(isMax, zeros, rest);
  }
  parts.push(rest);
  return ops.depthToSpace(ops.concatLast(parts), k);
}

interface LayerConfig {
  activation: string;
  useBias: boolean;
  strides?: number[];
  padding?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
  poolSize?: number[];
}

const ACTIVATIONS = new Set(['relu', 'linear', 'softmax']);

/**
 * The layer's training-mode output through the native kernels, or undefined for a layer they do
 * not cover (which then runs as itself). Softmax stays tfjs's, on the native linear output.
 */
export const nativeLayer: LayerOverride = (layer, x) => {
  const kind = layer.getClassName();
  const config = layer.getConfig() as unknown as LayerConfig;
  if (kind === 'MaxPooling2D') return nativeMaxPool(config, x);
  if (kind !== 'Conv2D' && kind !== 'Dense') return undefined;
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

/** Square windows that tile the image exactly (stride = window, no padding), as SimpleCNN's. */
function nativeMaxPool(config: LayerConfig, x: tf.Tensor): tf.Tensor | undefined {
  const [k, kw] = config.poolSize!;
  const tiles = k === kw && config.strides!.every((s) => s === k) && config.padding === 'valid';
  if (!tiles || config.dataFormat !== 'channelsLast' || x.rank !== 4 || x.shape[1]! % k !== 0 || x.shape[2]! % k !== 0) return undefined;
  return tf.engine().runKernel(POOL_KERNEL, { x }, { k }) as tf.Tensor;
}
