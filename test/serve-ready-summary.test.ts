/** The versions line under serve's ready line: only when there is a split, a shadow or --rollback-if to tell. */
import { versionsSummary, type ReadyVersion } from '../src/serve/ready-summary';

const version = (name: string, role: ReadyVersion['role'], trafficPercent: number, labels: string[] = []): ReadyVersion => ({ version: name, role, labels, trafficPercent });

describe('versionsSummary', () => {
  it('says nothing for one version without --rollback-if', () => {
    expect(versionsSummary([version('v1', 'stable', 100)], { shadowShare: 1 })).toBeNull();
  });

  it('names every version with its role and traffic, the shadow with its share, and the rollback rule', () => {
    const versions = [version('v1', 'stable', 87.5), version('v2', 'canary', 12.5), version('v3', 'shadow', 0, ['shadow']), version('v4', 'other', 0, ['beta', 'latest'])];
    expect(versionsSummary(versions, { shadowShare: 0.25, rollback: { rule: 'estimated_accuracy < 0.45', after: 200 } })).toBe(
      'versions: v1 stable 87.5 % | v2 canary 12.5 % | shadow v3 25 % | v4 label beta,latest 0 % | rollback-if estimated_accuracy<0.45 every 200',
    );
  });

  it('tells a rollback rule on a single version', () => {
    expect(versionsSummary([version('v1', 'stable', 100)], { rollback: { rule: 'drift_detected', after: 50 } })).toBe('versions: v1 stable 100 % | rollback-if drift_detected every 50');
  });
});
