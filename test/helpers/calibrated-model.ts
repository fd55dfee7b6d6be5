/**
 * Drift fixtures with and without train-time calibration: a fixture model version given the
 * `calibration` train would store (temperature, ATC thresholds, reference probability vectors)
 * fitted on the seeded calibration half of a test set, and a copy rewritten as schema 1.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pickImages } from '../../src/data/sample';
import type { ImageSet } from '../../src/data/types';
import { loadModelVersion, METADATA_FILE } from '../../src/model/artifacts';
import { buildCalibrationRecord, CALIBRATION_SPLIT_SEED, splitTestSet } from '../../src/model/calibration-record';
import { predictSet } from '../../src/model/evaluate';

/** Adds the calibration a --val-split 0 training run stores, fitted on `test`'s calibration half. */
export async function addCalibration(versionDir: string, test: ImageSet): Promise<void> {
  const { model, metadata } = await loadModelVersion(versionDir);
  const heldOut = pickImages(test, splitTestSet(test.count).calibration);
  const calibration = buildCalibrationRecord(heldOut, await predictSet(model, heldOut), 'test-half', CALIBRATION_SPLIT_SEED);
  model.dispose();
  await fs.writeFile(path.join(versionDir, METADATA_FILE), JSON.stringify({ ...metadata, calibration }, null, 2));
}

/** A copy of a version directory whose metadata.json is schema 1 (no calibration), as models trained before it. */
export async function copyAsSchema1(versionDir: string, targetDir: string): Promise<string> {
  await fs.cp(versionDir, targetDir, { recursive: true });
  const file = path.join(targetDir, METADATA_FILE);
  const { calibration: _dropped, ...rest } = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  await fs.writeFile(file, JSON.stringify({ ...rest, schema_version: 1 }, null, 2));
  return targetDir;
}
