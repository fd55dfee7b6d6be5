import { mkdtempSync, promises as fs, readlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelVersion, resolveModelDir } from '../src/model/artifacts';
import { ModelError } from '../src/errors';
import { createModelFixture } from './helpers/model-fixture';

describe('model artifacts', () => {
  let modelsDir: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    modelsDir = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-artifacts-'));
    first = await createModelFixture(modelsDir, { seed: 1 });
    second = await createModelFixture(modelsDir, { seed: 2 });
  });

  afterAll(() => fs.rm(modelsDir, { recursive: true, force: true }));

  it('numbers versions upward and points latest at the newest', () => {
    expect(path.basename(first)).toMatch(/^v1_\d{4}_\d{2}_\d{2}$/);
    expect(path.basename(second)).toMatch(/^v2_\d{4}_\d{2}_\d{2}$/);
    expect(readlinkSync(path.join(modelsDir, 'latest'))).toBe(path.basename(second));
  });

  it('resolves a version dir, latest, and a models dir', async () => {
    expect(resolveModelDir(first)).toBe(await fs.realpath(first));
    expect(resolveModelDir(path.join(modelsDir, 'latest'))).toBe(await fs.realpath(second));
    expect(resolveModelDir(modelsDir)).toBe(await fs.realpath(second));
  });

  it('falls back to the highest complete version when latest is missing', async () => {
    const copy = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-nolatest-'));
    await fs.cp(first, path.join(copy, 'v1_2026_01_01'), { recursive: true });
    await fs.cp(second, path.join(copy, 'v10_2026_01_02'), { recursive: true });
    await fs.mkdir(path.join(copy, 'v11_2026_01_03')); // incomplete: no model.json
    expect(resolveModelDir(copy)).toBe(await fs.realpath(path.join(copy, 'v10_2026_01_02')));
    await fs.rm(copy, { recursive: true, force: true });
  });

  it('loads the model and validated metadata', async () => {
    const loaded = await loadModelVersion(path.join(modelsDir, 'latest'));
    expect(loaded.metadata.version).toBe(path.basename(second));
    expect(loaded.model.outputs[0].shape).toEqual([null, 10]);
    loaded.model.dispose();
  });

  it('fails with one clear ModelError for missing paths, bad metadata and bad weights', async () => {
    expect(() => resolveModelDir(path.join(modelsDir, 'nope'))).toThrow(/model path not found/);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-empty-'));
    expect(() => resolveModelDir(empty)).toThrow(/no model found .*mldeploy train/);

    const broken = path.join(empty, 'v1_2026_01_01');
    await fs.cp(first, broken, { recursive: true });
    const metadata = JSON.parse(await fs.readFile(path.join(broken, 'metadata.json'), 'utf8'));
    writeFileSync(path.join(broken, 'metadata.json'), JSON.stringify({ ...metadata, test_accuracy: 7 }));
    await expect(loadModelVersion(broken)).rejects.toThrow(/metadata.json is invalid at "test_accuracy"/);

    writeFileSync(path.join(broken, 'metadata.json'), JSON.stringify(metadata));
    writeFileSync(path.join(broken, 'weights.bin'), Buffer.alloc(10));
    const error = await loadModelVersion(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/^cannot load the model in /);
    await fs.rm(empty, { recursive: true, force: true });
  });
});
