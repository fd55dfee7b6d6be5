import { Command, Option } from 'commander';
import { UsageError } from '../errors';
import { guardedPromotion, type GuardedPromotion } from '../rollout/guarded-promotion';
import { DEFAULT_MIN_SAMPLES, describeCheck, parsePromotionRule, PROMOTION_FIGURES } from '../rollout/promotion-rules';
import { integer } from './option-parsers';
import { ChangeResult, removeLabel, removeVersion, rollbackStable, setLabel, STABLE_LABEL } from '../model/registry/changes';
import { readLabels } from '../model/registry/store';
import { describeVersion, listVersions, requireModelsDir, VersionDetail, VersionSummary } from '../model/registry/versions';

interface RegistryOptions {
  modelsDir: string;
  json?: boolean;
  reason?: string;
}

interface PromoteOptions extends RegistryOptions {
  url?: string;
  require?: string[];
  apiKey?: string;
  minSamples: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: list versions, label them (stable, canary, ...), promote, roll back, remove')
    .addHelpText('after', '\nLabels live in <models-dir>/labels.json; every change is appended to <models-dir>/audit.jsonl\n(who: MLDEPLOY_ACTOR, else user@host). "latest" always points at the newest version.\n');

  registryCommand(models, 'list', 'every version: created, test accuracy, engine, size, labels').action(async (opts: RegistryOptions) => {
    const versions = await listVersions(requireModelsDir(opts.modelsDir), await readLabels(opts.modelsDir));
    print(opts, { models_dir: opts.modelsDir, versions }, () => renderList(versions));
  });

  registryCommand(models, 'show <version>', "one version's metadata summary, size and labels").action(async (version: string, opts: RegistryOptions) => {
    const detail = await describeVersion(requireModelsDir(opts.modelsDir), version, await readLabels(opts.modelsDir));
    print(opts, detail, () => renderDetail(detail));
  });

  changeCommand(models, 'label <version> <label>', 'point a label (e.g. canary) at a version').action(async (version: string, label: string, opts: RegistryOptions) => {
    printChange(opts, await setLabel(opts.modelsDir, version, label, opts.reason ?? null));
  });

  changeCommand(models, 'unlabel <label>', 'remove a label').action(async (label: string, opts: RegistryOptions) => {
    printChange(opts, await removeLabel(opts.modelsDir, label, opts.reason ?? null));
  });

  changeCommand(models, 'promote <version>', `label a version ${STABLE_LABEL}; with --url and --require, only if the server's live figures pass every rule`)
    .option('--url <server>', 'a running mldeploy serve whose GET /monitoring gives the live figures')
    .option('--require <rule>', "promote only if this holds, e.g. 'agreement>=0.97' or 'estimated_accuracy>=stable-0.01' (repeatable; quote it)", collect)
    .addOption(new Option('--api-key <key>', "the server's API key").env('MLDEPLOY_API_KEY'))
    .option('--min-samples <n>', 'a figure from fewer predictions (or shadow comparisons) than this fails its rule', String(DEFAULT_MIN_SAMPLES))
    .addHelpText('after', promoteHelp())
    .action(async (version: string, opts: PromoteOptions) => {
      if (!opts.url && !opts.require) {
        printChange(opts, await setLabel(opts.modelsDir, version, STABLE_LABEL, opts.reason ?? null, 'promote'));
        return;
      }
      if (!opts.url || !opts.require) throw new UsageError('a guarded promotion needs both --url <server> and at least one --require <rule>');
      const result = await guardedPromotion({
        modelsDir: opts.modelsDir,
        version,
        url: opts.url,
        apiKey: opts.apiKey || undefined,
        rules: opts.require.map(parsePromotionRule),
        minSamples: integer('--min-samples', 1)(opts.minSamples),
        reason: opts.reason ?? null,
      });
      print(opts, result, () => renderGuarded(result));
      if (!result.promoted) process.exitCode = 1;
    });

  changeCommand(models, 'rollback', `move ${STABLE_LABEL} back to the version it had before (from the audit log)`).action(async (opts: RegistryOptions) => {
    printChange(opts, await rollbackStable(opts.modelsDir, opts.reason ?? null));
  });

  changeCommand(models, 'remove <version>', 'delete a version (refused while it is labelled or is the newest)').action(async (version: string, opts: RegistryOptions) => {
    printChange(opts, await removeVersion(opts.modelsDir, version, opts.reason ?? null));
  });
}

function registryCommand(parent: Command, spec: string, description: string): Command {
  return parent
    .command(spec)
    .description(description)
    .option('--models-dir <dir>', 'the models dir (as train --models-dir)', 'saved_models')
    .option('--json', 'print JSON for scripts');
}

function changeCommand(parent: Command, spec: string, description: string): Command {
  return registryCommand(parent, spec, description).option('--reason <text>', 'why, recorded in the audit log');
}

function print(opts: RegistryOptions, value: unknown, text: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(value, null, 2) + '\n' : text());
}

function printChange(opts: RegistryOptions, result: ChangeResult): void {
  print(opts, result, () => {
    if (result.action === 'remove') return `removed ${result.from}\n`;
    if (!result.changed) return `${result.label} already points at ${result.to}; nothing changed\n`;
    return `${result.label}: ${result.from ?? '(unset)'} -> ${result.to ?? '(unset)'}\n`;
  });
}

function promoteHelp(): string {
  const width = Math.max(...Object.keys(PROMOTION_FIGURES).map((name) => name.length));
  const figures = Object.entries(PROMOTION_FIGURES).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
  return [
    '',
    'Guarded promotion (--url + --require, repeatable): <figure><op><number>, or',
    "<figure><op>stable[+-<number>] to compare with the stable version's figure (estimated_accuracy,",
    'error_rate, latency_p95_ms). Operators > >= < <=. Every rule must hold; a figure the server',
    'cannot give (or from fewer than --min-samples) fails its rule: exit 1, nothing promoted.',
    ...figures,
    '',
  ].join('\n');
}

function renderGuarded(result: GuardedPromotion): string {
  const lines = [`${result.version} against ${result.url} (stable there: ${result.stable_version ?? 'none'}):`, ...result.checks.map((c) => `  ${describeCheck(c)}`)];
  if (!result.promoted) {
    const failed = result.checks.filter((c) => !c.passed).length;
    lines.push(`not promoted: ${failed} of ${result.checks.length} rule${result.checks.length === 1 ? '' : 's'} failed`);
  } else if (result.change?.changed) lines.push(`${STABLE_LABEL}: ${result.change.from ?? '(unset)'} -> ${result.version}`);
  else lines.push(`${STABLE_LABEL} already points at ${result.version}; nothing changed`);
  return lines.join('\n') + '\n';
}

function renderList(versions: VersionSummary[]): string {
  if (versions.length === 0) return 'no versions\n';
  const rows = [['VERSION', 'CREATED', 'TEST ACC', 'ENGINE', 'SIZE', 'LABELS']].concat(
    versions.map((v) => [v.version, v.created_at.slice(0, 19).replace('T', ' '), percent(v.test_accuracy), v.engine, megabytes(v.size_bytes), v.labels.join(', ')]),
  );
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()).join('\n') + '\n';
}

function renderDetail(detail: VersionDetail): string {
  const m = detail.metadata;
  const lines: Array<[string, string]> = [
    ['version', detail.version],
    ['dir', detail.dir],
    ['labels', detail.labels.join(', ') || '-'],
    ['created', detail.created_at],
    ['model', `${m.model_type}, ${m.num_classes} classes, input ${m.input_shape.join('x')}`],
    ['test accuracy', percent(m.test_accuracy)],
    ['engine', `${m.engine.backend} (tfjs ${m.engine.tfjs_backend})`],
    ['dataset', `${m.dataset.source} (${m.dataset.format}), ${m.dataset.train_count} train / ${m.dataset.val_count} val / ${m.dataset.test_count} test`],
    ['training', `${m.training.history.length} epochs, ${m.training.duration_s.toFixed(0)} s`],
    ['calibrated', m.calibration ? `yes (temperature ${m.calibration.temperature.toFixed(3)})` : 'no'],
    ['exports', m.exports ? Object.keys(m.exports).join(', ') : '-'],
    ['size', megabytes(detail.size_bytes)],
  ];
  return lines.map(([key, value]) => `${key.padEnd(14)} ${value}`).join('\n') + '\n';
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
