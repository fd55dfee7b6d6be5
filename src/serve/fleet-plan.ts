/**
 * What a server should serve, read from disk: with `--model <version dir>` (or `<dir>/latest`)
 * that one version; with `--model <models-dir>` the `stable` version (else the newest), every
 * version a label in labels.json points at, the canary and any version pinned by a flag.
 */
import { existsSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError, UsageError } from '../errors';
import { completeVersions, LATEST_LINK, MODEL_FILE, resolveModelDir } from '../model/artifacts';
import { STABLE_LABEL } from '../model/registry/changes';
import { readLabels } from '../model/registry/store';
import { CanarySpec } from './routing';

export const CANARY_LABEL = 'canary';
/** The version this label points at is shadowed (serve --shadow names one instead). */
export const SHADOW_LABEL = 'shadow';

export type VersionRole = 'stable' | 'canary' | 'shadow' | 'other';

/** A version that must be served whatever the labels say (e.g. ROLLOUT's --shadow). */
export interface PinnedVersion {
  version: string;
  role: VersionRole;
}

export interface FleetOptions {
  canary?: CanarySpec;
  pinned?: PinnedVersion[];
}

export interface PlannedVersion {
  /** The real version directory (the key: what gets loaded). */
  dir: string;
  labels: string[];
  role: VersionRole;
}

export interface FleetPlan {
  /** The version unpinned traffic goes to (outside the canary's share). */
  primary: string;
  versions: PlannedVersion[];
  canary: { dir: string; percent: number } | null;
}

/** True when `modelPath` is a models dir (several versions), not one version or a `latest` link. */
export function isModelsDir(modelPath: string): boolean {
  return existsSync(modelPath) && !existsSync(path.join(realpathSync(modelPath), MODEL_FILE));
}

/** Flag checks that need the disk, done before any worker starts (UsageError: exit 2). */
export function checkFleetOptions(modelPath: string, options: FleetOptions): void {
  const named = [...(options.canary?.version ? [options.canary.version] : []), ...(options.pinned ?? []).map((p) => p.version)];
  if ((options.canary || named.length > 0) && !isModelsDir(modelPath)) {
    throw new UsageError(`--canary (and other version flags) need --model <models-dir>, not one version (${modelPath})`);
  }
  if (named.length === 0) return;
  const versions = completeVersions(realpathSync(modelPath));
  for (const version of named) {
    if (!versions.includes(version)) throw new UsageError(`unknown version "${version}" in ${modelPath}; versions: ${versions.join(', ') || '(none)'}`);
  }
}

/**
 * Reads the plan. A labels.json that cannot be read or validated throws ModelError (the caller
 * keeps serving what it has); a label naming a version that is not there is skipped.
 */
export async function planFleet(modelPath: string, options: FleetOptions = {}, warn: (message: string) => void = () => {}): Promise<FleetPlan> {
  if (!isModelsDir(modelPath)) {
    const dir = resolveModelDir(modelPath);
    return { primary: dir, versions: [{ dir, labels: [], role: 'stable' }], canary: null };
  }
  const modelsDir = realpathSync(modelPath);
  const labels = await readLabels(modelsDir);
  const present = new Set(completeVersions(modelsDir));
  const byDir = new Map<string, PlannedVersion>();
  const add = (version: string, label: string | null, role: VersionRole = 'other'): PlannedVersion | null => {
    if (!present.has(version)) {
      warn(`${label ? `label "${label}" points at` : 'pinned version'} ${version}, which is not in ${modelsDir}; not serving it`);
      return null;
    }
    const dir = path.join(modelsDir, version);
    const planned = byDir.get(dir) ?? { dir, labels: [], role };
    if (label && !planned.labels.includes(label)) planned.labels.push(label);
    if (planned.role === 'other') planned.role = role;
    byDir.set(dir, planned);
    return planned;
  };

  const stableVersion = labels[STABLE_LABEL] && present.has(labels[STABLE_LABEL]) ? labels[STABLE_LABEL] : null;
  const latest = path.basename(resolveModelDir(modelsDir));
  const primary = add(stableVersion ?? latest, stableVersion ? STABLE_LABEL : null, 'stable');
  if (!primary) throw new ModelError(`no servable version in ${modelsDir}`);
  primary.role = 'stable';
  for (const [label, version] of Object.entries(labels)) add(version, label, label === CANARY_LABEL ? 'canary' : label === SHADOW_LABEL ? 'shadow' : 'other');
  byDir.get(path.join(modelsDir, latest))?.labels.push(LATEST_LINK);

  let canary: FleetPlan['canary'] = null;
  if (options.canary) {
    const version = options.canary.version ?? labels[CANARY_LABEL] ?? null;
    const planned = version === null ? null : add(version, null, 'canary');
    if (planned && planned.dir !== primary.dir) {
      planned.role = 'canary';
      canary = { dir: planned.dir, percent: options.canary.percent };
    }
  }
  for (const pinned of options.pinned ?? []) {
    const planned = add(pinned.version, null, pinned.role);
    if (planned && planned.dir !== primary.dir) planned.role = pinned.role;
  }
  return { primary: primary.dir, versions: [...byDir.values()], canary };
}
