import { Command, Option } from 'commander';
import * as path from 'node:path';
import { CIFAR10_ENV } from '../data/cifar10';
import { BACKEND_CHOICES, parseBackendChoice } from '../model/engine';
import type { Evaluation } from '../model/evaluate';
import { runTraining, validationLabel, type TrainRunOptions } from '../model/train-run';
import { TRAINING_CHART_FILE, writeTrainingChart } from '../report/training-chart';
import { fraction, integer, positiveNumber } from './option-parsers';
import { TrainingView } from './training-view';

/** What commander hands over: TrainRunOptions' fields, with --lr for learningRate. */
type TrainCliOptions = Omit<TrainRunOptions, 'architecture' | 'learningRate' | 'onEvent'> & { lr: number; plotsDir: string };

const HELP_AFTER = `
Data (--data, else $${CIFAR10_ENV}):
  the official cifar-10-binary.tar.gz (path or URL), its extracted cifar-10-batches-bin/ folder,
  or a class-folder dataset (folder or .tar.gz with train/<class>/*.png|jpg and test/<class>/*).
  Without either, the official archive is downloaded once into --data-dir (md5-checked).
  Decoded class-folder images are cached in --data-dir, so later runs start in seconds.

Outputs: <models-dir>/<version>/ (model.json, weights.bin, metadata.json), <models-dir>/latest,
<plots-dir>/training_progress.png.

Examples:
  mldeploy train --data ../shared/datasets/cifar10-jpeg.tar.gz
  mldeploy train --limit 2000 --epochs 1 --data ./cifar-10-binary.tar.gz
  MLDEPLOY_CIFAR10=~/datasets/cifar-10-batches-bin mldeploy train --backend cpu`;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train the SimpleCNN on CIFAR-10 (or your own class folders) and save a new model version')
    .option('--data <path-or-url>', `CIFAR-10 source (default: $${CIFAR10_ENV}, else download the official archive)`)
    .option('--data-dir <dir>', 'download and cache directory for datasets', 'data')
    .option('--epochs <n>', 'training epochs', integer('--epochs', 1), 5)
    .option('--batch-size <n>', 'images per training step', integer('--batch-size', 1), 64)
    .option('--lr <rate>', 'Adam learning rate', positiveNumber('--lr'), 0.001)
    .option('--seed <n>', 'seed for initialisation, shuffling and dropout (same seed + engine = same metrics)', integer('--seed', 0), 42)
    .option('--limit <n>', 'train on the first N training images only (quick runs); default: all', integer('--limit', 1))
    .option(
      '--val-split <fraction>',
      'fraction of the training images held out for per-epoch validation; 0: train on all and report the test set per epoch',
      fraction('--val-split'),
      0,
    )
    .option('--models-dir <dir>', 'where model versions are saved', 'saved_models')
    .option('--plots-dir <dir>', 'where training_progress.png is written', 'plots')
    .addOption(
      new Option('--backend <engine>', `TensorFlow.js engine: ${BACKEND_CHOICES.join(', ')} (auto: node if installed, else wasm, else cpu)`)
        .default('auto')
        .argParser(parseBackendChoice),
    )
    .option('--workers <n>', 'data-parallel training workers (default: chosen for the engine and cores)', integer('--workers', 1))
    .addHelpText('after', HELP_AFTER)
    .action(async (options: TrainCliOptions) => {
      const view = new TrainingView(process.stdout, options.epochs);
      try {
        const result = await runTraining({
          data: options.data,
          dataDir: options.dataDir,
          architecture: 'simple_cnn',
          epochs: options.epochs,
          batchSize: options.batchSize,
          learningRate: options.lr,
          seed: options.seed,
          limit: options.limit,
          valSplit: options.valSplit,
          modelsDir: options.modelsDir,
          backend: options.backend,
          workers: options.workers,
          onEvent: (event) => view.show(event),
        });
        view.finish();
        view.print(formatEvaluation(result.evaluation, result.classNames));
        view.print(`saved model ${result.version} -> ${result.dir}`);
        const chartFile = path.join(options.plotsDir, TRAINING_CHART_FILE);
        const title = `${result.metadata.model_type} ${result.version}`;
        await writeTrainingChart(chartFile, result.metadata.training.history, title, validationLabel(result.validation));
        view.print(`training chart -> ${chartFile}`);
      } finally {
        view.finish();
      }
    });
}

function formatEvaluation(evaluation: Evaluation, classNames: string[]): string {
  const width = Math.max(...classNames.map((n) => n.length), 5);
  const lines = [`test accuracy: ${(evaluation.accuracy * 100).toFixed(2)}%`, '', 'per-class accuracy:'];
  for (const name of classNames) {
    const value = evaluation.perClassAccuracy[name];
    lines.push(`  ${name.padEnd(width)}  ${value === null ? '   n/a' : `${(value * 100).toFixed(1).padStart(5)}%`}`);
  }
  const cell = Math.max(5, ...evaluation.confusionMatrix.flat().map((v) => String(v).length + 1));
  const short = classNames.map((n) => n.slice(0, cell - 1).padStart(cell));
  lines.push('', 'confusion matrix (rows: true class, columns: predicted):', `  ${''.padEnd(width)} ${short.join('')}`);
  evaluation.confusionMatrix.forEach((row, i) => {
    lines.push(`  ${classNames[i].padEnd(width)} ${row.map((v) => String(v).padStart(cell)).join('')}`);
  });
  return lines.join('\n');
}
