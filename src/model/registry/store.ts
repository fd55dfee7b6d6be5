/**
 * The registry's two files in a models dir: `labels.json` (label -> version, replaced atomically)
 * and `audit.jsonl` (one line appended per change). Every change runs under one lock file, so
 * concurrent `mldeploy models` processes never lose an update. No printing here.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { z } from 'zod';
import { ModelError } from '../../errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { describeInvalid } from '../../util/validation';

export const LABELS_FILE = 'labels.json';
export const AUDIT_FILE = 'audit.jsonl';
export const LOCK_FILE = '.registry.lock';
export const STALE_LOCK_MS = 10_000;
const LABELS_SCHEMA_VERSION = 1;

const labelsFileSchema = z
  .object({
    schema_version: z.literal(LABELS_SCHEMA_VERSION),
    labels: z.record(z.string(), z.string()),
  })
  .strict();

export type Labels = Record<string, string>;

export const AUDIT_ACTIONS = ['label', 'promote', 'rollback', 'unlabel', 'remove'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const auditEntrySchema = z.object({
  time: z.string(),
  actor: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  /** null for `remove`, which concerns a version, not a label. */
  label: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  reason: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** Who made a change: MLDEPLOY_ACTOR (e.g. a CI job name), else user@host. */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MLDEPLOY_ACTOR) return env.MLDEPLOY_ACTOR;
  return `${os.userInfo().username}@${os.hostname()}`;
}

/** The labels of a models dir ({} before the first change). A file that fails validation is an error, never ignored. */
export async function readLabels(modelsDir: string): Promise<Labels> {
  const file = path.join(modelsDir, LABELS_FILE);
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ModelError(`${file} is not valid JSON (${(err as Error).message}); fix it by hand (${AUDIT_FILE} has every change) or remove it`);
  }
  const result = labelsFileSchema.safeParse(parsed);
  if (!result.success) throw new ModelError(`${describeInvalid(file, result.error)}; fix it by hand (${AUDIT_FILE} has every change) or remove it`);
  return result.data.labels;
}

/** Every audit line, oldest first; a line that fails validation is an error naming its line number. */
export async function readAudit(modelsDir: string): Promise<AuditEntry[]> {
  const file = path.join(modelsDir, AUDIT_FILE);
  if (!existsSync(file)) return [];
  const lines = (await fs.readFile(file, 'utf8')).split('\n');
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new ModelError(`${file} line ${i + 1} is not valid JSON`);
    }
    const result = auditEntrySchema.safeParse(parsed);
    if (!result.success) throw new ModelError(describeInvalid(`${file} line ${i + 1}`, result.error));
    return [result.data];
  });
}

/** What a change inside {@link withRegistryLock} decides: new labels (or none) and the audit line. */
export interface RegistryChange {
  labels?: Labels;
  entry: Omit<AuditEntry, 'time' | 'actor'>;
  /** Who made it, when not the user (e.g. the server's automatic rollback); default currentActor(). */
  actor?: string;
}

/**
 * Runs `decide` on the current labels and audit log while holding the registry lock, then writes
 * what it returned: labels.json first (atomic replace), then the audit line. `decide` returns
 * null for no change (nothing written). `apply` runs after the decision, before anything is written
 * (e.g. deleting a version), still under the lock.
 */
export async function withRegistryLock(
  modelsDir: string,
  decide: (labels: Labels, audit: AuditEntry[]) => RegistryChange | null,
  apply?: (change: RegistryChange) => Promise<void>,
): Promise<AuditEntry | null> {
  const lockPath = path.join(modelsDir, LOCK_FILE);
  const release = await lockfile
    .lock(modelsDir, {
      lockfilePath: lockPath,
      // The holder refreshes the lock's mtime; one not refreshed for `stale` ms is from a crashed process and is taken over.
      stale: STALE_LOCK_MS,
      retries: { retries: 100, minTimeout: 20, maxTimeout: 250, randomize: true },
    })
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOCKED') throw new ModelError(`${lockPath} is held by another registry change that has not finished; try again`);
      throw err;
    });
  try {
    const change = decide(await readLabels(modelsDir), await readAudit(modelsDir));
    if (change === null) return null;
    if (apply) await apply(change);
    if (change.labels) {
      const body = { schema_version: LABELS_SCHEMA_VERSION, labels: sortedByKey(change.labels) };
      await writeFileAtomic(path.join(modelsDir, LABELS_FILE), JSON.stringify(body, null, 2) + '\n');
    }
    const entry: AuditEntry = { time: new Date().toISOString(), actor: change.actor ?? currentActor(), ...change.entry };
    await fs.appendFile(path.join(modelsDir, AUDIT_FILE), JSON.stringify(entry) + '\n');
    return entry;
  } finally {
    await release();
  }
}

function sortedByKey(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}
