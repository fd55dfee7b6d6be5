/**
 * `mldeploy serve --model <models-dir> --workers 2` as a real process: every worker follows a
 * promotion (labels.json) under load without a failed request, /monitoring sums the workers'
 * traffic per version, and bad version flags are usage errors (exit 2) before any worker starts.
 */
import * as path from 'node:path';
import { setLabel } from '../src/model/registry/changes';
import { encodePng } from '../src/preprocess';
import { syntheticImages } from './helpers/model-fixture';
import { createRegistryDir, createTemplateVersion, removeDir, versionName } from './helpers/registry-fixture';
import { runServe, startServe, until } from './helpers/serve-cli';

const [V1, V2] = [1, 2].map(versionName);

describe('serve --workers 2 over a models dir', () => {
  let template = '';
  let dir = '';
  let image = '';

  beforeAll(async () => {
    template = await createTemplateVersion();
    dir = createRegistryDir(template, 2);
    await setLabel(dir, V1, 'stable', null, 'promote');
    image = (await encodePng(syntheticImages(1, 5))).toString('base64');
  });

  afterAll(() => {
    removeDir(path.dirname(template));
    removeDir(dir);
    removeDir(`${dir}-logs`);
  });

  it('picks up a promotion in every worker with no failed request; /monitoring sums both workers per version', async () => {
    const server = await startServe(['--model', dir, '--workers', '2', '--log-dir', `${dir}-logs`, '--canary', `${V2}:50`]);
    const predict = async (clientId: string) => {
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-client-id': clientId }, body: JSON.stringify({ image_base64: image }) });
      await res.arrayBuffer();
      return { status: res.status, version: res.headers.get('x-model-version') };
    };
    try {
      expect(server.stdout()).toContain(`\n  versions: ${V1} stable 50 % | ${V2} canary 50 %\n`);
      const first = await Promise.all(Array.from({ length: 40 }, (_, i) => predict(`c${i}`)));
      expect(first.every((r) => r.status === 200)).toBe(true);
      const monitoring = async () => (await (await fetch(`${server.url}/monitoring`)).json()) as { versions: Array<{ version: string; role: string; traffic_percent: number; requests: number; window: { samples: number } }> };
      const counted = () => monitoring().then((m) => m.versions.reduce((sum, v) => sum + v.requests, 0));
      let total = 0;
      for (let i = 0; i < 100 && total < 40; i++) {
        total = await counted();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { versions } = await monitoring();
      expect(versions.map((v) => [v.version, v.role, v.traffic_percent])).toEqual([
        [V1, 'stable', 50],
        [V2, 'canary', 50],
      ]);
      for (const v of versions) {
        expect(v.requests).toBe(first.filter((r) => r.version === v.version).length);
        // The primary's monitor holds every served version's window, with its reference from disk.
        expect(v.window.samples).toBe(v.requests);
      }
      // ?version= takes a role too: this canary has no label, --canary named it.
      const canaryReport = (await (await fetch(`${server.url}/monitoring?version=canary`)).json()) as { model_version: string; reference_accuracy: number | null };
      expect(canaryReport).toMatchObject({ model_version: V2, reference_accuracy: 0.52 });

      let stop = false;
      const failures: unknown[] = [];
      const load = Array.from({ length: 3 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const answer = await predict(`load-${w}-${i}`);
          if (answer.status !== 200) failures.push(answer);
        }
      });
      await setLabel(dir, V2, 'stable', 'promote under load', 'promote');
      await until(() => (server.stdout().match(new RegExp(`now serving ${V2} \\(was ${V1}\\)`, 'g')) ?? []).length === 2, 'both workers to serve the promoted version');
      stop = true;
      await Promise.all(load);
      expect(failures).toEqual([]);
      const after = await Promise.all(Array.from({ length: 20 }, (_, i) => predict(`after-${i}`)));
      expect(new Set(after.map((r) => r.version))).toEqual(new Set([V2]));
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });

  it.each([
    [['--canary', 'v9_2026_12_01:10'], /unknown version "v9_2026_12_01"/],
    [['--canary', `${V2}:120`], /--canary must be a percentage between 0 and 100/],
    [['--canary', `${V2}:5`, '--canary-percent', '5'], /not both/],
  ])('refuses %p with exit 2', async (flags, message) => {
    const proc = runServe(['--model', dir, '--workers', '2', '--port', '0', ...flags]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(message);
  });

  it('refuses --canary with a single version dir (exit 2)', async () => {
    const proc = runServe(['--model', path.join(dir, 'latest'), '--workers', '1', '--port', '0', '--canary-percent', '10']);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(/need --model <models-dir>/);
  });
});
