/**
 * One loaded model version: its tfjs model (or ONNX Runtime session) and metadata. Whoever will
 * use it holds it (acquire), so a version a refresh retired is disposed only when the last
 * queued or running batch that uses it has finished.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';
import { loadModelVersion } from '../model/artifacts';
import { currentEngine } from '../model/engine';
import { ModelMetadata } from '../model/metadata';
import type { OnnxClassifier } from '../model/onnx/runtime';
import { openServingOnnx, ServingBackendChoice } from '../model/onnx/serving';
import { INPUT_SHAPE, PIXELS_PER_IMAGE, toInputTensor } from '../preprocess';

export class ServedModel {
  private users = 0;
  private retired = false;

  constructor(
    readonly model: tf.LayersModel,
    readonly metadata: ModelMetadata,
    readonly dir: string,
    /** Set when ONNX Runtime serves this version (its model.onnx) instead of tfjs. */
    private readonly onnx?: OnnxClassifier,
  ) {}

  /** What runs the forward pass: onnx, or the tfjs engine (node, wasm, cpu). */
  get engine(): string {
    return this.onnx ? 'onnx' : (currentEngine()?.backend ?? tf.getBackend());
  }

  get version(): string {
    return this.metadata.version;
  }

  get classNames(): string[] {
    return this.metadata.class_names;
  }

  /** Softmax probabilities for `count` packed uint8 32x32 RGB images, row-major [count, numClasses]. */
  async predict(pixels: Uint8Array, count: number): Promise<Float32Array> {
    const release = this.acquire();
    try {
      if (this.onnx) return await this.onnx.predict(pixels, count);
      // apply() skips predict()'s per-call input slicing; inference mode keeps dropout off.
      const output = tf.tidy(() => this.model.apply(toInputTensor(pixels, count), { training: false }) as tf.Tensor);
      try {
        return (await output.data()) as Float32Array;
      } finally {
        output.dispose();
      }
    } finally {
      release();
    }
  }

  /** Keeps this version alive until the returned function is called (once) by its user. */
  acquire(): () => void {
    this.users += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.retired && this.users === 0) this.release();
    };
  }

  /** Called when this version is no longer served: dispose now, or when its last user lets go. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.users === 0) this.release();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  private release(): void {
    this.model.dispose();
    void this.onnx?.dispose();
  }
}

/** Loads in this process run one at a time, so the variables a failed load leaves behind are its own. */
let loadQueue: Promise<unknown> = Promise.resolve();

export function loadServedModel(modelPath: string, backend: ServingBackendChoice): Promise<ServedModel> {
  const run = loadQueue.then(() => loadWithoutLeaks(modelPath, backend));
  loadQueue = run.catch(() => {});
  return run;
}

/**
 * tfjs builds the model (initialising its weight variables) before it reads the weights, and a
 * load that fails after that (e.g. a short weights.bin) never hands the model back to dispose:
 * dispose the variables this load registered instead, so failed reloads leak no tensors.
 */
async function loadWithoutLeaks(modelPath: string, backend: ServingBackendChoice): Promise<ServedModel> {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return await loadAndValidate(modelPath, backend);
  } catch (err) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) if (!before.has(name)) variable.dispose();
    throw err;
  }
}

/** A model is served only if one forward pass gives finite probabilities for every class. */
async function loadAndValidate(modelPath: string, backend: ServingBackendChoice): Promise<ServedModel> {
  const { model, metadata, dir } = await loadModelVersion(modelPath);
  let onnx: OnnxClassifier | undefined;
  try {
    onnx = await openServingOnnx(dir, metadata.num_classes, backend);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const served = new ServedModel(model, metadata, dir, onnx);
  try {
    const outputShape = model.outputs[0].shape;
    if (outputShape.length !== 2 || outputShape[1] !== metadata.num_classes) {
      throw new ModelError(`model output shape [${outputShape.slice(1)}] does not match num_classes ${metadata.num_classes}`);
    }
    if (metadata.input_shape.join(',') !== INPUT_SHAPE.join(',')) {
      throw new ModelError(`model input shape [${metadata.input_shape}] is not the served [${INPUT_SHAPE}]`);
    }
    const probabilities = await served.predict(new Uint8Array(PIXELS_PER_IMAGE), 1);
    if (!probabilities.every(Number.isFinite)) throw new ModelError(`model in ${dir} produces non-finite outputs`);
  } catch (err) {
    served.retire();
    throw err instanceof ModelError ? err : new ModelError(`model in ${dir} cannot run: ${(err as Error).message.split('\n')[0]}`);
  }
  return served;
}
