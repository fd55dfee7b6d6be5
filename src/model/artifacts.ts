/**
 * Versioned model artifacts: `<models-dir>/vN_YYYY_MM_DD/{model.json, weights.bin, metadata.json}`
 * in the standard tfjs layers format, plus a `latest` symlink to the newest complete version.
 * A version directory appears only after all its files are written and fsynced (temp dir +
 * rename). The rename is also what reserves the version number, so concurrent saves into one
 * models dir each get their own version.
 */
import * as tf from '@tensorflow/tfjs';
import { randomUUID } from 'node:crypto';
import { promises as fs, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { METADATA_SCHEMA_VERSION, ModelMetadata, parseMetadata } from './metadata';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';
export const LATEST_LINK = 'latest';

const VERSION_PATTERN = /^v(\d+)_\d{4}_\d{2}_\d{2}$/;
/** Publishing gives up after this many versions taken by concurrent saves in a row. */
const MAX_PUBLISH_ATTEMPTS = 100;

export type MetadataDraft = Omit<ModelMetadata, 'schema_version' | 'version' | 'created_at'>;

export interface SavedVersion {
  version: string;
  dir: string;
}

export interface LoadedModel {
  model: tf.LayersModel;
  metadata: ModelMetadata;
  dir: string;
}

/** Saves the model as a new version (never overwriting one) and points `latest` at the newest version. */
export async function saveModelVersion(
  model: tf.LayersModel,
  draft: MetadataDraft,
  modelsDir: string,
  now: Date = new Date(),
): Promise<SavedVersion> {
  await fs.mkdir(modelsDir, { recursive: true });
  const temp = await fs.mkdtemp(path.join(modelsDir, '.saving-'));
  try {
    await model.save(tf.io.withSaveHandler((artifacts) => writeLayersModel(temp, artifacts)));
    const saved = await publishVersion(temp, draft, modelsDir, now);
    await pointLatestAtNewest(modelsDir);
    return saved;
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Renames the finished temp dir to the next free version. rename(2) refuses a non-empty
 * target (EEXIST/ENOTEMPTY), so when a concurrent save took that number first, the metadata
 * is rewritten for the next one and the rename tried again.
 */
async function publishVersion(temp: string, draft: MetadataDraft, modelsDir: string, now: Date): Promise<SavedVersion> {
  for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt++) {
    const version = nextVersionName(modelsDir, now);
    const metadata = parseMetadata({ schema_version: METADATA_SCHEMA_VERSION, version, created_at: now.toISOString(), ...draft });
    await writeDurable(path.join(temp, METADATA_FILE), JSON.stringify(metadata, null, 2) + '\n');
    await syncDir(temp);
    const dir = path.join(modelsDir, version);
    try {
      await fs.rename(temp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') continue;
      throw err;
    }
    await syncDir(modelsDir);
    return { version, dir };
  }
  throw new ModelError(`could not find a free version name in ${modelsDir} after ${MAX_PUBLISH_ATTEMPTS} attempts`);
}

/** Writes a file and fsyncs it, so a crash after the publishing rename cannot leave it empty. */
async function writeDurable(file: string, data: string | Uint8Array): Promise<void> {
  await fs.writeFile(file, data);
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory, making the entries created or renamed in it durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function nextVersionName(modelsDir: string, now: Date): string {
  let highest = 0;
  for (const name of readdirSync(modelsDir)) {
    const match = VERSION_PATTERN.exec(name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  const date = now.toISOString().slice(0, 10).replace(/-/g, '_');
  return `v${highest + 1}_${date}`;
}

async function writeLayersModel(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (!artifacts.weightSpecs || artifacts.weightData === undefined) throw new ModelError('model has no weights to save');
  const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
  };
  await writeDurable(path.join(dir, WEIGHTS_FILE), Buffer.from(weights));
  await writeDurable(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

/**
 * Points `latest` at the newest complete version, each replacement atomic (new link beside it,
 * then rename over). Re-checked after each replacement: a concurrent save that linked its own,
 * older version in between is corrected, so the last save to finish leaves the newest linked.
 */
async function pointLatestAtNewest(modelsDir: string): Promise<void> {
  const link = path.join(modelsDir, LATEST_LINK);
  for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt++) {
    const newest = completeVersions(modelsDir)[0];
    const current = await fs.readlink(link).catch(() => null);
    if (newest === undefined || current === newest) return;
    const temp = path.join(modelsDir, `.${LATEST_LINK}.${process.pid}.${randomUUID()}.tmp`);
    await fs.symlink(newest, temp, 'dir');
    await fs.rename(temp, link);
    await syncDir(modelsDir);
  }
}

/** Complete version folder names (holding a model.json), newest first. */
export function completeVersions(dir: string): string[] {
  return readdirSync(dir)
    .map((name) => ({ name, n: VERSION_PATTERN.exec(name)?.[1] }))
    .filter((v) => v.n !== undefined && existsSync(path.join(dir, v.name, MODEL_FILE)))
    .sort((a, b) => Number(b.n) - Number(a.n))
    .map((v) => v.name);
}

/**
 * `--model` accepts a version directory, `<models-dir>/latest`, or a models directory
 * (its `latest`, else its highest version). Returns the real version directory.
 */
export function resolveModelDir(modelPath: string): string {
  if (!existsSync(modelPath)) throw new ModelError(`model path not found: ${modelPath}`);
  const real = realpathSync(modelPath);
  if (!statSync(real).isDirectory()) throw new ModelError(`model path is not a directory: ${modelPath}`);
  if (existsSync(path.join(real, MODEL_FILE))) return real;
  if (existsSync(path.join(real, LATEST_LINK))) return resolveModelDir(path.join(real, LATEST_LINK));
  const newest = completeVersions(real)[0];
  if (newest === undefined) {
    throw new ModelError(`no model found in ${modelPath} (expected ${MODEL_FILE} or version folders; run "mldeploy train" first)`);
  }
  return path.join(real, newest);
}

/** Reads and validates metadata.json of a version directory. */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  const file = path.join(dir, METADATA_FILE);
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch {
    throw new ModelError(`${file} is missing`);
  }
  try {
    return parseMetadata(JSON.parse(raw));
  } catch (err) {
    throw new ModelError(`${file}: ${(err as Error).message}`);
  }
}

/** Loads model + metadata from any `--model` path form; every failure is a one-line ModelError. */
export async function loadModelVersion(modelPath: string): Promise<LoadedModel> {
  const dir = resolveModelDir(modelPath);
  const metadata = await readMetadata(dir);
  let model: tf.LayersModel;
  try {
    const modelJson = JSON.parse(await fs.readFile(path.join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
    const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const shards = await Promise.all(
      modelJson.weightsManifest.flatMap((group) => group.paths).map((p) => fs.readFile(path.join(dir, p))),
    );
    const weightData = tf.io.CompositeArrayBuffer.join(shards.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
  } catch (err) {
    throw new ModelError(`cannot load the model in ${dir}: ${(err as Error).message.split('\n')[0]}`);
  }
  const inputShape = model.inputs[0].shape.slice(1);
  if (inputShape.join(',') !== metadata.input_shape.join(',')) {
    model.dispose();
    throw new ModelError(`model input shape [${inputShape}] does not match metadata input_shape [${metadata.input_shape}]`);
  }
  return { model, metadata, dir };
}
