import { Command, InvalidArgumentError, Option } from 'commander';
import * as cliProgress from 'cli-progress';
import { describeGateFailure } from '../drift/gate';
import {
  CustomScenarioSpec,
  DEFAULT_CONCURRENCY,
  DEFAULT_MIN_SUCCESS_RATE,
  DEFAULT_RETRIES,
  DEFAULT_SAMPLES,
  DEFAULT_SCENARIOS,
  DEFAULT_SEED,
  DEFAULT_TIMEOUT_MS,
  DriftOptions,
  DriftProgress,
} from '../drift/options';
import { RULE_METRIC_DESCRIPTIONS, RULE_OPS } from '../drift/rules';
import { runDrift } from '../drift/runner';
import { DEFAULT_ALPHA } from '../drift/detect/shift';
import { DEFAULT_ESTIMATOR, ESTIMATORS } from '../drift/estimate/estimators';
import { SCENARIOS, SHIFT_SCENARIO_GROUPS } from '../drift/scenarios';
import { writeDriftOutputs } from '../report/drift-outputs';
import { detectionSummary } from '../report/drift-calibrated';
import { formatNumber, formatPercent } from '../report/drift-text';
import { UsageError } from '../errors';
import { parseServingBackendChoice, SERVING_BACKEND_CHOICES } from '../model/onnx/serving';
import { fraction, integer, positiveNumber } from './option-parsers';
import { stderrColours } from './output';

/** What commander hands over: DriftOptions' fields, named after the flags where they differ. */
type DriftCliOptions = Pick<
  DriftOptions,
  'url' | 'backend' | 'samples' | 'concurrency' | 'timeoutMs' | 'retries' | 'seed' | 'data' | 'cifar100' | 'dataDir' | 'reference' | 'apiKey' | 'minSuccessRate' | 'alpha'
> & {
  model?: string;
  scenarios: string;
  scenario?: CustomScenarioSpec[];
  out: string;
  plotsDir: string;
  failOn?: string[];
  deadline?: number;
};

function collectScenario(value: string, previous: CustomScenarioSpec[] = []): CustomScenarioSpec[] {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) throw new InvalidArgumentError('expected name=<folder or .tar.gz>, e.g. street=./photos.');
  return [...previous, { name: value.slice(0, at), source: value.slice(at + 1) }];
}

/** 0..1 inclusive (option-parsers' fraction() excludes 1, which here means "every request"). */
function shareOfRequests(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new UsageError(`--min-success-rate must be between 0 and 1, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `gaussian_noise:<1-5>`, `noise_std10:10%|50%|100%`: a group's names by prefix. */
function compactNames(names: string[]): string {
  const byPrefix = new Map<string, string[]>();
  for (const name of names) {
    const at = name.indexOf(':');
    const prefix = name.slice(0, at);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), name.slice(at + 1)]);
  }
  const entries = [...byPrefix].map(([prefix, levels]) => `${prefix}:${levels.join(',') === '1,2,3,4,5' ? '<1-5>' : levels.join('|')}`);
  // Wrapped at the width of the rest of the help text.
  const lines: string[] = [];
  for (const entry of entries) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + entry.length + 2 <= 92) lines[last] += `, ${entry}`;
    else lines.push(entry);
  }
  return lines.join(',\n    ');
}

function helpText(): string {
  const metrics = Object.entries(RULE_METRIC_DESCRIPTIONS)
    .map(([name, text]) => `  ${name.padEnd(24)} ${text}`)
    .join('\n');
  const scenarios = Object.entries(SCENARIOS)
    .map(([name, definition]) => `  ${name.padEnd(16)} ${definition.description}`)
    .join('\n');
  const shifts = SHIFT_SCENARIO_GROUPS.map((group) => `  ${group.description}:\n    ${compactNames(group.names)}`).join('\n');
  return `
Scenarios (--scenarios, comma-separated; reproducible with --seed):
${scenarios}
  ${'cifar100'.padEnd(16)} CIFAR-100 test images (out of domain; never scored: accuracy is null)
${shifts}
  e.g. --scenarios clean,gaussian_noise:3,contrast:5,noise_std10:50%,transform:large,knockout_class0:100%
  name=<source>    --scenario adds your own images (class folders are labelled when the folder
                   names are the model's classes). clean is the baseline (--reference baseline).

CIFAR-100: official cifar-100-binary.tar.gz downloaded once into --data-dir, or --cifar100 /
MLDEPLOY_CIFAR100 (the archive, its extracted folder, or a folder/.tar.gz of images). If it is
requested but unavailable, nothing is replayed and drift exits 2; leave it out with
--scenarios clean,noisy,very_noisy.

Gate rules (--fail-on, repeatable): [<scenario>:]<metric><op><number>
A rule FAILS the run when its condition holds. Unscoped rules apply to every scenario except the
baseline (with --reference model: to every scenario). Operators: ${RULE_OPS.join(' ')}
Metrics:
${metrics}
PSI: 10 quantile bins of the reference, empty bins at 1e-4; < 0.1 none, 0.1-0.2 moderate,
> 0.2 significant. psi covers confidence, the predicted class, the input statistics
(mean_r/g/b, std_r/g/b, brightness, noise) and the answers' entropy.

Quote every rule: > and < are shell redirections, so an unquoted psi>0.2 writes a file named 0.2.
Scenario names may hold ":" (contrast:5:p_value<0.01 scopes p_value<0.01 to contrast:5).

Shift detection (drift.detected in performance_log.json): a KS test on each softmax output
(all_probabilities) and on each input statistic, and a chi-square test on the predicted classes,
corrected together (BBSD's Bonferroni rule kept; the other tests get the false-alarm budget it leaves,
measured on seeded splits of the reference), so a clean scenario is flagged with probability about
--alpha (default ${DEFAULT_ALPHA}). Against the clean replay, or with --reference model the probability
vectors stored at train time (models trained before metadata schema 2 have none: PSI only).
Accuracy without labels (estimated_accuracy): the ${DEFAULT_ESTIMATOR} estimator (lowest error in
npm run bench:detect), every estimator (${ESTIMATORS.join(', ')}) in performance_log.json, from
the temperature and thresholds fitted at train time; printed next to the true accuracy when the
images are labelled. --fail-on drift_detected fails the run when the detector fires.

The gate fails closed: before replaying, one real prediction is sent, and an API key the server
refuses (401/403) stops the run (exit 2). A scenario answering fewer than --min-success-rate of
its requests fails the gate whatever the rules say; a rule whose metric has no value because
requests failed fails (only metrics that do not apply, such as accuracy without labels, are
skipped). If the target stops answering or --deadline passes, the reports are still written with
what was measured, marked incomplete ("complete": false), and the gate fails.

Exit codes: 0 every rule and --min-success-rate hold on a complete run; 1 a rule or
--min-success-rate failed (stderr and the reports name rule, scenario and value), the run is
incomplete (target down, --deadline), or the run itself failed; 2 usage error (also a rule on
estimates or detection that the model's metadata cannot support), a data source that
cannot be had (checked before anything is replayed), an API that cannot be reached, or an API key
it refuses.

Examples:
  mldeploy drift --url http://127.0.0.1:8000 --scenarios clean,noisy,very_noisy --fail-on 'psi>0.2'
  mldeploy drift --model saved_models/latest --data ../shared/datasets/cifar10-jpeg.tar.gz \\
      --scenarios clean,noisy,blur,jpeg --fail-on 'accuracy_drop>0.1' --fail-on 'p99_ms>200'
  mldeploy drift --url http://10.0.0.5:8000 --scenario street=./photos.tar.gz --fail-on 'street:psi_class>0.25'
  mldeploy drift --url http://127.0.0.1:8000 --scenarios clean --reference model --fail-on 'psi>0.1'
  mldeploy drift --model saved_models/latest --scenarios clean,gaussian_noise:3,contrast:5 --reference model \\
      --fail-on drift_detected --fail-on 'estimated_accuracy_drop>0.1'

Outputs: <out>/performance_log.json, <out>/drift_report.txt, <out>/drift_report.html,
<plots-dir>/drift_analysis.png (all written atomically).`;
}

export function registerDrift(program: Command): void {
  program
    .command('drift')
    .description('replay drift scenarios against the prediction API, measure drift (PSI, KS, chi-square), report, and gate CI')
    .option('--url <url>', 'a running server, e.g. http://127.0.0.1:8000 (or use --model)')
    .option('--model <path>', 'serve this model in-process for the run instead (version dir, models dir or .../latest)')
    .addOption(
      new Option('--backend <engine>', "engine of the --model server, as serve's --backend (auto: onnx when the version is exported)")
        .choices(SERVING_BACKEND_CHOICES)
        .argParser(parseServingBackendChoice),
    )
    .option('--samples <n>', 'images per scenario', integer('--samples', 1), DEFAULT_SAMPLES)
    .option('--scenarios <list>', 'comma-separated built-in scenarios', DEFAULT_SCENARIOS.join(','))
    .option('--scenario <name=source>', 'add a scenario from your own images: a class folder or .tar.gz (repeatable)', collectScenario)
    .option('--concurrency <n>', 'requests in flight', integer('--concurrency', 1), DEFAULT_CONCURRENCY)
    .option('--timeout-ms <ms>', 'per-request timeout', integer('--timeout-ms', 1), DEFAULT_TIMEOUT_MS)
    .option('--retries <n>', 'retries (with backoff, or the Retry-After a 429/503 asks, up to 5 s) on connection errors, timeouts, 429 and 5xx', integer('--retries', 0), DEFAULT_RETRIES)
    .option('--seed <n>', 'seed for sampling and scenario noise', integer('--seed', 0), DEFAULT_SEED)
    .addOption(new Option('--data <source>', 'CIFAR-10 source: official .tar.gz, its folder, a class-folder dataset, or URL').env('MLDEPLOY_CIFAR10'))
    .addOption(new Option('--cifar100 <source>', 'CIFAR-100 source: official .tar.gz, its folder, or a folder/.tar.gz of images').env('MLDEPLOY_CIFAR100'))
    .option('--data-dir <dir>', 'download/cache directory for datasets', 'data')
    .option('--out <dir>', 'directory for performance_log.json, drift_report.txt and drift_report.html', '.')
    .option('--plots-dir <dir>', 'directory for drift_analysis.png', 'plots')
    .addOption(
      new Option('--reference <kind>', 'what drift is measured against: the clean replay, or the profile saved with the model')
        .choices(['baseline', 'model'])
        .default('baseline'),
    )
    .option('--fail-on <rule>', "gate rule, e.g. 'psi>0.2' or drift_detected (repeatable; quote it)", collect)
    .option('--alpha <p>', "shift detector's false-alarm rate per scenario (family-wise)", fraction('--alpha'), DEFAULT_ALPHA)
    .option('--min-success-rate <fraction>', 'fail the gate for any scenario answering less than this share of requests (0 disables)', shareOfRequests, DEFAULT_MIN_SUCCESS_RATE)
    .option('--deadline <seconds>', 'bound on the whole run; what was measured by then is reported as incomplete (exit 1)', positiveNumber('--deadline'))
    .addOption(new Option('--api-key <key>', 'API key the server expects (sent to the --url origin only)').env('MLDEPLOY_API_KEY'))
    .addHelpText('after', helpText())
    .action(async (opts: DriftCliOptions) => {
      const progress = createProgressPrinter();
      const result = await runDrift({
        url: opts.url,
        modelPath: opts.model,
        backend: opts.backend,
        samples: opts.samples,
        scenarios: opts.scenarios
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== ''),
        customScenarios: opts.scenario ?? [],
        concurrency: opts.concurrency,
        timeoutMs: opts.timeoutMs,
        retries: opts.retries,
        seed: opts.seed,
        data: opts.data,
        cifar100: opts.cifar100,
        dataDir: opts.dataDir,
        reference: opts.reference,
        failOn: opts.failOn ?? [],
        alpha: opts.alpha,
        minSuccessRate: opts.minSuccessRate,
        deadlineS: opts.deadline,
        apiKey: opts.apiKey,
        onProgress: progress.handle,
      }).finally(progress.stop);

      const files = await writeDriftOutputs(result, opts.out, opts.plotsDir);
      const nameWidth = Math.max(12, ...result.scenarios.map((s) => s.name.length));
      for (const s of result.scenarios) {
        console.log(
          `${s.name.padEnd(nameWidth)} accuracy ${formatPercent(s.accuracy).padStart(6)} (estimated ${formatPercent(s.estimated_accuracy?.value ?? null).padStart(6)})  ` +
            `confidence ${formatNumber(s.mean_confidence)}  success ${formatPercent(s.success_rate)}  p95 ${formatNumber(s.latency_ms.p95, 1)} ms  ${detectionSummary(s)}`,
        );
      }
      console.log(`wrote ${files.json}, ${files.text}, ${files.html}, ${files.chart}`);
      if (result.gate.passed) {
        if (result.gate.rules.length > 0) console.log(`gate passed: ${result.gate.rules.join(' ')}`);
        return;
      }
      if (!result.complete) process.stderr.write(`${stderrColours.fail(`gate failed: run incomplete: ${result.incomplete_reason}`)}\n`);
      for (const failure of result.gate.failures) process.stderr.write(`${stderrColours.fail(`gate failed: ${describeGateFailure(failure)}`)}\n`);
      process.exitCode = 1;
    });
}

/** A cli-progress bar per scenario on a TTY; otherwise a few plain lines (CI logs). */
function createProgressPrinter(): { handle: (event: DriftProgress) => void; stop: () => void } {
  const stream = process.stderr;
  let bar: cliProgress.SingleBar | null = null;
  let lastQuarter = 0;
  let replayStarted = 0;
  let lastData = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  const handle = (event: DriftProgress): void => {
    switch (event.type) {
      case 'stage':
        stream.write(`${event.message}\n`);
        break;
      case 'data': {
        // One line per phase, and per 10% of a download with a known size.
        const { phase, done, total } = event.progress;
        const step = phase === 'download' && total > 0 ? Math.floor((done / total) * 10) * 10 : -1;
        const key = `${event.dataset} ${phase} ${step}`;
        if (key !== lastData) {
          lastData = key;
          stream.write(`${event.dataset}: ${phase}${step >= 0 ? ` ${step}%` : ''}\n`);
        }
        break;
      }
      case 'replay-start':
        lastQuarter = 0;
        replayStarted = Date.now();
        if (stream.isTTY) {
          bar = new cliProgress.SingleBar(
            { stream, format: `${event.scenario.padEnd(12)} {bar} {value}/{total} | {failed} failed | {rate} img/s | ETA {eta}s`, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(event.total, 0, { failed: 0, rate: 0 });
        }
        break;
      case 'replay':
        if (bar) {
          const seconds = Math.max((Date.now() - replayStarted) / 1000, 1e-3);
          bar.update(event.done, { failed: event.failed, rate: Math.round(event.done / seconds) });
        } else if (Math.floor((event.done / event.total) * 4) > lastQuarter && event.done < event.total) {
          lastQuarter = Math.floor((event.done / event.total) * 4);
          stream.write(`${event.scenario}: ${event.done}/${event.total} (${event.failed} failed)\n`);
        }
        break;
      case 'replay-end':
        stop();
        stream.write(
          `${event.scenario}: ${event.total} images in ${event.durationS.toFixed(1)} s ` +
            `(${Math.round(event.total / Math.max(event.durationS, 1e-3))} img/s), ${event.failed} failed\n`,
        );
        break;
    }
  };
  return { handle, stop };
}
