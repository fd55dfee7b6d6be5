/**
 * The HTTP layer: the route table. Protocol adapters (src/serve/protocols/: workshop JSON,
 * multipart and batch; TF Serving v1 REST) choose a version (version-select.ts) and predict through the one BatchingPredictor; this file
 * adds the operations routes (admin, metrics, openapi.json), the pages (dashboard/: /dashboard,
 * /docs) and the error handler.
 */
import express, { NextFunction, Request, Response } from 'express';
import { ModelError } from '../errors';
import { ServeContext } from './context';
import { errorBody, HttpError, toHttpError } from './http-errors';
import { adminGuard, corsPolicy, named, observe } from './middleware';
import { pageRoutes } from './dashboard/routes';
import { openApiDocument } from './openapi';
import { OverloadedError } from './predictor';
import { monitoringRoutes } from './protocols/monitoring';
import { tfServingRoutes } from './protocols/tfserving';
import { workshopRoutes } from './protocols/workshop';

export type { ServeContext } from './context';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version: PACKAGE_VERSION } = require('../../package.json') as { version: string };

/** Builds the express app (no listening), e.g. for supertest. */
export function createApp(context: ServeContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(observe(context));
  if (context.cors) app.use(corsPolicy(context.cors, context.canaryKeyHeader));

  app.use(workshopRoutes(context));
  app.use(tfServingRoutes(context));
  app.use(monitoringRoutes(context));

  app.post('/admin/reload', named('admin-reload'), ...adminGuard(context), async (_req, res) => {
    try {
      const result = await context.reload();
      res.json({ status: 'reloaded', ...result });
    } catch (err) {
      if (err instanceof ModelError) throw new HttpError(409, 'reload_failed', `${err.message} (still serving ${context.repository.current.version})`);
      throw err;
    }
  });

  app.get('/metrics', named('metrics'), async (_req, res) => {
    const text = await context.metricsText();
    res.type(context.metricsContentType).send(text);
  });

  app.get('/openapi.json', named('openapi'), (_req, res) => {
    res.json(openApiDocument(PACKAGE_VERSION, context.modelName));
  });

  app.use(pageRoutes());

  app.use((req, _res, next) => {
    next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    void next;
    if (err instanceof OverloadedError) {
      res.set('Retry-After', String(err.retryAfterSeconds)).status(503).json(errorBody('overloaded', err.message));
      return;
    }
    const httpError = toHttpError(err);
    if (httpError) {
      res.status(httpError.status).json(errorBody(httpError.code, httpError.message));
      return;
    }
    context.logger.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    if (!res.headersSent) res.status(500).json(errorBody('internal_error', 'the server failed to handle this request'));
  });

  return app;
}
