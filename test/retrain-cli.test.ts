/**
 * `mldeploy retrain` end to end on a tiny CIFAR-10 fixture: a weak and a strong stable version are
 * trained once; each test retrains against a fresh copy of one of them, so the candidate is
 * deterministically better (canary) or worse (left unlabelled, exit 1). Plus the no-retrain,
 * dry-run, live-server and malformed-input paths.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraining } from '../src/model/train-run';
import { runCli } from './helpers/cli-run';
import { writeCifar10Binary, type BinaryFixture } from './helpers/cifar-fixtures';
import { liveMonitoringOf, writeDriftLog } from './helpers/retrain-fixtures';
import { json, tinyServer } from './helpers/tiny-server';

let work: string;
let fixture: BinaryFixture;
let weakDir: string;
let strongDir: string;
let driftLog: string;

async function trainStable(name: string, limit: number, epochs: number, valSplit: number): Promise<string> {
  const modelsDir = path.join(work, name);
  await runTraining({
    data: fixture.root,
    dataDir: path.join(work, 'cache'),
    architecture: 'simple_cnn',
    epochs,
    batchSize: 16,
    learningRate: 0.002,
    seed: 5,
    limit,
    valSplit,
    modelsDir,
    backend: 'auto',
  });
  return modelsDir;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-retrain-'));
  fixture = writeCifar10Binary(path.join(work, 'src'), 40, 60); // 200 train, 60 test
  weakDir = await trainStable('weak', 10, 1, 0);
  strongDir = await trainStable('strong', 200, 3, 0.2); // held-out validation: the recipe's split is kept
  driftLog = writeDriftLog(path.join(work, 'performance_log.json'), [
    { name: 'clean' },
    { name: 'contrast:4', psi: 0.8, detected: true },
    { name: 'cifar100', psi: 0.5, detected: true },
  ]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh copy of a stable models dir; `latest` stays a relative link (verbatimSymlinks), so the copy resolves on its own. */
function modelsCopy(from: string): string {
  const dir = mkdtempSync(path.join(work, 'models-'));
  cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

const versions = (dir: string) => readdirSync(dir).filter((n) => /^v\d+_/.test(n)).sort();
const labelsOf = (dir: string) => (existsSync(path.join(dir, 'labels.json')) ? JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')).labels : {});

describe('mldeploy retrain', () => {
  it('trains, registers and labels canary a candidate that is not worse; the plan names what it cannot address', async () => {
    const models = modelsCopy(weakDir);
    const [stable] = versions(models);
    const run = await runCli('retrain', '--drift-log', driftLog, '--models-dir', models, '--data-dir', path.join(work, 'cache'), '--limit', '200', '--epochs', '2', '--samples', '60');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/augment for contrast:4: contrast:3, contrast:4, contrast:5/);
    // The candidate's training shows its progress as train does: epoch i/n.
    expect(run.stdout).toMatch(/^epoch 1\/2: loss \d+\.\d{4}, accuracy [\d.]+%, test_loss [\d.]+, test_accuracy [\d.]+%, \d+ img\/s, [\d.]+ s$/m);
    expect(run.stdout).toMatch(/^epoch 2\/2: /m);
    expect(run.stdout).toMatch(/^training on 300 images \(clean \+ augmented copies\)$/m);
    expect(run.stdout).toMatch(/not addressable: cifar100: new classes/);
    expect(run.stdout).toMatch(/scenario\s+images\s+stable\s+candidate\s+delta\s+required\s+result/);
    expect(run.stdout).toMatch(/^clean\s+60\s/m);
    expect(run.stdout).toMatch(/^contrast:4\s+60\s/m);
    const candidate = versions(models).find((v) => v !== stable)!;
    expect(run.stdout).toMatch(new RegExp(`registered ${candidate} and labelled it canary`));
    expect(labelsOf(models)).toEqual({ stable, canary: candidate });
    const audit = readFileSync(path.join(models, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.map((a) => [a.label, a.to])).toEqual([
      ['stable', stable],
      ['canary', candidate],
    ]);
    // The reason names the tolerance, so a clean figure below stable's reads as allowed, not as a bug.
    expect(audit[1].reason).toMatch(new RegExp(`^retrain of ${stable}, not worse \\(clean tolerance \\d+\\.\\d%\\): clean \\d+\\.\\d% vs \\d+\\.\\d% \\(required >= \\d+\\.\\d%\\), contrast:4 `));
    const metadata = JSON.parse(readFileSync(path.join(models, candidate, 'metadata.json'), 'utf8'));
    expect(metadata.retrain).toMatchObject({
      parent_version: stable,
      recipe: { epochs: 2, limit: 200, batch_size: 16, seed: 5, learning_rate: 0.002 },
      drift: { kind: 'log', path: driftLog, scenarios: ['contrast:4', 'cifar100'] },
      share: 0.5,
      base_dataset: { source: fixture.root },
    });
    expect(metadata.retrain.drift.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.values(metadata.retrain.augmented_copies as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(100);
    expect(metadata.dataset).toMatchObject({ source: fixture.root, train_count: 300 });
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith('mldeploy-retrain-') && existsSync(path.join(os.tmpdir(), n, 'data')))).toEqual([]);
  });

  it('leaves a worse candidate registered but unlabelled and exits 1 saying why (--json prints the result)', async () => {
    const models = modelsCopy(strongDir);
    const [stable] = versions(models);
    const run = await runCli('retrain', '--drift-log', driftLog, '--models-dir', models, '--limit', '10', '--epochs', '1', '--samples', '60', '--json');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/left unlabelled: worse than/);
    expect(run.stderr).toMatch(/clean: candidate \d+\.\d% < required/);
    const result = JSON.parse(run.stdout);
    expect(result.outcome).toBe('worse');
    expect(result.comparison.not_worse).toBe(false);
    expect(result.comparison.rows.map((r: { scenario: string }) => r.scenario)).toEqual(['clean', 'contrast:4']);
    expect(versions(models)).toHaveLength(2);
    expect(labelsOf(models)).toEqual({ stable });
    // The recipe's val_split 0.2 of 10 images: 2 clean held out, 8 trained on plus 4 augmented copies.
    const metadata = JSON.parse(readFileSync(path.join(result.candidate.dir, 'metadata.json'), 'utf8'));
    expect(metadata.dataset).toMatchObject({ train_count: 12, val_count: 2 });
    expect(metadata.calibration.source).toBe('validation');
    expect(metadata.retrain.recipe).toMatchObject({ limit: 10, epochs: 1, val_split: 0.2 });
  });

  it('says "no retraining needed" and trains nothing when no scenario breaks the --if rule', async () => {
    const models = modelsCopy(weakDir);
    const run = await runCli('retrain', '--drift-log', driftLog, '--if', 'psi>0.9', '--models-dir', models);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no retraining needed/);
    expect(versions(models)).toHaveLength(1);
    expect(existsSync(path.join(models, 'labels.json'))).toBe(false);
  });

  it('--dry-run prints the plan and changes nothing; only unaddressable drift exits 1 without training', async () => {
    const models = modelsCopy(weakDir);
    const dry = await runCli('retrain', '--drift-log', driftLog, '--models-dir', models, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/recipe: simple_cnn, 1 epoch\(s\), batch 16, lr 0.002, seed 5, limit 10/);
    expect(dry.stdout).toMatch(/dry run: nothing trained/);
    expect(dry.stdout).not.toMatch(/note:/);
    const otherModel = writeDriftLog(path.join(work, 'other-model.json'), [{ name: 'clean' }, { name: 'blur', detected: true }], [], 'v7_2026_01_01');
    const noted = await runCli('retrain', '--drift-log', otherModel, '--models-dir', models, '--dry-run');
    expect(noted.stdout).toMatch(/note: the drift was measured on v7_2026_01_01, not on stable v1_\S+; the candidate is compared with stable/);
    const only100 = await runCli('retrain', '--drift-log', driftLog, '--if', 'cifar100:psi>0.2', '--models-dir', models);
    expect(only100.code).toBe(1);
    expect(only100.stderr).toMatch(/not retrained: no drifted scenario can be addressed/);
    expect(versions(models)).toHaveLength(1);
    expect(existsSync(path.join(models, 'labels.json'))).toBe(false);
  });

  it('reads a live server: no drift -> nothing to do; drift -> the general plan; an error answer -> exit 1', async () => {
    const models = modelsCopy(weakDir);
    const [stable] = versions(models);
    let answer: { status: number; body: unknown } = { status: 200, body: liveMonitoringOf(stable, false) };
    const server = await tinyServer((_req, _body, res) => json(res, answer.status, answer.body));
    try {
      const calm = await runCli('retrain', '--url', server.url, '--models-dir', models);
      expect(calm.code).toBe(0);
      expect(calm.stdout).toMatch(/no retraining needed/);
      answer = { status: 200, body: liveMonitoringOf(stable, true, ['brightness']) };
      const drifted = await runCli('retrain', '--url', server.url, '--models-dir', models, '--dry-run');
      expect(drifted.code).toBe(0);
      expect(drifted.stdout).toMatch(/augment for live: brightness:1, brightness:2, brightness:3 \(compared on brightness:2\)/);
      expect(server.requests.map((r) => r.url)).toEqual(['/monitoring', '/monitoring']);
      answer = { status: 200, body: liveMonitoringOf('v9_2026_01_01', true) };
      const unknown = await runCli('retrain', '--url', server.url, '--models-dir', models, '--dry-run');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/the server serves v9_2026_01_01, which is not a complete version/);
      answer = { status: 503, body: { error: 'monitoring_unavailable' } };
      const down = await runCli('retrain', '--url', server.url, '--models-dir', models);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/answered HTTP 503/);
    } finally {
      await server.close();
    }
  });

  /** Runs retrain in its own process on a fresh weak copy and sends `signal` once training starts. */
  async function killWhileTraining(signal: NodeJS.Signals) {
    const models = modelsCopy(weakDir);
    const tmp = mkdtempSync(path.join(work, 'tmp-'));
    const child = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', 'test/helpers/mldeploy-from-sources.ts', 'retrain', '--drift-log', driftLog, '--models-dir', models, '--limit', '200', '--epochs', '50'],
      { cwd: path.resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('training on ')) child.kill(signal);
    });
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    // tsx-*: the test runner's own cache.
    return { models, exit, leftovers: readdirSync(tmp).filter((n) => !n.startsWith('tsx-')) };
  }

  it('killed while training, leaves no version: stable pinned, latest unchanged', async () => {
    const { models, exit, leftovers } = await killWhileTraining('SIGKILL');
    const [stable] = versions(models);
    expect(exit).toBe('SIGKILL');
    expect(versions(models)).toEqual([stable]);
    expect(readlinkSync(path.join(models, 'latest'))).toBe(stable);
    expect(readdirSync(models).filter((n) => !n.startsWith('.')).sort()).toEqual(['audit.jsonl', 'labels.json', 'latest', stable]);
    expect(labelsOf(models)).toEqual({ stable });
    // What a SIGKILL cannot clean: the augmented images in the OS temp dir.
    expect(leftovers).toEqual([expect.stringMatching(/^mldeploy-retrain-/)]);
  });

  it('stopped by SIGTERM (or Ctrl-C) while training, also removes the augmented images and ends by that signal', async () => {
    const { models, exit, leftovers } = await killWhileTraining('SIGTERM');
    expect(exit).toBe('SIGTERM');
    expect(versions(models)).toHaveLength(1);
    expect(leftovers).toEqual([]);
  });

  it('--help lists the options and how the plan is made', async () => {
    const run = await runCli('retrain', '--help');
    expect(run.code).toBe(0);
    for (const option of ['--drift-log <file>', '--url <server>', '--if <rule>', '--tolerance <fraction>', '--share <fraction>', '--dry-run', '--json']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toMatch(/cifar100 \(new classes\), knockout_class0:\* \(label shift\)/);
  });

  describe('bad input: a clear error, the right exit code, nothing written', () => {
    it.each([
      [['--models-dir', 'x'], 2, /exactly one of --drift-log/],
      [['--drift-log', 'a.json', '--url', 'http://127.0.0.1:1'], 2, /exactly one of --drift-log/],
      [['--drift-log', '/nonexistent/performance_log.json'], 1, /cannot read the drift log .*ENOENT/],
      [['--if', 'psi>>1', '--drift-log', 'x.json'], 2, /invalid --if rule "psi>>1"/],
      [['--tolerance', '2', '--drift-log', 'x.json'], 2, /--tolerance must be a fraction/],
    ])('retrain %j -> exit %d', async (args, code, message) => {
      const run = await runCli('retrain', ...(args as string[]));
      expect(run.code).toBe(code);
      expect(run.stderr).toMatch(message);
    });

    it('rejects a log that is not JSON or not a performance_log.json', async () => {
      const notJson = path.join(work, 'broken.json');
      writeFileSync(notJson, '{"schema_version": 2,');
      const wrong = path.join(work, 'wrong.json');
      writeFileSync(wrong, JSON.stringify({ schema_version: 2, scenarios: 'none' }));
      expect((await runCli('retrain', '--drift-log', notJson)).stderr).toMatch(/broken\.json is not valid JSON/);
      const run = await runCli('retrain', '--drift-log', wrong);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/performance_log\.json is invalid at/);
    });

    it('a missing or empty models dir, or a missing dataset, fails before anything is written', async () => {
      const missing = await runCli('retrain', '--drift-log', driftLog, '--models-dir', path.join(work, 'nowhere'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/models dir not found/);
      const empty = path.join(work, 'empty-models');
      mkdirSync(empty);
      const none = await runCli('retrain', '--drift-log', driftLog, '--models-dir', empty);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no stable or latest model/);
      const models = modelsCopy(weakDir);
      const noData = await runCli('retrain', '--drift-log', driftLog, '--models-dir', models, '--data', path.join(work, 'no-such-dataset'));
      expect(noData.code).toBe(1);
      expect(noData.stderr).toMatch(/data source not found/);
      expect(readdirSync(models).sort()).toEqual(['latest', ...versions(models)]);
      expect(versions(models)).toHaveLength(1);
      // Without --data the stable's metadata names the dataset; when it has moved, the error says so.
      const metadataFile = path.join(models, versions(models)[0], 'metadata.json');
      const metadata = JSON.parse(readFileSync(metadataFile, 'utf8'));
      writeFileSync(metadataFile, JSON.stringify({ ...metadata, dataset: { ...metadata.dataset, source: path.join(work, 'moved-away') } }));
      const moved = await runCli('retrain', '--drift-log', driftLog, '--models-dir', models);
      expect(moved.code).toBe(1);
      expect(moved.stderr).toMatch(/data source not found: .*moved-away \(the dataset v1_\S+ was trained on, from its metadata.json; pass --data\)/);
      expect(existsSync(path.join(models, 'labels.json'))).toBe(false);
    });
  });
});
