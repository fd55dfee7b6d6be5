/**
 * Several versions served at once, over real HTTP: a models dir with stable, canary and an unlabelled
 * version; explicit routing on both protocols, 404s, the x-model-version header, the canary split
 * by client id, version labels on metrics, /monitoring per version, log lines, and label changes
 * (promote, a hand-written labels.json, a malformed one, a removed label) under load with no failed request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setLabel, removeLabel } from '../src/model/registry/changes';
import { encodePng } from '../src/preprocess';
import { readPredictionLog, RunningServer, startServer } from '../src/serve';
import { syntheticImages } from './helpers/model-fixture';
import { createRegistryDir, createTemplateVersion, removeDir, versionName } from './helpers/registry-fixture';
import { runCli } from './helpers/cli-run';
import { until } from './helpers/serve-cli';

const [V1, V2, V3] = [1, 2, 3].map(versionName);

interface Answer {
  status: number;
  version: string | null;
  body: Record<string, unknown>;
  headers: Headers;
}

async function eventually<T>(read: () => Promise<T>, expected: T, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await read()) === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('serving several versions of a models dir', () => {
  let template = '';
  let dir = '';
  let logDir = '';
  let server: RunningServer;
  let image = '';
  const answered: string[] = [];

  const call = async (route: string, init: { body?: unknown; headers?: Record<string, string>; method?: string } = {}): Promise<Answer> => {
    const res = await fetch(server.url + route, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const answer = { status: res.status, version: res.headers.get('x-model-version'), body: (await res.json()) as Record<string, unknown>, headers: res.headers };
    if (res.status === 200 && route.includes('predict') && answer.version) answered.push(answer.version);
    return answer;
  };
  const predict = (headers: Record<string, string> = {}, query = '') => call(`/predict${query}`, { body: { image_base64: image }, headers });
  const stableVersion = async () => (await call('/model-info?version=stable')).body.version;

  beforeAll(async () => {
    template = await createTemplateVersion();
    dir = createRegistryDir(template, 3);
    logDir = path.join(dir, '..', `${path.basename(dir)}-logs`);
    await setLabel(dir, V1, 'stable', 'first stable', 'promote');
    await setLabel(dir, V2, 'canary', 'try v2');
    server = await startServer({ modelPath: dir, port: 0, logDir, logLevel: 'silent', canary: { version: null, percent: 30 } });
    image = (await encodePng(syntheticImages(1, 11))).toString('base64');
  });

  afterAll(async () => {
    await server?.close();
    removeDir(path.dirname(template));
    removeDir(dir);
    removeDir(logDir);
  });

  it('serves stable and the labelled canary (not the unlabelled newest) and names the version in body and header', async () => {
    expect(server.repository.versions().map((v) => [v.model.version, v.role, v.trafficPercent])).toEqual([
      [V1, 'stable', 70],
      [V2, 'canary', 30],
    ]);
    const pinned = await predict({ 'x-model-version': V1 });
    expect(pinned).toMatchObject({ status: 200, version: V1, body: { model_version: V1 } });
    expect((await predict({}, '?version=canary')).version).toBe(V2);
    expect((await predict({ 'x-model-version': '2' })).version).toBe(V2);
    expect((await call('/model-info', { headers: { 'x-model-version': 'canary' } })).body.version).toBe(V2);
    const batch = await call('/predict/batch?version=stable', { body: { images: [image, image] } });
    expect(batch.version).toBe(V1);
    expect((batch.body.predictions as Array<{ model_version: string }>).map((p) => p.model_version)).toEqual([V1, V1]);
  });

  it('answers 404 version_not_found for a version or label it does not serve', async () => {
    for (const res of [await predict({ 'x-model-version': V3 }), await predict({}, '?version=nightly'), await call('/model-info?version=v9_2026_12_01')]) {
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'version_not_found' });
      expect((res.body.error as { message: string }).message).toContain(V1);
    }
  });

  it('routes TF Serving /versions/<n> and /labels/<label> (status, metadata, predict) and 404s unknown ones', async () => {
    expect((await call('/v1/models/default')).body.model_version_status).toEqual([
      { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    ]);
    expect((await call('/v1/models/default/versions/2')).body.model_version_status).toEqual([{ version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }]);
    expect(((await call('/v1/models/default/labels/canary/metadata')).body.model_spec as { version: string }).version).toBe('2');
    const instances = { instances: [{ b64: image }] };
    const byNumber = await call('/v1/models/default/versions/2:predict', { body: instances });
    expect(byNumber).toMatchObject({ status: 200, version: V2 });
    expect(byNumber.body.predictions).toHaveLength(1);
    expect((await call('/v1/models/default/labels/stable:predict', { body: instances })).version).toBe(V1);
    expect((await call('/v1/models/default:predict', { body: instances, headers: { 'x-client-id': 'tf-client' } })).status).toBe(200);
    const missing = [await call('/v1/models/default/versions/3'), await call('/v1/models/default/labels/nightly:predict', { body: instances }), await call('/v1/models/default/versions/7:predict', { body: instances })];
    expect(missing.map((r) => [r.status, (r.body.error as { code: string }).code])).toEqual([
      [404, 'version_not_found'],
      [404, 'version_not_found'],
      [404, 'version_not_found'],
    ]);
    expect((missing[0].body.error as { message: string }).message).toBe('Servable not found for request: Specific(default, 3)');
    expect((missing[1].body.error as { message: string }).message).toBe('Unrecognized servable version label: nightly');
  });

  it('sends 30 % of 2,000 distinct clients to the canary (within 2 points), and a client always to the same version', async () => {
    const clients = Array.from({ length: 2000 }, (_, i) => `client-${i}`);
    const versionOf = new Map<string, string>();
    for (let i = 0; i < clients.length; i += 25) {
      const answers = await Promise.all(clients.slice(i, i + 25).map((id) => predict({ 'x-client-id': id })));
      answers.forEach((a, j) => versionOf.set(clients[i + j], a.version!));
    }
    const share = ([...versionOf.values()].filter((v) => v === V2).length / clients.length) * 100;
    expect(Math.abs(share - 30)).toBeLessThanOrEqual(2);
    for (const id of clients.slice(0, 100)) expect((await predict({ 'x-client-id': id })).version).toBe(versionOf.get(id));
    // Without a client id the request id decides, and is echoed.
    expect((await predict({ 'x-request-id': 'req-1' })).headers.get('x-request-id')).toBe('req-1');
    expect((await predict()).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('labels every model metric with the version, and /monitoring summarises each version', async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const version of [V1, V2]) {
      expect(metrics).toMatch(new RegExp(`^mldeploy_http_requests_total\\{method="POST",route="predict",status="200",version="${version}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^mldeploy_http_request_duration_seconds_count\\{route="predict",version="${version}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^mldeploy_batch_size_count\\{version="${version}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^mldeploy_predictions_total\\{class="[a-z]+",version="${version}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^mldeploy_prediction_confidence_count\\{version="${version}"\\} \\d+$`, 'm'));
    }
    expect(metrics).toMatch(new RegExp(`^mldeploy_model_info\\{version="${V2}",model_type="SimpleCNN",engine="[a-z]+",role="canary"\\} 1$`, 'm'));

    const monitoring = (await call('/monitoring')).body;
    expect(monitoring.model_version).toBe(V1);
    const versions = monitoring.versions as Array<Record<string, unknown>>;
    const predictRequests = (version: string) => answered.filter((v) => v === version).length;
    expect(versions.map((v) => [v.version, v.role, v.labels, v.traffic_percent])).toEqual([
      [V1, 'stable', ['stable'], 70],
      [V2, 'canary', ['canary'], 30],
    ]);
    for (const v of versions) {
      expect(v).toMatchObject({ requests: predictRequests(v.version as string), errors: 0, error_rate: 0 });
      expect(v.latency_p95_ms).toEqual(expect.any(Number));
      expect(v.window).toEqual({ size: 500, samples: expect.any(Number) });
      expect((v.window as { samples: number }).samples).toBeGreaterThan(0);
    }
    expect((await call('/monitoring?version=canary')).body.model_version).toBe(V2);
    expect((await call('/monitoring?version=nightly')).status).toBe(404);
  });

  it('follows label changes under load (promote, hand-written, malformed, removed label) without a failed request', async () => {
    let stop = false;
    const failures: Answer[] = [];
    const seen = new Set<string>();
    const load = Array.from({ length: 4 }, async (_, worker) => {
      for (let i = 0; !stop; i++) {
        const answer = await predict({ 'x-client-id': `load-${worker}-${i % 50}` });
        if (answer.status === 200) seen.add(answer.version!);
        else failures.push(answer);
      }
    });
    const promoted = await runCli('models', 'promote', V3, '--models-dir', dir, '--reason', 'promote v3 under load');
    expect(promoted.code).toBe(0);
    await until(() => seen.has(V3), 'v3 to answer after the promotion');
    expect(await stableVersion()).toBe(V3);

    fs.writeFileSync(path.join(dir, 'labels.json.tmp'), JSON.stringify({ schema_version: 1, labels: { stable: V1, canary: V2 } }));
    fs.renameSync(path.join(dir, 'labels.json.tmp'), path.join(dir, 'labels.json'));
    await eventually(stableVersion, V1, 'the hand-written stable v1');

    fs.writeFileSync(path.join(dir, 'labels.json'), '{"schema_version": 1, "labels": {');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stableVersion()).toBe(V1);

    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify({ schema_version: 1, labels: { stable: V1, canary: V2 } }));
    await removeLabel(dir, 'canary', 'canary over');
    await eventually(async () => server.repository.versions().length, 1, 'the canary to be retired');
    expect(server.repository.versions().map((v) => v.model.version)).toEqual([V1]);
    expect((await predict({}, '?version=canary')).status).toBe(404);
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect([...seen].sort()).toEqual([V1, V2, V3]);
  });

  it('writes the answering version into every prediction-log line', async () => {
    await server.close();
    const lines = readPredictionLog(path.join(logDir, 'predictions.jsonl'));
    for (const version of [V1, V2]) {
      expect(lines.filter((l) => l.model_version === version).length).toBeGreaterThanOrEqual(answered.filter((v) => v === version).length);
    }
    expect(new Set(lines.map((l) => l.model_version))).toEqual(new Set([V1, V2, V3]));
  });
});
