import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { UsageError } from '../errors';
import { MONITOR_RULE_METRICS, parseMonitorRule } from '../monitor/gate';
import { metadataOfVersion } from '../monitor/model-lookup';
import { runMonitorLog } from '../monitor/offline';
import { describeMonitorFailure, writeMonitorOutputs } from '../monitor/report';
import { DEFAULT_MONITOR_WINDOW } from '../monitor/window';
import { readPredictionLog } from '../serve/prediction-log';
import { stderrColours } from './output';
import { integer } from './option-parsers';

interface MonitorCommandOptions {
  log: string;
  window: number;
  out: string;
  failOn?: string[];
  model: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description("run the server's drift and accuracy monitoring over a predictions.jsonl file, one report row per window")
    .requiredOption('--log <file>', 'predictions.jsonl (or a rotated .N file) written by "mldeploy serve"')
    .option('--window <n>', 'predictions per window (as serve --monitor-window)', integer('--window', 1), DEFAULT_MONITOR_WINDOW)
    .option('--out <dir>', 'where monitor_report.{json,txt,html,png} go', '.')
    .option('--fail-on <rule>', 'fail (exit 1) when <metric><op><number> holds, e.g. drift_windows>=3 (repeatable)', collect)
    .option('--model <path>', "the models the log's versions came from (a version dir, <models-dir>/latest or a models dir)", 'saved_models')
    .addHelpText('after', `\nGate metrics:\n${Object.entries(MONITOR_RULE_METRICS).map(([name, text]) => `  ${name.padEnd(20)} ${text}`).join('\n')}\n`)
    .action(async (opts: MonitorCommandOptions) => {
      const rules = (opts.failOn ?? []).map(parseMonitorRule);
      if (!existsSync(opts.log)) throw new UsageError(`--log ${opts.log}: no such file`);
      const result = await runMonitorLog({
        log: opts.log,
        records: readPredictionLog(opts.log),
        window: opts.window,
        modelPath: opts.model,
        rules,
        metadataOf: (version) => metadataOfVersion(opts.model, version).catch(() => null),
      });
      const files = await writeMonitorOutputs(result, opts.out);
      const { summary } = result;
      const lowest = summary.min_estimated_accuracy === null ? '-' : `${(summary.min_estimated_accuracy * 100).toFixed(1)}%`;
      process.stdout.write(`${summary.windows} windows, ${summary.tested} tested, ${summary.drift_windows} with drift detected; lowest estimated accuracy ${lowest}\n`);
      process.stdout.write(`wrote ${files.json}, ${files.text}, ${files.html}, ${files.chart}\n`);
      if (result.gate.passed) {
        if (rules.length > 0) process.stdout.write(`gate passed: ${result.gate.rules.join(' ')}\n`);
        return;
      }
      for (const failure of result.gate.failures) process.stderr.write(`${stderrColours.fail('gate failed:')} ${describeMonitorFailure(failure)}\n`);
      process.exitCode = 1;
    });
}
