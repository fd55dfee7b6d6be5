import * as path from 'node:path';
import { Command, Option } from 'commander';
import { CIFAR10_ENV } from '../data/cifar10';
import { BACKEND_CHOICES, BackendChoice, describeEngine, parseBackendChoice } from '../model/engine';
import { runExport, type ExportEvent, type ExportResult } from '../model/export/export-run';
import { EXPORT_FORMATS, type ExportFormat } from '../model/export/record';
import { integer } from './option-parsers';

interface ExportCliOptions {
  format: ExportFormat;
  modelsDir: string;
  data?: string;
  dataDir: string;
  limit?: number;
  backend: BackendChoice;
}

const HELP_AFTER = `
Formats (written into the version directory, beside model.json):
  onnx          model.onnx (opset 13; input NHWC float32 [N,32,32,3] normalised as serve does,
                output softmax probabilities); served by "mldeploy serve --backend onnx"
  tfjs-float16  model-float16.json + weights-float16.bin (weights stored as float16: half the size)
  tfjs-uint8    model-uint8.json + weights-uint8.bin (weights uint8 affine: a quarter of the size)
  The tfjs formats load in plain @tensorflow/tfjs (tf.loadLayersModel dequantizes them).

Measurement: the export is run on the CIFAR-10 test set and compared with the float32 model on the
same images; metadata.json gets exports.<format> = {files, bytes, test_accuracy,
float32_test_accuracy, agreement, max_abs_diff, ...}. The test set comes from the same sources as
"mldeploy train": --data, else $${CIFAR10_ENV}, else the official archive cached in --data-dir.

Examples:
  mldeploy export --format onnx --data ../shared/datasets/cifar10-jpeg.tar.gz
  mldeploy export v3_2026_12_01 --format tfjs-uint8 --limit 2000
  mldeploy export ./saved_models/v2_2026_11_30 --format tfjs-float16 --data-dir ./data`;

/** `<version>`: a version name in --models-dir, or a path (anything with a slash). */
function modelPathFor(version: string | undefined, modelsDir: string): string {
  if (version === undefined) return path.join(modelsDir, 'latest');
  return version.includes('/') || version.includes(path.sep) ? version : path.join(modelsDir, version);
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a saved model version to ONNX or quantized tfjs, measured against the float32 model on the test set')
    .argument('[version]', 'version name in --models-dir, or a version directory path (default: latest)')
    .addOption(new Option('--format <format>', 'export format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .option('--models-dir <dir>', 'where model versions are saved', 'saved_models')
    .option('--data <path-or-url>', `CIFAR-10 source for the test set (default: $${CIFAR10_ENV}, else the official archive)`)
    .option('--data-dir <dir>', 'download and cache directory for datasets', 'data')
    .option('--limit <n>', 'measure on the first N test images only (quick runs); default: all', integer('--limit', 1))
    .addOption(
      new Option('--backend <engine>', `TensorFlow.js engine for the float32 reference: ${BACKEND_CHOICES.join(', ')}`).default('auto').argParser(parseBackendChoice),
    )
    .addHelpText('after', HELP_AFTER)
    .action(async (version: string | undefined, options: ExportCliOptions) => {
      const result = await runExport({
        modelPath: modelPathFor(version, options.modelsDir),
        format: options.format,
        data: options.data,
        dataDir: options.dataDir,
        limit: options.limit,
        backend: options.backend,
        onEvent: showEvent,
      });
      process.stdout.write(formatResult(result));
    });
}

function showEvent(event: ExportEvent): void {
  if (event.type === 'engine') process.stdout.write(`${describeEngine(event.engine)}\n`);
  else if (event.type === 'stage') {
    const text = { reference: 'float32 reference predictions on the test set...', writing: 'writing the export...', measuring: 'measuring the export on the test set...' };
    process.stdout.write(`${text[event.stage]}\n`);
  } else if (event.progress.done === 0) process.stdout.write(`data: ${event.progress.phase}...\n`);
}

const percent = (v: number) => `${(v * 100).toFixed(2)}%`;

function formatResult(result: ExportResult): string {
  const r = result.record;
  const delta = (r.test_accuracy - r.float32_test_accuracy) * 100;
  return [
    `exported ${result.version} as ${result.format}: ${r.files.map((f) => path.join(result.dir, f)).join(', ')} (${(r.bytes / 1e6).toFixed(2)} MB)`,
    `  test accuracy ${percent(r.test_accuracy)} (float32 ${percent(r.float32_test_accuracy)}, ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} points) on ${r.test_count} images`,
    `  agreement with float32 ${percent(r.agreement)}, max |probability difference| ${r.max_abs_diff.toExponential(2)}`,
    `  measured with ${r.runtime}; recorded in metadata.json (exports.${result.format})`,
    '',
  ].join('\n');
}
