/** GET /monitoring: the rolling window's drift tests, accuracy estimate, class mix and history, as JSON. */
import { Router } from 'express';
import { ServeContext } from '../context';
import { HttpError } from '../http-errors';
import { named } from '../middleware';

export function monitoringRoutes(context: ServeContext): Router {
  const router = Router();
  router.get('/monitoring', named('monitoring'), async (_req, res) => {
    if (!context.monitoring) throw new HttpError(404, 'monitoring_disabled', 'the server was started with --no-monitor');
    const version = context.repository.current.version;
    const report = await context.monitoring.report(version);
    if (!report) throw new HttpError(503, 'monitoring_unavailable', `the monitor has no window for model version ${version} yet`);
    res.json(report);
  });
  return router;
}
