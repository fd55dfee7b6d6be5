import { Jimp } from 'jimp';
import {
  decodeImageToRgb32,
  encodeJpeg,
  encodePng,
  ImageDecodeError,
  normalizePixels,
  PIXELS_PER_IMAGE,
  toInputTensor,
} from '../src/preprocess';
import { batchImageStats, imageStats } from '../src/preprocess/image-stats';
import { handMadePng } from './helpers/png';

function gradientImage(): Uint8Array {
  const rgb = new Uint8Array(PIXELS_PER_IMAGE);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) % 256;
  return rgb;
}

async function decodeError(bytes: Uint8Array): Promise<ImageDecodeError> {
  try {
    await decodeImageToRgb32(bytes);
  } catch (err) {
    return err as ImageDecodeError;
  }
  throw new Error('expected the image to be refused');
}

describe('normalization', () => {
  it('maps 0, 127.5 and 255 to -1, 0 and 1 like torchvision Normalize(0.5, 0.5)', () => {
    const out = normalizePixels(new Uint8Array([0, 255, 51]));
    expect(Array.from(out)).toEqual([-1, 1, expect.closeTo(51 / 127.5 - 1, 6)]);
  });

  it('gives exactly the float32 of (x / 255 - 0.5) / 0.5 for every level in every channel', () => {
    const pixels = Uint8Array.from({ length: 256 * 3 + 2 }, (_, i) => Math.floor(i / 3) % 256);
    const out = normalizePixels(pixels);
    pixels.forEach((level, i) => expect(out[i]).toBe(Math.fround((level * (1 / 255) - 0.5) / 0.5)));
  });

  it('builds an NHWC tensor and refuses a byte count that is not whole images', () => {
    const tensor = toInputTensor(new Uint8Array(2 * PIXELS_PER_IMAGE), 2);
    expect(tensor.shape).toEqual([2, 32, 32, 3]);
    tensor.dispose();
    expect(() => toInputTensor(new Uint8Array(100), 1)).toThrow(/expected 3072 pixel bytes/);
  });
});

describe('decodeImageToRgb32', () => {
  it('round-trips a 32x32 PNG byte for byte', async () => {
    const rgb = gradientImage();
    expect(Buffer.from(await decodeImageToRgb32(await encodePng(rgb)))).toEqual(Buffer.from(rgb));
  });

  it('decodes JPEG and BMP to 32x32 RGB', async () => {
    const jpeg = await decodeImageToRgb32(await encodeJpeg(new Uint8Array(PIXELS_PER_IMAGE).fill(128), 90));
    expect(jpeg.length).toBe(PIXELS_PER_IMAGE);
    expect(Math.abs(jpeg[0] - 128)).toBeLessThanOrEqual(2);
    const bmp = await new Jimp({ width: 32, height: 32, color: 0x336699ff }).getBuffer('image/bmp');
    expect(Array.from((await decodeImageToRgb32(bmp)).subarray(0, 3))).toEqual([0x33, 0x66, 0x99]);
  });

  it('turns grayscale into equal RGB channels and drops alpha', async () => {
    const gray = await decodeImageToRgb32(handMadePng(32, 32, 0, new Uint8Array(32 * 32).fill(77)));
    expect(Array.from(gray.subarray(0, 6))).toEqual([77, 77, 77, 77, 77, 77]);
    const rgba = new Uint8Array(32 * 32 * 4);
    for (let p = 0; p < 32 * 32; p++) rgba.set([10, 20, 30, 0], p * 4);
    expect(Array.from((await decodeImageToRgb32(handMadePng(32, 32, 6, rgba))).subarray(0, 3))).toEqual([10, 20, 30]);
  });

  it('decodes a small TIFF the same every time (the decoder returns a pooled Buffer)', async () => {
    const data = Buffer.alloc(31 * 32 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 7)) & 255;
    const tiff = await Jimp.fromBitmap({ data, width: 31, height: 32 }).getBuffer('image/tiff');
    const first = Buffer.from(await decodeImageToRgb32(tiff));
    // Other small allocations in between change what else the pool holds.
    Buffer.from('z'.repeat(3000));
    await decodeImageToRgb32(await new Jimp({ width: 64, height: 64, color: 0x090909ff }).getBuffer('image/png'));
    expect(Buffer.from(await decodeImageToRgb32(tiff))).toEqual(first);
  });

  it('resizes any size to 32x32 with bilinear sampling', async () => {
    const big = await new Jimp({ width: 640, height: 480, color: 0xff0000ff }).getBuffer('image/png');
    const rgb = await decodeImageToRgb32(big);
    expect(rgb.length).toBe(PIXELS_PER_IMAGE);
    expect(Array.from(rgb.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it('refuses a header declaring 30000x30000 before decoding it', async () => {
    const bomb = handMadePng(30000, 30000, 0, new Uint8Array(0));
    expect(bomb.length).toBeLessThan(200);
    const err = await decodeError(bomb);
    expect(err.code).toBe('image_too_large');
    expect(err.message).toMatch(/30000x30000/);
  });

  it('names empty, non-image and truncated inputs', async () => {
    expect((await decodeError(new Uint8Array(0))).code).toBe('empty_image');
    expect((await decodeError(Buffer.from('hello, not an image at all'))).code).toBe('unsupported_image');
    const png = await encodePng(gradientImage());
    expect((await decodeError(png.subarray(0, png.length / 2))).code).toBe('corrupt_image');
  });
});

describe('image statistics', () => {
  it('computes channel means, stds, brightness and zero noise on a flat image', () => {
    const rgb = new Uint8Array(PIXELS_PER_IMAGE);
    for (let p = 0; p < 1024; p++) rgb.set([100, 150, 200], p * 3);
    const stats = imageStats(rgb);
    expect(stats).toEqual({
      mean_r: 100,
      mean_g: 150,
      mean_b: 200,
      std_r: 0,
      std_g: 0,
      std_b: 0,
      brightness: expect.closeTo(0.299 * 100 + 0.587 * 150 + 0.114 * 200, 6),
      noise: expect.closeTo(0, 9),
    });
  });

  it('measures a checkerboard as high-frequency energy and a std of half the range', () => {
    const rgb = new Uint8Array(PIXELS_PER_IMAGE);
    for (let p = 0; p < 1024; p++) {
      const v = ((p % 32) + Math.floor(p / 32)) % 2 === 0 ? 0 : 200;
      rgb.set([v, v, v], p * 3);
    }
    const stats = imageStats(rgb);
    expect(stats.std_r).toBeCloseTo(100, 6);
    // Each interior pixel differs from its 4 neighbours by 200 in luma.
    expect(stats.noise).toBeCloseTo(4 * 200 * (0.299 + 0.587 + 0.114), 4);
  });

  it('gives one value per image per signal for a batch', () => {
    const pixels = new Uint8Array(3 * PIXELS_PER_IMAGE).fill(9);
    const stats = batchImageStats(pixels, 3);
    expect(stats.mean_g).toEqual([9, 9, 9]);
    expect(Object.keys(stats)).toHaveLength(8);
  });
});
