/** The OpenAPI 3 description of every route (GET /openapi.json; Swagger UI renders it at GET /docs, dashboard/swagger.ts). */
import { MAX_BATCH_IMAGES, MAX_FILE_BYTES, MAX_JSON_BYTES } from './inputs';

const error = { $ref: '#/components/responses/Error' };
const overloaded = { $ref: '#/components/responses/Overloaded' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
/** OpenAPI requires a description on every response. */
const ok = (schema: object) => ({ description: 'OK', ...json(schema) });
const html = { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } };
const secured = [{ ApiKeyHeader: [] }, { BearerAuth: [] }];

/** An 8x8 PNG: the example body of /predict, so Swagger UI's "Try it out" can Execute at once. */
export const EXAMPLE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAkElEQVQI1w3MoREEIAwEwC/n26CNdIDGoN9gTkdjzqBPx8TQQdp59M7s52u3WZhp2IFtmoeh7Pf59tt6WNfoB32ze3RUfzBvm2FTYx7MzekxUfPBum2FLY11sDaXx0KtB37ba13DD3zTPRzlD3gbw6jBA27Sgyg+0G0Kk4YOtCkPofQgb8uw1MiD3EyPROXvD02AbMGyBAOsAAAAAElFTkSuQmCC';

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
      '/model-info': { get: { summary: 'The served model', responses: { 200: ok({ $ref: '#/components/schemas/ModelInfo' }) } } },
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
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/PredictRequest' }) },
          responses: { 200: ok({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
        },
      },
      '/predict-file': {
        post: {
          summary: 'Classify one uploaded image (multipart field "file")',
          security: secured,
          requestBody: {
            required: true,
            content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary', description: 'a PNG, JPEG, BMP, GIF or TIFF image' } } } } },
          },
          responses: { 200: ok({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
        },
      },
      '/predict/batch': {
        post: {
          summary: `Classify up to ${MAX_BATCH_IMAGES} base64 images`,
          security: secured,
          requestBody: {
            required: true,
            ...json({ type: 'object', required: ['images'], properties: { images: { type: 'array', maxItems: MAX_BATCH_IMAGES, items: { type: 'string' } } } }),
          },
          responses: {
            200: ok({ type: 'object', properties: { predictions: { type: 'array', items: { $ref: '#/components/schemas/Prediction' } } } }),
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
      '/v1/models/{name}:predict': {
        post: {
          summary: 'TF Serving REST predict',
          security: secured,
          parameters: [{ $ref: '#/components/parameters/ModelName' }],
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
            200: ok({ type: 'object', properties: { predictions: { type: 'array', items: { type: 'array', items: { type: 'number' } } } } }),
            400: error,
            401: error,
            404: error,
            413: error,
            503: overloaded,
          },
        },
      },
      '/admin/reload': {
        post: {
          summary:
            'Reload the model --model points at (a broken model is refused; the old one keeps serving). Without an API key, clients on this machine only (403 otherwise). ' +
            'Needs Content-Type: application/json or an API key header (415 otherwise); a browser Origin must be this server or listed in --cors (403 otherwise)',
          security: secured,
          responses: { 200: ok({ type: 'object' }), 401: error, 403: error, 409: error, 415: error },
        },
      },
      '/monitoring': {
        get: {
          summary: "The rolling monitor window of the served version: drift tests, label-free accuracy estimate, class mix, confidence histogram, past windows",
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
      },
      responses: {
        Error: { description: 'Bad request, unauthorized, too large, unknown model...', ...json({ $ref: '#/components/schemas/Error' }) },
        Overloaded: {
          description: 'The prediction queue is full (error code "overloaded"): retry after Retry-After seconds',
          headers: { 'Retry-After': { schema: { type: 'integer' } } },
          ...json({ $ref: '#/components/schemas/Error' }),
        },
      },
      schemas: {
        Ping: { type: 'object', properties: { status: { type: 'string', example: 'healthy' }, model_loaded: { type: 'boolean' } } },
        ModelInfo: {
          type: 'object',
          properties: {
            model_type: { type: 'string' },
            num_classes: { type: 'integer' },
            class_names: { type: 'array', items: { type: 'string' } },
            test_accuracy: { type: 'number' },
            input_shape: { type: 'array', items: { type: 'integer' } },
            version: { type: 'string' },
            engine: { type: 'string' },
            created_at: { type: 'string', format: 'date-time' },
          },
        },
        PredictRequest: {
          type: 'object',
          required: ['image_base64'],
          properties: { image_base64: { type: 'string', description: 'base64 image bytes or a data: URL', example: EXAMPLE_PNG_BASE64 } },
        },
        Prediction: {
          type: 'object',
          properties: {
            predicted_class: { type: 'string' },
            confidence: { type: 'number' },
            all_probabilities: { type: 'object', additionalProperties: { type: 'number' } },
            model_version: { type: 'string' },
            latency_ms: { type: 'number' },
          },
        },
        Monitoring: {
          type: 'object',
          properties: {
            model_version: { type: 'string' },
            window: { type: 'object', properties: { size: { type: 'integer' }, samples: { type: 'integer' }, min_samples: { type: 'integer' }, total: { type: 'integer' } } },
            drift: {
              type: 'object',
              properties: {
                detected: { type: 'boolean', nullable: true, description: 'null: not tested (too few samples, or a model without calibration; see reason)' },
                alpha: { type: 'number' },
                p_value: { type: 'number', nullable: true },
                reason: { type: 'string', nullable: true },
                tests: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { name: { type: 'string' }, signal: { type: 'string' }, statistic: { type: 'number' }, p_value: { type: 'number' }, detected: { type: 'boolean' } },
                  },
                },
              },
            },
            estimated_accuracy: {
              type: 'object',
              nullable: true,
              properties: { method: { type: 'string' }, value: { type: 'number' }, ci_low: { type: 'number' }, ci_high: { type: 'number' } },
            },
            reference_accuracy: { type: 'number', nullable: true },
            class_names: { type: 'array', items: { type: 'string' } },
            class_distribution: { type: 'object', properties: { current: { type: 'array', items: { type: 'number' } }, reference: { type: 'array', nullable: true, items: { type: 'number' } } } },
            confidence_histogram: {
              type: 'object',
              properties: {
                bin_edges: { type: 'array', items: { type: 'number' } },
                current: { type: 'array', items: { type: 'number' } },
                reference: { type: 'array', nullable: true, items: { type: 'number' } },
              },
            },
            history: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  ended_at: { type: 'string', format: 'date-time' },
                  samples: { type: 'integer' },
                  drift_detected: { type: 'boolean', nullable: true },
                  min_p_value: { type: 'number', nullable: true },
                  estimated_accuracy: { type: 'number', nullable: true },
                },
              },
            },
            unavailable: { type: 'string', description: 'Why drift tests or the estimate cannot be computed for this model' },
          },
        },
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  };
}
