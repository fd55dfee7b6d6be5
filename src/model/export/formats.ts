/**
 * Writing each export format's files into a directory, and opening what was written as a batch
 * predictor, so the measured figures are those of the files on disk.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { toInputTensor } from '../../preprocess';
import { convertToOnnx } from '../onnx/convert';
import { OnnxClassifier, ONNX_FILE, onnxRuntimeVersion } from '../onnx/runtime';
import { quantizeWeights, QuantizationDtype } from './quantize';
import type { ExportFormat } from './record';

/** Probabilities for `count` packed uint8 images, row-major [count, numClasses]. */
export type BatchPredict = (pixels: Uint8Array, count: number) => Promise<Float32Array>;

export interface OpenedExport {
  predict: BatchPredict;
  /** What computes the predictions, for the record. */
  runtime: string;
  dispose(): Promise<void>;
}

const QUANTIZED_DTYPE: Record<Exclude<ExportFormat, 'onnx'>, QuantizationDtype> = { 'tfjs-float16': 'float16', 'tfjs-uint8': 'uint8' };

/** File names of a format, the one to load first (and to put in place last). */
export function exportFiles(format: ExportFormat): string[] {
  if (format === 'onnx') return [ONNX_FILE];
  const dtype = QUANTIZED_DTYPE[format];
  return [`model-${dtype}.json`, `weights-${dtype}.bin`];
}

async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!saved?.weightSpecs || saved.weightData === undefined) throw new Error('model has no weights to export');
  return saved;
}

/** Writes `format` of `model` into `dir`; returns the file names written. */
export async function writeExport(model: tf.LayersModel, dir: string, format: ExportFormat, docString: string): Promise<string[]> {
  const files = exportFiles(format);
  if (format === 'onnx') {
    await fs.writeFile(path.join(dir, files[0]), convertToOnnx(model, docString));
    return files;
  }
  const artifacts = await modelArtifacts(model);
  const float32 = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
  const quantized = quantizeWeights(artifacts.weightSpecs!, float32, QUANTIZED_DTYPE[format]);
  const [modelFile, weightsFile] = files;
  const modelJson = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: `mldeploy export --format ${format}`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${weightsFile}`], weights: quantized.weightSpecs }],
  };
  await fs.writeFile(path.join(dir, weightsFile), new Uint8Array(quantized.weightData));
  await fs.writeFile(path.join(dir, modelFile), JSON.stringify(modelJson));
  return files;
}

/** Loads a tfjs layers model.json + its weight files the way any tfjs loader does (dequantizing). */
export async function loadLayersModelFile(modelFile: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(await fs.readFile(modelFile, 'utf8')) as tf.io.ModelJSON;
  const dir = path.dirname(modelFile);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const shards = await Promise.all(modelJson.weightsManifest.flatMap((group) => group.paths).map((p) => fs.readFile(path.join(dir, p))));
  const weightData = tf.io.CompositeArrayBuffer.join(shards.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}

export function tfjsPredict(model: tf.LayersModel): BatchPredict {
  return async (pixels, count) => {
    const output = tf.tidy(() => model.predict(toInputTensor(pixels, count)) as tf.Tensor);
    try {
      return (await output.data()) as Float32Array;
    } finally {
      output.dispose();
    }
  };
}

/** Opens the written files of `format` in `dir` with the runtime that serves them. */
export async function openExport(dir: string, format: ExportFormat): Promise<OpenedExport> {
  const [first] = exportFiles(format);
  if (format === 'onnx') {
    const classifier = await OnnxClassifier.open(path.join(dir, first));
    return { predict: (pixels, count) => classifier.predict(pixels, count), runtime: `onnxruntime-node ${onnxRuntimeVersion()}`, dispose: () => classifier.dispose() };
  }
  const model = await loadLayersModelFile(path.join(dir, first));
  return {
    predict: tfjsPredict(model),
    runtime: `tfjs ${tf.version_core} (${tf.getBackend()})`,
    dispose: async () => {
      model.dispose();
    },
  };
}

export async function totalBytes(dir: string, files: string[]): Promise<number> {
  const sizes = await Promise.all(files.map(async (f) => (await fs.stat(path.join(dir, f))).size));
  return sizes.reduce((a, b) => a + b, 0);
}
