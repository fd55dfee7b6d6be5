/**
 * Every endpoint and every bad-input class against one in-process server on a fixture model
 * (supertest over the express app; a real listener for concurrency).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { encodeJpeg, encodePng } from '../src/preprocess';
import { RunningServer, startServer, MAX_BATCH_IMAGES, readPredictionLog } from '../src/serve';
import { CIFAR10_CLASSES, createModelFixture, syntheticImages } from './helpers/model-fixture';
import { handMadePng } from './helpers/png';

const PIXELS = 32 * 32 * 3;

describe('mldeploy serve HTTP API', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-serve-api-'));
  const logDir = path.join(workDir, 'logs');
  let server: RunningServer;
  let pngs: Buffer[];
  let pngBase64: string;

  beforeAll(async () => {
    const modelDir = await createModelFixture(path.join(workDir, 'models'), { seed: 3 });
    server = await startServer({ modelPath: modelDir, port: 0, logDir, logLevel: 'silent', modelName: 'cifar' });
    const pixels = syntheticImages(8, 11);
    pngs = await Promise.all(Array.from({ length: 8 }, (_, i) => encodePng(pixels.subarray(i * PIXELS, (i + 1) * PIXELS))));
    pngBase64 = pngs[0].toString('base64');
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const api = () => request(server.app);

  function expectPrediction(body: Record<string, unknown>): void {
    expect(Object.keys(body).sort()).toEqual(['all_probabilities', 'confidence', 'latency_ms', 'model_version', 'predicted_class']);
    const probabilities = body.all_probabilities as Record<string, number>;
    expect(Object.keys(probabilities)).toEqual(CIFAR10_CLASSES);
    const values = Object.values(probabilities);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(body.confidence).toBeCloseTo(Math.max(...values), 6);
    expect(probabilities[body.predicted_class as string]).toBe(body.confidence);
    expect(body.model_version).toBe(server.version);
    expect(typeof body.latency_ms).toBe('number');
  }

  describe('workshop endpoints', () => {
    it('GET /ping', async () => {
      const res = await api().get('/ping').expect(200);
      expect(res.body).toEqual({ status: 'healthy', model_loaded: true });
    });

    it('GET /model-info', async () => {
      const res = await api().get('/model-info').expect(200);
      expect(res.body).toMatchObject({
        model_type: 'SimpleCNN',
        num_classes: 10,
        class_names: CIFAR10_CLASSES,
        test_accuracy: 0.1,
        input_shape: [32, 32, 3],
        version: server.version,
        engine: server.engine.backend,
      });
      expect(Date.parse(res.body.created_at)).not.toBeNaN();
    });

    it('GET /model-info/reference returns the metadata reference profile', async () => {
      const res = await api().get('/model-info/reference').expect(200);
      expect(res.body.samples).toBe(64);
      expect(res.body.signals.confidence).toHaveLength(64);
      expect(res.body.signals.noise).toHaveLength(64);
    });

    it('POST /predict with base64 and with a data: URL give the same answer', async () => {
      const plain = await api().post('/predict').send({ image_base64: pngBase64 }).expect(200);
      expectPrediction(plain.body);
      const dataUrl = await api().post('/predict').send({ image_base64: `data:image/png;base64,${pngBase64}` }).expect(200);
      expect(dataUrl.body.all_probabilities).toEqual(plain.body.all_probabilities);
    });

    it('POST /predict-file with a multipart upload matches /predict', async () => {
      const viaJson = await api().post('/predict').send({ image_base64: pngBase64 }).expect(200);
      const viaFile = await api().post('/predict-file').attach('file', pngs[0], 'image.png').expect(200);
      expectPrediction(viaFile.body);
      expect(viaFile.body.all_probabilities).toEqual(viaJson.body.all_probabilities);
    });

    it('accepts JPEG, grayscale, alpha and large images (resized to 32x32)', async () => {
      const rgb = syntheticImages(1, 5);
      const jpeg = await encodeJpeg(rgb, 90);
      const gray = handMadePng(32, 32, 0, new Uint8Array(32 * 32).map((_, i) => i % 256));
      const grayAlpha = handMadePng(20, 20, 4, new Uint8Array(20 * 20 * 2).fill(128));
      const big = await encodePng(new Uint8Array(300 * 200 * 3).map((_, i) => (i * 13) % 256), 300, 200);
      for (const image of [jpeg, gray, grayAlpha, big]) {
        expectPrediction((await api().post('/predict').send({ image_base64: image.toString('base64') }).expect(200)).body);
      }
    });

    it(`POST /predict/batch answers each image in order (limit ${MAX_BATCH_IMAGES})`, async () => {
      const singles = await Promise.all(pngs.slice(0, 3).map((png) => api().post('/predict').send({ image_base64: png.toString('base64') })));
      const res = await api()
        .post('/predict/batch')
        .send({ images: pngs.slice(0, 3).map((png) => png.toString('base64')) })
        .expect(200);
      expect(res.body.predictions).toHaveLength(3);
      res.body.predictions.forEach((p: Record<string, unknown>, i: number) => {
        expectPrediction(p);
        expect(p.all_probabilities).toEqual(singles[i].body.all_probabilities);
      });
    });
  });

  describe('TF Serving REST', () => {
    it('GET /v1/models/<name> and /metadata', async () => {
      const status = await api().get('/v1/models/cifar').expect(200);
      expect(status.body.model_version_status).toEqual([{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }]);
      const metadata = await api().get('/v1/models/cifar/metadata').expect(200);
      expect(metadata.body.model_spec).toEqual({ name: 'cifar', signature_name: '', version: '1' });
      expect(metadata.body.metadata.signature_def.signature_def.serving_default.method_name).toBe('tensorflow/serving/predict');
    });

    it('POST /v1/models/<name>:predict with pixel arrays and b64 instances', async () => {
      const rgb = syntheticImages(1, 9);
      const png = await encodePng(rgb);
      const nested = Array.from({ length: 32 }, (_, y) => Array.from({ length: 32 }, (_, x) => Array.from(rgb.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3))));
      const res = await api()
        .post('/v1/models/cifar:predict')
        .send({ instances: [nested, { b64: png.toString('base64') }] })
        .expect(200);
      expect(res.body.predictions).toHaveLength(2);
      for (const row of res.body.predictions) {
        expect(row).toHaveLength(10);
        expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
      }
      // A lossless PNG of the same pixels is the same input.
      res.body.predictions[1].forEach((p: number, i: number) => expect(p).toBeCloseTo(res.body.predictions[0][i], 6));
    });

    it('unknown model names and methods are 404', async () => {
      expect((await api().get('/v1/models/other').expect(404)).body.error.code).toBe('model_not_found');
      expect((await api().get('/v1/models/other/metadata').expect(404)).body.error.code).toBe('model_not_found');
      expect((await api().post('/v1/models/other:predict').send({ instances: [] }).expect(404)).body.error.code).toBe('model_not_found');
      expect((await api().post('/v1/models/cifar:classify').send({}).expect(404)).body.error.code).toBe('not_found');
    });
  });

  describe('docs and metrics', () => {
    it('GET /openapi.json documents every route; GET /docs renders it', async () => {
      const doc = (await api().get('/openapi.json').expect(200)).body;
      expect(doc.openapi).toMatch(/^3\./);
      for (const route of ['/ping', '/model-info', '/predict', '/predict-file', '/predict/batch', '/v1/models/{name}', '/v1/models/{name}/metadata', '/v1/models/{name}:predict', '/metrics', '/admin/reload']) {
        expect(doc.paths).toHaveProperty([route]);
      }
      const docs = await api().get('/docs').expect(200);
      expect(docs.headers['content-type']).toMatch(/text\/html/);
      expect(docs.text).toContain('openapi.json');
    });

    it('GET /metrics reports requests, latency, in-flight, classes, confidence, batches, model version and process metrics', async () => {
      await api().post('/predict').send({ image_base64: pngBase64 }).expect(200);
      await api().post('/predict').send({ image_base64: '***' }).expect(400);
      const res = await api().get('/metrics').expect(200);
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      const text = res.text;
      const version = `version="${server.version}"`;
      expect(text).toMatch(new RegExp(`mldeploy_http_requests_total\\{method="POST",route="predict",status="200",${version}\\} \\d+`));
      expect(text).toMatch(new RegExp(`mldeploy_http_requests_total\\{method="POST",route="predict",status="400",${version}\\} \\d+`));
      expect(text).toMatch(new RegExp(`mldeploy_http_request_duration_seconds_bucket\\{le="0.005",route="predict",${version}\\} \\d+`));
      expect(text).toContain('mldeploy_http_requests_in_flight');
      expect(text).toMatch(new RegExp(`mldeploy_predictions_total\\{class="[a-z]+",${version}\\} \\d+`));
      expect(text).toMatch(new RegExp(`mldeploy_prediction_confidence_bucket\\{le="0.5",${version}\\} \\d+`));
      expect(text).toMatch(new RegExp(`mldeploy_batch_size_count\\{${version}\\} \\d+`));
      expect(text).toContain(`mldeploy_model_info{version="${server.version}",model_type="SimpleCNN",engine="${server.engine.backend}",role="stable"} 1`);
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).toContain('nodejs_heap_size_used_bytes');
    });
  });

  describe('bad input: 4xx with {"error": {"code", "message"}}, never a 5xx', () => {
    const truncatedPng = () => pngs[1].subarray(0, Math.floor(pngs[1].length / 2));
    const corruptPng = () => {
      const copy = Buffer.from(pngs[2]);
      copy.fill(0xab, 40, copy.length - 12); // keep signature + IHDR, scramble the data
      return copy;
    };
    const hugeHeaderPng = () => handMadePng(30000, 30000, 2, new Uint8Array(0));

    const cases: Array<[string, () => request.Test, number, string]> = [
      ['invalid base64', () => api().post('/predict').send({ image_base64: 'abc$%^&*' }), 400, 'invalid_base64'],
      ['bytes that are not an image', () => api().post('/predict').send({ image_base64: Buffer.from('hello, not an image at all').toString('base64') }), 400, 'unsupported_image'],
      ['a truncated image', () => api().post('/predict').send({ image_base64: truncatedPng().toString('base64') }), 400, 'corrupt_image'],
      ['a corrupt image', () => api().post('/predict').send({ image_base64: corruptPng().toString('base64') }), 400, 'corrupt_image'],
      ['an empty image string', () => api().post('/predict').send({ image_base64: '' }), 400, 'empty_image'],
      ['an empty uploaded file', () => api().post('/predict-file').attach('file', Buffer.alloc(0), 'empty.png'), 400, 'empty_image'],
      ['a missing field', () => api().post('/predict').send({ image: pngBase64 }), 400, 'missing_field'],
      ['a mistyped field', () => api().post('/predict').send({ image_base64: 42 }), 400, 'invalid_field'],
      ['a JSON array body', () => api().post('/predict').send([pngBase64]), 400, 'invalid_body'],
      ['JSON syntax errors', () => api().post('/predict').set('content-type', 'application/json').send('{"image_base64": '), 400, 'invalid_json'],
      ['a wrong content type on /predict', () => api().post('/predict').set('content-type', 'text/plain').send(pngBase64), 415, 'unsupported_media_type'],
      ['JSON sent to /predict-file', () => api().post('/predict-file').send({ image_base64: pngBase64 }), 415, 'unsupported_media_type'],
      ['a missing multipart file', () => api().post('/predict-file').field('note', 'no file here'), 400, 'missing_file'],
      ['a file under the wrong field name', () => api().post('/predict-file').attach('image', pngs[0], 'x.png'), 400, 'unexpected_field'],
      ['a multipart text field over 64 KiB', () => api().post('/predict-file').field('note', 'x'.repeat(70 * 1024)).attach('file', pngs[0], 'x.png'), 400, 'invalid_multipart'],
      ['a malformed multipart body', () => api().post('/predict-file').set('content-type', 'multipart/form-data; boundary=xyz').send('--xyz\r\nnot a header\r\n'), 400, 'invalid_multipart'],
      ['an oversized JSON body', () => api().post('/predict').send({ image_base64: 'A'.repeat(11 * 1024 * 1024) }), 413, 'payload_too_large'],
      ['an oversized upload', () => api().post('/predict-file').attach('file', Buffer.alloc(11 * 1024 * 1024, 1), 'big.png'), 413, 'payload_too_large'],
      ['a header declaring 30000x30000', () => api().post('/predict').send({ image_base64: hugeHeaderPng().toString('base64') }), 413, 'image_too_large'],
      ['too many batch items', () => api().post('/predict/batch').send({ images: new Array(MAX_BATCH_IMAGES + 1).fill(pngBase64) }), 413, 'too_many_images'],
      ['an empty batch', () => api().post('/predict/batch').send({ images: [] }), 400, 'invalid_field'],
      ['a bad image inside a batch', () => api().post('/predict/batch').send({ images: [pngBase64, 'not*base64'] }), 400, 'invalid_base64'],
      ['a TF Serving instance of the wrong shape', () => api().post('/v1/models/cifar:predict').send({ instances: [[[1, 2, 3]]] }), 400, 'invalid_instance'],
      ['TF Serving pixel values out of range', () => api().post('/v1/models/cifar:predict').send({ instances: [new Array(32).fill(new Array(32).fill([0, 256, 0]))] }), 400, 'invalid_instance'],
      ['TF Serving without instances', () => api().post('/v1/models/cifar:predict').send({ inputs: [] }), 400, 'missing_field'],
      ['an unknown route', () => api().get('/nope'), 404, 'not_found'],
    ];

    it.each(cases)('%s', async (_name, send, status, code) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
      expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack traces
    });

    it('refuses a 30000x30000 header of a few KB before decoding (a decode would report corrupt_image)', async () => {
      const png = hugeHeaderPng();
      expect(png.length).toBeLessThan(4096);
      const res = await api().post('/predict').send({ image_base64: png.toString('base64') }).expect(413);
      expect(res.body.error.message).toContain('30000x30000');
    });

    it('bounds a gzip body after inflation: 40 MiB packed into ~40 KB is a 413, not 40 MiB of memory', async () => {
      const bomb = gzipSync(`{"image_base64":"${'A'.repeat(40 * 1024 * 1024)}"}`, { level: 9 });
      expect(bomb.length).toBeLessThan(100 * 1024);
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    });

    it('keeps answering correctly after all of the above', async () => {
      expectPrediction((await api().post('/predict').send({ image_base64: pngBase64 }).expect(200)).body);
    });
  });

  describe('concurrency and micro-batching', () => {
    it('answers 96 parallel requests correctly, in fewer model calls than requests', async () => {
      const expected = await Promise.all(
        pngs.map(async (png) => (await api().post('/predict').send({ image_base64: png.toString('base64') })).body.all_probabilities),
      );
      const batchCount = async () => Number(/mldeploy_batch_size_count\{[^}]*\} (\d+)/.exec((await api().get('/metrics')).text)![1]);
      const callsBefore = await batchCount();
      const responses = await Promise.all(
        Array.from({ length: 96 }, (_, i) =>
          fetch(`${server.url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ image_base64: pngs[i % pngs.length].toString('base64') }),
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })),
        ),
      );
      responses.forEach((r, i) => {
        expect(r.status).toBe(200);
        const probabilities = r.body.all_probabilities as Record<string, number>;
        for (const name of CIFAR10_CLASSES) expect(probabilities[name]).toBeCloseTo(expected[i % pngs.length][name], 5);
      });
      expect((await batchCount()) - callsBefore).toBeLessThan(96);
    });
  });

  describe('prediction log', () => {
    it('appends one JSON line per prediction with the documented fields', async () => {
      await api().post('/predict-file').attach('file', pngs[4], 'x.png').expect(200);
      await server.close(); // flushes the log; later tests reopen nothing
      // Every line passes the file's contract (schema_version and all fields, nothing extra).
      const records = readPredictionLog(path.join(logDir, 'predictions.jsonl'));
      const last = records[records.length - 1];
      expect(Object.keys(last).sort()).toEqual(['confidence', 'input_sha256', 'input_stats', 'latency_ms', 'model_version', 'predicted_class', 'probabilities', 'route', 'schema_version', 'timestamp']);
      expect(last.schema_version).toBe(2);
      expect(last).toMatchObject({ model_version: server.version, route: 'predict-file' });
      expect(last.input_sha256).toBe(createHash('sha256').update(pngs[4]).digest('hex'));
      expect(CIFAR10_CLASSES).toContain(last.predicted_class);
      expect(new Set(records.map((r) => r.route))).toEqual(new Set(['predict', 'predict-file', 'predict-batch', 'tfserving-predict']));
      // Each successful prediction is logged; rejected inputs are not.
      expect(records.every((r) => r.confidence > 0 && r.confidence <= 1 && r.latency_ms >= 0)).toBe(true);
    });
  });
});
