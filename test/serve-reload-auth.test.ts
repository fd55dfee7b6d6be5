/** Model reload (good and broken, with requests in flight), API keys and CORS. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { encodePng } from '../src/preprocess';
import { RunningServer, startServer } from '../src/serve';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

const KEY = 's3cret-key';

async function postPredict(url: string, imageBase64: string, key = KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ image_base64: imageBase64 }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('reload, API key and CORS', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-reload-'));
  const modelsDir = path.join(workDir, 'models');
  let server: RunningServer;
  let image: string;
  let firstVersion: string;

  beforeAll(async () => {
    firstVersion = path.basename(await createModelFixture(modelsDir, { seed: 1 }));
    server = await startServer({
      modelPath: path.join(modelsDir, 'latest'),
      port: 0,
      logDir: path.join(workDir, 'logs'),
      logLevel: 'silent',
      apiKey: KEY,
      cors: 'https://dashboard.example',
    });
    image = (await encodePng(syntheticImages(1, 4))).toString('base64');
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  describe('API key', () => {
    it('prediction and admin routes need x-api-key or Authorization: Bearer (401 JSON otherwise)', async () => {
      for (const [method, route] of [['post', '/predict'], ['post', '/predict-file'], ['post', '/predict/batch'], ['post', '/v1/models/default:predict'], ['post', '/admin/reload']] as const) {
        const res = await request(server.app)[method](route).send({});
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
      await request(server.app).post('/predict').set('x-api-key', 'wrong').send({ image_base64: image }).expect(401);
      await request(server.app).post('/predict').set('authorization', 'Bearer wrong').send({ image_base64: image }).expect(401);
      await request(server.app).post('/predict').set('x-api-key', KEY).send({ image_base64: image }).expect(200);
      await request(server.app).post('/predict').set('authorization', `Bearer ${KEY}`).send({ image_base64: image }).expect(200);
    });

    it('/ping and /metrics stay open', async () => {
      await request(server.app).get('/ping').expect(200);
      await request(server.app).get('/metrics').expect(200);
    });
  });

  describe('CORS', () => {
    it('allows the configured origin (incl. preflight) and no other', async () => {
      const preflight = await request(server.app).options('/predict').set('origin', 'https://dashboard.example').expect(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://dashboard.example');
      expect(preflight.headers['access-control-allow-headers']).toMatch(/x-api-key/i);
      const other = await request(server.app).get('/ping').set('origin', 'https://evil.example').expect(200);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('reload', () => {
    it('swaps to the new latest version without failing requests in flight', async () => {
      const secondVersion = path.basename(await createModelFixture(modelsDir, { seed: 2 }));
      const inFlight = Array.from({ length: 40 }, () => postPredict(server.url, image));
      const reloaded = request(server.app).post('/admin/reload').set('x-api-key', KEY).expect(200);
      const moreInFlight = Array.from({ length: 40 }, () => postPredict(server.url, image));
      const responses = await Promise.all([...inFlight, ...moreInFlight]);
      expect((await reloaded).body).toEqual({ status: 'reloaded', previous_version: firstVersion, version: secondVersion, changed: true, versions: [secondVersion] });
      for (const r of responses) {
        expect(r.status).toBe(200);
        expect([firstVersion, secondVersion]).toContain(r.body.model_version);
      }
      const after = await postPredict(server.url, image);
      expect(after.body.model_version).toBe(secondVersion);
      expect((await request(server.app).get('/model-info').expect(200)).body.version).toBe(secondVersion);
    });

    it('refuses a broken new model (409), logs it and keeps serving the old one', async () => {
      const current = (await request(server.app).get('/model-info')).body.version as string;
      const broken = path.join(modelsDir, 'v9_2020_01_01');
      fs.cpSync(path.join(modelsDir, current), broken, { recursive: true });
      fs.writeFileSync(path.join(broken, 'weights.bin'), Buffer.alloc(100));
      fs.rmSync(path.join(modelsDir, 'latest'));
      fs.symlinkSync('v9_2020_01_01', path.join(modelsDir, 'latest'));

      const inFlight = Array.from({ length: 20 }, () => postPredict(server.url, image));
      const res = await request(server.app).post('/admin/reload').set('x-api-key', KEY).expect(409);
      expect(res.body.error.code).toBe('reload_failed');
      expect(res.body.error.message).toContain(`still serving ${current}`);
      for (const r of await Promise.all(inFlight)) expect(r.body.model_version).toBe(current);

      expect((await postPredict(server.url, image)).body.model_version).toBe(current);
      await expect(server.reload()).rejects.toThrow(/cannot load the model/);
      const metrics = (await request(server.app).get('/metrics')).text;
      expect(metrics).toMatch(/mldeploy_model_reloads_total\{result="failure"\} 2/);
      expect(metrics).toMatch(/mldeploy_model_reloads_total\{result="success"\} 1/);
      expect(metrics).toContain(`mldeploy_model_info{version="${current}"`);
    });
  });

  describe('admin routes refuse cross-site browser requests (CSRF)', () => {
    it('refuse an Origin that is neither this server nor listed in --cors, even with the key', async () => {
      const res = await request(server.app).post('/admin/reload').set('x-api-key', KEY).set('origin', 'https://evil.example').send({}).expect(403);
      expect(res.body.error.code).toBe('cross_site_request');
      // A listed origin passes the guard and reaches the reload (409: `latest` is the broken model by now).
      const listed = await request(server.app).post('/admin/reload').set('x-api-key', KEY).set('origin', 'https://dashboard.example').send({});
      expect(listed.body.error.code).toBe('reload_failed');
    });
  });
});

describe('admin routes without an API key', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-admin-'));
  let server: RunningServer;
  // An address of this machine that is not loopback, so a request to it arrives from it.
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  const itWithExternalAddress = external ? it : it.skip;

  beforeAll(async () => {
    await createModelFixture(path.join(workDir, 'models'), { seed: 2 });
    server = await startServer({ modelPath: path.join(workDir, 'models'), host: '0.0.0.0', port: 0, logDir: path.join(workDir, 'logs'), logLevel: 'silent' });
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const reloadFrom = (host: string) =>
    fetch(`http://${host}:${new URL(server.url).port}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' } });

  it('reload for clients on this machine (localhost)', async () => {
    const res = await reloadFrom('127.0.0.1');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'reloaded', changed: false });
  });

  it('need a JSON content type: a cross-site form or text/plain POST (no preflight) is refused', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await request(server.app).post('/admin/reload').set('content-type', type).send('a=1');
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const bare = await fetch(`${server.url}/admin/reload`, { method: 'POST' });
    expect(bare.status).toBe(415);
  });

  it('refuse a foreign Origin, and a page on a rebound DNS name, but answer this server\'s own loopback origin', async () => {
    const json = { 'content-type': 'application/json' };
    const foreign = await request(server.app).post('/admin/reload').set(json).set('origin', 'https://evil.example').send('{}');
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('cross_site_request');
    // DNS rebinding: evil.example now resolves to 127.0.0.1, so Origin and Host agree, but the name is not loopback.
    const rebound = await request(server.app).post('/admin/reload').set(json).set('host', 'rebind.example:8000').set('origin', 'http://rebind.example:8000').send('{}');
    expect(rebound.status).toBe(403);
    const own = await request(server.app).post('/admin/reload').set(json).set('host', 'localhost:8000').set('origin', 'http://localhost:8000').send('{}');
    expect(own.status).toBe(200);
    expect((await request(server.app).post('/admin/reload').set(json).set('origin', 'null').send('{}')).status).toBe(403);
  });

  itWithExternalAddress('refuse other clients with 403 JSON, while predictions stay open', async () => {
    const res = await reloadFrom(external!);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('--api-key') });
    const image = (await encodePng(syntheticImages(1, 5))).toString('base64');
    const predicted = await fetch(`http://${external}:${new URL(server.url).port}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image_base64: image }),
    });
    expect(predicted.status).toBe(200);
  });
});
