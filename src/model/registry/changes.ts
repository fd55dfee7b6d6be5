/**
 * Label changes, rollback and removal, each one audited change under the registry lock.
 * `latest` is not a label: it is the symlink saveModelVersion keeps on the newest version.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors';
import { LATEST_LINK } from '../artifacts';
import { AuditEntry, Labels, withRegistryLock } from './store';
import { completeVersions } from '../artifacts';
import { latestVersion, requireModelsDir, requireVersion } from './versions';

export const STABLE_LABEL = 'stable';
const LABEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** What a command changed: `changed` false (and no audit line) when the label already pointed there. */
export interface ChangeResult {
  changed: boolean;
  action: AuditEntry['action'];
  label: string | null;
  from: string | null;
  to: string | null;
  audit: AuditEntry | null;
}

export function requireLabelName(label: string): string {
  if (label === LATEST_LINK) throw new UsageError(`"${LATEST_LINK}" always points at the newest version and cannot be set by hand`);
  if (!LABEL_NAME.test(label)) throw new UsageError(`label must be lower-case letters, digits, "-" or "_" (starting with a letter, at most 32), got "${label}"`);
  return label;
}

/** Points `label` at `version` (`promote` is this with the stable label). */
export async function setLabel(modelsDir: string, version: string, label: string, reason: string | null, action: 'label' | 'promote' = 'label'): Promise<ChangeResult> {
  requireModelsDir(modelsDir);
  requireLabelName(label);
  let from: string | null = null;
  const audit = await withRegistryLock(modelsDir, (labels) => {
    requireVersion(modelsDir, version);
    from = labels[label] ?? null;
    if (from === version) return null;
    return { labels: { ...labels, [label]: version }, entry: { action, label, from, to: version, reason } };
  });
  return { changed: audit !== null, action, label, from, to: version, audit };
}

export async function removeLabel(modelsDir: string, label: string, reason: string | null): Promise<ChangeResult> {
  requireModelsDir(modelsDir);
  requireLabelName(label);
  let from: string | null = null;
  const audit = await withRegistryLock(modelsDir, (labels) => {
    from = labels[label] ?? null;
    if (from === null) throw new UsageError(`label "${label}" is not set; labels: ${Object.keys(labels).join(', ') || '(none)'}`);
    const rest: Labels = { ...labels };
    delete rest[label];
    return { labels: rest, entry: { action: 'unlabel', label, from, to: null, reason } };
  });
  return { changed: true, action: 'unlabel', label, from, to: null, audit };
}

/**
 * The stable versions in the order they were set, replayed from the audit log: label/promote
 * push, rollback pops, unlabel clears. The last is the current stable, the one before it the
 * rollback target, so repeated rollbacks walk further back.
 */
export function stableHistory(audit: AuditEntry[]): string[] {
  const history: string[] = [];
  for (const entry of audit) {
    if (entry.label !== STABLE_LABEL) continue;
    if (entry.action === 'rollback') history.pop();
    else if (entry.action === 'unlabel') history.length = 0;
    else if (entry.to !== null) history.push(entry.to);
  }
  return history;
}

/** Moves `stable` back to the version it had before the current one (from the audit log); `actor` overrides who is recorded. */
export async function rollbackStable(modelsDir: string, reason: string | null, actor?: string): Promise<ChangeResult> {
  requireModelsDir(modelsDir);
  let from: string | null = null;
  let to: string | null = null;
  const audit = await withRegistryLock(modelsDir, (labels, entries) => {
    from = labels[STABLE_LABEL] ?? null;
    if (from === null) throw new UsageError(`no "${STABLE_LABEL}" label to roll back; set one with "mldeploy models promote <version>"`);
    const history = stableHistory(entries);
    if (history[history.length - 1] !== from) {
      throw new UsageError(`labels.json says ${STABLE_LABEL} is ${from} but the audit log ends at ${history[history.length - 1] ?? '(nothing)'}; promote a version to start a new history`);
    }
    to = history[history.length - 2] ?? null;
    if (to === null) throw new UsageError(`${STABLE_LABEL} (${from}) has no earlier version to roll back to`);
    if (!completeVersions(modelsDir).includes(to)) throw new UsageError(`the previous ${STABLE_LABEL} version ${to} has been removed; promote a version instead`);
    return { labels: { ...labels, [STABLE_LABEL]: to }, entry: { action: 'rollback', label: STABLE_LABEL, from, to, reason }, actor };
  });
  return { changed: true, action: 'rollback', label: STABLE_LABEL, from, to, audit };
}

/**
 * Deletes a version folder. Refused while a label points at it, and for the newest version:
 * `latest` must keep pointing at the newest, so removing it would leave `latest` dangling.
 * The folder is first renamed away (one atomic step), then deleted.
 */
export async function removeVersion(modelsDir: string, version: string, reason: string | null): Promise<ChangeResult> {
  requireModelsDir(modelsDir);
  const audit = await withRegistryLock(
    modelsDir,
    (labels) => {
      requireVersion(modelsDir, version);
      const holding = Object.entries(labels).filter(([, v]) => v === version).map(([label]) => label);
      if (holding.length > 0) throw new UsageError(`${version} is labelled ${holding.join(', ')}; move or remove the label first ("mldeploy models unlabel <label>")`);
      if (latestVersion(modelsDir) === version || completeVersions(modelsDir)[0] === version) {
        throw new UsageError(`${version} is the newest version (${LATEST_LINK} points at it) and cannot be removed`);
      }
      return { entry: { action: 'remove', label: null, from: version, to: null, reason } };
    },
    async () => {
      const doomed = path.join(modelsDir, `.removing-${version}-${randomUUID()}`);
      await fs.rename(path.join(modelsDir, version), doomed);
      await fs.rm(doomed, { recursive: true, force: true });
    },
  );
  return { changed: true, action: 'remove', label: null, from: version, to: null, audit };
}
