/**
 * The HTTP layer: thin protocol adapters (workshop JSON, multipart, batch, TF Serving v1 REST)
 * over one BatchingPredictor, plus health, model info, metrics, docs and admin routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import express, { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { EngineInfo } from '../model/engine';
import { ModelError } from '../errors';
import { errorBody, HttpError, toHttpError } from './http-errors';
import {
  decodeBase64Field,
  decodeImageField,
  decodeInstance,
  MAX_FILE_BYTES,
  MAX_JSON_BYTES,
  requireImageList,
} from './inputs';
import { DOCS_HTML, openApiDocument } from './openapi';
import { formatRecord, PredictionSink } from './prediction-log';
import { BatchingPredictor, ImagePrediction } from './predictor';
import { ModelRepository, ReloadResult } from './repository';
import { ServeMetrics } from './metrics';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version: PACKAGE_VERSION } = require('../../package.json') as { version: string };

export interface ServeContext {
  repository: ModelRepository;
  predictor: BatchingPredictor;
  metrics: ServeMetrics;
  predictionLog: PredictionSink;
  logger: Logger;
  engine: EngineInfo;
  /** The TF Serving model name (`/v1/models/<name>`). */
  modelName: string;
  apiKey?: string;
  /** Comma-separated allowed origins, or `*`. */
  cors?: string;
  /** Reloads the model (in cluster mode: this worker, then the others). */
  reload: () => Promise<ReloadResult>;
  /** Prometheus text; in cluster mode aggregated over every worker. */
  metricsText: () => Promise<string>;
  metricsContentType: string;
}

interface Timed {
  startedAt: number;
  route: string;
}

function timing(res: Response): Timed {
  return res.locals as Timed;
}

/** Builds the express app (no listening), e.g. for supertest. */
export function createApp(context: ServeContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(observe(context));
  if (context.cors) app.use(cors(context.cors));

  // requireJson has checked the content type already; the parser need not parse the header again.
  const jsonBody = express.json({ limit: MAX_JSON_BYTES, type: () => true });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('application/json')) {
      return next(new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json'));
    }
    jsonBody(req, _res, next);
  };
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 16, parts: 32 } });
  const requireMultipart = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) {
      return next(new HttpError(415, 'unsupported_media_type', 'send the image as multipart/form-data with field "file"'));
    }
    upload.single('file')(req, _res, next);
  };
  const auth = requireApiKey(context.apiKey);
  const adminAuth = context.apiKey ? auth : requireLocalClient;

  app.get('/ping', named('ping'), (_req, res) => {
    res.json({ status: 'healthy', model_loaded: context.repository.loaded });
  });

  app.get('/model-info', named('model-info'), (_req, res) => {
    const { metadata } = context.repository.current;
    res.json({
      model_type: metadata.model_type,
      num_classes: metadata.num_classes,
      class_names: metadata.class_names,
      test_accuracy: metadata.test_accuracy,
      input_shape: metadata.input_shape,
      version: metadata.version,
      engine: context.engine.backend,
      created_at: metadata.created_at,
      model_name: context.modelName,
      preprocessing: metadata.preprocessing,
    });
  });

  app.get('/model-info/reference', named('model-info-reference'), (_req, res) => {
    res.json(context.repository.current.metadata.reference);
  });

  app.post('/predict', named('predict'), auth, requireJson, async (req, res) => {
    const bytes = decodeBase64Field(objectBody(req).image_base64, 'image_base64');
    const pixels = await decodeImageField(bytes, 'image_base64');
    const prediction = await context.predictor.predict(pixels);
    res.json(respond(context, res, prediction, bytes));
  });

  app.post('/predict-file', named('predict-file'), auth, requireMultipart, async (req, res) => {
    if (!req.file) throw new HttpError(400, 'missing_file', 'multipart field "file" is required');
    const bytes = req.file.buffer;
    const pixels = await decodeImageField(bytes, 'file');
    const prediction = await context.predictor.predict(pixels);
    res.json(respond(context, res, prediction, bytes));
  });

  app.post('/predict/batch', named('predict-batch'), auth, requireJson, async (req, res) => {
    const images = requireImageList(objectBody(req).images, 'images');
    // Decode everything first so one bad image fails the request before any model work.
    const decoded = await Promise.all(
      images.map(async (image, i) => {
        const bytes = decodeBase64Field(image, `images[${i}]`);
        return { bytes, pixels: await decodeImageField(bytes, `images[${i}]`) };
      }),
    );
    const predictions = await Promise.all(decoded.map((d) => context.predictor.predict(d.pixels)));
    res.json({ predictions: predictions.map((p, i) => respond(context, res, p, decoded[i].bytes)) });
  });

  app.get('/v1/models/:name', named('tfserving-status'), (req, res) => {
    requireModelName(context, req.params.name as string);
    res.json({
      model_version_status: [
        { version: numericVersion(context.repository.current.version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
  });

  app.get('/v1/models/:name/metadata', named('tfserving-metadata'), (req, res) => {
    requireModelName(context, req.params.name as string);
    res.json(tfServingMetadata(context));
  });

  // TF Serving puts the verb after a colon in the last segment: /v1/models/<name>:predict
  app.post('/v1/models/:target', named('tfserving-predict'), auth, (req, _res, next) => {
    const target = req.params.target as string;
    const colon = target.lastIndexOf(':');
    if (colon < 0 || target.slice(colon + 1) !== 'predict') {
      throw new HttpError(404, 'not_found', `unknown TF Serving method in "${target}" (only :predict is served)`);
    }
    requireModelName(context, target.slice(0, colon));
    next();
  }, requireJson, async (req, res) => {
    const instances = requireImageList(objectBody(req).instances, 'instances');
    const decoded = await Promise.all(instances.map((instance, i) => decodeInstance(instance, `instances[${i}]`)));
    const predictions = await Promise.all(decoded.map((d) => context.predictor.predict(d.pixels)));
    predictions.forEach((p, i) => record(context, res, p, decoded[i].bytes));
    res.json({ predictions: predictions.map((p) => Array.from(p.probabilities)) });
  });

  app.post('/admin/reload', named('admin-reload'), adminAuth, async (_req, res) => {
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

  app.get('/docs', named('docs'), (_req, res) => {
    res.type('html').send(DOCS_HTML);
  });

  app.use((req, _res, next) => {
    next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    void next;
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

/** Records the route label used by metrics and logs (a fixed name, not the raw URL). */
function named(route: string) {
  return (_req: Request, res: Response, next: NextFunction) => {
    timing(res).route = route;
    next();
  };
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_body', 'the JSON body must be an object');
  }
  return body as Record<string, unknown>;
}

/** Latency, in-flight gauge, request counter and one pino line per request. */
function observe(context: ServeContext) {
  const { metrics, logger } = context;
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = timing(res);
    locals.startedAt = performance.now();
    locals.route = 'unmatched';
    metrics.inFlight.inc();
    res.on('finish', () => {
      const seconds = (performance.now() - locals.startedAt) / 1000;
      metrics.inFlight.dec();
      metrics.requests.inc({ method: req.method, route: locals.route, status: res.statusCode });
      metrics.requestDuration.observe({ route: locals.route }, seconds);
      logger.info({ method: req.method, url: req.originalUrl, route: locals.route, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100 });
    });
    res.on('close', () => {
      // Client went away before the response finished: still balance the gauge.
      if (!res.writableFinished) metrics.inFlight.dec();
    });
    next();
  };
}

function cors(origins: string) {
  const allowed = origins.split(',').map((o) => o.trim()).filter(Boolean);
  const any = allowed.includes('*');
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin && (any || allowed.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, x-api-key');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}

function requireApiKey(apiKey: string | undefined) {
  if (!apiKey) return (_req: Request, _res: Response, next: NextFunction) => next();
  const expected = createHash('sha256').update(apiKey).digest();
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers['x-api-key'];
    const authorization = req.headers.authorization;
    const given = typeof header === 'string' ? header : authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
    // Compare digests so the check takes the same time whatever the given key's length.
    if (given === undefined || !timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      return next(new HttpError(401, 'unauthorized', 'a valid API key is required (x-api-key header or Authorization: Bearer)'));
    }
    next();
  };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Admin routes without an API key answer clients on this machine only, as TorchServe's
 * management API listens on localhost by default: `--host 0.0.0.0` must not open reloads to all.
 */
function requireLocalClient(req: Request, _res: Response, next: NextFunction): void {
  if (LOOPBACK.has(req.socket.remoteAddress ?? '')) return next();
  next(new HttpError(403, 'forbidden', 'without --api-key, admin routes are answered for clients on this machine only; set --api-key to use them remotely'));
}

function requireModelName(context: ServeContext, name: string): void {
  if (name !== context.modelName) throw new HttpError(404, 'model_not_found', `no model named "${name}" (this server serves "${context.modelName}")`);
}

/** TF Serving versions are integers: v3_2025_01_31 -> "3". */
function numericVersion(version: string): string {
  return /^v(\d+)/.exec(version)?.[1] ?? '1';
}

function tfServingMetadata(context: ServeContext): object {
  const { metadata } = context.repository.current;
  const dims = (sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size), name: '' })), unknown_rank: false });
  return {
    model_spec: { name: context.modelName, signature_name: '', version: numericVersion(metadata.version) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: { images: { dtype: 'DT_FLOAT', tensor_shape: dims([-1, ...metadata.input_shape]), name: 'images' } },
            outputs: { probabilities: { dtype: 'DT_FLOAT', tensor_shape: dims([-1, metadata.num_classes]), name: 'probabilities' } },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
      class_names: metadata.class_names,
    },
  };
}

/** Appends the prediction log line and metrics for one image; returns its latency. */
function record(context: ServeContext, res: Response, prediction: ImagePrediction, bytes: Uint8Array): number {
  const { startedAt, route } = timing(res);
  const latencyMs = Math.round((performance.now() - startedAt) * 100) / 100;
  const className = prediction.model.classNames[prediction.classIndex];
  context.metrics.predictions.inc({ class: className });
  context.metrics.confidence.observe(prediction.confidence);
  context.predictionLog.append(
    formatRecord({
      timestamp: new Date().toISOString(),
      model_version: prediction.model.version,
      predicted_class: className,
      confidence: prediction.confidence,
      latency_ms: latencyMs,
      input_sha256: createHash('sha256').update(bytes).digest('hex'),
      route,
    }),
  );
  return latencyMs;
}

/** The workshop's response body. */
function respond(context: ServeContext, res: Response, prediction: ImagePrediction, bytes: Uint8Array): object {
  const latencyMs = record(context, res, prediction, bytes);
  const classNames = prediction.model.classNames;
  const allProbabilities: Record<string, number> = {};
  classNames.forEach((name, i) => (allProbabilities[name] = prediction.probabilities[i]));
  return {
    predicted_class: classNames[prediction.classIndex],
    confidence: prediction.confidence,
    all_probabilities: allProbabilities,
    model_version: prediction.model.version,
    latency_ms: latencyMs,
  };
}
