'use strict';
// Runs TypeScript sources in child processes and worker threads (`node -r ./scripts/ts-register.js x.ts`)
// through tsx's CommonJS loader (esbuild, cached). New code can pass `-r tsx/cjs` directly.
require('tsx/cjs');
