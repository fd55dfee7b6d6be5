/**
 * GET /monitoring: the primary (stable) version's rolling window — drift tests, accuracy
 * estimate, class mix, history — plus `versions`, one summary per served version (role, labels,
 * traffic share, request figures, estimated accuracy). `?version=<v>` (name, number or label)
 * answers that version's full window report instead.
 */
import { Router } from 'express';
import type { AccuracyVerdict } from '../../monitor/evaluate';
import type { MonitoringAccess } from '../../monitor/access';
import { ServeContext } from '../context';
import { HttpError } from '../http-errors';
import { named } from '../middleware';
import { TrafficFigures } from '../traffic';
import { versionNotFound } from '../version-select';

/** One entry of /monitoring's `versions` (the FLEET/ROLLOUT contract). */
export interface VersionSummary extends TrafficFigures {
  version: string;
  labels: string[];
  role: string;
  traffic_percent: number;
  estimated_accuracy: AccuracyVerdict | null;
  window: { size: number; samples: number };
}

export function monitoringRoutes(context: ServeContext): Router {
  const router = Router();
  router.get('/monitoring', named('monitoring'), async (req, res) => {
    if (!context.monitoring) throw new HttpError(404, 'monitoring_disabled', 'the server was started with --no-monitor');
    const selector = typeof req.query.version === 'string' && req.query.version !== '' ? req.query.version : undefined;
    if (selector !== undefined) {
      const found = context.repository.find(selector);
      if (!found) throw versionNotFound(context, selector);
      res.json(await requireReport(context.monitoring, found.model.version));
      return;
    }
    const [report, versions] = await Promise.all([requireReport(context.monitoring, context.repository.current.version), versionSummaries(context, context.monitoring)]);
    res.json({ ...report, versions, shadow: context.shadow?.section() ?? null, rollback: context.rollback?.section() ?? null });
  });
  return router;
}

async function requireReport(monitoring: MonitoringAccess, version: string) {
  const report = await monitoring.report(version);
  if (!report) throw new HttpError(503, 'monitoring_unavailable', `the monitor has no window for model version ${version} yet`);
  return report;
}

/** Every served version's summary, the primary first. */
export async function versionSummaries(context: ServeContext, monitoring: MonitoringAccess): Promise<VersionSummary[]> {
  const served = context.repository.versions();
  const names = served.map((v) => v.model.version);
  const [figures, reports] = await Promise.all([context.traffic.figures(names), Promise.all(names.map((name) => monitoring.report(name)))]);
  return served.map((v, i) => ({
    version: v.model.version,
    labels: v.labels,
    role: v.role,
    traffic_percent: v.trafficPercent,
    ...figures[v.model.version],
    estimated_accuracy: reports[i]?.estimated_accuracy ?? null,
    window: { size: reports[i]?.window.size ?? 0, samples: reports[i]?.window.samples ?? 0 },
  }));
}
