import * as http from 'node:http';
import { Handler, TinyServer, json, tinyServer } from './helpers/tiny-server';
import { ApiUnreachableError, PredictClient } from '../src/drift/client';
import { replayImages } from '../src/drift/replay';
import { PIXELS_PER_IMAGE, decodeImageToRgb32 } from '../src/preprocess';
import type { ImageSet } from '../src/data/types';

/** Images whose first pixel's red value is their index, so the server can tell them apart. */
function indexedImages(count: number): ImageSet {
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) pixels[i * PIXELS_PER_IMAGE] = i;
  return { pixels, labels: new Uint8Array(count), count };
}

async function imageIndex(body: string): Promise<number> {
  const { image_base64 } = JSON.parse(body) as { image_base64: string };
  const rgb = await decodeImageToRgb32(Buffer.from(image_base64, 'base64'));
  return rgb[0];
}

const servers: TinyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(handler: Handler): Promise<TinyServer> {
  const server = await tinyServer(handler);
  servers.push(server);
  return server;
}

describe('replayImages', () => {
  it('sends each image as a base64 PNG and keeps answers in image order', async () => {
    const server = await start((_req, body, res) => {
      void imageIndex(body).then((index) => json(res, 200, { predicted_class: `class${index}`, confidence: index / 10 }));
    });
    const client = new PredictClient({ url: server.url + '/', timeoutMs: 2000, retries: 0, apiKey: 'secret' });
    const progress: number[] = [];
    const outcome = await replayImages(client, indexedImages(6), 3, (p) => progress.push(p.done));

    expect(outcome.predictions).toEqual(['class0', 'class1', 'class2', 'class3', 'class4', 'class5']);
    expect(outcome.confidences).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(outcome.failed).toBe(0);
    expect(outcome.latenciesMs).toHaveLength(6);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(server.requests.every((r) => r.url === '/predict' && r.headers['x-api-key'] === 'secret')).toBe(true);
    expect(server.requests[0].headers['content-type']).toBe('application/json');
  });

  it('keeps exactly --concurrency requests in flight', async () => {
    let maxInFlight = 0;
    const held: http.ServerResponse[] = [];
    // Answers nothing until 4 requests wait (fewer in flight would stall and time out), then, after
    // a moment in which a 5th would show up, all of them.
    const server = await start((_req, _body, res) => {
      held.push(res);
      maxInFlight = Math.max(maxInFlight, held.length);
      if (held.length === 4) setTimeout(() => held.splice(0).forEach((r) => json(r, 200, { predicted_class: 'cat', confidence: 0.9 })), 20);
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 0 });
    const outcome = await replayImages(client, indexedImages(20), 4);
    expect(outcome.failed).toBe(0);
    expect(maxInFlight).toBe(4);
  });

  it('retries 5xx answers with backoff and succeeds', async () => {
    const attempts = new Map<number, number>();
    const server = await start((_req, body, res) => {
      void imageIndex(body).then((index) => {
        const seen = (attempts.get(index) ?? 0) + 1;
        attempts.set(index, seen);
        if (seen <= 2) json(res, 503, { error: { code: 'busy', message: 'try later' } });
        else json(res, 200, { predicted_class: 'dog', confidence: 0.5 });
      });
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 2, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(3), 2);
    expect(outcome.failed).toBe(0);
    expect(outcome.retries).toBe(6);
    expect(outcome.predictions).toEqual(['dog', 'dog', 'dog']);
  });

  it("waits as long as a 503's Retry-After asks before retrying (an overloaded server is not hammered)", async () => {
    const server = await start((_req, _body, res) => {
      if (server.requests.length === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        res.end(JSON.stringify({ error: { code: 'overloaded', message: 'busy' } }));
      } else json(res, 200, { predicted_class: 'dog', confidence: 0.5 });
    });
    // With a 1 ms backoff the retry would follow at once; Retry-After: 5 holds it back.
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 1, backoffMs: 1 });
    const controller = new AbortController();
    const predicted = client.predict(Buffer.from('png'), controller.signal);
    while (server.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests).toHaveLength(1);
    controller.abort();
    expect(await predicted).toMatchObject({ ok: false, error: 'aborted' });
  });

  it('counts requests that still fail after the retries, without throwing', async () => {
    const server = await start((_req, body, res) => {
      void imageIndex(body).then((index) => {
        if (index % 2 === 0) json(res, 500, { error: { code: 'internal', message: 'boom' } });
        else json(res, 200, { predicted_class: 'ship', confidence: 0.7 });
      });
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 1, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(4), 2);
    expect(outcome.failed).toBe(2);
    expect(outcome.errors).toEqual({ http_500: 2 });
    expect(outcome.retries).toBe(2);
    expect(outcome.predictions).toEqual([null, 'ship', null, 'ship']);
    expect(server.requests).toHaveLength(6);
  });

  it('does not retry 4xx answers', async () => {
    const server = await start((_req, _body, res) => json(res, 400, { error: { code: 'bad', message: 'no' } }));
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 3, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(2), 2);
    expect(outcome.errors).toEqual({ http_400: 2 });
    expect(outcome.retries).toBe(0);
    expect(server.requests).toHaveLength(2);
  });

  it('times out slow requests and retries them', async () => {
    let calls = 0;
    const server = await start((_req, _body, res) => {
      calls += 1;
      // The first request hangs past the client timeout; the retry is answered at once.
      if (calls === 1) setTimeout(() => json(res, 200, { predicted_class: 'late', confidence: 1 }), 1000);
      else json(res, 200, { predicted_class: 'frog', confidence: 0.6 });
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 100, retries: 1, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(1), 1);
    expect(outcome.predictions).toEqual(['frog']);
    expect(outcome.retries).toBe(1);

    const noRetry = new PredictClient({ url: server.url, timeoutMs: 100, retries: 0 });
    calls = 0;
    const failed = await replayImages(noRetry, indexedImages(1), 1);
    expect(failed.errors).toEqual({ timeout: 1 });
  });

  it('retries dropped connections', async () => {
    let calls = 0;
    const server = await start((req, _body, res) => {
      calls += 1;
      if (calls === 1) req.socket.destroy();
      else json(res, 200, { predicted_class: 'bird', confidence: 0.8 });
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 2, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(1), 1);
    expect(outcome.predictions).toEqual(['bird']);
    expect(outcome.retries).toBe(1);
  });

  it('counts refused connections as failures with their error code', async () => {
    const server = await start(() => undefined);
    const url = server.url;
    await servers.splice(0)[0].close();
    const client = new PredictClient({ url, timeoutMs: 500, retries: 1, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(2), 2);
    expect(outcome.failed).toBe(2);
    expect(outcome.errors).toEqual({ ECONNREFUSED: 2 });
  });

  it('counts answers that are not predictions as invalid_response', async () => {
    const server = await start((_req, _body, res) => json(res, 200, { hello: 'world' }));
    const client = new PredictClient({ url: server.url, timeoutMs: 2000, retries: 0 });
    const outcome = await replayImages(client, indexedImages(1), 1);
    expect(outcome.errors).toEqual({ invalid_response: 1 });
  });
});

describe('PredictClient.probe', () => {
  it('reads the model version and classes', async () => {
    const server = await start((req, _body, res) => {
      if (req.url === '/ping') json(res, 200, { status: 'healthy', model_loaded: true });
      else json(res, 200, { model_type: 'SimpleCNN', version: 'v1_2026_01_01', class_names: ['a', 'b'], test_accuracy: 0.7 });
    });
    const info = await new PredictClient({ url: server.url, timeoutMs: 1000, retries: 0 }).probe();
    expect(info).toEqual({ model_type: 'SimpleCNN', version: 'v1_2026_01_01', class_names: ['a', 'b'], test_accuracy: 0.7 });
  });

  it('fails with exit code 2 and a clear message when nothing listens', async () => {
    const server = await start(() => undefined);
    const url = server.url;
    await servers.splice(0)[0].close();
    const probe = new PredictClient({ url, timeoutMs: 500, retries: 0 }).probe();
    await expect(probe).rejects.toThrow(ApiUnreachableError);
    await expect(probe).rejects.toThrow(/cannot reach the API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await expect(probe).rejects.toMatchObject({ exitCode: 2 });
  });

  it('names --api-key when model-info is refused', async () => {
    const server = await start((req, _body, res) => {
      if (req.url === '/ping') json(res, 200, { status: 'healthy', model_loaded: true });
      else json(res, 401, { error: { code: 'unauthorized', message: 'no key' } });
    });
    await expect(new PredictClient({ url: server.url, timeoutMs: 1000, retries: 0 }).probe()).rejects.toThrow(/--api-key/);
  });
});

describe('replayImages stops early', () => {
  const predictOrPing = (req: http.IncomingMessage, res: http.ServerResponse): void =>
    req.url === '/ping' ? json(res, 200, { status: 'healthy', model_loaded: true }) : json(res, 200, { predicted_class: 'cat', confidence: 0.9 });

  it('when a request fails below HTTP and /ping is gone too: the rest is unsent, with the reason', async () => {
    let predicts = 0;
    const server = await start((req, _body, res) => {
      if (req.url === '/predict' && ++predicts === 6) {
        void server.close(); // dies mid-run
        return;
      }
      predictOrPing(req, res);
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 1000, retries: 1, backoffMs: 1 });
    const outcome = await replayImages(client, indexedImages(40), 2);
    expect(outcome.stopped).toMatch(/^the target stopped answering \(\w+; GET \/ping: ECONNREFUSED\) after \d+ of 40 images$/);
    const answered = outcome.predictions.filter((p) => p !== null).length;
    expect(answered).toBeLessThanOrEqual(5);
    expect(outcome.failed).toBeGreaterThanOrEqual(1);
    expect(outcome.failed + outcome.unsent + answered).toBe(40);
    expect(outcome.unsent).toBeGreaterThan(30);
  });

  it('not when one connection drops but /ping still answers', async () => {
    let predicts = 0;
    const server = await start((req, _body, res) => {
      if (req.url === '/predict' && ++predicts === 2) req.socket.destroy();
      else predictOrPing(req, res);
    });
    const client = new PredictClient({ url: server.url, timeoutMs: 30_000, retries: 0 });
    const outcome = await replayImages(client, indexedImages(10), 1);
    expect(outcome.stopped).toBeNull();
    expect(outcome).toMatchObject({ failed: 1, unsent: 0 });
    expect(server.requests.filter((r) => r.url === '/ping')).toHaveLength(1);
  });

  it('when the signal aborts: requests in flight are cancelled and counted unsent, not failed', async () => {
    const server = await start(() => undefined); // never answers
    const client = new PredictClient({ url: server.url, timeoutMs: 60_000, retries: 0 });
    const controller = new AbortController();
    const replay = replayImages(client, indexedImages(8), 2, undefined, controller.signal);
    while (server.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('--deadline 1 s reached'));
    const outcome = await replay;
    expect(outcome).toMatchObject({ failed: 0, unsent: 8, stopped: '--deadline 1 s reached after 0 of 8 images' });
    expect(server.requests).toHaveLength(2);
  });
});

describe('PredictClient redirects', () => {
  it('sends the API key to the --url origin only, never to another origin it is redirected to', async () => {
    const other = await start((_req, _body, res) => json(res, 200, { predicted_class: 'cat', confidence: 0.9 }));
    const first = await start((_req, _body, res) => {
      res.writeHead(307, { location: `${other.url}/predict` });
      res.end();
    });
    const client = new PredictClient({ url: first.url, apiKey: 'secret-key', timeoutMs: 1000, retries: 0 });
    const outcome = await client.predict(Buffer.from('png'));
    expect(outcome).toMatchObject({ ok: true, predictedClass: 'cat' });
    expect(first.requests[0].headers['x-api-key']).toBe('secret-key');
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0].headers['x-api-key']).toBeUndefined();
    // 307 keeps the method and body.
    expect(JSON.parse(other.requests[0].body)).toEqual({ image_base64: Buffer.from('png').toString('base64') });
  });

  it('keeps the key on a redirect within the same origin', async () => {
    const server = await start((req, _body, res) => {
      if (req.url === '/predict') {
        res.writeHead(308, { location: '/v2/predict' });
        res.end();
      } else json(res, 200, { predicted_class: 'dog', confidence: 0.8 });
    });
    const client = new PredictClient({ url: server.url, apiKey: 'secret-key', timeoutMs: 1000, retries: 0 });
    expect(await client.predict(Buffer.from('png'))).toMatchObject({ ok: true, predictedClass: 'dog' });
    expect(server.requests.map((r) => [r.url, r.headers['x-api-key']])).toEqual([
      ['/predict', 'secret-key'],
      ['/v2/predict', 'secret-key'],
    ]);
  });
});

describe('PredictClient.checkPrediction', () => {
  it.each([
    [401, undefined, /needs an API key; pass --api-key or set MLDEPLOY_API_KEY/],
    [403, 'wrong', /HTTP 403\): the API key was not accepted; check --api-key or MLDEPLOY_API_KEY/],
  ])('turns HTTP %i into exit 2 naming --api-key', async (status, apiKey, message) => {
    const server = await start((_req, _body, res) => json(res, status, { error: { code: 'unauthorized', message: 'no' } }));
    const check = new PredictClient({ url: server.url, apiKey, timeoutMs: 1000, retries: 0 }).checkPrediction(Buffer.from('png'));
    await expect(check).rejects.toThrow(message);
    await expect(check).rejects.toMatchObject({ exitCode: 2 });
  });

  it('leaves other failures to the replay', async () => {
    const server = await start((_req, _body, res) => json(res, 400, { error: { code: 'bad', message: 'no' } }));
    await expect(new PredictClient({ url: server.url, timeoutMs: 1000, retries: 0 }).checkPrediction(Buffer.from('png'))).resolves.toBeUndefined();
  });
});
