/**
 * The page routes without a browser: what /dashboard and /docs send, that every asset they
 * reference is served from this server (no CDN), and that swagger-ui-dist's demo files
 * (index.html and its petstore initializer) are not.
 */
import express from 'express';
import request from 'supertest';
import { pageRoutes } from '../src/serve/dashboard/routes';
import { openApiDocument, EXAMPLE_PNG_BASE64 } from '../src/serve/openapi';
import { decodeImageToRgb32 } from '../src/preprocess';

const app = express().use(pageRoutes());

interface Operation {
  tags: string[];
  responses: Record<string, { description?: string; $ref?: string }>;
}
interface OpenApi {
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { PredictRequest: { properties: { image_base64: { example: string } } } } };
}
const openApi = () => openApiDocument('0.0.0', 'cifar') as OpenApi;
const operations = (doc: OpenApi) => Object.values(doc.paths).flatMap((item) => Object.values(item));

/** The src/href of every <script> and <link> of a page, relative to it. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
}

describe('GET /dashboard', () => {
  it('is one HTML page whose scripts come from this server: chart.js UMD and the dashboard script', async () => {
    const page = await request(app).get('/dashboard').expect(200).expect('content-type', /text\/html/);
    const assets = assetsOf(page.text).filter((a) => !a.startsWith('data:'));
    expect(assets).toEqual(['dashboard/chart.umd.js', 'dashboard/dashboard.js']);
    const chart = await request(app).get('/dashboard/chart.umd.js').expect(200).expect('content-type', /javascript/);
    expect(chart.text).toMatch(/Chart\.js v4/);
    const script = await request(app).get('/dashboard/dashboard.js').expect(200).expect('content-type', /javascript/);
    for (const endpoint of ["fetch('metrics'", "fetch('monitoring'", "fetch('model-info'", "fetch('predict-file'", "'x-api-key'"]) expect(script.text).toContain(endpoint);
  });

  it('both pages allow scripts, styles, images and requests from this server only (CSP) and have no inline script', async () => {
    for (const route of ['/dashboard', '/docs']) {
      const res = await request(app).get(route).expect(200);
      const policy = res.headers['content-security-policy'];
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("script-src 'self';");
      expect(policy).toContain("connect-src 'self'");
      expect(res.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('answers /dashboard/ with a redirect, so relative asset URLs stay right', async () => {
    const res = await request(app).get('/dashboard/').expect(301);
    expect(res.headers.location).toBe('../dashboard');
  });
});

describe('GET /docs', () => {
  it('is Swagger UI on openapi.json with its assets from swagger-ui-dist', async () => {
    const page = await request(app).get('/docs').expect(200).expect('content-type', /text\/html/);
    expect(page.text).toContain('data-openapi="openapi.json"');
    const assets = assetsOf(page.text);
    expect(assets).toEqual(['docs/swagger-ui.css', 'docs/favicon-32x32.png', 'docs/swagger-ui-bundle.js', 'docs/init.js']);
    const init = await request(app).get('/docs/init.js').expect(200).expect('content-type', /javascript/);
    expect(init.text).toContain('validatorUrl: null');
    const bundle = await request(app).get('/docs/swagger-ui-bundle.js').expect(200).expect('content-type', /javascript/);
    expect(bundle.text).toContain('SwaggerUIBundle');
    await request(app).get('/docs/swagger-ui.css').expect(200).expect('content-type', /css/);
  });

  it('serves no other file of the package (its index.html and initializer point at the petstore demo)', async () => {
    for (const file of ['index.html', 'swagger-initializer.js', 'package.json', '..%2Fpackage.json']) await request(app).get(`/docs/${file}`).expect(404);
  });

  it("/predict's example body is an image the server decodes, so Try it out can Execute as is", async () => {
    const doc = openApi();
    expect(doc.components.schemas.PredictRequest.properties.image_base64.example).toBe(EXAMPLE_PNG_BASE64);
    const rgb = await decodeImageToRgb32(Buffer.from(EXAMPLE_PNG_BASE64, 'base64'));
    expect(rgb).toHaveLength(32 * 32 * 3);
    for (const response of operations(doc).flatMap((op) => Object.values(op.responses))) expect(response.description ?? response.$ref).toBeTruthy();
  });

  it('groups every operation under one of the declared tags (Swagger UI sections)', () => {
    const doc = openApi();
    const declared = doc.tags.map((t) => t.name);
    expect(declared).toEqual(['workshop', 'tf-serving', 'operations']);
    const tagsOf = (route: string) => Object.values(doc.paths[route]).map((op) => op.tags);
    expect(tagsOf('/predict-file')).toEqual([['workshop']]);
    expect(tagsOf('/v1/models/{name}:predict')).toEqual([['tf-serving']]);
    expect(tagsOf('/dashboard')).toEqual([['operations']]);
    expect(tagsOf('/monitoring')).toEqual([['operations']]);
    for (const op of operations(doc)) expect(declared).toContain(op.tags[0]);
  });
});
