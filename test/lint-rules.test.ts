/**
 * The import rules in .dependency-cruiser.cjs fire: a small tree that breaks each rule once (and
 * a few imports that are allowed) is cruised with the project's config.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
let work: string;

const FILES: Record<string, string> = {
  'src/util/ping.ts': "import { pong } from './pong';\nexport const ping = () => pong;\n",
  'src/util/pong.ts': "import { ping } from './ping';\nexport const pong = () => ping;\n",
  'src/model/train.ts': "import { app } from '../serve/index';\nimport chalk from 'chalk';\nexport const train = [app, chalk];\n",
  'src/serve/index.ts': "import { runDrift } from '../drift/run';\nexport const app = runDrift;\n",
  'src/serve/app.ts': 'export const handler = 1;\n',
  'src/drift/run.ts': "import { render } from '../report/text';\nimport { handler } from '../serve/app';\nexport const runDrift = [render, handler];\n",
  'src/drift/start.ts': "import { app } from '../serve/index';\nexport const start = app;\n",
  'src/drift/stats.ts': "import { readFileSync } from 'node:fs';\nimport express from 'express';\nexport const stats = [readFileSync, express];\n",
  'src/report/text.ts': 'export const render = 1;\n',
  'src/monitor/window.ts': "import type { handler } from '../serve/app';\nexport type Window = typeof handler;\n",
  'src/commands/drift.ts': "import chalk from 'chalk';\nimport { render } from '../report/text';\nexport const command = [chalk, render];\n",
  'src/data/fixture.ts': "import { helper } from '../../test/helpers/h';\nimport request from 'supertest';\nimport { gone } from './missing';\nexport const data = [helper, request, gone];\n",
  'src/retrain/run.ts': "import { handler } from '../serve/app';\nexport const retrain = handler;\n",
  'src/rollout/watch.ts': "import { command } from '../commands/drift';\nexport const watch = command;\n",
  'test/helpers/h.ts': 'export const helper = 1;\n',
  'bench/b.js': "require('../test/helpers/h');\n",
};

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-depcruise-'));
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), text);
  }
  writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', esModuleInterop: true } }));
  writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'fixture', dependencies: { chalk: '*', express: '*' }, devDependencies: { supertest: '*' } }));
  symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(): Violation[] {
  const run = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), 'src', 'bench', 'test', '--config', path.join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'],
    { cwd: work, encoding: 'utf8' },
  );
  expect(run.stderr).toBe('');
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('.dependency-cruiser.cjs', () => {
  it('reports each broken rule at the import that breaks it, and nothing else', () => {
    const found = cruise()
      .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\//, 'node_modules/')}`)
      .sort();
    expect(found).toEqual(
      [
        'benches-not-to-tests: bench/b.js -> test/helpers/h.ts',
        'drift-not-to-report: src/drift/run.ts -> src/report/text.ts',
        'drift-to-serve-only-through-its-entry: src/drift/run.ts -> src/serve/app.ts',
        'model-not-to-upper-layers: src/model/train.ts -> src/serve/index.ts',
        'monitor-not-to-serve: src/monitor/window.ts -> src/serve/app.ts',
        'no-circular: src/util/ping.ts -> src/util/pong.ts',
        'not-to-unresolvable: src/data/fixture.ts -> ./missing',
        'only-the-cli-talks-to-the-terminal: src/model/train.ts -> node_modules/chalk/source/index.js',
        'pure-modules-without-io: src/drift/stats.ts -> fs',
        'pure-modules-without-io: src/drift/stats.ts -> node_modules/express/index.js',
        'retrain-not-to-serve: src/retrain/run.ts -> src/serve/app.ts',
        'rollout-not-to-commands: src/rollout/watch.ts -> src/commands/drift.ts',
        'serve-not-to-drift: src/serve/index.ts -> src/drift/run.ts',
        'src-not-to-dev-dependencies: src/data/fixture.ts -> node_modules/supertest/index.js',
        'src-not-to-tests-or-tools: src/data/fixture.ts -> test/helpers/h.ts',
      ].sort(),
    );
  });
});
