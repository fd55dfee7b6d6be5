/**
 * Overload: a full predictor queue sheds load with 503 + Retry-After (JSON) instead of queueing
 * without bound, and slow clients (slowloris) are cut off by the headers timeout while /ping
 * keeps answering. Real HTTP against in-process servers on a fixture model.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { encodePng } from '../src/preprocess';
import { createServerParts, RunningServer, ServerParts, startServer } from '../src/serve';
import { createModelFixture, syntheticImages } from './helpers/model-fixture';

jest.setTimeout(60_000);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-overload-'));
const modelsDir = path.join(workDir, 'models');
let image: string;

beforeAll(async () => {
  await createModelFixture(modelsDir, { seed: 4 });
  image = (await encodePng(syntheticImages(1, 6))).toString('base64');
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('a full predictor queue', () => {
  let parts: ServerParts;
  let release: () => void = () => {};

  beforeAll(async () => {
    parts = await createServerParts({
      modelPath: modelsDir,
      logDir: path.join(workDir, 'logs-shed'),
      logLevel: 'silent',
      batching: { maxBatchSize: 1, maxWaitMs: 0, maxQueuedImages: 4 },
    });
    // Hold the model so the queue fills deterministically.
    const model = parts.context.repository.current;
    const realPredict = model.predict.bind(model);
    const gate = new Promise<void>((resolve) => (release = resolve));
    model.predict = async (pixels, count) => {
      await gate;
      return realPredict(pixels, count);
    };
  });

  afterAll(async () => {
    release();
    await parts.dispose();
  });

  it('answers 503 overloaded with Retry-After once full, and serves what it admitted', async () => {
    const api = () => request(parts.app);
    const { predictor } = parts.context;
    const admitted = api().post('/predict/batch').send({ images: [image, image, image, image] }).then((r) => r);
    await until(() => predictor.pending === 4, 'the first batch to be queued'); // 1 running + 3 queued

    // 3 queued + 2 more would exceed 4: the whole request is refused, none of its images queued.
    const tooMany = await api().post('/predict/batch').send({ images: [image, image] });
    expect(tooMany.status).toBe(503);
    expect(tooMany.headers['retry-after']).toBe('1');
    expect(tooMany.body).toEqual({ error: { code: 'overloaded', message: expect.stringContaining('retry') } });

    const fits = api().post('/predict').send({ image_base64: image }).then((r) => r);
    await until(() => predictor.saturated, 'the queue to fill');
    // Full: refused before the body is read, on every prediction route.
    for (const send of [
      () => api().post('/predict').send({ image_base64: image }),
      () => api().post('/predict-file').attach('file', Buffer.from(image, 'base64'), 'x.png'),
      () => api().post('/v1/models/default:predict').send({ instances: [{ b64: image }] }),
    ]) {
      const res = await send();
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.error.code).toBe('overloaded');
    }
    expect((await api().get('/ping')).status).toBe(200);

    release();
    expect((await admitted).status).toBe(200);
    expect((await admitted).body.predictions).toHaveLength(4);
    expect((await fits).status).toBe(200);
    expect((await api().post('/predict').send({ image_base64: image })).status).toBe(200);
  });

  it('is documented in /openapi.json on every prediction route', async () => {
    const doc = (await request(parts.app).get('/openapi.json')).body;
    for (const route of ['/predict', '/predict-file', '/predict/batch', '/v1/models/{name}:predict']) {
      expect(doc.paths[route].post.responses[503]).toEqual({ $ref: '#/components/responses/Overloaded' });
    }
    expect(doc.components.responses.Overloaded.headers).toHaveProperty('Retry-After');
  });
});

describe('slow clients (slowloris)', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({
      modelPath: modelsDir,
      port: 0,
      logDir: path.join(workDir, 'logs-slow'),
      logLevel: 'silent',
      limits: { headersTimeoutMs: 1500, requestTimeoutMs: 3000 },
    });
  });

  afterAll(() => server?.close());

  it('500 connections dripping partial headers do not block /ping, and the server cuts them off with 408', async () => {
    const port = new URL(server.url).port;
    const sockets = await Promise.all(
      Array.from(
        { length: 500 },
        () =>
          new Promise<{ socket: net.Socket; closed: Promise<string> }>((resolve, reject) => {
            const socket = net.connect(Number(port), '127.0.0.1');
            let received = '';
            socket.on('data', (chunk) => (received += chunk.toString()));
            socket.on('error', () => {});
            const drip = setInterval(() => socket.write('x-slow: 1\r\n'), 200);
            const closed = new Promise<string>((done) =>
              socket.on('close', () => {
                clearInterval(drip);
                done(received);
              }),
            );
            socket.once('connect', () => {
              socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n');
              resolve({ socket, closed });
            });
            socket.once('error', reject);
          }),
      ),
    );
    try {
      const ping = await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(5000) });
      expect(ping.status).toBe(200);
      // No header block ever completes, yet every connection is closed by the server's headers timeout.
      const answers = await Promise.all(sockets.map((s) => s.closed));
      expect(answers.every((text) => text.startsWith('HTTP/1.1 408'))).toBe(true);
    } finally {
      for (const { socket } of sockets) socket.destroy();
    }
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });

  it('closes connections beyond --max-connections at once, and idle keep-alive connections after --keep-alive-timeout', async () => {
    const limited = await startServer({
      modelPath: modelsDir,
      port: 0,
      logDir: path.join(workDir, 'logs-limited'),
      logLevel: 'silent',
      limits: { maxConnections: 3, keepAliveTimeoutMs: 300 },
    });
    const port = Number(new URL(limited.url).port);
    const connect = () =>
      new Promise<{ socket: net.Socket; closed: Promise<string> }>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('error', () => {});
        const closed = new Promise<string>((done) => socket.on('close', () => done(received)));
        socket.once('connect', () => resolve({ socket, closed }));
      });
    try {
      const held = [await connect(), await connect(), await connect()];
      await new Promise((resolve) => setTimeout(resolve, 100)); // the server has counted them
      const extra = await connect();
      expect(await extra.closed).toBe(''); // closed without an answer
      // A kept-alive connection that goes idle is closed by the server after its response.
      held[0].socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
      expect(await held[0].closed).toMatch(/^HTTP\/1\.1 200 OK/);
      for (const { socket } of held) socket.destroy();
    } finally {
      await limited.close();
    }
  });

  it('refuses limits that cannot work', async () => {
    await expect(startServer({ modelPath: modelsDir, port: 0, logLevel: 'silent', limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })).rejects.toThrow(
      /headers timeout \(5000 ms\) must not exceed the request timeout/,
    );
  });
});
