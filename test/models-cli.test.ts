import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AUDIT_FILE, LABELS_FILE } from '../src/model/registry/store';
import { runCli } from './helpers/cli-run';
import { expectedAutoEngine } from './helpers/test-engine';
import { useRegistryDir, versionName } from './helpers/registry-fixture';

const ROOT = path.resolve(__dirname, '..');
const [v1, v2, v3] = [1, 2, 3].map(versionName);
const registryDir = useRegistryDir(3, 'cli-test');
let dir = '';
beforeEach(() => {
  dir = registryDir();
});

const models = (...args: string[]) => runCli('models', ...args, '--models-dir', dir);
const auditLines = () => readFileSync(path.join(dir, AUDIT_FILE), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

describe('mldeploy models list and show', () => {
  it('list prints one row per version with accuracy, engine, size and labels', async () => {
    await models('promote', v2);
    const run = await models('list');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['VERSION', 'CREATED', 'TEST ACC', 'ENGINE', 'SIZE', 'LABELS']);
    const size = expect.stringMatching(/^\d+\.\d\d MB$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
      [v3, '2026-12-01 13:00:00', '53.0%', expectedAutoEngine(), size, 'latest'],
      [v2, '2026-12-01 12:00:00', '52.0%', expectedAutoEngine(), size, 'stable'],
      [v1, '2026-12-01 11:00:00', '51.0%', expectedAutoEngine(), size],
    ]);
  });

  it('list --json and show --json give the same figures for scripts', async () => {
    const list = JSON.parse((await models('list', '--json')).stdout);
    expect(list.versions.map((v: { version: string }) => v.version)).toEqual([v3, v2, v1]);
    expect(list.versions[0]).toMatchObject({ labels: ['latest'], test_accuracy: 0.53, engine: expectedAutoEngine() });
    const show = JSON.parse((await models('show', v1, '--json')).stdout);
    expect(show).toMatchObject({ version: v1, size_bytes: list.versions[2].size_bytes, metadata: { version: v1 } });
  });

  it('show prints the summary of one version', async () => {
    const run = await models('show', v3);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^version +${v3}\n`));
    expect(run.stdout).toMatch(/\nlabels +latest\n/);
    expect(run.stdout).toMatch(/\ntest accuracy +53\.0%\n/);
  });

  it('an unknown version exits 2, a missing models dir exits 1', async () => {
    const unknown = await models('show', 'v9_2026_12_01');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown version "v9_2026_12_01"');
    const missing = await runCli('models', 'list', '--models-dir', path.join(dir, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('models dir not found');
  });
});

describe('mldeploy models changes', () => {
  it('label, promote, rollback and unlabel print the change and log it with --reason', async () => {
    expect((await models('label', v3, 'canary', '--reason', 'try v3')).stdout).toBe(`canary: (unset) -> ${v3}\n`);
    expect((await models('promote', v1)).stdout).toBe(`stable: (unset) -> ${v1}\n`);
    expect((await models('promote', v2)).stdout).toBe(`stable: ${v1} -> ${v2}\n`);
    expect((await models('promote', v2)).stdout).toBe(`stable already points at ${v2}; nothing changed\n`);
    const rollback = await models('rollback', '--reason', 'errors up', '--json');
    expect(JSON.parse(rollback.stdout)).toMatchObject({ changed: true, action: 'rollback', label: 'stable', from: v2, to: v1, audit: { actor: 'cli-test', reason: 'errors up' } });
    expect((await models('unlabel', 'canary')).stdout).toBe(`canary: ${v3} -> (unset)\n`);
    expect(auditLines().map((e) => [e.action, e.label, e.from, e.to, e.reason])).toEqual([
      ['label', 'canary', null, v3, 'try v3'],
      ['promote', 'stable', null, v1, null],
      ['promote', 'stable', v1, v2, null],
      ['rollback', 'stable', v2, v1, 'errors up'],
      ['unlabel', 'canary', v3, null, null],
    ]);
    expect(JSON.parse(readFileSync(path.join(dir, LABELS_FILE), 'utf8'))).toEqual({ schema_version: 1, labels: { stable: v1 } });
  });

  it('refusals exit 2 with the reason: latest by hand, nothing to roll back, labelled or newest version removed', async () => {
    const cases: Array<[string[], string]> = [
      [['label', v1, 'latest'], '"latest" always points at the newest version'],
      [['rollback'], 'no "stable" label to roll back'],
      [['promote', 'v5_2026_12_01'], 'unknown version'],
      [['remove', v3], 'is the newest version'],
    ];
    for (const [args, message] of cases) {
      const run = await models(...args);
      expect([args, run.code]).toEqual([args, 2]);
      expect(run.stderr).toContain(message);
    }
    await models('promote', v1);
    const labelled = await models('remove', v1);
    expect(labelled.code).toBe(2);
    expect(labelled.stderr).toContain('is labelled stable');
  });

  it('remove deletes an unlabelled version; --json reports it', async () => {
    const run = await models('remove', v2, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ action: 'remove', from: v2 });
    expect(JSON.parse((await models('list', '--json')).stdout).versions.map((v: { version: string }) => v.version)).toEqual([v3, v1]);
  });

  it('a corrupt labels.json exits 1 with a clear message and is left as it was', async () => {
    writeFileSync(path.join(dir, LABELS_FILE), 'not json');
    for (const args of [['list'], ['promote', v1]]) {
      const run = await models(...args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${path.join(dir, LABELS_FILE)} is not valid JSON`);
    }
    expect(readFileSync(path.join(dir, LABELS_FILE), 'utf8')).toBe('not json');
  });
});

describe('concurrent label changes (separate processes, each reading labels.json slowly)', () => {
  it('keep every update: all labels in a valid labels.json and one audit line each', async () => {
    const labels = ['canary', 'shadow', 'edge', 'beta'];
    const runs = labels.map((label, i) =>
      promisify(execFile)(process.execPath, ['-r', './test/helpers/slow-labels-read.js', '-r', 'tsx/cjs', 'test/helpers/mldeploy-from-sources.ts', 'models', 'label', versionName(1 + (i % 3)), label, '--models-dir', dir], {
        cwd: ROOT,
        env: { ...process.env, MLDEPLOY_ACTOR: `child-${label}` },
      }),
    );
    await Promise.all(runs);
    const file = JSON.parse(readFileSync(path.join(dir, LABELS_FILE), 'utf8'));
    expect(file).toEqual({ schema_version: 1, labels: { canary: v1, shadow: v2, edge: v3, beta: v1 } });
    expect(auditLines().map((e) => e.actor).sort()).toEqual(labels.map((l) => `child-${l}`).sort());
  }, 60_000);
});
