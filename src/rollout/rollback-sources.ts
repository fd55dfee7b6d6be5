/**
 * What a server's --rollback-if watcher is built from: the stable version's figures out of the
 * monitor's report (and the server's request counts), and the registry change that rolls back.
 */
import { rollbackStable } from '../model/registry/changes';
import type { MonitoringReport } from '../monitor/live';
import type { StableFigures } from './rollback-watch';

/** Who the audit log names for an automatic rollback. */
export const ROLLBACK_ACTOR = 'mldeploy serve --rollback-if';

/** The stable version's request figures (null where it has answered nothing, or the server does not count them). */
export interface RequestFigures {
  error_rate: number | null;
  latency_p95_ms: number | null;
}

/** The watcher's figures from the stable version's monitoring report; null when the monitor has no window for it. */
export function stableFiguresOf(report: MonitoringReport | null, requests: RequestFigures | null): StableFigures | null {
  if (!report) return null;
  const detected = report.drift.detected;
  return {
    version: report.model_version,
    samples: report.window.samples,
    total: report.window.total,
    figures: {
      estimated_accuracy: report.estimated_accuracy?.value ?? null,
      drift_detected: detected === null ? null : Number(detected),
      p_value: report.drift.p_value,
      error_rate: requests?.error_rate ?? null,
      latency_p95_ms: requests?.latency_p95_ms ?? null,
    },
  };
}

/** The watcher's action: `stable` back to its previous version in `modelsDir`, audited as the server. */
export function registryRollback(modelsDir: string): (reason: string) => Promise<{ from: string | null; to: string | null }> {
  return async (reason) => {
    const change = await rollbackStable(modelsDir, reason, ROLLBACK_ACTOR);
    return { from: change.from, to: change.to };
  };
}
