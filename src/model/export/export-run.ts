/**
 * `mldeploy export`: writes one export format of a saved model version into its directory and
 * records in metadata.json (`exports.<format>`) how that format does on the CIFAR-10 test set
 * against the float32 tfjs model. The files are written and measured in a staging folder inside the
 * version directory, then renamed into place (model file last) and only then recorded, so a failed
 * export leaves the version as it was.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../../errors';
import { loadCifar10 } from '../../data/cifar10';
import type { ImageSet, ProgressCallback } from '../../data/types';
import { PIXELS_PER_IMAGE } from '../../preprocess';
import { writeFileAtomic } from '../../util/atomic-write';
import { loadModelVersion, METADATA_FILE } from '../artifacts';
import { BackendChoice, EngineInfo, initEngine } from '../engine';
import { parseMetadata } from '../metadata';
import { loadOnnxRuntime } from '../onnx/runtime';
import { compareProbabilities } from './compare';
import { BatchPredict, openExport, tfjsPredict, totalBytes, writeExport } from './formats';
import type { ExportFormat, ExportRecord } from './record';

const PREDICT_BATCH = 256;

export interface ExportOptions {
  /** A version dir, `<models-dir>/latest`, or a models dir. */
  modelPath: string;
  format: ExportFormat;
  /** CIFAR-10 source for the test set, as train's --data ($MLDEPLOY_CIFAR10, else the official download). */
  data?: string;
  dataDir: string;
  /** Measure on the first N test images only. */
  limit?: number;
  /** tfjs engine for the float32 reference (and the quantized tfjs formats). */
  backend?: BackendChoice;
  onEvent?: (event: ExportEvent) => void;
}

export type ExportEvent =
  | { type: 'engine'; engine: EngineInfo }
  | { type: 'data-progress'; progress: Parameters<ProgressCallback>[0] }
  | { type: 'stage'; stage: 'reference' | 'writing' | 'measuring' };

export interface ExportResult {
  version: string;
  dir: string;
  format: ExportFormat;
  record: ExportRecord;
}

/** Runs `predict` over the whole set in batches; row-major [set.count, numClasses]. */
async function predictAll(predict: BatchPredict, set: ImageSet, numClasses: number): Promise<Float32Array> {
  const out = new Float32Array(set.count * numClasses);
  for (let start = 0; start < set.count; start += PREDICT_BATCH) {
    const end = Math.min(start + PREDICT_BATCH, set.count);
    out.set(await predict(set.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), end - start), start * numClasses);
  }
  return out;
}

function firstImages(set: ImageSet, limit: number | undefined): ImageSet {
  if (limit === undefined || limit >= set.count) return set;
  return { pixels: set.pixels.subarray(0, limit * PIXELS_PER_IMAGE), labels: set.labels.subarray(0, limit), count: limit };
}

export async function runExport(options: ExportOptions): Promise<ExportResult> {
  const emit = options.onEvent ?? (() => {});
  emit({ type: 'engine', engine: await initEngine(options.backend ?? 'auto') });
  if (options.format === 'onnx') loadOnnxRuntime(); // measuring needs it: fail before any work
  const { model, metadata, dir } = await loadModelVersion(options.modelPath);
  let staging: string | undefined;
  try {
    const dataset = await loadCifar10({ source: options.data, dataDir: options.dataDir, onProgress: (progress) => emit({ type: 'data-progress', progress }) });
    if (dataset.classNames.join(',') !== metadata.class_names.join(',')) {
      throw new DataError(`the test data's classes (${dataset.classNames.join(', ')}) are not the model's (${metadata.class_names.join(', ')})`);
    }
    const test = firstImages(dataset.test, options.limit);
    if (test.count === 0) throw new DataError(`${dataset.source} has no test images to measure the export on`);

    emit({ type: 'stage', stage: 'reference' });
    const reference = await predictAll(tfjsPredict(model), test, metadata.num_classes);

    emit({ type: 'stage', stage: 'writing' });
    staging = await fs.mkdtemp(path.join(dir, `.export-${options.format}-`));
    const files = await writeExport(model, staging, options.format, `mldeploy ${metadata.model_type} ${metadata.version}`);

    emit({ type: 'stage', stage: 'measuring' });
    const opened = await openExport(staging, options.format);
    let candidate: Float32Array;
    try {
      candidate = await predictAll(opened.predict, test, metadata.num_classes);
    } finally {
      await opened.dispose();
    }
    const comparison = compareProbabilities(candidate, reference, test.labels, metadata.num_classes);
    const record: ExportRecord = {
      files,
      bytes: await totalBytes(staging, files),
      created_at: new Date().toISOString(),
      test_source: dataset.source,
      test_digest: dataset.digest,
      test_count: test.count,
      test_accuracy: comparison.accuracy,
      float32_test_accuracy: comparison.referenceAccuracy,
      agreement: comparison.agreement,
      max_abs_diff: comparison.maxAbsDiff,
      runtime: opened.runtime,
    };

    // Weights before the model file that names them.
    for (const file of [...files].reverse()) await fs.rename(path.join(staging, file), path.join(dir, file));
    await recordExport(dir, options.format, record);
    return { version: metadata.version, dir, format: options.format, record };
  } finally {
    model.dispose();
    if (staging) await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Adds `exports.<format>` to metadata.json, keeping every other field as written. */
async function recordExport(dir: string, format: ExportFormat, record: ExportRecord): Promise<void> {
  const file = path.join(dir, METADATA_FILE);
  const raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  const updated = { ...raw, exports: { ...(raw.exports as object | undefined), [format]: record } };
  parseMetadata(updated);
  await writeFileAtomic(file, JSON.stringify(updated, null, 2) + '\n');
}
