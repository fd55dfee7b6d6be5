/**
 * Express middleware shared by the protocol adapters: request metrics and log lines, CORS (the
 * `cors` package), API keys, the admin guard (local clients, no cross-site requests), body
 * parsers with explicit limits, and load shedding before any body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import cors from 'cors';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { ServeContext } from './context';
import { HttpError } from './http-errors';
import { MAX_FILE_BYTES, MAX_JSON_BYTES } from './inputs';
import { BatchingPredictor, OverloadedError } from './predictor';
import { REQUEST_ID_HEADER, VERSION_HEADER } from './routing';

/** Per-request state kept on res.locals. */
export interface Timed {
  startedAt: number;
  route: string;
  /** The version chosen for this request, once a route has chosen one. */
  model?: { version: string };
}

export function timing(res: Response): Timed {
  return res.locals as Timed;
}

/** Records the route label used by metrics and logs (a fixed name, not the raw URL). */
export function named(route: string): RequestHandler {
  return (_req, res, next) => {
    timing(res).route = route;
    next();
  };
}

/** Latency, in-flight gauge, request counter and one pino line per request. */
export function observe(context: ServeContext): RequestHandler {
  const { metrics, logger } = context;
  return (req, res, next) => {
    const locals = timing(res);
    locals.startedAt = performance.now();
    locals.route = 'unmatched';
    metrics.inFlight.inc();
    res.on('finish', () => {
      const seconds = (performance.now() - locals.startedAt) / 1000;
      metrics.inFlight.dec();
      // The version that answered, for routes that chose one (version-select.ts).
      const version = locals.model?.version;
      const byVersion = version === undefined ? {} : { version };
      metrics.requests.inc({ method: req.method, route: locals.route, status: res.statusCode, ...byVersion });
      metrics.requestDuration.observe({ route: locals.route, ...byVersion }, seconds);
      logger.info({ method: req.method, url: req.originalUrl, route: locals.route, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100, ...byVersion });
    });
    res.on('close', () => {
      // Client went away before the response finished: still balance the gauge.
      if (!res.writableFinished) metrics.inFlight.dec();
    });
    next();
  };
}

function listedOrigins(origins: string): string[] {
  return origins.split(',').map((o) => o.trim()).filter(Boolean);
}

/** `--cors a,b` or `--cors '*'`: answers preflights (204) and sets Access-Control-* for allowed origins. */
export function corsPolicy(origins: string, keyHeader: string): RequestHandler {
  const allowed = listedOrigins(origins);
  return cors({
    origin: allowed.includes('*') ? '*' : allowed,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'x-api-key', VERSION_HEADER, REQUEST_ID_HEADER, keyHeader],
    exposedHeaders: [VERSION_HEADER, REQUEST_ID_HEADER],
    optionsSuccessStatus: 204,
  });
}

export function requireApiKey(apiKey: string | undefined): RequestHandler {
  if (!apiKey) return (_req, _res, next) => next();
  const expected = createHash('sha256').update(apiKey).digest();
  return (req, _res, next) => {
    const given = presentedKey(req);
    // Compare digests so the check takes the same time whatever the given key's length.
    if (given === undefined || !timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      return next(new HttpError(401, 'unauthorized', 'a valid API key is required (x-api-key header or Authorization: Bearer)'));
    }
    next();
  };
}

function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  const authorization = req.headers.authorization;
  return typeof header === 'string' ? header : authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
}

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Admin routes without an API key answer clients on this machine only, as TorchServe's
 * management API listens on localhost by default: `--host 0.0.0.0` must not open reloads to all.
 */
function requireLocalClient(req: Request, _res: Response, next: NextFunction): void {
  if (LOOPBACK_ADDRESSES.has(req.socket.remoteAddress ?? '')) return next();
  next(new HttpError(403, 'forbidden', 'without --api-key, admin routes are answered for clients on this machine only; set --api-key to use them remotely'));
}

/**
 * Admin routes: who may call (API key, or this machine without one), and never a browser on
 * another site (CSRF). A cross-site page can only send "simple" requests without a preflight,
 * so a JSON content type or a key header is required; and a browser's Origin must be this
 * server's own (on a loopback name, against DNS rebinding, unless a key is set) or one listed
 * in --cors (`*` does not count here).
 */
export function adminGuard(context: ServeContext): RequestHandler[] {
  const trusted = context.cors ? listedOrigins(context.cors).filter((o) => o !== '*') : [];
  const refuseCrossSite: RequestHandler = (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !trusted.includes(origin) && !isOwnOrigin(origin, req.headers.host, context.apiKey !== undefined)) {
      return next(new HttpError(403, 'cross_site_request', `admin routes refuse browser requests from origin ${origin} (not this server, not listed in --cors)`));
    }
    const hasKeyHeader = req.headers['x-api-key'] !== undefined || req.headers.authorization !== undefined;
    if (!hasKeyHeader && mediaType(req) !== 'application/json') {
      return next(new HttpError(415, 'unsupported_media_type', 'admin routes need Content-Type: application/json (or an API key header), which a cross-site form cannot send'));
    }
    next();
  };
  return [context.apiKey ? requireApiKey(context.apiKey) : requireLocalClient, refuseCrossSite];
}

function isOwnOrigin(origin: string, host: string | undefined, keyed: boolean): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed pages, file:) and garbage
  }
  return url.host === host && (keyed || LOOPBACK_HOSTNAMES.has(url.hostname));
}

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** JSON bodies only (415 otherwise), at most MAX_JSON_BYTES after any gzip/deflate inflation. */
export function jsonBody(): RequestHandler {
  // The content type is checked here; the parser need not parse the header again.
  const parse = express.json({ limit: MAX_JSON_BYTES, type: () => true });
  return (req, res, next) => {
    if (!req.is('application/json')) {
      return next(new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json'));
    }
    parse(req, res, next);
  };
}

/** Every multer/busboy limit explicit: one file of MAX_FILE_BYTES plus a few small text fields. */
export const MULTIPART_LIMITS = {
  fileSize: MAX_FILE_BYTES,
  files: 1,
  fields: 16,
  parts: 32,
  fieldNameSize: 100,
  fieldSize: 64 * 1024,
  headerPairs: 64,
} as const;

/** One uploaded file in field "file" (415 for other content types). */
export function multipartFile(): RequestHandler {
  const upload = multer({ storage: multer.memoryStorage(), limits: MULTIPART_LIMITS }).single('file');
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) {
      return next(new HttpError(415, 'unsupported_media_type', 'send the image as multipart/form-data with field "file"'));
    }
    upload(req, res, next);
  };
}

/** Refuses (503 overloaded) before reading the body while the predictor's queue is full. */
export function shedWhenBusy(predictor: BatchingPredictor): RequestHandler {
  return (_req, _res, next) => next(predictor.saturated ? new OverloadedError(predictor.queueLimit) : undefined);
}

export function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_body', 'the JSON body must be an object');
  }
  return body as Record<string, unknown>;
}
