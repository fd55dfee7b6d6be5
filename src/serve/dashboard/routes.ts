/**
 * The server's two pages, both self-contained (every asset from this server, nothing from a
 * CDN, so they work offline): GET /dashboard, the live monitoring page, and GET /docs, Swagger
 * UI from the swagger-ui-dist package pointed at /openapi.json.
 */
import * as path from 'node:path';
import { RequestHandler, Response, Router } from 'express';
import { named } from '../middleware';
import { DASHBOARD_SCRIPT } from './client';
import { DASHBOARD_HTML } from './page';
import { SWAGGER_HTML, SWAGGER_INIT_SCRIPT } from './swagger';

// chart.js's package exports do not list the UMD build; its directory is that of the CommonJS entry.
const CHART_JS_UMD = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The swagger-ui-dist files the page loads (not its index.html, which points at the petstore demo). */
const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

const ASSET_CACHE = 'public, max-age=3600';

/**
 * Both pages may load scripts, styles, images and data from this server only (plus the blob: URL
 * of an uploaded image's preview): a browser enforces "no external requests" and refuses injected
 * scripts. Inline <style> blocks are allowed; inline scripts are not (there are none).
 */
const PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'";

const page = (res: Response, html: string) => res.type('html').set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': PAGE_POLICY }).send(html);

/** `/dashboard/` and `/docs/` would break the pages' relative asset URLs: one canonical address. */
function withoutTrailingSlash(page: string): RequestHandler {
  return (req, res, next) => (req.path.endsWith('/') ? res.redirect(301, page) : next());
}

export function pageRoutes(): Router {
  const router = Router();

  router.get('/dashboard', named('dashboard'), withoutTrailingSlash('../dashboard'), (_req, res) => {
    page(res, DASHBOARD_HTML);
  });
  router.get('/dashboard/dashboard.js', named('dashboard'), (_req, res) => {
    res.type('js').set('Cache-Control', 'no-cache').send(DASHBOARD_SCRIPT);
  });
  router.get('/dashboard/chart.umd.js', named('dashboard'), (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).sendFile(CHART_JS_UMD);
  });

  router.get('/docs', named('docs'), withoutTrailingSlash('../docs'), (_req, res) => {
    page(res, SWAGGER_HTML);
  });
  router.get('/docs/init.js', named('docs'), (_req, res) => {
    res.type('js').set('Cache-Control', 'no-cache').send(SWAGGER_INIT_SCRIPT);
  });
  router.get('/docs/:asset', named('docs'), (req, res, next) => {
    const asset = String(req.params.asset);
    if (!SWAGGER_ASSETS.has(asset)) return next();
    res.set('Cache-Control', ASSET_CACHE).sendFile(path.join(SWAGGER_UI_DIR, asset));
  });

  return router;
}
