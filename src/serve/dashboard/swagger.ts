/**
 * GET /docs: Swagger UI (swagger-ui-dist, served by this server) on /openapi.json, like FastAPI's
 * /docs. "Try it out" sends requests to this same server; "Authorize" takes the API key.
 * URLs are relative so the page also works behind a path-prefixing proxy. No inline script, so
 * the page runs under a Content-Security-Policy that allows this server only.
 */
export const SWAGGER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mldeploy API - Swagger UI</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
<style>body{margin:0;background:#fafafa}.swagger-ui .topbar{display:none}</style>
</head>
<body>
<div id="swagger-ui" data-openapi="openapi.json"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

/** GET /docs/init.js: starts Swagger UI on the document named by the page. */
export const SWAGGER_INIT_SCRIPT = `'use strict';
window.ui = SwaggerUIBundle({
  url: document.getElementById('swagger-ui').dataset.openapi,
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  // The public validator badge would call validator.swagger.io: no requests leave this server.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;
