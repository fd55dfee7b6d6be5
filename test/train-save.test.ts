/**
 * Saving a trained model is atomic and durable: a failure midway leaves no version and `latest`
 * untouched, every file and directory is fsynced before it is published, and concurrent saves
 * into one models dir each get their own version.
 */
import { spawn } from 'node:child_process';
import { promises as fs, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildModel } from '../src/model/architectures';
import { readMetadata, resolveModelDir, saveModelVersion } from '../src/model/artifacts';
import { createModelFixture } from './helpers/model-fixture';

let modelsDir: string;
beforeEach(() => {
  modelsDir = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-save-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(modelsDir, { recursive: true, force: true });
});

describe('atomic model save', () => {
  it('a save that fails after writing the weights leaves no version, no temp folder and latest unchanged', async () => {
    const first = await createModelFixture(modelsDir);
    const { schema_version, version, created_at, ...draft } = await readMetadata(first);
    const realWriteFile = fs.writeFile;
    // Let model.json and weights.bin be written, then fail on metadata.json (like a full disk).
    jest.spyOn(fs, 'writeFile').mockImplementation(async (file, data, options) => {
      if (String(file).endsWith('metadata.json')) throw new Error('ENOSPC: no space left on device');
      return realWriteFile(file, data, options);
    });
    const model = buildModel('simple_cnn', 10, 1);
    await expect(saveModelVersion(model, draft, modelsDir)).rejects.toThrow(/ENOSPC/);
    model.dispose();

    expect(readdirSync(modelsDir).sort()).toEqual(['latest', version]);
    expect(readlinkSync(path.join(modelsDir, 'latest'))).toBe(version);
  });

  it('a save killed midway (a leftover temp folder) is never resolved as a model, and the next save continues numbering', async () => {
    const first = await createModelFixture(modelsDir);
    const leftover = path.join(modelsDir, '.saving-crashed');
    mkdirSync(leftover);
    writeFileSync(path.join(leftover, 'model.json'), '{"half": ');
    rmSync(path.join(modelsDir, 'latest'));
    expect(resolveModelDir(modelsDir)).toBe(first);
    const second = await createModelFixture(modelsDir);
    expect(path.basename(second)).toMatch(/^v2_/);
    expect(resolveModelDir(path.join(modelsDir, 'latest'))).toBe(second);
  });

  it('fsyncs every file and the version dir before the rename that publishes it, and the models dir after', async () => {
    const first = await createModelFixture(modelsDir);
    const { schema_version, version, created_at, ...draft } = await readMetadata(first);
    const events: string[] = [];
    const name = (file: unknown): string => path.relative(modelsDir, String(file)).replace(/\.saving-\w+/, '.saving-X').replace(/\.latest\.[\w.-]+\.tmp/, '.latest-tmp') || '.';
    const realOpen = fs.open;
    const realRename = fs.rename;
    jest.spyOn(fs, 'open').mockImplementation(async (file, flags, mode) => {
      const handle = await realOpen(file, flags, mode);
      const realSync = handle.sync.bind(handle);
      handle.sync = async () => {
        events.push(`sync ${name(file)}`);
        return realSync();
      };
      return handle;
    });
    jest.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      events.push(`rename ${name(from)} -> ${name(to)}`);
      return realRename(from, to);
    });
    const model = buildModel('simple_cnn', 10, 3);
    const saved = await saveModelVersion(model, draft, modelsDir);
    model.dispose();
    expect(events).toEqual([
      'sync .saving-X/weights.bin',
      'sync .saving-X/model.json',
      'sync .saving-X/metadata.json',
      'sync .saving-X',
      `rename .saving-X -> ${saved.version}`,
      'sync .',
      'rename .latest-tmp -> latest',
      'sync .',
    ]);
  });

  it('gives concurrent saves in one process distinct versions, and latest the newest complete one', async () => {
    const first = await createModelFixture(modelsDir);
    const { schema_version, version, created_at, ...draft } = await readMetadata(first);
    const models = [1, 2, 3].map((seed) => buildModel('simple_cnn', 10, seed));
    const saved = await Promise.all(models.map((model) => saveModelVersion(model, draft, modelsDir)));
    models.forEach((model) => model.dispose());
    const versions = saved.map((s) => s.version).sort();
    expect(versions.map((v) => v.split('_')[0])).toEqual(['v2', 'v3', 'v4']);
    for (const { version: v, dir } of saved) expect((await readMetadata(dir)).version).toBe(v);
    expect(readlinkSync(path.join(modelsDir, 'latest'))).toMatch(/^v4_/);
    expect(readdirSync(modelsDir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('gives two train processes saving into one models dir at the same moment distinct versions', async () => {
    await createModelFixture(modelsDir);
    const children = [1, 2].map((seed) =>
      spawn(process.execPath, ['-r', 'tsx/cjs', 'test/helpers/save-model-child.ts', modelsDir, String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    const outputs = children.map((child) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      return {
        ready: new Promise<void>((resolve) => child.stdout.on('data', () => stdout.includes('ready') && resolve())),
        done: new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
      };
    });
    // Both load and build first; then both save at once.
    await Promise.all(outputs.map((o) => o.ready));
    children.forEach((child) => child.stdin.end('go\n'));
    const results = await Promise.all(outputs.map((o) => o.done));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    const versions = results.map((r) => JSON.parse(r.stdout.split('\n')[1]).version as string).sort();
    expect(versions.map((v) => v.split('_')[0])).toEqual(['v2', 'v3']);
    expect(readlinkSync(path.join(modelsDir, 'latest'))).toBe(versions[1]);
    for (const v of versions) expect((await readMetadata(path.join(modelsDir, v))).version).toBe(v);
  });
});
