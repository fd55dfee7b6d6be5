/** The versions of a models dir as the registry shows them: metadata summary, size and labels. */
import { promises as fs, existsSync, readlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError, UsageError } from '../../errors';
import { completeVersions, LATEST_LINK, readMetadata } from '../artifacts';
import { ModelMetadata } from '../metadata';
import { Labels } from './store';

export interface VersionSummary {
  version: string;
  dir: string;
  created_at: string;
  test_accuracy: number;
  /** Engine the version was trained with (metadata engine.backend). */
  engine: string;
  /** Labels pointing at this version, `latest` included. */
  labels: string[];
  size_bytes: number;
}

export interface VersionDetail extends VersionSummary {
  metadata: ModelMetadata;
}

/** The models dir as given, after checking it exists (a missing one is a ModelError, as for --model). */
export function requireModelsDir(modelsDir: string): string {
  if (!existsSync(modelsDir) || !statSync(modelsDir).isDirectory()) {
    throw new ModelError(`models dir not found: ${modelsDir} (run "mldeploy train" first or pass --models-dir)`);
  }
  return modelsDir;
}

/** The version `latest` points at, or null when there is no such link. */
export function latestVersion(modelsDir: string): string | null {
  try {
    return path.basename(readlinkSync(path.join(modelsDir, LATEST_LINK)));
  } catch {
    return null;
  }
}

/** A UsageError naming the versions there are, when `version` is not one of them. */
export function requireVersion(modelsDir: string, version: string): string {
  const names = completeVersions(modelsDir);
  if (!names.includes(version)) {
    throw new UsageError(`unknown version "${version}" in ${modelsDir}; versions: ${names.join(', ') || '(none)'}`);
  }
  return version;
}

/** Every version with its labels (the labels file's plus `latest`), newest first. */
export async function listVersions(modelsDir: string, labels: Labels): Promise<VersionSummary[]> {
  const latest = latestVersion(modelsDir);
  const details = await Promise.all(completeVersions(modelsDir).map((version) => versionDetail(modelsDir, version, labels, latest)));
  return details.map(({ metadata: _metadata, ...summary }) => summary);
}

export async function describeVersion(modelsDir: string, version: string, labels: Labels): Promise<VersionDetail> {
  return versionDetail(modelsDir, requireVersion(modelsDir, version), labels, latestVersion(modelsDir));
}

/** A version known to exist; `latest`: where the latest link points (read once by the caller). */
async function versionDetail(modelsDir: string, version: string, labels: Labels, latest: string | null): Promise<VersionDetail> {
  const dir = path.join(modelsDir, version);
  const metadata = await readMetadata(dir);
  const names = Object.entries(labels).filter(([, v]) => v === version).map(([label]) => label);
  if (latest === version) names.unshift(LATEST_LINK);
  return {
    version,
    dir: path.resolve(dir),
    created_at: metadata.created_at,
    test_accuracy: metadata.test_accuracy,
    engine: metadata.engine.backend,
    labels: names,
    size_bytes: await directorySize(dir),
    metadata,
  };
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(full);
    else if (entry.isFile()) total += (await fs.stat(full)).size;
  }
  return total;
}
