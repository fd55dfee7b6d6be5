import { Command, Option } from 'commander';
import { UsageError } from '../errors';
import { BACKEND_CHOICES, parseBackendChoice } from '../model/engine';
import { DEFAULT_TOLERANCE } from '../retrain/compare';
import { DEFAULT_SHARE, GENERAL_AUGMENTATIONS } from '../retrain/plan';
import { renderComparison, renderDecision, renderOutcome, renderPlan } from '../retrain/render';
import { DEFAULT_COMPARE_SAMPLES, runRetrain, type RetrainEvent, type RetrainOptions } from '../retrain/run';
import { stderrColours } from './output';
import { integer, positiveNumber } from './option-parsers';
import { TrainingView } from './training-view';

/** What commander hands over: RetrainOptions' fields, with --if for ifRules. */
type RetrainCliOptions = Omit<RetrainOptions, 'ifRules' | 'dryRun' | 'onEvent'> & { if?: string[]; dryRun?: boolean; json?: boolean };

const HELP_AFTER = `
What it does:
  1. decide: scenarios of the drift log that break an --if rule (default: the log's failed gate rules
     and the scenarios its shift detector flagged); with --url, the served version's /monitoring window
     (drift detected, or the --if rules over drift_detected, p_value, estimated_accuracy[_drop]).
     Nothing drifted: "no retraining needed", exit 0.
  2. plan: <corruption>:<severity> -> that corruption at severities s-1..s+1; noisy, blur, jpeg, rotate,
     transform:*, noise_std* -> that transform; applied to extra copies of --share of the training images.
     cifar100 (new classes), knockout_class0:* (label shift), folders and clean are reported as not
     addressable. A live window: ${GENERAL_AUGMENTATIONS.map((a) => a.corruption).join(', ')} (severities 1-3),
     narrowed to those whose input statistic's test fired.
  3. train a candidate with the stable version's recipe (metadata.json; --epochs/--limit/--batch-size override).
  4. compare stable and candidate on --samples test images, clean and per drifted scenario.
  5. label the candidate "canary" when clean >= stable - --tolerance and every scenario >= stable;
     otherwise leave it unlabelled and exit 1.
  The version compared against is the "stable" label, else latest (with --url: the served version);
  without a stable label it is labelled stable first, so the candidate becoming latest serves nothing new.

Examples:
  mldeploy retrain --drift-log performance_log.json --models-dir saved_models
  mldeploy retrain --drift-log performance_log.json --if 'psi>0.2' --dry-run
  mldeploy retrain --url http://127.0.0.1:8000 --models-dir saved_models --epochs 2 --json`;

export function registerRetrain(program: Command): void {
  program
    .command('retrain')
    .description('train a candidate on the augmentations a drift calls for, compare it with stable, label it canary if not worse')
    .option('--drift-log <file>', 'performance_log.json written by "mldeploy drift"')
    .option('--url <server>', "a running server: read its GET /monitoring instead of a drift log")
    .addOption(new Option('--api-key <key>', 'API key the --url server expects').env('MLDEPLOY_API_KEY'))
    .option('--if <rule>', "retrain for scenarios where this rule holds, e.g. 'psi>0.2' (repeatable; quote it)", collect)
    .option('--models-dir <dir>', 'the models dir holding stable; the candidate is saved there', 'saved_models')
    .option('--data <path-or-url>', "dataset (default: the stable version's metadata.dataset.source)")
    .option('--data-dir <dir>', 'download and cache directory for datasets', 'data')
    .option('--epochs <n>', "override the recipe's epochs", integer('--epochs', 1))
    .option('--batch-size <n>', "override the recipe's batch size", integer('--batch-size', 1))
    .option('--limit <n>', "override the recipe's training-image limit (quick runs)", integer('--limit', 1))
    .option('--share <fraction>', 'extra augmented copies, as a share of the training images', positiveNumber('--share'), DEFAULT_SHARE)
    .option('--samples <n>', 'test images the comparison uses (a seeded sample)', integer('--samples', 1), DEFAULT_COMPARE_SAMPLES)
    .option('--tolerance <fraction>', 'clean accuracy the candidate may lose against stable (0.01 = one point)', Number, DEFAULT_TOLERANCE)
    .addOption(
      new Option('--backend <engine>', `TensorFlow.js engine: ${BACKEND_CHOICES.join(', ')}`).default('auto').argParser(parseBackendChoice),
    )
    .option('--workers <n>', 'data-parallel training workers', integer('--workers', 1))
    .option('--dry-run', 'print the decision and plan, train nothing')
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: RetrainCliOptions) => {
      const { if: ifRules, dryRun, json, ...options } = opts;
      const out = json ? process.stderr : process.stdout;
      const print = (text: string) => out.write(text + '\n');
      const progress = new RetrainProgress(out);
      const result = await runRetrain({ ...options, ifRules: ifRules ?? [], dryRun: dryRun === true, onEvent: (event) => progress.show(event) }).finally(() => progress.finish());
      if (result.outcome === 'no-retrain') print(renderDecision(result));
      if (result.comparison && result.stable && result.candidate) print(renderComparison(result.comparison, result.stable.version, result.candidate.version));
      if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      const outcome = renderOutcome(result);
      if (result.outcome === 'worse' || result.outcome === 'unaddressable') {
        process.stderr.write(`${stderrColours.fail('retrain:')} ${outcome}\n`);
        process.exitCode = 1;
      } else {
        print(outcome);
      }
    });
}

/** The plan, the stages, and the candidate's training as `mldeploy train` shows it (bars, `epoch i/n` lines). */
class RetrainProgress {
  private training: TrainingView | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  show(event: RetrainEvent): void {
    if (event.type === 'plan') {
      this.print(renderDecision(event.result));
      this.print(renderPlan(event.result));
      if (event.result.recipe) this.training = new TrainingView(this.out, event.result.recipe.epochs, (data) => `training on ${data.trainCount} images (clean + augmented copies)`);
    } else if (event.type === 'stage') {
      this.finish();
      this.print(`${event.stage}...`);
    } else {
      this.training?.show(event.event);
    }
  }

  finish(): void {
    this.training?.finish();
  }

  private print(text: string): void {
    this.out.write(text + '\n');
  }
}

function collect(value: string, previous: string[] = []): string[] {
  if (value.trim() === '') throw new UsageError('--if needs a rule, e.g. --if \'psi>0.2\'');
  return [...previous, value];
}
