/**
 * What a training run prints while it runs (mldeploy train, mldeploy retrain): the engine, the data,
 * progress bars on a terminal, one line per epoch (`epoch 2/5: loss ...`), the closing stages.
 */
import * as cliProgress from 'cli-progress';
import type { DataProgress } from '../data/types';
import { describeEngine } from '../model/engine';
import { validationLabel, type TrainRunEvent } from '../model/train-run';
import type { BatchProgress, EpochRecord } from '../model/trainer';

type DataEvent = Extract<TrainRunEvent, { type: 'data' }>;

/** The data line `mldeploy train` prints: source, format, classes and the split. */
function describeTrainingData(event: DataEvent): string {
  const { dataset } = event;
  const validation = event.validation === 'held-out' ? `${event.validationCount} validation, ` : '';
  return (
    `data: ${dataset.source} (${dataset.format}, ${dataset.classNames.length} classes): ` +
    `${event.trainCount} train, ${validation}${dataset.test.count} test images` +
    (event.validation === 'test' ? ' (test figures reported per epoch; --val-split holds out validation images instead)' : '')
  );
}

/** Draws progress: bars on a terminal, one plain line per step otherwise (logs, CI). */
export class TrainingView {
  private bar: cliProgress.SingleBar | undefined;
  private barPhase = '';
  private validationName = 'validation';
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly epochs: number,
    /** The line for the training data (retrain says what its images are instead). */
    private readonly dataLine: (event: DataEvent) => string = describeTrainingData,
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
      case 'data':
        this.finish();
        this.validationName = validationLabel(event.validation);
        this.print(this.dataLine(event));
        break;
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
