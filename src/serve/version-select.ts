/**
 * The per-request version choice every protocol adapter shares: a pinned selector (the adapter
 * reads it from its path, header or query) or the canary split, then the version is held until
 * the response is done (a refresh cannot dispose it mid-request), named in the `x-model-version`
 * response header, and counted in the version's traffic figures.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { ServeContext } from './context';
import { HttpError } from './http-errors';
import { timing } from './middleware';
import { REQUEST_ID_HEADER, VERSION_HEADER } from './routing';
import type { ServedVersion } from './repository';
import { ServedModel } from './served-model';
import { isVersionFailure } from './traffic';

export interface VersionChoice {
  /** The selector a request pins, or undefined for the canary split. */
  selectorOf: (req: Request) => string | undefined;
  notFound: (selector: string) => HttpError;
  /** How the selector is looked up (default: version name, number or label). */
  find?: (selector: string) => ServedVersion | undefined;
  /** Prediction routes count in the version's traffic figures; metadata routes do not. */
  counts: boolean;
}

/** The version chosen for this request (set by chooseVersion). */
export function chosenModel(res: Response): ServedModel {
  return (res.locals as { model: ServedModel }).model;
}

export function chooseVersion(context: ServeContext, choice: VersionChoice): RequestHandler {
  return (req, res, next) => {
    const selector = choice.selectorOf(req);
    let model: ServedModel;
    if (selector) {
      const found = choice.find ? choice.find(selector) : context.repository.find(selector);
      if (!found) return next(choice.notFound(selector));
      model = found.model;
    } else {
      model = context.repository.route(routingKey(req, res, context.canaryKeyHeader));
    }
    res.once('close', model.acquire());
    res.setHeader(VERSION_HEADER, model.version);
    (res.locals as { model: ServedModel }).model = model;
    if (choice.counts) {
      res.once('finish', () => {
        const latencyMs = Math.round((performance.now() - timing(res).startedAt) * 100) / 100;
        context.traffic.record([model.version, latencyMs, isVersionFailure(res.statusCode) ? 1 : 0]);
      });
    }
    next();
  };
}

/** The client key header when sent, else the request id (taken from x-request-id or made here, and echoed). */
function routingKey(req: Request, res: Response, keyHeader: string): string {
  const clientKey = req.headers[keyHeader];
  if (typeof clientKey === 'string' && clientKey !== '') return clientKey;
  const given = req.headers[REQUEST_ID_HEADER];
  const requestId = typeof given === 'string' && given !== '' ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, requestId);
  return requestId;
}

/** The workshop routes' selector: `x-model-version` header, else `?version=`. */
export function workshopSelector(req: Request): string | undefined {
  const header = req.headers[VERSION_HEADER];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  const query = req.query.version;
  return typeof query === 'string' && query !== '' ? query : undefined;
}

export function versionNotFound(context: ServeContext, selector: string): HttpError {
  const served = context.repository.versions().map((v) => [v.model.version, ...v.labels].join(' = '));
  return new HttpError(404, 'version_not_found', `no served version or label "${selector}"; serving: ${served.join(', ')}`);
}
