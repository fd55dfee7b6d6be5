/**
 * A fixture model with a schema-2 calibration reference: the model's own predictions on
 * synthetic images (labels drawn so it is calibrated), as `mldeploy train` would store them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModelVersion } from '../../src/model/artifacts';
import { buildAccuracyCalibration } from '../../src/model/calibration';
import { compact, predictSet, probabilityRow } from '../../src/model/evaluate';
import { batchImageStats } from '../../src/preprocess/image-stats';
import { createRandom } from '../../src/util/random';
import { createModelFixture, syntheticImages } from './model-fixture';

export const REFERENCE_IMAGES = 120;

export async function createMonitoredModelFixture(modelsDir: string, seed = 3): Promise<string> {
  const dir = await createModelFixture(modelsDir, { seed });
  const { model, metadata } = await loadModelVersion(dir);
  const pixels = syntheticImages(REFERENCE_IMAGES, seed + 100);
  const predictions = await predictSet(model, { pixels, labels: new Uint8Array(REFERENCE_IMAGES), count: REFERENCE_IMAGES });
  model.dispose();
  const rows = Array.from({ length: REFERENCE_IMAGES }, (_, i) => Array.from(probabilityRow(predictions, i), compact));
  const random = createRandom(seed);
  const labels = rows.map((row, i) => (random.next() < row[predictions.classes[i]] ? predictions.classes[i] : (predictions.classes[i] + 1) % row.length));
  const stats = batchImageStats(pixels, REFERENCE_IMAGES);
  const calibration = {
    source: 'test-half',
    images: REFERENCE_IMAGES,
    split_seed: seed,
    nll_before: 1,
    nll_after: 1,
    ece_bins: 15,
    ece_before: 0,
    ece_after: 0,
    ...buildAccuracyCalibration(rows, labels, 1),
    reference: { probabilities: rows, input_signals: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.map(compact)])) },
  };
  const file = path.join(dir, 'metadata.json');
  fs.writeFileSync(file, JSON.stringify({ ...metadata, schema_version: 2, calibration }, null, 2));
  return dir;
}
