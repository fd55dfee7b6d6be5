/**
 * A models dir with several versions for registry tests: one real saved version (createModelFixture)
 * copied to v2, v3, ... with their metadata rewritten, so every version reads as a valid one
 * without training or saving a model per version. `latest` points at the highest, as after saves.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { METADATA_FILE } from '../../src/model/artifacts';
import { createModelFixture } from './model-fixture';

export const versionName = (n: number) => `v${n}_2026_12_01`;

/** A saved version to copy from (one per test file: saving a model takes a moment). */
export async function createTemplateVersion(): Promise<string> {
  return createModelFixture(mkdtempSync(path.join(os.tmpdir(), 'registry-template-')));
}

/** A new models dir holding versions 1..count, each with its own version name, time and accuracy. */
export function createRegistryDir(template: string, count: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  for (let n = 1; n <= count; n++) {
    const target = path.join(dir, versionName(n));
    cpSync(template, target, { recursive: true });
    const file = path.join(target, METADATA_FILE);
    const metadata = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...metadata, version: versionName(n), created_at: `2026-12-01T1${n}:00:00.000Z`, test_accuracy: 0.5 + n / 100 }));
  }
  symlinkSync(versionName(count), path.join(dir, 'latest'), 'dir');
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * jest hooks for a registry test file: one template version for the file, a fresh models dir of
 * `count` versions per test, and MLDEPLOY_ACTOR set to `actor`. Returns the current dir's getter.
 */
export function useRegistryDir(count: number, actor: string): () => string {
  let template = '';
  let dir = '';
  beforeAll(async () => {
    template = await createTemplateVersion();
  });
  afterAll(() => removeDir(path.dirname(template)));
  beforeEach(() => {
    dir = createRegistryDir(template, count);
    process.env.MLDEPLOY_ACTOR = actor;
  });
  afterEach(() => {
    removeDir(dir);
    delete process.env.MLDEPLOY_ACTOR;
  });
  return () => dir;
}
