/**
 * Engine selection: tfjs-node (native TensorFlow) when it loads and computes, else the wasm
 * backend (with our training kernels), else the pure-JS cpu backend. `--backend` forces one.
 * An engine counts as started only after a real op gave the right answer on it.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, MldeployError } from '../errors';
import { explainLoadError, loadNodeEngine, type NodeEngineOptions } from './node-engine';
import { registerWasmTrainingKernels } from './wasm-gradients';

export const BACKEND_CHOICES = ['auto', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type EngineName = Exclude<BackendChoice, 'auto'>;

export interface EngineInfo {
  /** Our name for the engine: node, wasm or cpu. */
  backend: EngineName;
  /** tfjs's own backend name (tensorflow, wasm, cpu). */
  tfjs_backend: string;
  versions: Record<string, string>;
  /** Why engines earlier in the auto order were skipped, if any. */
  fallback_reasons: string[];
}

const TFJS_BACKEND_NAME: Record<EngineName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };
const AUTO_ORDER: EngineName[] = ['node', 'wasm', 'cpu'];

let current: EngineInfo | undefined;
/** The version of the tfjs-node package loaded (or a test's stand-in). */
let loadedNodeVersion = 'unknown';

export function parseBackendChoice(value: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new UsageError(`unknown backend "${value}" (choose one of: ${BACKEND_CHOICES.join(', ')})`);
}

export interface EngineOptions {
  /** How tfjs-node is found and probed (tests substitute a fake package). */
  node?: NodeEngineOptions;
}

/** Selects and initializes the engine once per process; later calls return the same engine. */
export async function initEngine(choice: BackendChoice = 'auto', options: EngineOptions = {}): Promise<EngineInfo> {
  if (current && (choice === 'auto' || choice === current.backend)) return current;
  const candidates = choice === 'auto' ? AUTO_ORDER : [choice];
  const reasons: string[] = [];
  for (const engine of candidates) {
    try {
      await activate(engine, options);
      current = { backend: engine, tfjs_backend: tf.getBackend(), versions: engineVersions(engine), fallback_reasons: reasons };
      return current;
    } catch (err) {
      if (engine === 'node' && tf.findBackend(TFJS_BACKEND_NAME.node)) tf.removeBackend(TFJS_BACKEND_NAME.node);
      reasons.push(`${engine}: ${explainLoadError((err as Error).message.split('\n')[0])}`);
    }
  }
  throw new MldeployError(
    choice === 'auto'
      ? `no TensorFlow.js engine could start (${reasons.join('; ')})`
      : `the ${choice} engine is not available here (${reasons.join('; ')}); try --backend auto`,
  );
}

export function currentEngine(): EngineInfo | undefined {
  return current;
}

async function activate(engine: EngineName, options: EngineOptions): Promise<void> {
  if (engine === 'node') {
    // Optional dependency whose install may have failed or not run; probed before loading here.
    loadedNodeVersion = loadNodeEngine(options.node);
  } else if (engine === 'wasm') {
    // Loaded only when chosen: importing it registers the backend.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
  }
  const name = TFJS_BACKEND_NAME[engine];
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  checkWithRealOp();
}

/** Loading is not enough (tfjs-node 4.22 on Node >= 23 loads, then throws on its first op). */
function checkWithRealOp(): void {
  const values = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync());
  if (values[0] !== 2 || values[1] !== 3) throw new Error(`a test op (1 + [1, 2]) gave [${Array.from(values).join(', ')}]`);
}

function engineVersions(engine: EngineName): Record<string, string> {
  const versions: Record<string, string> = { 'tfjs-core': tf.version_core, node: process.versions.node };
  if (engine === 'node') versions['tfjs-node'] = loadedNodeVersion;
  if (engine === 'wasm') versions['tfjs-backend-wasm'] = packageVersion('@tensorflow/tfjs-backend-wasm');
  if (engine === 'cpu') versions['tfjs-backend-cpu'] = packageVersion('@tensorflow/tfjs-backend-cpu');
  return versions;
}

function packageVersion(name: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** One line for the CLI to print at start. */
export function describeEngine(info: EngineInfo): string {
  const detail = Object.entries(info.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `engine: ${info.backend} [${detail}]${skippedNote(info.fallback_reasons)}`;
}

/** ` (skipped node: why; ...)` after an engine's name, or nothing when auto's first choice started. */
export function skippedNote(fallbackReasons: string[]): string {
  return fallbackReasons.length ? ` (skipped ${fallbackReasons.join('; ')})` : '';
}
