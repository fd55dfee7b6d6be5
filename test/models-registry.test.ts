import { appendFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError, UsageError } from '../src/errors';
import { removeLabel, removeVersion, rollbackStable, setLabel, stableHistory } from '../src/model/registry/changes';
import { AUDIT_FILE, AuditEntry, LABELS_FILE, LOCK_FILE, readAudit, readLabels, STALE_LOCK_MS } from '../src/model/registry/store';
import { describeVersion, listVersions } from '../src/model/registry/versions';
import { useRegistryDir, versionName } from './helpers/registry-fixture';
import { expectedAutoEngine } from './helpers/test-engine';

const [v1, v2, v3] = [1, 2, 3].map(versionName);
const registryDir = useRegistryDir(3, 'test-actor');
let dir = '';
beforeEach(() => {
  dir = registryDir();
});

const labelsFileText = () => readFileSync(path.join(dir, LABELS_FILE), 'utf8');

describe('listing', () => {
  it('lists every version newest first with its metadata figures, size and labels (latest included)', async () => {
    await setLabel(dir, v1, 'stable', null);
    const versions = await listVersions(dir, await readLabels(dir));
    expect(versions.map((v) => v.version)).toEqual([v3, v2, v1]);
    expect(versions.map((v) => v.labels)).toEqual([['latest'], [], ['stable']]);
    expect(versions[2]).toMatchObject({ created_at: '2026-12-01T11:00:00.000Z', test_accuracy: 0.51, engine: expectedAutoEngine() });
    expect(versions[0].size_bytes).toBeGreaterThan(1000);
  });

  it('describes one version with its metadata; an unknown one is a usage error naming the versions', async () => {
    const detail = await describeVersion(dir, v2, {});
    expect(detail.metadata.version).toBe(v2);
    await expect(describeVersion(dir, 'v9_2026_12_01', {})).rejects.toThrow(new UsageError(`unknown version "v9_2026_12_01" in ${dir}; versions: ${v3}, ${v2}, ${v1}`));
  });
});

describe('labels and the audit log', () => {
  it('writes labels.json with its schema version and appends who, what, from, to and why', async () => {
    const first = await setLabel(dir, v1, 'canary', 'try it');
    const second = await setLabel(dir, v2, 'canary', null);
    expect(JSON.parse(labelsFileText())).toEqual({ schema_version: 1, labels: { canary: v2 } });
    const audit = await readAudit(dir);
    expect(audit).toEqual([first.audit, second.audit]);
    expect(audit.map(({ time: _time, ...rest }) => rest)).toEqual([
      { actor: 'test-actor', action: 'label', label: 'canary', from: null, to: v1, reason: 'try it' },
      { actor: 'test-actor', action: 'label', label: 'canary', from: v1, to: v2, reason: null },
    ]);
    expect(Number.isNaN(Date.parse(audit[0].time))).toBe(false);
  });

  it('without MLDEPLOY_ACTOR records user@host', async () => {
    delete process.env.MLDEPLOY_ACTOR;
    const result = await setLabel(dir, v1, 'canary', null);
    expect(result.audit!.actor).toMatch(/^[^@]+@[^@]+$/);
  });

  it('labelling the version a label already has changes nothing and logs nothing', async () => {
    await setLabel(dir, v1, 'stable', null);
    const again = await setLabel(dir, v1, 'stable', null);
    expect(again).toMatchObject({ changed: false, audit: null });
    expect(await readAudit(dir)).toHaveLength(1);
  });

  it('refuses latest, malformed label names and unknown versions without writing anything', async () => {
    await expect(setLabel(dir, v1, 'latest', null)).rejects.toThrow(/"latest" always points at the newest version/);
    await expect(setLabel(dir, v1, 'Bad Label', null)).rejects.toThrow(UsageError);
    await expect(setLabel(dir, 'v7_2026_12_01', 'canary', null)).rejects.toThrow(UsageError);
    expect(existsSync(path.join(dir, LABELS_FILE))).toBe(false);
    expect(existsSync(path.join(dir, AUDIT_FILE))).toBe(false);
  });

  it('unlabel removes a label and logs it; an unset label is a usage error', async () => {
    await setLabel(dir, v1, 'canary', null);
    await removeLabel(dir, 'canary', 'done');
    expect(await readLabels(dir)).toEqual({});
    expect((await readAudit(dir))[1]).toMatchObject({ action: 'unlabel', label: 'canary', from: v1, to: null, reason: 'done' });
    await expect(removeLabel(dir, 'canary', null)).rejects.toThrow(UsageError);
  });

  it('a corrupt labels.json is an error naming the file, and no change overwrites it', async () => {
    writeFileSync(path.join(dir, LABELS_FILE), '{"schema_version": 1, "labels": {"stable": 3}}');
    await expect(readLabels(dir)).rejects.toThrow(ModelError);
    await expect(setLabel(dir, v1, 'canary', null)).rejects.toThrow(/labels\.json is invalid at "labels\.stable"/);
    writeFileSync(path.join(dir, LABELS_FILE), '{"schema_version": 1, ');
    await expect(setLabel(dir, v1, 'canary', null)).rejects.toThrow(/labels\.json is not valid JSON/);
    expect(labelsFileText()).toBe('{"schema_version": 1, ');
    expect(existsSync(path.join(dir, AUDIT_FILE))).toBe(false);
  });
});

describe('the registry lock', () => {
  it('a lock left by a crashed process (not refreshed for longer than the stale time) is taken over', async () => {
    const lock = path.join(dir, LOCK_FILE);
    mkdirSync(lock);
    const past = new Date(Date.now() - 2 * STALE_LOCK_MS);
    utimesSync(lock, past, past);
    await setLabel(dir, v1, 'canary', null);
    expect(await readLabels(dir)).toEqual({ canary: v1 });
    expect(existsSync(lock)).toBe(false);
  });

  it('a corrupt audit line stops changes with its line number, labels untouched', async () => {
    await setLabel(dir, v1, 'canary', null);
    appendFileSync(path.join(dir, AUDIT_FILE), '{"time": 1}\n');
    await expect(setLabel(dir, v2, 'canary', null)).rejects.toThrow(new RegExp(`${AUDIT_FILE} line 2 is invalid at "time"`));
    expect(await readLabels(dir)).toEqual({ canary: v1 });
  });
});

describe('rollback', () => {
  it('after two promotions moves stable back to the first, and then has nowhere further to go', async () => {
    await setLabel(dir, v1, 'stable', null, 'promote');
    await setLabel(dir, v2, 'stable', null, 'promote');
    const result = await rollbackStable(dir, 'bad p95');
    expect(result).toMatchObject({ from: v2, to: v1 });
    expect(await readLabels(dir)).toEqual({ stable: v1 });
    expect((await readAudit(dir))[2]).toMatchObject({ actor: 'test-actor', action: 'rollback', label: 'stable', from: v2, to: v1, reason: 'bad p95' });
    await expect(rollbackStable(dir, null)).rejects.toThrow(`stable (${v1}) has no earlier version to roll back to`);
  });

  it('records the actor it is given (the server rolling back by itself) instead of the user', async () => {
    await setLabel(dir, v1, 'stable', null, 'promote');
    await setLabel(dir, v2, 'stable', null, 'promote');
    await rollbackStable(dir, 'estimated_accuracy<0.6 held', 'mldeploy serve --rollback-if');
    expect((await readAudit(dir)).at(-1)).toMatchObject({ actor: 'mldeploy serve --rollback-if', action: 'rollback', from: v2, to: v1 });
  });

  it('repeated rollbacks walk back through the promotions', async () => {
    for (const version of [v1, v2, v3]) await setLabel(dir, version, 'stable', null, 'promote');
    expect((await rollbackStable(dir, null)).to).toBe(v2);
    expect((await rollbackStable(dir, null)).to).toBe(v1);
  });

  it('is refused without a stable label, and when the previous stable version was removed', async () => {
    await expect(rollbackStable(dir, null)).rejects.toThrow(UsageError);
    await setLabel(dir, v1, 'stable', null);
    await setLabel(dir, v2, 'stable', null);
    await removeVersion(dir, v1, null);
    await expect(rollbackStable(dir, null)).rejects.toThrow(`the previous stable version ${v1} has been removed`);
  });

  it('history: label and promote push, rollback pops, unlabel clears', () => {
    const entry = (action: AuditEntry['action'], to: string | null, label = 'stable'): AuditEntry => ({ time: '', actor: '', action, label, from: null, to, reason: null });
    expect(stableHistory([entry('promote', v1), entry('label', v2), entry('label', v3, 'canary'), entry('promote', v3), entry('rollback', v2)])).toEqual([v1, v2]);
    expect(stableHistory([entry('promote', v1), entry('unlabel', null), entry('promote', v2)])).toEqual([v2]);
  });
});

describe('remove', () => {
  it('deletes an unlabelled older version and logs it', async () => {
    const result = await removeVersion(dir, v1, 'old');
    expect(existsSync(path.join(dir, v1))).toBe(false);
    expect(result.audit).toMatchObject({ action: 'remove', label: null, from: v1, to: null, reason: 'old' });
    expect((await listVersions(dir, {})).map((v) => v.version)).toEqual([v3, v2]);
  });

  it('refuses a labelled version and the newest (latest) one, leaving them in place', async () => {
    await setLabel(dir, v1, 'canary', null);
    await expect(removeVersion(dir, v1, null)).rejects.toThrow(`${v1} is labelled canary`);
    await expect(removeVersion(dir, v3, null)).rejects.toThrow(`${v3} is the newest version`);
    await expect(removeVersion(dir, 'v8_2026_12_01', null)).rejects.toThrow(UsageError);
    expect(existsSync(path.join(dir, v1, 'model.json'))).toBe(true);
    expect(existsSync(path.join(dir, v3, 'model.json'))).toBe(true);
    expect(await readAudit(dir)).toHaveLength(1);
  });
});
