/** The metadata.json of a model version a prediction log or a cluster worker names. */
import * as path from 'node:path';
import { readMetadata, resolveModelDir } from '../model/artifacts';
import type { ModelMetadata } from '../model/metadata';

/**
 * `version`'s metadata: the version `modelPath` resolves to (any --model form), else its sibling
 * directory of that name (an older version in the same models dir). null: `version` is not there.
 * With `version` null: whatever `modelPath` resolves to.
 */
export async function metadataOfVersion(modelPath: string, version: string | null): Promise<ModelMetadata | null> {
  const dir = resolveModelDir(modelPath);
  const metadata = await readMetadata(dir);
  if (version === null || metadata.version === version) return metadata;
  const sibling = await readMetadata(path.join(path.dirname(dir), version)).catch(() => null);
  return sibling?.version === version ? sibling : null;
}
