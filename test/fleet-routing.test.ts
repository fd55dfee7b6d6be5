/** The routing rules without a server: canary split by key hash, flag parsing, selectors, and what a models dir plans to serve. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../src/errors';
import { checkFleetOptions, planFleet } from '../src/serve/fleet-plan';
import { canaryOption, numericVersion, parseCanarySpec, parseHeaderName, routesToCanary, selects, trafficBucket } from '../src/serve/routing';
import { percentile, VersionTraffic } from '../src/serve/traffic';
import { useRegistryDir, versionName } from './helpers/registry-fixture';

describe('canary split', () => {
  it.each([10, 2.5, 50])('sends %p %% of 2,000 distinct clients to the canary (within 2 points), each client always to the same side', (percent) => {
    const clients = Array.from({ length: 2000 }, (_, i) => `client-${i}`);
    const share = (clients.filter((id) => routesToCanary(id, percent)).length / clients.length) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(2);
    for (const id of clients.slice(0, 200)) expect(routesToCanary(id, percent)).toBe(routesToCanary(id, percent));
  });

  it('keeps the canary clients of a smaller share when the share grows, sends none at 0 % and all at 100 %', () => {
    const clients = Array.from({ length: 500 }, (_, i) => `c${i}`);
    for (const id of clients.filter((c) => routesToCanary(c, 5))) expect(routesToCanary(id, 20)).toBe(true);
    expect(clients.some((c) => routesToCanary(c, 0))).toBe(false);
    expect(clients.every((c) => routesToCanary(c, 100))).toBe(true);
    expect(trafficBucket('c1')).toBeGreaterThanOrEqual(0);
    expect(trafficBucket('c1')).toBeLessThan(100);
  });
});

describe('flags', () => {
  it('parses --canary <version>:<percent> with decimal percents', () => {
    expect(parseCanarySpec('v3_2026_12_01:12.5')).toEqual({ version: 'v3_2026_12_01', percent: 12.5 });
    expect(canaryOption(undefined, '7')).toEqual({ version: null, percent: 7 });
    expect(canaryOption(undefined, undefined)).toBeUndefined();
  });

  it.each([['v3'], ['v3:'], [':10'], ['v3:101'], ['v3:-1'], ['v3:ten'], ['v3:1e1']])('refuses --canary %p (UsageError)', (spec) => {
    expect(() => parseCanarySpec(spec)).toThrow(UsageError);
  });

  it('refuses --canary with --canary-percent, and a header name that is not one', () => {
    expect(() => canaryOption('v1:5', '5')).toThrow(/not both/);
    expect(() => canaryOption(undefined, '150')).toThrow(UsageError);
    expect(parseHeaderName('--canary-key-header', 'X-User')).toBe('x-user');
    expect(() => parseHeaderName('--canary-key-header', 'bad header')).toThrow(UsageError);
  });
});

describe('selectors', () => {
  it('name a version by its name, its TF Serving number or a label', () => {
    expect(numericVersion('v12_2026_12_01')).toBe('12');
    expect(selects('v12_2026_12_01', 'v12_2026_12_01', [])).toBe(true);
    expect(selects('12', 'v12_2026_12_01', [])).toBe(true);
    expect(selects('canary', 'v12_2026_12_01', ['canary'])).toBe(true);
    expect(selects('1', 'v12_2026_12_01', ['canary'])).toBe(false);
  });
});

describe('traffic figures', () => {
  it('count requests and errors, and give the p95 of the last window of latencies', () => {
    const traffic = new VersionTraffic(100);
    for (let i = 1; i <= 200; i++) traffic.record(['v1', i, 0]);
    traffic.record(['v1', 0, 1]);
    expect(traffic.figuresOf('v1')).toEqual({ requests: 201, errors: 1, error_rate: 1 / 201, latency_p95_ms: 195 });
    expect(traffic.figuresOf('v2')).toEqual({ requests: 0, errors: 0, error_rate: null, latency_p95_ms: null });
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
  });
});

describe('planFleet', () => {
  const dir = useRegistryDir(3, 'fleet-routing');
  const labels = (value: Record<string, string>) => fs.writeFileSync(path.join(dir(), 'labels.json'), JSON.stringify({ schema_version: 1, labels: value }));
  const names = (plan: Awaited<ReturnType<typeof planFleet>>) => plan.versions.map((v) => [path.basename(v.dir), v.role, v.labels]);

  it('serves latest alone without labels; stable plus every labelled version with them', async () => {
    expect(names(await planFleet(dir()))).toEqual([[versionName(3), 'stable', ['latest']]]);
    labels({ stable: versionName(1), canary: versionName(2), old: versionName(1) });
    const plan = await planFleet(dir(), { canary: { version: null, percent: 10 } });
    expect(names(plan)).toEqual([
      [versionName(1), 'stable', ['stable', 'old']],
      [versionName(2), 'canary', ['canary']],
    ]);
    expect(plan.canary).toEqual({ dir: path.join(fs.realpathSync(dir()), versionName(2)), percent: 10 });
  });

  it('one version for a version dir or a latest link; skips a label naming a missing version; refuses a malformed labels.json', async () => {
    expect(names(await planFleet(path.join(dir(), 'latest')))).toEqual([[versionName(3), 'stable', []]]);
    const warnings: string[] = [];
    labels({ stable: 'v9_2026_12_01' });
    expect(names(await planFleet(dir(), {}, (w) => warnings.push(w)))).toEqual([[versionName(3), 'stable', ['latest']]]);
    expect(warnings.join()).toContain('v9_2026_12_01');
    fs.writeFileSync(path.join(dir(), 'labels.json'), '{"schema_version": 1, "labels": ');
    await expect(planFleet(dir())).rejects.toThrow(/not valid JSON/);
  });

  it('checks version flags before serving (UsageError)', () => {
    expect(() => checkFleetOptions(dir(), { canary: { version: 'v7_2026_12_01', percent: 5 } })).toThrow(/unknown version "v7_2026_12_01"/);
    expect(() => checkFleetOptions(path.join(dir(), 'latest'), { canary: { version: null, percent: 5 } })).toThrow(/need --model <models-dir>/);
    expect(() => checkFleetOptions(dir(), { canary: { version: versionName(1), percent: 5 } })).not.toThrow();
  });
});
