/** The OpenAPI 3 description of every route (GET /openapi.json; Swagger UI renders it at GET /docs, dashboard/swagger.ts). */
import { MAX_BATCH_IMAGES, MAX_FILE_BYTES, MAX_JSON_BYTES } from './inputs';
import { SCHEMAS } from './openapi-schemas';

const error = { $ref: '#/components/responses/Error' };
const overloaded = { $ref: '#/components/responses/Overloaded' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
/** OpenAPI requires a description on every response. */
const ok = (schema: object) => ({ description: 'OK', ...json(schema) });
const html = { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } };
const secured = [{ ApiKeyHeader: [] }, { BearerAuth: [] }];

export { EXAMPLE_PNG_BASE64 } from './openapi-schemas';

const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const MODEL_NAME = param('ModelName');
/** A prediction answer: names the version that answered in its x-model-version header. */
const answered = (schema: object) => ({ ...ok(schema), headers: { 'x-model-version': { $ref: '#/components/headers/ModelVersion' } } });
/** The workshop routes' version choice: pinned by header or query, else the canary split. */
const WORKSHOP_VERSION = [param('Version'), param('VersionQuery'), param('ClientId'), param('RequestId')];
const VERSION_CHOICE =
  'answer with this version: its name (v3_2026_12_01), its number (3), a label (stable, canary, latest) or a role (stable, canary, shadow); 404 version_not_found when it is not served. Without one, the canary split decides';

/** TF Serving predict, unpinned or pinned to a version or label. */
const tfPredict = (summary: string, parameters: object[] = []) => ({
  summary,
  security: secured,
  parameters: [MODEL_NAME, ...parameters],
  requestBody: {
    required: true,
    ...json({
      type: 'object',
      required: ['instances'],
      properties: {
        instances: {
          type: 'array',
          maxItems: MAX_BATCH_IMAGES,
          items: {
            oneOf: [
              { description: '32x32x3 array of 0-255 values', type: 'array', items: { type: 'array', items: { type: 'array', items: { type: 'number' } } } },
              { type: 'object', required: ['b64'], properties: { b64: { type: 'string' } } },
            ],
          },
        },
      },
    }),
  },
  responses: {
    200: answered({ type: 'object', properties: { predictions: { type: 'array', items: { type: 'array', items: { type: 'number' } } } } }),
    400: error,
    401: error,
    404: error,
    413: error,
    503: overloaded,
  },
});

/** Swagger UI groups operations by tag, as FastAPI's /docs does by router. */
const TAGS = [
  { name: 'workshop', description: 'Classify images: base64 JSON, multipart upload, batches' },
  { name: 'tf-serving', description: 'TensorFlow Serving v1 REST' },
  { name: 'operations', description: 'Health, metrics, monitoring, reload, docs and the dashboard' },
];

function tagOf(route: string): string {
  if (route.startsWith('/v1/')) return 'tf-serving';
  return /^\/(model-info|predict)/.test(route) ? 'workshop' : 'operations';
}

function tagged(paths: Record<string, Record<string, object>>): Record<string, Record<string, object>> {
  return Object.fromEntries(
    Object.entries(paths).map(([route, item]) => [route, Object.fromEntries(Object.entries(item).map(([method, op]) => [method, { tags: [tagOf(route)], ...op }]))]),
  );
}

/** TF Serving's routes pinned to one version: /v1/models/<name>/<pin>/<selector>[:predict|/metadata]. */
function pinnedTfPaths(pin: string, selector: string, what: string): Record<string, Record<string, object>> {
  const target = { name: selector, in: 'path', required: true, schema: { type: 'string' }, description: what };
  const base = `/v1/models/{name}/${pin}/{${selector}}`;
  const notFound = { description: 'Not served (error code version_not_found, message as TF Serving words it)', ...json({ $ref: '#/components/schemas/Error' }) };
  return {
    [base]: { get: { summary: `TF Serving status of ${what}`, parameters: [MODEL_NAME, target], responses: { 200: ok({ type: 'object' }), 404: notFound } } },
    [`${base}/metadata`]: { get: { summary: `TF Serving metadata of ${what}`, parameters: [MODEL_NAME, target], responses: { 200: ok({ type: 'object' }), 404: notFound } } },
    [`${base}:predict`]: { post: tfPredict(`TF Serving REST predict on ${what}`, [target]) },
  };
}

export function openApiDocument(serverVersion: string, modelName: string): object {
  return {
    openapi: '3.0.3',
    info: {
      title: 'mldeploy inference API',
      version: serverVersion,
      description:
        'CIFAR-10 image classification. Any PNG, JPEG, BMP, GIF or TIFF of any size is converted to RGB 32x32 by the same ' +
        `preprocessing as training. Limits: JSON bodies ${MAX_JSON_BYTES / 1048576} MiB, uploads ${MAX_FILE_BYTES / 1048576} MiB, ` +
        `${MAX_BATCH_IMAGES} images per batch request, images at most 4096x4096. With an API key configured, prediction ` +
        'and admin routes need `x-api-key: <key>` or `Authorization: Bearer <key>`.',
    },
    tags: TAGS,
    paths: tagged({
      '/ping': { get: { summary: 'Health check', responses: { 200: ok({ $ref: '#/components/schemas/Ping' }) } } },
      '/model-info': {
        get: { summary: 'A served version (default: the stable one)', parameters: [param('Version'), param('VersionQuery')], responses: { 200: answered({ $ref: '#/components/schemas/ModelInfo' }), 404: error } },
      },
      '/model-info/reference': {
        get: { summary: "The model's reference profile from metadata.json (drift baselines)", responses: { 200: ok({ type: 'object' }) } },
      },
      '/model-info/calibration': {
        get: { summary: "The model's train-time calibration from metadata.json (drift's label-free estimates and shift-detector reference); null with what it lacks for older models", responses: { 200: ok({ type: 'object' }) } },
      },
      '/predict': {
        post: {
          summary: 'Classify one base64 image',
          security: secured,
          parameters: WORKSHOP_VERSION,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/PredictRequest' }) },
          responses: { 200: answered({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
        },
      },
      '/predict-file': {
        post: {
          summary: 'Classify one uploaded image (multipart field "file")',
          security: secured,
          parameters: WORKSHOP_VERSION,
          requestBody: {
            required: true,
            content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary', description: 'a PNG, JPEG, BMP, GIF or TIFF image' } } } } },
          },
          responses: { 200: answered({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
        },
      },
      '/predict/batch': {
        post: {
          summary: `Classify up to ${MAX_BATCH_IMAGES} base64 images`,
          security: secured,
          parameters: WORKSHOP_VERSION,
          requestBody: {
            required: true,
            ...json({ type: 'object', required: ['images'], properties: { images: { type: 'array', maxItems: MAX_BATCH_IMAGES, items: { type: 'string' } } } }),
          },
          responses: {
            200: answered({ type: 'object', properties: { predictions: { type: 'array', items: { $ref: '#/components/schemas/Prediction' } } } }),
            400: error,
            401: error,
            413: error,
            503: overloaded,
          },
        },
      },
      '/v1/models/{name}': {
        get: {
          summary: 'TF Serving model status',
          parameters: [{ $ref: '#/components/parameters/ModelName' }],
          responses: { 200: ok({ type: 'object', properties: { model_version_status: { type: 'array', items: { type: 'object' } } } }), 404: error },
        },
      },
      '/v1/models/{name}/metadata': {
        get: { summary: 'TF Serving model metadata (signature)', parameters: [{ $ref: '#/components/parameters/ModelName' }], responses: { 200: ok({ type: 'object' }), 404: error } },
      },
      '/v1/models/{name}:predict': { post: tfPredict('TF Serving REST predict (the canary split applies)', [param('ClientId'), param('RequestId')]) },
      ...pinnedTfPaths('versions', 'version', 'a version number (3) or name'),
      ...pinnedTfPaths('labels', 'label', 'a label (stable, canary, ...)'),
      '/admin/reload': {
        post: {
          summary:
            'Refresh the served versions from --model (its labels and latest; a broken version is refused and the old one keeps serving). Without an API key, clients on this machine only (403 otherwise). ' +
            'Needs Content-Type: application/json or an API key header (415 otherwise); a browser Origin must be this server or listed in --cors (403 otherwise)',
          security: secured,
          responses: { 200: ok({ type: 'object' }), 401: error, 403: error, 409: error, 415: error },
        },
      },
      '/monitoring': {
        get: {
          summary:
            'The rolling monitor window of the stable version (drift tests, label-free accuracy estimate, class mix, confidence histogram, past windows) and `versions`, one summary per served version; ?version= answers that version\'s window',
          parameters: [param('VersionQuery')],
          responses: {
            200: ok({ $ref: '#/components/schemas/Monitoring' }),
            404: { description: 'Monitoring is off (serve --no-monitor)', ...json({ $ref: '#/components/schemas/Error' }) },
            503: { description: 'No window for the served version yet', ...json({ $ref: '#/components/schemas/Error' }) },
          },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: ok({ type: 'object' }) } } },
      '/docs': { get: { summary: 'This document in Swagger UI (served from this server, works offline)', responses: { 200: html } } },
      '/dashboard': {
        get: { summary: 'Live monitoring page: traffic, latency, drift tests, estimated accuracy, class mix, an upload box', responses: { 200: html } },
      },
    }),
    components: {
      securitySchemes: {
        ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        BearerAuth: { type: 'http', scheme: 'bearer' },
      },
      parameters: {
        ModelName: { name: 'name', in: 'path', required: true, schema: { type: 'string', example: modelName } },
        Version: { name: 'x-model-version', in: 'header', required: false, schema: { type: 'string' }, description: VERSION_CHOICE },
        VersionQuery: { name: 'version', in: 'query', required: false, schema: { type: 'string' }, description: VERSION_CHOICE },
        ClientId: {
          name: 'x-client-id',
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description: 'keeps this client on one side of the canary split (the header is set by serve --canary-key-header); without it the request id decides',
        },
        RequestId: { name: 'x-request-id', in: 'header', required: false, schema: { type: 'string' }, description: 'the request id (made when absent, echoed in the response)' },
      },
      headers: {
        ModelVersion: { description: 'The model version that answered', schema: { type: 'string' } },
      },
      responses: {
        Error: { description: 'Bad request, unauthorized, too large, unknown model...', ...json({ $ref: '#/components/schemas/Error' }) },
        Overloaded: {
          description: 'The prediction queue is full (error code "overloaded"): retry after Retry-After seconds',
          headers: { 'Retry-After': { schema: { type: 'integer' } } },
          ...json({ $ref: '#/components/schemas/Error' }),
        },
      },
      schemas: SCHEMAS,
    },
  };
}
