/**
 * ONNX Runtime inference for an exported classifier: uint8 32x32 RGB images in, softmax
 * probabilities out, the same contract as the tfjs model. `onnxruntime-node` is an optional
 * dependency, loaded on first use; when it is missing or its native binary fails to load, the
 * error says so in one line.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import { CHANNELS, IMAGE_SIZE, normalizePixels, PIXELS_PER_IMAGE } from '../../preprocess';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './convert';

/** Written by `mldeploy export --format onnx` into the version directory. */
export const ONNX_FILE = 'model.onnx';

/**
 * One intra-op thread per session: serve runs one process per core (node:cluster), and at the
 * batch sizes micro-batching produces a second thread per process only adds contention
 * (docs/incoming-ONNX.md has the measurement).
 */
export const DEFAULT_ONNX_THREADS = 1;

// The subset of onnxruntime-node's API used here, typed locally so the code compiles where the
// optional package is absent.
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: {
    create(model: string | Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  env: { versions: { node?: string; common?: string } };
}

let runtime: OrtModule | undefined;

/** onnxruntime-node, or a ModelError naming why it cannot be used. */
export function loadOnnxRuntime(): OrtModule {
  if (!runtime) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      runtime = require('onnxruntime-node') as OrtModule;
    } catch (err) {
      throw new ModelError(`onnxruntime-node is not available here (${(err as Error).message.split('\n')[0]}); install it with "npm install --ignore-scripts onnxruntime-node" (its CPU binaries ship in the package; the skipped script only fetches CUDA)`);
    }
  }
  return runtime;
}

export function onnxRuntimeVersion(): string {
  return loadOnnxRuntime().env.versions.node ?? 'unknown';
}

/** The ONNX export in a version directory, if there is one. */
export function onnxFileIn(dir: string): string | undefined {
  const file = path.join(dir, ONNX_FILE);
  return existsSync(file) ? file : undefined;
}

export interface OnnxSessionOptions {
  /** Intra-op threads (default DEFAULT_ONNX_THREADS). */
  threads?: number;
}

export class OnnxClassifier {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly file: string,
  ) {}

  /** Opens an ONNX file written by convertToOnnx; a file ONNX Runtime rejects is a ModelError. */
  static async open(file: string, options: OnnxSessionOptions = {}): Promise<OnnxClassifier> {
    const ort = loadOnnxRuntime();
    try {
      const session = await ort.InferenceSession.create(file, {
        intraOpNumThreads: options.threads ?? DEFAULT_ONNX_THREADS,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      return new OnnxClassifier(ort, session, file);
    } catch (err) {
      throw new ModelError(`ONNX Runtime cannot load ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** Softmax probabilities for `count` packed uint8 32x32 RGB images, row-major [count, numClasses]. */
  async predict(pixels: Uint8Array, count: number): Promise<Float32Array> {
    if (pixels.length !== count * PIXELS_PER_IMAGE) {
      throw new ModelError(`expected ${count * PIXELS_PER_IMAGE} pixel bytes for ${count} images, got ${pixels.length}`);
    }
    const input = new this.ort.Tensor('float32', normalizePixels(pixels), [count, IMAGE_SIZE, IMAGE_SIZE, CHANNELS]);
    const outputs = await this.session.run({ [ONNX_INPUT_NAME]: input });
    return outputs[ONNX_OUTPUT_NAME].data as Float32Array;
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
