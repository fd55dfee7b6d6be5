/**
 * The hostile inputs of issue 11, sent to a real `mldeploy serve` process (sources run through
 * tsx) exactly as an attacker would. Each was reproduced against the previous code: the TIFF
 * loop and the GIF frame hung the process (so the client-side abort below is what would fail),
 * the 0xFFFFFFFF count was refused only after seconds with a decoder message, the truncated
 * JPEG got a 200, and the batch of 4000x4000 PNGs decoded 1 G pixels.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAX_REQUEST_PIXELS } from '../src/serve/inputs';
import { createModelFixture } from './helpers/model-fixture';
import { HUGE_COUNT_TIFF, HUGE_FRAME_GIF, lzwCycleGif, oneBitPng, SELF_LOOP_TIFF, truncatedJpeg, validImages } from './helpers/hostile-images';

const ROOT = path.resolve(__dirname, '..');
/** Guards against a hung server: a request not answered by then fails the test instead of hanging it. */
const HUNG = 30_000;

interface Reply {
  status: number;
  body: { error?: { code: string; message: string }; predicted_class?: string; predictions?: unknown[] };
}

describe('hostile images against a serve process', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-decode-hostile-'));
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const modelsDir = path.join(workDir, 'models');
    await createModelFixture(modelsDir, { seed: 5 });
    child = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), 'test/helpers/mldeploy-from-sources.ts', 'serve', '--port', '0', '--model', modelsDir, '--workers', '1', '--log-dir', path.join(workDir, 'logs')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk) => (err += chunk));
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
    });
  });

  afterAll(() => {
    child?.kill('SIGKILL');
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function send(route: string, init: RequestInit): Promise<Reply> {
    const res = await fetch(url + route, { method: 'POST', ...init, signal: AbortSignal.timeout(HUNG) });
    return { status: res.status, body: (await res.json()) as Reply['body'] };
  }
  const upload = (bytes: Buffer, name: string) => {
    const form = new FormData();
    form.append('file', new Blob([bytes]), name);
    return send('/predict-file', { body: form });
  };
  const json = (route: string, body: object) => send(route, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  async function expectServing(): Promise<void> {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(HUNG) });
    expect(res.status).toBe(200);
  }

  it('refuses a 50-byte TIFF whose IFD points at itself (twice: no worker is lost)', async () => {
    expect(SELF_LOOP_TIFF.length).toBe(50);
    for (let i = 0; i < 2; i++) {
      const reply = await upload(SELF_LOOP_TIFF, 'loop.tif');
      expect(reply).toEqual({ status: 400, body: { error: { code: 'corrupt_image', message: expect.stringContaining('TIFF IFDs form a loop') } } });
    }
    await expectServing();
  });

  it('refuses a TIFF tag count of 0xFFFFFFFF from the header, naming the tag', async () => {
    const reply = await upload(HUGE_COUNT_TIFF, 'count.tif');
    expect(reply).toEqual({ status: 400, body: { error: { code: 'corrupt_image', message: expect.stringContaining('tag 300 claims 4294967295 values') } } });
  });

  it('refuses a GIF whose frame descriptor claims 46,340 x 46,340 on a 1x1 screen', async () => {
    const reply = await upload(HUGE_FRAME_GIF, 'frame.gif');
    expect(reply).toEqual({ status: 413, body: { error: { code: 'image_too_large', message: expect.stringContaining('GIF frame 0 dimensions 46340x46340') } } });
    await expectServing();
  });

  it('refuses a GIF whose LZW table would loop the decoder forever (found by test:fuzz)', async () => {
    const reply = await upload(lzwCycleGif(), 'cycle.gif');
    expect(reply).toEqual({ status: 400, body: { error: { code: 'corrupt_image', message: expect.stringContaining('LZW code past its table') } } });
    await expectServing();
  });

  it('answers a truncated JPEG 400 corrupt_image, not a prediction', async () => {
    const { jpeg } = await validImages();
    const reply = await json('/predict', { image_base64: truncatedJpeg(jpeg).toString('base64') });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('corrupt_image');
  });

  it('refuses a batch of 64 tiny 4000x4000 PNGs from their headers (per-request pixel budget)', async () => {
    const b64 = oneBitPng(4000, 4000).toString('base64');
    expect(b64.length).toBeLessThan(4 * 1024);
    const images = Array.from({ length: 64 }, () => b64);
    const budget = expect.stringContaining(`the limit is ${MAX_REQUEST_PIXELS} per request`);
    expect(await json('/predict/batch', { images })).toEqual({ status: 413, body: { error: { code: 'too_many_pixels', message: budget } } });
    const instances = images.map((image) => ({ b64: image }));
    expect(await json('/v1/models/default:predict', { instances })).toEqual({ status: 413, body: { error: { code: 'too_many_pixels', message: budget } } });
    await expectServing();
  });

  it('still predicts a batch within the budget, decoding large images off the main thread', async () => {
    const large = await validImages(300, 200);
    const reply = await json('/predict/batch', { images: [large.jpeg, large.png, large.tiff, large.gif, large.bmp].map((b) => b.toString('base64')) });
    expect(reply.status).toBe(200);
    expect(reply.body.predictions).toHaveLength(5);
  });

  it('bounds a gzip body after inflation: a 16 KB body inflating past 10 MB is 413, a small one works', async () => {
    const bomb = gzipSync(JSON.stringify({ image_base64: 'A'.repeat(12 * 1024 * 1024) }));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    expect(await send('/predict', { headers, body: bomb })).toEqual({ status: 413, body: { error: { code: 'payload_too_large', message: expect.any(String) } } });
    const { png } = await validImages();
    const small = await send('/predict', { headers, body: gzipSync(JSON.stringify({ image_base64: png.toString('base64') })) });
    expect(small.status).toBe(200);
    expect(typeof small.body.predicted_class).toBe('string');
  });
});
