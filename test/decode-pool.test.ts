/**
 * The hard budget around decoding (src/preprocess/decode-pool.ts): worker decodes give exactly
 * the in-process pixels, a decode over its deadline is stopped with image_decode_timeout and its
 * worker replaced, and small checked PNG/JPEG never leave the calling thread.
 */
import { decodeImageToRgb32, ImageDecodeError } from '../src/preprocess';
import { DecodeBudget, DecodePool, decodeImageBounded, FAST_PATH_MAX_BYTES, FAST_PATH_MAX_PIXELS } from '../src/preprocess/decode-pool';
import { readImageHeader } from '../src/preprocess/image-header';
import { toHttpError } from '../src/serve/http-errors';
import { validImages } from './helpers/hostile-images';

/** Runs `use` with a fresh pool of `size` workers and closes the pool afterwards. */
async function withPool(size: number, budget: DecodeBudget, use: (pool: DecodePool) => Promise<void>): Promise<void> {
  const pool = new DecodePool(size, budget);
  try {
    await use(pool);
  } finally {
    await pool.close();
  }
}

describe('bounded decoding', () => {
  let large: Awaited<ReturnType<typeof validImages>>;
  beforeAll(async () => {
    large = await validImages(300, 200);
  });

  it('decodes every format in a worker to the same pixels as in this thread', async () => {
    await withPool(2, { timeoutMs: 60_000, heapMb: 256 }, async (pool) => {
      for (const bytes of Object.values(large)) {
        const inWorker = await pool.decode(bytes, readImageHeader(bytes));
        expect(Buffer.from(inWorker).equals(Buffer.from(await decodeImageToRgb32(bytes)))).toBe(true);
      }
    });
  });

  it('stops a decode that overruns its deadline, answers image_decode_timeout, and replaces the worker', async () => {
    // 1 ms: less than a worker needs to start, so the deadline always fires first.
    await withPool(1, { timeoutMs: 1, heapMb: 256 }, async (pool) => {
      const error = await pool.decode(large.tiff, readImageHeader(large.tiff)).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ImageDecodeError);
      expect((error as ImageDecodeError).code).toBe('image_decode_timeout');
      expect(pool.replaced).toBe(1);
    });
  });

  it('runs a queued task on a new worker after the one before it was terminated', async () => {
    await withPool(1, { timeoutMs: 1, heapMb: 256 }, async (pool) => {
      const results = await Promise.allSettled([large.tiff, large.png].map((b) => pool.decode(b, readImageHeader(b))));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(pool.replaced).toBe(2);
    });
  });

  it('answers a worker that runs out of heap with image_decode_out_of_memory and replaces it', async () => {
    // 2 MB of heap: less than loading the decoders takes, so the worker always dies of it.
    await withPool(1, { timeoutMs: 60_000, heapMb: 2 }, async (pool) => {
      const error = await pool.decode(large.png, readImageHeader(large.png)).catch((err: unknown) => err);
      expect((error as ImageDecodeError).code).toBe('image_decode_out_of_memory');
      expect(pool.replaced).toBe(1);
    });
  });

  it('maps decode timeouts and heap exhaustion to 422 JSON errors in serve', () => {
    for (const code of ['image_decode_timeout', 'image_decode_out_of_memory'] as const) {
      const http = toHttpError(new ImageDecodeError(code, 'stopped'));
      expect({ status: http?.status, code: http?.code }).toEqual({ status: 422, code });
    }
  });

  it('passes refusals from the worker back with their code', async () => {
    await withPool(1, { timeoutMs: 60_000, heapMb: 256 }, async (pool) => {
      // A header that passed the checks but does not match the data: the decoder refuses it.
      const lying = Buffer.from(large.bmp);
      lying.writeUInt16LE(7, 28); // 7 bits per pixel
      const error = await pool.decode(lying, { ...readImageHeader(large.bmp) }).catch((err: unknown) => err);
      expect((error as ImageDecodeError).code).toBe('corrupt_image');
    });
  });

  it('decodes small checked PNG/JPEG in this thread and the rest through the shared pool', async () => {
    const small = await validImages(32, 32);
    expect(small.png.length).toBeLessThan(FAST_PATH_MAX_BYTES);
    expect(32 * 32).toBeLessThanOrEqual(FAST_PATH_MAX_PIXELS);
    const spy = jest.spyOn(DecodePool.prototype, 'decode');
    try {
      await decodeImageBounded(small.png);
      await decodeImageBounded(small.jpeg);
      expect(spy).not.toHaveBeenCalled();
      await decodeImageBounded(small.gif);
      await decodeImageBounded(large.png);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});
