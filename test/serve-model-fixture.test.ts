import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelVersion } from '../src/model/artifacts';
import { REFERENCE_SIGNALS } from '../src/model/metadata';
import { createModelFixture } from './helpers/model-fixture';

describe('createModelFixture', () => {
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-fixture-'));
  afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));

  it('saves a version that loadModelVersion accepts, with a full reference profile', async () => {
    const dir = await createModelFixture(modelsDir, { seed: 7 });
    const loaded = await loadModelVersion(path.join(modelsDir, 'latest'));
    expect(loaded.dir).toBe(dir);
    expect(loaded.metadata.class_names).toHaveLength(10);
    for (const signal of REFERENCE_SIGNALS) expect(loaded.metadata.reference.signals[signal]).toHaveLength(loaded.metadata.reference.samples);
    const counts = Object.values(loaded.metadata.reference.predicted_class_counts).reduce((a, b) => a + b, 0);
    expect(counts).toBe(loaded.metadata.reference.samples);
    loaded.model.dispose();
  });
});
