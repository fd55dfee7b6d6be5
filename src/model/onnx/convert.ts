/**
 * tfjs layers model -> ONNX graph, layer by layer, for the feed-forward image classifiers we train.
 * The ONNX model takes the same input as the tfjs one (normalised NHWC float32 [N, H, W, C]) and
 * computes in ONNX's NCHW: a Transpose after the input, convolution kernels reordered HWIO -> OIHW,
 * and a Transpose back to NHWC before Flatten so the dense kernels keep Keras's row order.
 * Dropout is an identity at inference and is left out.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../errors';
import { ATTRIBUTE_TYPE, encodeOnnxModel, OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, ONNX_FLOAT, valueInfo } from './onnx-proto';

export const ONNX_OPSET = 13;
const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'probabilities';

/** The model holds layers (or layer settings) with no ONNX mapping here; the message names each one. */
export class UnsupportedLayerError extends ModelError {
  constructor(readonly layers: string[]) {
    super(`cannot export to ONNX: unsupported ${layers.length === 1 ? 'layer' : 'layers'} ${layers.join(', ')}`);
  }
}

type Layout = 'nchw' | 'flat';

interface LayerConfig {
  activation?: string;
  useBias?: boolean;
  padding?: string;
  dataFormat?: string;
  kernelSize?: number[];
  poolSize?: number[];
  strides?: number[];
  dilationRate?: number | number[];
}

const ACTIVATION_OPS: Record<string, string | null> = { linear: null, relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };

/** Builds the graph step by step, tracking the current tensor's name, layout and shape. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  current: string;
  layout: Layout;
  /** Per-image shape of the current tensor in its current layout (no batch dimension). */
  shape: number[];

  constructor(inputShape: number[]) {
    this.current = ONNX_INPUT_NAME;
    this.layout = 'nchw';
    this.shape = inputShape;
    const [h, w, c] = inputShape;
    this.add('Transpose', 'input_to_nchw', [], [ints('perm', [0, 3, 1, 2])]);
    this.shape = [c, h, w];
  }

  /** Appends a node reading the current tensor (plus `extraInputs`) and makes its output current. */
  add(opType: string, name: string, extraInputs: string[], attribute: OnnxAttribute[] = []): void {
    const output = `${name}:0`;
    this.nodes.push({ op_type: opType, name, input: [this.current, ...extraInputs], output: [output], attribute });
    this.current = output;
  }

  weight(name: string, dims: number[], values: Float32Array): string {
    // ONNX raw_data is little-endian, as are the CPUs Node runs on.
    this.initializers.push({ name, dims, data_type: ONNX_FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  activation(layerName: string, activation: string | undefined): void {
    const op = ACTIVATION_OPS[activation ?? 'linear'];
    if (!op) return;
    const axis = op === 'Softmax' ? [int('axis', this.layout === 'nchw' ? 1 : -1)] : [];
    this.add(op, `${layerName}/${activation}`, [], axis);
  }
}

function int(name: string, value: number): OnnxAttribute {
  return { name, type: ATTRIBUTE_TYPE.INT, i: value };
}

function ints(name: string, values: number[]): OnnxAttribute {
  return { name, type: ATTRIBUTE_TYPE.INTS, ints: values };
}

/** Why a layer cannot be mapped, or null when it can. */
function unsupportedReason(layer: tf.layers.Layer): string | null {
  const className = layer.getClassName();
  const config = layer.getConfig() as LayerConfig;
  if (!['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dropout', 'Activation'].includes(className)) return `${layer.name} (${className})`;
  if (config.activation !== undefined && !(config.activation in ACTIVATION_OPS)) return `${layer.name} (${className}, activation ${config.activation})`;
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') return `${layer.name} (${className}, ${config.dataFormat})`;
  if (config.padding !== undefined && config.padding !== 'same' && config.padding !== 'valid') return `${layer.name} (${className}, padding ${config.padding})`;
  return null;
}

/** TensorFlow's SAME padding: the extra row/column (if any) goes at the end, as ONNX SAME_UPPER. */
function spatialPads(config: LayerConfig, kernel: number[], inputHW: number[]): number[] {
  if (config.padding !== 'same') return [0, 0, 0, 0];
  const strides = config.strides ?? [1, 1];
  const dilation = typeof config.dilationRate === 'number' ? [config.dilationRate, config.dilationRate] : (config.dilationRate ?? [1, 1]);
  const total = inputHW.map((size, i) => {
    const out = Math.ceil(size / strides[i]);
    return Math.max((out - 1) * strides[i] + (kernel[i] - 1) * dilation[i] + 1 - size, 0);
  });
  const begin = total.map((t) => Math.floor(t / 2));
  return [begin[0], begin[1], total[0] - begin[0], total[1] - begin[1]];
}

function outputSize(size: number, kernel: number, stride: number, pads: number): number {
  return Math.floor((size + pads - kernel) / stride) + 1;
}

/** HWIO (tfjs conv kernel) -> OIHW (ONNX Conv weight). */
function toOihw(kernel: tf.Tensor): { dims: number[]; values: Float32Array } {
  const oihw = tf.tidy(() => kernel.transpose([3, 2, 0, 1]));
  const values = oihw.dataSync() as Float32Array;
  const dims = oihw.shape;
  oihw.dispose();
  return { dims, values: Float32Array.from(values) };
}

function weightValues(tensor: tf.Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync() as Float32Array);
}

function addConv(graph: GraphBuilder, layer: tf.layers.Layer, config: LayerConfig): void {
  const [kernel, bias] = layer.getWeights();
  const kernelHW = config.kernelSize ?? kernel.shape.slice(0, 2);
  const strides = config.strides ?? [1, 1];
  const dilation = typeof config.dilationRate === 'number' ? [config.dilationRate, config.dilationRate] : (config.dilationRate ?? [1, 1]);
  const [, h, w] = graph.shape;
  const pads = spatialPads(config, kernelHW, [h, w]);
  const { dims, values } = toOihw(kernel);
  const inputs = [graph.weight(`${layer.name}/kernel`, dims, values)];
  if (config.useBias !== false && bias) inputs.push(graph.weight(`${layer.name}/bias`, bias.shape, weightValues(bias)));
  graph.add('Conv', layer.name, inputs, [ints('kernel_shape', kernelHW), ints('strides', strides), ints('dilations', dilation), ints('pads', pads)]);
  const effective = kernelHW.map((k, i) => (k - 1) * dilation[i] + 1);
  graph.shape = [dims[0], outputSize(h, effective[0], strides[0], pads[0] + pads[2]), outputSize(w, effective[1], strides[1], pads[1] + pads[3])];
  graph.activation(layer.name, config.activation);
}

function addMaxPool(graph: GraphBuilder, layer: tf.layers.Layer, config: LayerConfig): void {
  const pool = config.poolSize ?? [2, 2];
  const strides = config.strides ?? pool;
  const [c, h, w] = graph.shape;
  const pads = spatialPads({ ...config, strides }, pool, [h, w]);
  graph.add('MaxPool', layer.name, [], [ints('kernel_shape', pool), ints('strides', strides), ints('pads', pads)]);
  graph.shape = [c, outputSize(h, pool[0], strides[0], pads[0] + pads[2]), outputSize(w, pool[1], strides[1], pads[1] + pads[3])];
}

function addFlatten(graph: GraphBuilder, layer: tf.layers.Layer): void {
  if (graph.layout === 'nchw') {
    // Keras flattens channels-last (H, W, C) order; the dense kernel rows follow it.
    graph.add('Transpose', `${layer.name}/to_nhwc`, [], [ints('perm', [0, 2, 3, 1])]);
  }
  graph.add('Flatten', layer.name, [], [int('axis', 1)]);
  graph.layout = 'flat';
  graph.shape = [graph.shape.reduce((a, b) => a * b, 1)];
}

function addDense(graph: GraphBuilder, layer: tf.layers.Layer, config: LayerConfig): void {
  if (graph.layout !== 'flat') throw new UnsupportedLayerError([`${layer.name} (Dense on a ${graph.shape.length + 1}-D input; add a Flatten first)`]);
  const [kernel, bias] = layer.getWeights();
  const inputs = [graph.weight(`${layer.name}/kernel`, kernel.shape, weightValues(kernel))];
  if (config.useBias !== false && bias) inputs.push(graph.weight(`${layer.name}/bias`, bias.shape, weightValues(bias)));
  graph.add('Gemm', layer.name, inputs);
  graph.shape = [kernel.shape[1] as number];
  graph.activation(layer.name, config.activation);
}

/** Layers in order; only plain chains (Sequential, or a functional model without branches) map. */
function layerChain(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const branched = layers.filter((layer, i) => i > 0 && layer.input !== layers[i - 1].output);
  if (branched.length > 0) throw new UnsupportedLayerError(branched.map((l) => `${l.name} (not a plain chain of layers)`));
  return layers;
}

/** The ONNX model (as protobuf objects) equivalent to `model` in inference mode. */
export function buildOnnxModel(model: tf.LayersModel, docString = ''): OnnxModel {
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  if (inputShape.length !== 3 || inputShape.some((d) => d === null)) {
    throw new ModelError(`cannot export to ONNX: expected an image input [height, width, channels], got [${inputShape}]`);
  }
  const layers = layerChain(model);
  const unsupported = layers.map(unsupportedReason).filter((reason): reason is string => reason !== null);
  if (unsupported.length > 0) throw new UnsupportedLayerError(unsupported);

  const graph = new GraphBuilder(inputShape);
  for (const layer of layers) {
    const config = layer.getConfig() as LayerConfig;
    switch (layer.getClassName()) {
      case 'Conv2D':
        addConv(graph, layer, config);
        break;
      case 'MaxPooling2D':
        addMaxPool(graph, layer, config);
        break;
      case 'Flatten':
        addFlatten(graph, layer);
        break;
      case 'Dense':
        addDense(graph, layer, config);
        break;
      case 'Activation':
        graph.activation(layer.name, config.activation);
        break;
      default: // Dropout: identity at inference
        break;
    }
  }
  if (graph.layout !== 'flat') throw new ModelError('cannot export to ONNX: the model must end in Dense layers (a classifier)');
  // The last node's output becomes the graph output under a stable name.
  graph.nodes[graph.nodes.length - 1].output = [ONNX_OUTPUT_NAME];
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'mldeploy',
    producer_version: tf.version_layers,
    doc_string: docString,
    graph: {
      name: model.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(ONNX_INPUT_NAME, ['N', ...inputShape])],
      output: [valueInfo(ONNX_OUTPUT_NAME, ['N', ...graph.shape])],
    },
  };
}

/** `model` as ONNX file bytes. */
export function convertToOnnx(model: tf.LayersModel, docString = ''): Uint8Array {
  return encodeOnnxModel(buildOnnxModel(model, docString));
}
