/**
 * TensorFlow ops that tfjs does not expose, run through tfjs-node's backend (its
 * executeSingleOutput / executeMultipleOutputs run any TensorFlow op by name, as its own kernels do).
 * The node training step needs them because tfjs's fallbacks cost several full-size ops each:
 * ReLU's gradient (6 ops: isNaN, greater, fill, select, cast, mul) vs ReluGrad, a bias gradient
 * (a Sum) vs BiasAddGrad, and Adam (about 14 ops per variable) vs ResourceApplyAdam.
 */
import * as tf from '@tensorflow/tfjs';

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface Binding {
  TF_ATTR_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
  TF_INT32: number;
}

interface NodeBackend {
  binding: Binding;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

/** TensorFlow's name for an anonymous resource: the handle owns it and frees it when deleted. */
const ANONYMOUS_RESOURCE = 'cd2c89b7-88b7-44c8-ad83-06c2a9158347';

function asNodeBackend(backend: unknown): NodeBackend {
  const candidate = backend as Partial<NodeBackend>;
  if (typeof candidate.executeSingleOutput !== 'function' || !candidate.binding) {
    throw new Error(`native TensorFlow ops need the tfjs-node backend, not "${tf.getBackend()}"`);
  }
  return candidate as NodeBackend;
}

/** A small attribute vocabulary over one backend's binding constants. */
class Ops {
  constructor(private readonly backend: NodeBackend) {}

  private get b(): Binding {
    return this.backend.binding;
  }

  float(): OpAttr {
    return { name: 'T', type: this.b.TF_ATTR_TYPE, value: this.b.TF_FLOAT };
  }

  attr(name: string, value: string | number | number[] | boolean): OpAttr {
    const type = typeof value === 'string' ? this.b.TF_ATTR_STRING : typeof value === 'boolean' ? this.b.TF_ATTR_BOOL : this.b.TF_ATTR_INT;
    return { name, type, value };
  }

  run(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor {
    return this.backend.executeSingleOutput(name, attrs, inputs);
  }

  runMany(name: string, attrs: OpAttr[], inputs: tf.Tensor[], outputs: number): tf.Tensor[] {
    return this.backend.executeMultipleOutputs(name, attrs, inputs, outputs);
  }

  /** An op without outputs (variable updates). */
  effect(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): void {
    this.backend.executeMultipleOutputs(name, attrs, inputs, 0);
  }

  indexType(name: string): OpAttr {
    return { name, type: this.b.TF_ATTR_TYPE, value: this.b.TF_INT32 };
  }

  variableAttrs(shape?: number[]): OpAttr[] {
    const dtype = { name: 'dtype', type: this.b.TF_ATTR_TYPE, value: this.b.TF_FLOAT };
    return shape ? [dtype, { name: 'shape', type: this.b.TF_ATTR_SHAPE, value: shape }] : [dtype];
  }
}

export interface Conv2DGeometry {
  strides: [number, number];
  padding: 'SAME' | 'VALID';
}

/** The raw ops, bound to a tfjs-node backend (default: the active one). */
export class NativeOps {
  private readonly ops: Ops;

  constructor(backend: unknown = tf.backend()) {
    this.ops = new Ops(asNodeBackend(backend));
  }

  private convAttrs({ strides, padding }: Conv2DGeometry) {
    const o = this.ops;
    return [o.float(), o.attr('strides', [1, strides[0], strides[1], 1]), o.attr('padding', padding), o.attr('data_format', 'NHWC'), o.attr('dilations', [1, 1, 1, 1])];
  }

  conv2d(x: tf.Tensor, filter: tf.Tensor, geometry: Conv2DGeometry): tf.Tensor {
    return this.ops.run('Conv2D', this.convAttrs(geometry), [x, filter]);
  }

  conv2dFilterGradient(x: tf.Tensor, filterShape: number[], dy: tf.Tensor, geometry: Conv2DGeometry): tf.Tensor {
    const sizes = tf.tensor1d(filterShape, 'int32');
    try {
      return this.ops.run('Conv2DBackpropFilter', this.convAttrs(geometry), [x, sizes, dy]);
    } finally {
      sizes.dispose();
    }
  }

  conv2dInputGradient(inputShape: number[], filter: tf.Tensor, dy: tf.Tensor, geometry: Conv2DGeometry): tf.Tensor {
    const sizes = tf.tensor1d(inputShape, 'int32');
    try {
      return this.ops.run('Conv2DBackpropInput', this.convAttrs(geometry), [sizes, filter, dy]);
    } finally {
      sizes.dispose();
    }
  }

  matMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
    const o = this.ops;
    return o.run('MatMul', [o.float(), o.attr('transpose_a', transposeA), o.attr('transpose_b', transposeB)], [a, b]);
  }

  /** x + bias along the last axis. */
  biasAdd(x: tf.Tensor, bias: tf.Tensor): tf.Tensor {
    return this.ops.run('BiasAdd', [this.ops.float(), this.ops.attr('data_format', 'NHWC')], [x, bias]);
  }

  /** The bias gradient: dy summed over every axis but the last. */
  biasAddGrad(dy: tf.Tensor): tf.Tensor {
    return this.ops.run('BiasAddGrad', [this.ops.float(), this.ops.attr('data_format', 'NHWC')], [dy]);
  }

  relu(x: tf.Tensor): tf.Tensor {
    return this.ops.run('Relu', [this.ops.float()], [x]);
  }

  /** dy where the ReLU's output y is positive, else 0. */
  reluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return this.ops.run('ReluGrad', [this.ops.float()], [dy, y]);
  }

  /** Max pooling over k x k windows with stride k (no padding). */
  maxPool(x: tf.Tensor, k: number): tf.Tensor {
    const o = this.ops;
    return o.run('MaxPool', [o.float(), o.attr('ksize', [1, k, k, 1]), o.attr('strides', [1, k, k, 1]), o.attr('padding', 'VALID'), o.attr('data_format', 'NHWC')], [x]);
  }

  /** [N, H, W, C] -> [N, H/k, W/k, k*k*C]: channel (dh * k + dw) * C + c holds pixel (k i + dh, k j + dw). */
  spaceToDepth(x: tf.Tensor, k: number): tf.Tensor {
    return this.ops.run('SpaceToDepth', [this.ops.float(), this.ops.attr('block_size', k), this.ops.attr('data_format', 'NHWC')], [x]);
  }

  /** The inverse of spaceToDepth. */
  depthToSpace(x: tf.Tensor, k: number): tf.Tensor {
    return this.ops.run('DepthToSpace', [this.ops.float(), this.ops.attr('block_size', k), this.ops.attr('data_format', 'NHWC')], [x]);
  }

  /** `parts` equal slices along the last axis. */
  splitLast(x: tf.Tensor, parts: number): tf.Tensor[] {
    const axis = tf.scalar(x.rank - 1, 'int32');
    try {
      return this.ops.runMany('Split', [this.ops.float(), this.ops.attr('num_split', parts)], [axis, x], parts);
    } finally {
      axis.dispose();
    }
  }

  concatLast(xs: tf.Tensor[]): tf.Tensor {
    const axis = tf.scalar(xs[0].rank - 1, 'int32');
    try {
      return this.ops.run('ConcatV2', [this.ops.float(), this.ops.attr('N', xs.length), this.ops.indexType('Tidx')], [...xs, axis]);
    } finally {
      axis.dispose();
    }
  }

  equal(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.ops.run('Equal', [this.ops.float()], [a, b]);
  }

  /** Elementwise `condition ? a : b`. */
  select(condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.ops.run('Select', [this.ops.float()], [condition, a, b]);
  }

  /** A float32 resource variable holding a copy of `value` (a tensor of dtype "string" in tfjs). */
  variable(value: tf.Tensor): tf.Tensor {
    const o = this.ops;
    const handle = o.run('VarHandleOp', [...o.variableAttrs(value.shape), o.attr('container', ''), o.attr('shared_name', ANONYMOUS_RESOURCE)], []);
    o.effect('AssignVariableOp', o.variableAttrs(), [handle, value]);
    return handle;
  }

  readVariable(handle: tf.Tensor): tf.Tensor {
    return this.ops.run('ReadVariableOp', this.ops.variableAttrs(), [handle]);
  }

  /**
   * TensorFlow's fused Adam, in place: m += (g - m)(1 - beta1), v += (g^2 - v)(1 - beta2),
   * w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon).
   */
  applyAdam(
    resources: { weights: tf.Tensor; m: tf.Tensor; v: tf.Tensor },
    scalars: { beta1Power: tf.Scalar; beta2Power: tf.Scalar; learningRate: tf.Scalar; beta1: tf.Scalar; beta2: tf.Scalar; epsilon: tf.Scalar },
    gradient: tf.Tensor,
  ): void {
    const o = this.ops;
    const { beta1Power, beta2Power, learningRate, beta1, beta2, epsilon } = scalars;
    o.effect('ResourceApplyAdam', [o.float(), o.attr('use_locking', false), o.attr('use_nesterov', false)], [
      resources.weights,
      resources.m,
      resources.v,
      beta1Power,
      beta2Power,
      learningRate,
      beta1,
      beta2,
      epsilon,
      gradient,
    ]);
  }
}
