/**
 * The rollout parts of a running server: the shadow runner (serve --shadow, or the `shadow`
 * label) and the --rollback-if watcher. Flag checks run before any worker starts. The watcher runs
 * where the monitor is (the single process, or the cluster primary); its registry change is a
 * labels.json change, which every serving process follows by itself (label-watch.ts).
 */
import { realpathSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { UsageError } from '../errors';
import type { LiveMonitor, MonitoredRecord } from '../monitor/live';
import { isModelsDir } from '../serve/fleet-plan';
import { METRIC_PREFIX } from '../serve/metrics';
import type { BatchingPredictor } from '../serve/predictor';
import type { ModelRepository } from '../serve/repository';
import { ShadowRunner } from '../serve/shadow';
import type { ForwardedShadowStats } from '../serve/shadow-cluster';
import { ShadowMetrics, ShadowStats } from '../serve/shadow-stats';
import type { TrafficAccess } from '../serve/traffic';
import { registryRollback, stableFiguresOf } from './rollback-sources';
import { parseRollbackRule, RollbackWatcher, type RollbackEvent, type RollbackRule, type StableFigures } from './rollback-watch';

/** How often the watcher looks at the stable version's figures. */
export const ROLLBACK_CHECK_MS = 1000;

export interface RollbackSetting {
  rule: string;
  /** Predictions the stable version must have in its window before the rule is checked. */
  after: number;
}

/** --rollback-if checked against the other flags (UsageError, exit 2); the parsed rule. */
export function checkRollbackSetting(modelPath: string, setting: RollbackSetting, monitorWindow: number | null): RollbackRule {
  const rule = parseRollbackRule(setting.rule);
  if (!isModelsDir(modelPath)) throw new UsageError(`--rollback-if needs --model <models-dir> (it moves the stable label there), not one version (${modelPath})`);
  if (monitorWindow === null) throw new UsageError('--rollback-if reads the live monitor; it cannot be combined with --no-monitor');
  if (setting.after > monitorWindow) {
    throw new UsageError(`--rollback-after ${setting.after} is more than the monitor window (--monitor-window ${monitorWindow}), so the rule would never be checked`);
  }
  return rule;
}

export interface RollbackWatchParts {
  modelPath: string;
  setting: RollbackSetting;
  registry: Registry;
  /** The stable version's figures now (the monitor's report plus its request figures). */
  figures: () => Promise<StableFigures | null>;
  /** Serve the new stable now (the label watch would too, a moment later). */
  refresh: () => Promise<unknown>;
  /** Each rollback (or failure) with a line saying what happened, for the server log. */
  log: (event: RollbackEvent, message: string) => void;
}

/** Starts the watcher; returns it (its section() is /monitoring's `rollback`) and its stop function. */
export function startRollbackWatch(parts: RollbackWatchParts): { watcher: RollbackWatcher; stop: () => void } {
  const rollbacks = new Counter({
    name: `${METRIC_PREFIX}rollbacks_total`,
    help: 'Automatic rollbacks of the stable version (serve --rollback-if) by version rolled back from and result',
    labelNames: ['version', 'result'],
    registers: [parts.registry],
  });
  const onEvent = (event: RollbackEvent) => {
    if (event.kind === 'rolled_back') {
      rollbacks.inc({ version: event.from ?? '', result: 'success' });
      parts.log(event, `--rollback-if: stable rolled back from ${event.from} to ${event.to} (${event.reason})`);
    } else if (event.kind === 'failed') {
      rollbacks.inc({ version: event.version, result: 'failure' });
      parts.log(event, `--rollback-if: could not roll back ${event.version}: ${event.error} (${event.reason})`);
    } else {
      parts.log(event, `--rollback-if: rolled back, but refreshing the served versions failed: ${event.error}`);
    }
  };
  const watcher = new RollbackWatcher({
    rule: parseRollbackRule(parts.setting.rule),
    after: parts.setting.after,
    figures: parts.figures,
    rollback: registryRollback(realpathSync(parts.modelPath)),
    refresh: parts.refresh,
    onEvent,
  });
  return { watcher, stop: watcher.start(ROLLBACK_CHECK_MS) };
}

/** The stable version's figures from a monitor and the request figures; null while no version is known. */
export function stableFiguresFrom(stableVersion: () => string | null, monitor: LiveMonitor, traffic: TrafficAccess): () => Promise<StableFigures | null> {
  return async () => {
    const version = stableVersion();
    if (version === null) return null;
    return stableFiguresOf(monitor.report(version), (await traffic.figures([version]))[version] ?? null);
  };
}

export interface LocalRollbackParts extends Omit<RollbackWatchParts, 'setting' | 'figures' | 'log'> {
  repository: ModelRepository;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** Also told each rollback line (the CLI prints it). */
  notice?: (message: string) => void;
  /** Absent with --no-monitor (a usage error with --rollback-if). */
  monitor: LiveMonitor | undefined;
  traffic: TrafficAccess;
}

/** A single-process server's watcher (checked first: UsageError); null without --rollback-if. */
export function startLocalRollback(setting: RollbackSetting | undefined, parts: LocalRollbackParts): { watcher: RollbackWatcher; stop: () => void } | null {
  if (!setting) return null;
  checkRollbackSetting(parts.modelPath, setting, parts.monitor ? parts.monitor.size : null);
  const figures = stableFiguresFrom(() => parts.repository.current.version, parts.monitor!, parts.traffic);
  const log = (event: RollbackEvent, message: string) => {
    parts.logger[event.kind === 'rolled_back' ? 'warn' : 'error']({ event: 'rollback', ...event }, message);
    parts.notice?.(message);
  };
  return startRollbackWatch({ ...parts, setting, figures, log });
}

export interface ShadowParts {
  repository: ModelRepository;
  predictor: BatchingPredictor;
  registry: Registry;
  /** The in-process monitor, which then also gets the shadow's predictions. */
  monitor?: LiveMonitor;
  /** Share of the primary's requests to shadow (serve --shadow-share), (0, 1]. */
  share?: number;
  /** Cluster workers: results and shadow predictions go to the primary, which keeps the figures and metrics. */
  forward?: ForwardedShadowStats;
  logger: Pick<Logger, 'warn'>;
}

/** The shadow runner: it shadows whatever version the served set has in the shadow role (none: it does nothing). */
export function createShadowRunner(parts: ShadowParts): ShadowRunner {
  const { repository, predictor, monitor, logger, forward } = parts;
  const local = monitor && ((record: MonitoredRecord) => monitor.record(record));
  return new ShadowRunner(forward ?? new ShadowStats(new ShadowMetrics(parts.registry)), {
    shadow: () => repository.versions().find((v) => v.role === 'shadow')?.model ?? null,
    primary: () => repository.current,
    busy: () => predictor.pending > 0,
    share: parts.share,
    record: forward ? (record) => forward.record(record) : local,
    onError: (err, version) => logger.warn({ event: 'shadow_failed', version, error: err.message }, `shadow version ${version} failed: ${err.message}`),
  });
}
