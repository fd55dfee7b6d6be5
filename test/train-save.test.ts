/** Saving a trained model is atomic: a failure midway leaves no version and `latest` untouched. */
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
});
