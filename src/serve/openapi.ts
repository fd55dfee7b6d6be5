/** The OpenAPI 3 description of every route (GET /openapi.json) and a self-contained page rendering it (GET /docs). */
import { MAX_BATCH_IMAGES, MAX_FILE_BYTES, MAX_JSON_BYTES } from './inputs';

const error = { $ref: '#/components/responses/Error' };
const overloaded = { $ref: '#/components/responses/Overloaded' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const secured = [{ ApiKeyHeader: [] }, { BearerAuth: [] }];

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
    paths: {
      '/ping': { get: { summary: 'Health check', responses: { 200: json({ $ref: '#/components/schemas/Ping' }) } } },
      '/model-info': { get: { summary: 'The served model', responses: { 200: json({ $ref: '#/components/schemas/ModelInfo' }) } } },
      '/model-info/reference': {
        get: { summary: "The model's reference profile from metadata.json (drift baselines)", responses: { 200: json({ type: 'object' }) } },
      },
      '/predict': {
        post: {
          summary: 'Classify one base64 image',
          security: secured,
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/PredictRequest' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
        },
      },
      '/predict-file': {
        post: {
          summary: 'Classify one uploaded image (multipart field "file")',
          security: secured,
          requestBody: {
            required: true,
            content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } } },
          },
          responses: { 200: json({ $ref: '#/components/schemas/Prediction' }), 400: error, 401: error, 413: error, 415: error, 503: overloaded },
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
            200: json({ type: 'object', properties: { predictions: { type: 'array', items: { $ref: '#/components/schemas/Prediction' } } } }),
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
          responses: { 200: json({ type: 'object', properties: { model_version_status: { type: 'array', items: { type: 'object' } } } }), 404: error },
        },
      },
      '/v1/models/{name}/metadata': {
        get: { summary: 'TF Serving model metadata (signature)', parameters: [{ $ref: '#/components/parameters/ModelName' }], responses: { 200: json({ type: 'object' }), 404: error } },
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
            200: json({ type: 'object', properties: { predictions: { type: 'array', items: { type: 'array', items: { type: 'number' } } } } }),
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
          responses: { 200: json({ type: 'object' }), 401: error, 403: error, 409: error, 415: error },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }) } } },
      '/docs': { get: { summary: 'This document rendered as HTML', responses: { 200: { content: { 'text/html': { schema: { type: 'string' } } } } } } },
    },
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
          properties: { image_base64: { type: 'string', description: 'base64 image bytes or a data: URL' } },
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
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  };
}

/** A dependency-free page that fetches /openapi.json and lists every operation (no CDN needed offline). */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mldeploy API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}
.op{border:1px solid #ddd;border-radius:6px;margin:.8em 0;padding:.6em 1em}.m{font-weight:700;text-transform:uppercase;margin-right:.6em}
.get{color:#0a7}.post{color:#06c}pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:13px}</style></head>
<body><h1 id="title">mldeploy API</h1><p id="desc"></p><div id="ops"></div>
<script>
fetch('openapi.json').then(r => r.json()).then(doc => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description;
  const ops = document.getElementById('ops');
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
    const div = document.createElement('div'); div.className = 'op';
    const head = document.createElement('div');
    const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
    const p = document.createElement('code'); p.textContent = path;
    head.append(m, p, document.createTextNode(' ' + (op.summary || '')));
    const body = document.createElement('pre');
    body.textContent = JSON.stringify({ requestBody: op.requestBody, responses: op.responses }, null, 2);
    div.append(head, body); ops.append(div);
  }
});
</script></body></html>
`;
