/**
 * The serving engine choice: the tfjs engines, plus `onnx` (ONNX Runtime on the version's
 * model.onnx, written by `mldeploy export --format onnx`). Training knows only the tfjs engines;
 * `auto` serves with ONNX Runtime when the version has an ONNX export and onnxruntime-node loads.
 */
import { ModelError, UsageError } from '../../errors';
import { PIXELS_PER_IMAGE } from '../../preprocess';
import { BACKEND_CHOICES, BackendChoice, EngineInfo } from '../engine';
import { loadOnnxRuntime, OnnxClassifier, onnxFileIn, onnxRuntimeVersion } from './runtime';

export const SERVING_BACKEND_CHOICES = [...BACKEND_CHOICES, 'onnx'] as const;
export type ServingBackendChoice = (typeof SERVING_BACKEND_CHOICES)[number];

export function parseServingBackendChoice(value: string): ServingBackendChoice {
  if ((SERVING_BACKEND_CHOICES as readonly string[]).includes(value)) return value as ServingBackendChoice;
  throw new UsageError(`unknown backend "${value}" (choose one of: ${SERVING_BACKEND_CHOICES.join(', ')})`);
}

/** The tfjs engine to start: it still loads the layers model (shape checks, the tfjs fallback). */
export function tfjsEngineFor(choice: ServingBackendChoice): BackendChoice {
  return choice === 'onnx' ? 'auto' : choice;
}

/**
 * The ONNX Runtime classifier to serve the version in `dir` with, or undefined to serve it with
 * tfjs. `onnx` requires the export and the runtime (ModelError naming what is missing); `auto`
 * uses them when both work; an explicit tfjs engine never does.
 */
export async function openServingOnnx(dir: string, numClasses: number, choice: ServingBackendChoice): Promise<OnnxClassifier | undefined> {
  if (choice !== 'onnx' && choice !== 'auto') return undefined;
  const file = onnxFileIn(dir);
  if (!file) {
    if (choice === 'auto') return undefined;
    throw new ModelError(`--backend onnx: ${dir} has no ONNX export (run "mldeploy export --format onnx" first)`);
  }
  try {
    loadOnnxRuntime();
    const classifier = await OnnxClassifier.open(file);
    const probe = await classifier.predict(new Uint8Array(PIXELS_PER_IMAGE), 1);
    if (probe.length !== numClasses) {
      await classifier.dispose();
      throw new ModelError(`${file} outputs ${probe.length} classes, the model has ${numClasses}`);
    }
    return classifier;
  } catch (err) {
    if (choice === 'auto') return undefined;
    throw err;
  }
}

/** A server's engine: a tfjs engine, or onnx when ONNX Runtime runs the model. */
export type ServingEngineInfo = Omit<EngineInfo, 'backend'> & { backend: EngineInfo['backend'] | 'onnx' };

/** Why the tfjs engines tried before this one did not start; none when ONNX Runtime serves (they were not needed). */
export function skippedEngines(engine: ServingEngineInfo): string[] {
  return engine.backend === 'onnx' ? [] : engine.fallback_reasons;
}

/** What a server reports as its engine: the tfjs engine's, or onnx (with the runtime's version) when ONNX Runtime serves. */
export function servingEngineInfo(tfjs: EngineInfo, servedEngine: string): ServingEngineInfo {
  if (servedEngine !== 'onnx') return tfjs;
  return { ...tfjs, backend: 'onnx', versions: { ...tfjs.versions, 'onnxruntime-node': onnxRuntimeVersion() } };
}
