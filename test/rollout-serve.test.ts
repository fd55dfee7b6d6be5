/**
 * Shadow and automatic rollback in a real server on a models dir: the shadow never changes a
 * response (also when it throws), and a bad version promoted to stable is rolled back by the
 * server itself (labels.json, audit.jsonl, /monitoring, /metrics), once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { METADATA_FILE } from '../src/model/artifacts';
import { removeLabel, setLabel } from '../src/model/registry/changes';
import { AUDIT_FILE, LABELS_FILE, readAudit } from '../src/model/registry/store';
import { encodePng } from '../src/preprocess';
import { type RunningServer, startServer } from '../src/serve';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';
import { createMonitoredModelFixture } from './helpers/monitor-model';
import { runCli } from './helpers/cli-run';
import { schemaErrors } from './helpers/openapi-validate';
import { startServe, until } from './helpers/serve-cli';

const PIXELS = 32 * 32 * 3;

async function pngs(count: number, seed: number): Promise<string[]> {
  const pixels = syntheticImages(count, seed);
  return Promise.all(Array.from({ length: count }, async (_, i) => (await encodePng(pixels.subarray(i * PIXELS, (i + 1) * PIXELS))).toString('base64')));
}

/** Polls GET /monitoring until `done` holds for it; fails with the last answer when it never does. */
async function monitoringUntil(server: RunningServer, done: (body: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  for (let i = 0; i < 300; i++) {
    const res = await request(server.url).get('/monitoring');
    // 503 while a version just served has no window yet (the cluster primary reads its metadata first).
    if (res.status !== 503) body = res.body;
    if (res.status === 200 && done(body)) return body;
    await sleep(50);
  }
  throw new Error(`GET /monitoring never reached the expected state; last answer: ${JSON.stringify(body).slice(0, 2000)}`);
}

describe('serve --shadow', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-shadow-'));
  const modelsDir = path.join(workDir, 'models');
  let v1 = '';
  let v2 = '';
  let images: string[] = [];
  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  beforeAll(async () => {
    v1 = path.basename(await createModelFixture(modelsDir, { seed: 42 }));
    v2 = path.basename(await createModelFixture(modelsDir, { seed: 9 }));
    await setLabel(modelsDir, v1, 'stable', null, 'promote');
    images = await pngs(6, 5);
  });

  const start = (shadow?: string) =>
    startServer({ modelPath: modelsDir, port: 0, logDir: path.join(workDir, `logs-${shadow ?? 'none'}`), logLevel: 'silent', pinned: shadow ? [{ version: shadow, role: 'shadow' }] : undefined });

  /** Every prediction route once per image; the bodies without their latency (which differs run to run). */
  async function answers(server: RunningServer): Promise<unknown[]> {
    const api = request(server.url);
    const bodies: unknown[] = [];
    const withoutLatency = (body: Record<string, unknown>) => ({ ...body, latency_ms: undefined });
    for (const image of images) bodies.push(withoutLatency((await api.post('/predict').send({ image_base64: image }).expect(200)).body));
    bodies.push(withoutLatency((await api.post('/predict-file').attach('file', Buffer.from(images[0], 'base64'), 'a.png').expect(200)).body));
    const batch = (await api.post('/predict/batch').send({ images }).expect(200)).body as { predictions: Record<string, unknown>[] };
    bodies.push(batch.predictions.map(withoutLatency));
    bodies.push((await api.post('/v1/models/default:predict').send({ instances: [{ b64: images[1] }] }).expect(200)).body);
    return bodies;
  }

  it('gives the same bodies with and without a shadow, also when the shadow throws, and records the comparisons', async () => {
    const plain = await start();
    const without = await answers(plain);
    await plain.close();

    const shadowed = await start(v2);
    try {
      expect(await answers(shadowed)).toEqual(without);
      const images = 6 + 1 + 6 + 1;
      const seen = await monitoringUntil(shadowed, (b) => {
        const s = b.shadow as { compared: number; skipped: number } | null;
        return s !== null && s.compared + s.skipped === images;
      });
      expect(seen.shadow).toMatchObject({ version: v2, primary_version: v1 });
      expect(schemaErrors('Monitoring', seen)).toEqual([]);
      const shadow = seen.shadow as { compared: number; skipped: number; agreement: number };
      expect(shadow.compared).toBeGreaterThan(0);
      expect(shadow.agreement).toBeGreaterThanOrEqual(0);
      expect(seen.versions).toEqual(expect.arrayContaining([expect.objectContaining({ version: v2, role: 'shadow' })]));
      const metrics = (await request(shadowed.url).get('/metrics').expect(200)).text;
      expect(metrics).toMatch(new RegExp(`^mldeploy_shadow_comparisons_total\\{version="${v2}",primary_version="${v1}"\\} ${shadow.compared}$`, 'm'));

      const shadowModel = shadowed.repository.find(v2)!.model;
      jest.spyOn(shadowModel, 'predict').mockRejectedValue(new Error('shadow exploded'));
      expect(await answers(shadowed)).toEqual(without);
      const after = await monitoringUntil(shadowed, (b) => {
        const s = b.shadow as { compared: number; skipped: number };
        return s.compared + s.skipped === 2 * images;
      });
      expect(after.shadow).toMatchObject({ compared: shadow.compared });
      expect(await request(shadowed.url).get('/metrics').then((r) => r.text)).toMatch(new RegExp(`^mldeploy_shadow_skipped_total\\{version="${v2}",reason="error"\\} [1-9]`, 'm'));
    } finally {
      await shadowed.close();
    }
  });
});

describe('serve --shadow with --workers 2', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-shadow-cluster-'));
  const modelsDir = path.join(workDir, 'models');
  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it("counts every worker's comparisons once, in the primary, and feeds the shadow's monitor window", async () => {
    const v1 = path.basename(await createMonitoredModelFixture(modelsDir, 3));
    const v2 = path.basename(await createMonitoredModelFixture(modelsDir, 4));
    await setLabel(modelsDir, v1, 'stable', null, 'promote');
    const serve = await startServe(['--model', modelsDir, '--workers', '2', '--shadow', v2, '--log-dir', path.join(workDir, 'logs'), '--monitor-window', '60']);
    try {
      expect(serve.stdout()).toContain(`\n  versions: ${v1} stable 100 % | shadow ${v2} 100 %\n`);
      const images = await pngs(24, 6);
      for (const image of images) await request(serve.url).post('/predict').send({ image_base64: image }).expect(200);
      const seen = await monitoringUntil({ url: serve.url } as RunningServer, (b) => {
        const s = b.shadow as { compared: number; skipped: number } | null;
        return s !== null && s.compared + s.skipped === images.length;
      });
      const shadow = seen.shadow as { compared: number; version: string; primary_version: string };
      expect(shadow).toMatchObject({ version: v2, primary_version: v1 });
      expect(shadow.compared).toBeGreaterThan(0);
      const metrics = (await request(serve.url).get('/metrics').expect(200)).text;
      expect(metrics.match(/^mldeploy_shadow_comparisons_total\{.*$/gm)).toEqual([`mldeploy_shadow_comparisons_total{version="${v2}",primary_version="${v1}"} ${shadow.compared}`]);
      const entry = (seen.versions as { version: string; window: { samples: number } }[]).find((v) => v.version === v2);
      expect(entry?.window.samples).toBe(shadow.compared);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});

describe('the shadow label', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-shadow-label-'));
  const modelsDir = path.join(workDir, 'models');
  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('shadows the version the label points at, and follows the label when it is removed', async () => {
    const v1 = path.basename(await createModelFixture(modelsDir, { seed: 42 }));
    const v2 = path.basename(await createModelFixture(modelsDir, { seed: 9 }));
    await setLabel(modelsDir, v1, 'stable', null, 'promote');
    await setLabel(modelsDir, v2, 'shadow', null);
    const server = await startServer({ modelPath: modelsDir, port: 0, logDir: path.join(workDir, 'logs'), logLevel: 'silent' });
    try {
      await request(server.url).post('/predict').send({ image_base64: (await pngs(1, 3))[0] }).expect(200);
      const seen = await monitoringUntil(server, (b) => (b.shadow as { compared: number } | null)?.compared === 1);
      expect(seen.shadow).toMatchObject({ version: v2, primary_version: v1, compared: 1 });
      await removeLabel(modelsDir, 'shadow', null);
      await server.reload();
      expect((await request(server.url).get('/monitoring').expect(200)).body.shadow).toBeNull();
    } finally {
      await server.close();
    }
  });
});

describe('serve --rollback-if', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-rollback-'));
  const template = path.join(workDir, 'template');
  let good = '';
  let bad = '';
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** A calibrated version whose accuracy estimate on any traffic is the share of predictions above `threshold`. */
  async function version(seed: number, threshold: number): Promise<string> {
    const dir = await createMonitoredModelFixture(template, seed);
    const file = path.join(dir, METADATA_FILE);
    const metadata = JSON.parse(readFileSync(file, 'utf8'));
    metadata.calibration.atc_threshold.max_confidence = threshold;
    writeFileSync(file, JSON.stringify(metadata));
    return path.basename(dir);
  }

  beforeAll(async () => {
    good = await version(3, 0); // every prediction counts as right: estimate 1
    bad = await version(4, 1); // none does: estimate 0
  });

  /** A models dir of the two versions where the bad one has been promoted over the good one. */
  async function badPromoted(name: string): Promise<string> {
    const dir = path.join(workDir, name);
    fs.cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
    await setLabel(dir, good, 'stable', 'first release', 'promote');
    await setLabel(dir, bad, 'stable', 'looked fine offline', 'promote');
    return dir;
  }

  const reasonFor = (samples: number) => `estimated_accuracy<0.5 held: estimated_accuracy 0 over ${samples} predictions of ${bad}`;

  it('rolls a bad promoted version back by itself, once, and the good version answers', async () => {
    const modelsDir = await badPromoted('single');
    const notices: string[] = [];
    server = await startServer({
      modelPath: modelsDir,
      port: 0,
      logDir: path.join(workDir, 'logs'),
      logLevel: 'silent',
      monitor: { window: 60 },
      rollback: { rule: 'estimated_accuracy<0.5', after: 50 },
      notice: (message) => notices.push(message),
    });
    const api = request(server.url);
    expect((await api.get('/model-info').expect(200)).body.version).toBe(bad);
    expect((await api.get('/monitoring').expect(200)).body.rollback).toEqual({ rule: 'estimated_accuracy<0.5', after: 50 });

    await api.post('/predict/batch').send({ images: await pngs(60, 8) }).expect(200);
    const seen = await monitoringUntil(server, (b) => (b.rollback as { triggered_at?: string }).triggered_at !== undefined);
    expect(seen.rollback).toEqual({ rule: 'estimated_accuracy<0.5', after: 50, triggered_at: expect.any(String), from: bad, to: good, reason: reasonFor(60) });
    expect(schemaErrors('Monitoring', seen)).toEqual([]);

    expect(JSON.parse(readFileSync(path.join(modelsDir, LABELS_FILE), 'utf8')).labels).toEqual({ stable: good });
    expect((await readAudit(modelsDir)).at(-1)).toMatchObject({ actor: 'mldeploy serve --rollback-if', action: 'rollback', label: 'stable', from: bad, to: good, reason: reasonFor(60) });
    expect((await api.get('/model-info').expect(200)).body.version).toBe(good);
    // The terminal says what serves now, as after a manual promote (serve prints these notices), once.
    await sleep(300); // the label watch's refresh too (WATCH_DEBOUNCE_MS), which finds nothing left to change
    expect(notices.filter((n) => n.startsWith('reloaded:'))).toEqual([`reloaded: now serving ${good} (was ${bad})`]);
    expect(notices).toContain(`--rollback-if: stable rolled back from ${bad} to ${good} (${reasonFor(60)})`);
    expect((await api.post('/predict').send({ image_base64: (await pngs(1, 2))[0] }).expect(200)).body.model_version).toBe(good);
    const metrics = (await api.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(new RegExp(`^mldeploy_rollbacks_total\\{version="${bad}",result="success"\\} 1$`, 'm'));

    // Promoted again by hand, the same bad version is left alone: no rollback loop.
    await setLabel(modelsDir, bad, 'stable', 'overrule', 'promote');
    await server.reload(); // at once; the label watch would do it 150 ms later
    expect((await api.get('/model-info').expect(200)).body.version).toBe(bad);
    await api.post('/predict/batch').send({ images: await pngs(60, 9) }).expect(200);
    // A tested window (drift tests, estimate) matches the documented schema too.
    const tested = await monitoringUntil(server, (b) => (b.drift as { tests: unknown[] }).tests.length > 0);
    expect(schemaErrors('Monitoring', tested)).toEqual([]);
    await sleep(1500); // more than one watcher period (ROLLBACK_CHECK_MS)
    expect((await readAudit(modelsDir)).filter((e) => e.action === 'rollback')).toHaveLength(1);
    expect(readFileSync(path.join(modelsDir, AUDIT_FILE), 'utf8').trim().split('\n').at(-1)).toContain('"reason":"overrule"');
    await server.close();
    server = undefined;
  });

  it('with --workers 2 the primary rolls back and every worker serves the good version', async () => {
    const modelsDir = await badPromoted('cluster');
    const serve = await startServe(['--model', modelsDir, '--workers', '2', '--log-dir', path.join(workDir, 'cluster-logs'), '--monitor-window', '60', '--rollback-if', 'estimated_accuracy < 0.5', '--rollback-after', '50']);
    try {
      expect(serve.stdout()).toContain(`\n  versions: ${bad} stable 100 % | rollback-if estimated_accuracy<0.5 every 50\n`);
      const api = request(serve.url);
      await api.post('/predict/batch').send({ images: await pngs(60, 8) }).expect(200);
      const seen = await monitoringUntil({ url: serve.url } as RunningServer, (b) => (b.rollback as { triggered_at?: string } | null)?.triggered_at !== undefined);
      expect(seen.rollback).toMatchObject({ rule: 'estimated_accuracy<0.5', after: 50, from: bad, to: good, reason: reasonFor(60) });
      expect((await readAudit(modelsDir)).at(-1)).toMatchObject({ actor: 'mldeploy serve --rollback-if', action: 'rollback', from: bad, to: good });
      await until(() => serve.stdout().includes(`stable rolled back from ${bad} to ${good}`), 'the rollback notice');
      await until(() => serve.stdout().includes(`reloaded: now serving ${good} (was ${bad})`), 'what serves now');
      // Both workers follow the label: every answer now comes from the good version.
      await monitoringUntil({ url: serve.url } as RunningServer, (b) => b.model_version === good);
      const answers = await Promise.all(Array.from({ length: 8 }, async () => (await api.get('/model-info').expect(200)).body.version));
      expect(new Set(answers)).toEqual(new Set([good]));
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it.each([
    [['--model', 'MODELS/' + 'VERSION', '--rollback-if', 'estimated_accuracy<0.5'], /--rollback-if needs --model <models-dir>/],
    [['--model', 'MODELS', '--rollback-if', 'estimated_accuracy<0.5', '--rollback-after', '600'], /--rollback-after 600 is more than the monitor window \(--monitor-window 500\)/],
    [['--model', 'MODELS', '--rollback-after', '50'], /--rollback-after needs --rollback-if <rule>/],
    [['--model', 'MODELS', '--rollback-if', 'estimated_accuracy<0.5', '--no-monitor'], /cannot be combined with --no-monitor/],
    [['--model', 'MODELS', '--rollback-if', 'accuracy<0.5'], /unknown figure "accuracy" in --rollback-if rule/],
  ])('refuses %j with exit 2 before serving', async (args, message) => {
    const dir = path.join(template);
    const run = await runCli('serve', ...args.map((a) => a.replace('MODELS', dir).replace('VERSION', good)), '--port', '0', '--workers', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
