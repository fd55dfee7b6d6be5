import { Command, Option } from 'commander';
import * as cliProgress from 'cli-progress';
import * as path from 'node:path';
import { CIFAR10_ENV } from '../data/cifar10';
import type { DataProgress } from '../data/types';
import { BACKEND_CHOICES, describeEngine, parseBackendChoice } from '../model/engine';
import type { Evaluation } from '../model/evaluate';
import { runTraining, validationLabel, type TrainRunEvent, type TrainRunOptions } from '../model/train-run';
import type { BatchProgress, EpochRecord } from '../model/trainer';
import { TRAINING_CHART_FILE, writeTrainingChart } from '../report/training-chart';
import { fraction, integer, positiveNumber } from './option-parsers';

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

/** Draws progress: bars on a terminal, one plain line per step otherwise (logs, CI). */
class TrainingView {
  private bar: cliProgress.SingleBar | undefined;
  private barPhase = '';
  private validationName = 'validation';
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly epochs: number,
  ) {
    this.tty = out.isTTY === true;
  }

  print(line: string): void {
    this.out.write(line + '\n');
  }

  show(event: TrainRunEvent): void {
    switch (event.type) {
      case 'engine':
        this.print(describeEngine(event.engine));
        break;
      case 'data-progress':
        this.dataProgress(event.progress);
        break;
      case 'data': {
        this.finish();
        const { dataset } = event;
        this.validationName = validationLabel(event.validation);
        const validation = event.validation === 'held-out' ? `${event.validationCount} validation, ` : '';
        this.print(
          `data: ${dataset.source} (${dataset.format}, ${dataset.classNames.length} classes): ` +
            `${event.trainCount} train, ${validation}${dataset.test.count} test images` +
            (event.validation === 'test' ? ' (test figures reported per epoch; --val-split holds out validation images instead)' : ''),
        );
        break;
      }
      case 'batch':
        this.batch(event.progress);
        break;
      case 'epoch':
        this.finish();
        this.print(formatEpoch(event.record, this.epochs, this.validationName));
        break;
      case 'stage':
        this.print(event.stage === 'evaluating' ? 'evaluating on the test set...' : 'saving...');
        break;
    }
  }

  private dataProgress(p: DataProgress): void {
    if (p.phase !== this.barPhase) {
      this.finish();
      this.barPhase = p.phase;
      const label = { download: 'downloading', extract: 'extracting', read: 'reading', decode: 'decoding images' }[p.phase];
      if (this.tty && p.total > 1) {
        const unit = p.phase === 'download' ? 'MB' : 'images';
        this.bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {percentage}% {shown}/{all} ${unit} | ETA {eta_formatted}`, hideCursor: true, stream: this.out },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(p.total, p.done, this.sizes(p));
      } else {
        this.print(p.phase === 'decode' || p.phase === 'download' ? `${label} (${this.sizes(p).all} ${p.phase === 'download' ? 'MB' : 'images'})...` : `${label}...`);
      }
      return;
    }
    this.bar?.update(p.done, this.sizes(p));
  }

  private sizes(p: DataProgress): { shown: string; all: string } {
    if (p.phase !== 'download') return { shown: String(p.done), all: String(p.total) };
    return { shown: (p.done / 1e6).toFixed(1), all: p.total ? (p.total / 1e6).toFixed(1) : '?' };
  }

  private batch(p: BatchProgress): void {
    if (!this.tty) return;
    const values = {
      epochLabel: `epoch ${p.epoch}/${p.epochs}`,
      loss: p.loss.toFixed(4),
      accuracy: (p.accuracy * 100).toFixed(1),
      speed: Math.round(p.imagesPerSecond),
    };
    if (!this.bar || this.barPhase !== `epoch ${p.epoch}`) {
      this.finish();
      this.barPhase = `epoch ${p.epoch}`;
      this.bar = new cliProgress.SingleBar(
        {
          format: '{epochLabel} [{bar}] {value}/{total} batches | loss {loss} | acc {accuracy}% | {speed} img/s | ETA {eta_formatted}',
          hideCursor: true,
          stream: this.out,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(p.batches, p.batch, values);
    } else {
      this.bar.update(p.batch, values);
    }
  }

  /** Stops the current bar (if any) so the next line starts clean. */
  finish(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
    if (!this.barPhase.startsWith('epoch')) this.barPhase = '';
  }
}

function formatEpoch(r: EpochRecord, epochs: number, validationName: string): string {
  const name = validationName === 'test' ? 'test' : 'val';
  const validation =
    r.val_loss === null || r.val_accuracy === null
      ? ''
      : `, ${name}_loss ${r.val_loss.toFixed(4)}, ${name}_accuracy ${(r.val_accuracy * 100).toFixed(2)}%`;
  return (
    `epoch ${r.epoch}/${epochs}: loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%${validation}, ` +
    `${Math.round(r.img_per_s)} img/s, ${r.seconds.toFixed(1)} s`
  );
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
