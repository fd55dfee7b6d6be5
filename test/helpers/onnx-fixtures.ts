/** Model versions for the ONNX tests. */
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';
import { loadModelVersion, MetadataDraft, saveModelVersion } from '../../src/model/artifacts';
import { createModelFixture } from './model-fixture';

/**
 * The untrained SimpleCNN fixture with its last layer's logits scaled up, so the probabilities are
 * far from uniform (a near-uniform output would make "matches within 1e-4" trivially true).
 * Saved as a new version in `modelsDir`; returns its directory.
 */
export async function sharpenedModelVersion(modelsDir: string, seed = 11): Promise<string> {
  const fixtureDir = await createModelFixture(path.join(modelsDir, '.fixture-source'), { seed });
  const { model, metadata } = await loadModelVersion(fixtureDir);
  const last = model.layers[model.layers.length - 1];
  const [kernel, bias] = last.getWeights();
  last.setWeights([tf.mul(kernel, 40), bias]);
  const saved = await saveModelVersion(model, draftOf(metadata), modelsDir);
  model.dispose();
  return saved.dir;
}

/** A saved version's metadata without the fields saveModelVersion fills in. */
export function draftOf(metadata: Record<string, unknown>): MetadataDraft {
  const { schema_version: _schema, version: _version, created_at: _created, ...draft } = metadata;
  return draft as MetadataDraft;
}
