/**
 * The line serve prints under its ready line when it serves more than one version or rolls back by
 * itself: each version's role and share of traffic, the shadow's share, the --rollback-if rule.
 */
import { parseRollbackRule } from '../rollout/rollback-watch';
import type { RollbackSetting } from '../rollout/server-rollout';
import type { VersionRole } from './fleet-plan';
import type { ServedVersion } from './repository';

export interface ReadyVersion {
  version: string;
  role: VersionRole;
  labels: string[];
  trafficPercent: number;
}

export const readyVersions = (versions: ServedVersion[]): ReadyVersion[] =>
  versions.map(({ model, role, labels, trafficPercent }) => ({ version: model.version, role, labels, trafficPercent }));

const percent = (value: number) => `${Number(value.toFixed(2))} %`;

/** `versions: v1 stable 90 % | v2 canary 10 % | shadow v3 100 % | rollback-if estimated_accuracy<0.45 every 200`; null for one plain version. */
export function versionsSummary(versions: ReadyVersion[], options: { shadowShare?: number; rollback?: RollbackSetting }): string | null {
  if (versions.length <= 1 && !options.rollback) return null;
  const parts = versions.map((v) => {
    if (v.role === 'shadow') return `shadow ${v.version} ${percent((options.shadowShare ?? 1) * 100)}`;
    const role = v.role === 'other' && v.labels.length > 0 ? `label ${v.labels.join(',')}` : v.role;
    return `${v.version} ${role} ${percent(v.trafficPercent)}`;
  });
  if (options.rollback) parts.push(`rollback-if ${parseRollbackRule(options.rollback.rule).text} every ${options.rollback.after}`);
  return `versions: ${parts.join(' | ')}`;
}
