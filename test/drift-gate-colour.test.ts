/**
 * `gate failed:` lines are painted as failures when stderr takes colour (a terminal, or
 * FORCE_COLOR); piped stderr stays plain (test/cli-colour.test.ts, test/drift-failclosed.test.ts).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, writeCifar10Binary } from './helpers/drift-fixtures';
import { CIFAR10_CLASSES } from './helpers/model-fixture';
import { json, tinyServer, type TinyServer } from './helpers/tiny-server';

// What src/commands/output.ts gives a stderr that takes 16 colours.
jest.mock('../src/commands/output', () => {
  const actual = jest.requireActual<typeof import('../src/commands/output')>('../src/commands/output');
  return { ...actual, stderrColours: actual.coloursFor(1) };
});

let tmp: string;
let server: TinyServer;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-gate-colour-'));
  // Every prediction is refused, so the success-rate rule fails the gate.
  server = await tinyServer((req, _body, res) => {
    if (req.url === '/ping') return json(res, 200, { status: 'healthy', model_loaded: true });
    if (req.url === '/model-info') return json(res, 200, { model_type: 'Fake', version: 'v1', class_names: CIFAR10_CLASSES, test_accuracy: 0.5 });
    if (req.url === '/model-info/calibration') return json(res, 404, { error: { code: 'not_found', message: 'none' } });
    return json(res, 400, { error: { code: 'invalid_image', message: 'no' } });
  });
});

afterAll(async () => {
  await server?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

it('paints each gate failed line bold red', async () => {
  const cifar10 = await writeCifar10Binary(path.join(tmp, 'cifar10'), 20);
  const out = path.join(tmp, 'out');
  const run = await runCli(['drift', '--url', server.url, '--samples', '10', '--scenarios', 'clean', '--data', cifar10, '--retries', '0', '--out', out, '--plots-dir', out, '--data-dir', path.join(tmp, 'data')]);
  expect(run.code).toBe(1);
  const failed = run.stderr.split('\n').filter((line) => line.includes('gate failed:'));
  expect(failed.length).toBeGreaterThan(0);
  const ESC = '\u001b';
  const boldRed = new RegExp(`^${ESC}\\[1m${ESC}\\[31mgate failed: .*${ESC}\\[39m${ESC}\\[22m$`);
  for (const line of failed) expect(line).toMatch(boldRed);
});
