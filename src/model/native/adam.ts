/**
 * tf.train.adam's update as TensorFlow's fused ResourceApplyAdam: one kernel per variable instead
 * of about fourteen full-size tfjs ops. The weights and both moments live in TensorFlow resource
 * variables; after each step the model's variables are pointed at the new weights (a read, no copy).
 *
 * Same rule: tfjs computes w -= lr * m^ / (sqrt(v^) + eps) with m^ = m / (1 - beta1^t) and
 * v^ = v / (1 - beta2^t); TensorFlow computes w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m /
 * (sqrt(v) + eps'), which is the same update when eps' = eps * sqrt(1 - beta2^t).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_DEFAULTS } from '../parallel/adam-slice';
import { NativeOps } from './tf-ops';

interface Slot {
  variable: tf.Variable;
  weights: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

export class NativeAdam {
  private readonly ops = new NativeOps();
  private readonly slots: Slot[];
  private readonly learningRate: tf.Scalar;
  private readonly beta1: tf.Scalar;
  private readonly beta2: tf.Scalar;

  /** Takes over `variables` (the model's): they are refreshed from the optimizer's weights after every step. */
  constructor(
    variables: tf.Variable[],
    learningRate: number,
  ) {
    this.slots = variables.map((variable) => {
      const zeros = tf.zerosLike(variable);
      const slot = { variable, weights: this.ops.variable(variable), m: this.ops.variable(zeros), v: this.ops.variable(zeros) };
      zeros.dispose();
      return slot;
    });
    this.learningRate = tf.scalar(learningRate);
    this.beta1 = tf.scalar(ADAM_DEFAULTS.beta1);
    this.beta2 = tf.scalar(ADAM_DEFAULTS.beta2);
  }

  /** Adam step `step` (1-based) with the gradients of the mean loss, keyed by variable name. */
  apply(grads: tf.NamedTensorMap, step: number): void {
    const beta2Power = ADAM_DEFAULTS.beta2 ** step;
    const stepScalars = {
      beta1Power: tf.scalar(ADAM_DEFAULTS.beta1 ** step),
      beta2Power: tf.scalar(beta2Power),
      epsilon: tf.scalar(ADAM_DEFAULTS.epsilon * Math.sqrt(1 - beta2Power)),
    };
    const scalars = { ...stepScalars, learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2 };
    for (const slot of this.slots) this.ops.applyAdam(slot, scalars, grads[slot.variable.name]);
    tf.dispose(Object.values(stepScalars));
    for (const slot of this.slots) {
      const weights = this.ops.readVariable(slot.weights);
      slot.variable.assign(weights);
      weights.dispose();
    }
  }

  dispose(): void {
    tf.dispose(this.slots.flatMap((s) => [s.weights, s.m, s.v]));
    tf.dispose([this.learningRate, this.beta1, this.beta2]);
  }
}
