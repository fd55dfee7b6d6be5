/**
 * The model repository (KServe/TorchServe pattern): holds the served model version and swaps
 * it atomically on reload. A version being used by an in-flight batch is disposed only after
 * that batch finishes, so a reload never drops or corrupts a request.
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
    this.users += 1;
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
      this.users -= 1;
      if (this.retired && this.users === 0) this.release();
    }
  }

  /** Called when a newer version replaced this one: dispose now, or when the last batch using it ends. */
  retire(): void {
    this.retired = true;
    if (this.users === 0) this.release();
  }

  private release(): void {
    this.model.dispose();
    void this.onnx?.dispose();
  }
}

export interface ReloadResult {
  previous_version: string;
  version: string;
  changed: boolean;
}

export class ModelRepository {
  private served: ServedModel | undefined;
  private pendingReload: Promise<ReloadResult> | undefined;

  constructor(
    readonly modelPath: string,
    private readonly backend: ServingBackendChoice = 'auto',
  ) {}

  /** Loads and validates the model `modelPath` points at; throws ModelError (one line) on failure. */
  async load(): Promise<ServedModel> {
    const candidate = await loadExclusively(this.modelPath, this.backend);
    this.served?.retire();
    this.served = candidate;
    return candidate;
  }

  get current(): ServedModel {
    if (!this.served) throw new ModelError('no model loaded');
    return this.served;
  }

  get loaded(): boolean {
    return this.served !== undefined;
  }

  /**
   * Loads whatever `modelPath` points at now (e.g. `latest` after a new train run) and swaps it in.
   * A model that fails to load or validate is refused with a ModelError; the old one keeps serving.
   * Concurrent reload requests share one load.
   */
  reload(): Promise<ReloadResult> {
    if (!this.pendingReload) {
      this.pendingReload = this.swap().finally(() => {
        this.pendingReload = undefined;
      });
    }
    return this.pendingReload;
  }

  private async swap(): Promise<ReloadResult> {
    const previous = this.current;
    const candidate = await loadExclusively(this.modelPath, this.backend);
    this.served = candidate;
    previous.retire();
    return { previous_version: previous.version, version: candidate.version, changed: candidate.dir !== previous.dir };
  }

  dispose(): void {
    this.served?.retire();
    this.served = undefined;
  }
}

/** Loads in this process run one at a time, so the variables a failed load leaves behind are its own. */
let loadQueue: Promise<unknown> = Promise.resolve();

function loadExclusively(modelPath: string, backend: ServingBackendChoice): Promise<ServedModel> {
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
