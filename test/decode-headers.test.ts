/**
 * Header checks before decoding (src/preprocess/image-header.ts and the JPEG/TIFF walkers):
 * valid files of every format pass with their size, and each class of hostile or truncated
 * container is refused with its code before a decoder allocates anything.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImageToRgb32, ImageDecodeError } from '../src/preprocess';
import { readImageHeader } from '../src/preprocess/image-header';
import { MAX_JPEG_SCANS } from '../src/preprocess/jpeg-header';
import {
  HUGE_COUNT_TIFF,
  HUGE_FRAME_GIF,
  jpegCutInScan,
  lzwCycleGif,
  SELF_LOOP_TIFF,
  truncatedJpeg,
  tiffWithTags,
  validImages,
} from './helpers/hostile-images';
import { handMadePng, pngChunk } from './helpers/png';

async function decodeRefusal(bytes: Uint8Array): Promise<string> {
  const err = await decodeImageToRgb32(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageDecodeError);
  expect((err as ImageDecodeError).code).toBe('corrupt_image');
  return (err as Error).message;
}

function refusal(bytes: Uint8Array): { code: string; message: string } {
  try {
    readImageHeader(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    return { code: (err as ImageDecodeError).code, message: (err as Error).message };
  }
  throw new Error('the header was accepted');
}

describe('image headers', () => {
  let valid: Awaited<ReturnType<typeof validImages>>;
  beforeAll(async () => {
    valid = await validImages(40, 24);
  });

  it('accepts a valid PNG, JPEG, BMP, GIF and TIFF with the size the decoder returns', async () => {
    const types = { png: 'png', jpeg: 'jpg', bmp: 'bmp', gif: 'gif', tiff: 'tiff' } as const;
    for (const [name, bytes] of Object.entries(valid) as [keyof typeof types, Buffer][]) {
      expect(readImageHeader(bytes)).toEqual({ type: types[name], width: 40, height: 24, decodedPixels: name === 'gif' ? 2 * 40 * 24 : 40 * 24 });
      expect((await decodeImageToRgb32(bytes)).length).toBe(32 * 32 * 3);
    }
  });

  it('refuses PNGs without IEND, with a chunk past the end, or without IDAT', () => {
    const png = valid.png;
    expect(refusal(png.subarray(0, png.length - 12))).toEqual({ code: 'corrupt_image', message: expect.stringContaining('before its IEND') });
    expect(refusal(png.subarray(0, png.length - 40)).message).toMatch(/runs past the end/);
    const noData = Buffer.concat([png.subarray(0, 33), pngChunk('IEND', Buffer.alloc(0))]);
    expect(refusal(noData).message).toMatch(/no image data/);
  });

  it('refuses PNG image data that is cut short, has fewer rows, or inflates far past its size (interlaced: pngjs has no cap)', async () => {
    const rowBytes = 32 * 3 + 1;
    const rows = Buffer.alloc(rowBytes * 32, 9);
    for (let y = 0; y < 32; y++) rows[y * rowBytes] = 0; // filter: none
    const withData = (data: Buffer, interlace = 0) => {
      const header = Buffer.from(handMadePng(32, 32, 2, new Uint8Array(3)).subarray(16, 29));
      header[12] = interlace;
      return Buffer.concat([valid.png.subarray(0, 8), pngChunk('IHDR', header), pngChunk('IDAT', data), pngChunk('IEND', Buffer.alloc(0))]);
    };
    expect((await decodeImageToRgb32(withData(deflateSync(rows)))).length).toBe(32 * 32 * 3);
    const stream = deflateSync(rows);
    expect(await decodeRefusal(withData(stream.subarray(0, stream.length - 3)))).toMatch(/does not inflate to its 3104 bytes \(unexpected end of file\)/);
    expect(await decodeRefusal(withData(deflateSync(rows.subarray(0, rowBytes * 16))))).toMatch(/inflates to 1552 bytes, its rows need 3104/);
    expect(await decodeRefusal(withData(deflateSync(Buffer.alloc(8 << 20)), 1))).toMatch(/does not inflate to its \d+ bytes/);
  });

  it('accepts interlaced, palette, 16-bit and 1-bit PNGs (the data check counts their rows right)', async () => {
    for (const [width, height] of [[1, 1], [33, 17], [100, 7]]) {
      const raw = sharp(Buffer.alloc(width * height * 4).map((_, i) => (i * 37) & 255), { raw: { width, height, channels: 4 } });
      for (const png of [
        await raw.clone().png({ progressive: true }).toBuffer(),
        await raw.clone().png({ palette: true, progressive: true }).toBuffer(),
        await raw.clone().toColourspace('grey16').png().toBuffer(),
        await raw.clone().removeAlpha().toColourspace('rgb16').png({ progressive: true }).toBuffer(),
        await raw.clone().greyscale().png({ palette: true, colours: 2 }).toBuffer(),
      ]) {
        expect((await decodeImageToRgb32(png)).length).toBe(32 * 32 * 3);
      }
    }
  });

  it('refuses JPEGs without EOI, without a scan, or with less scan data than their blocks need', () => {
    const jpeg = valid.jpeg;
    expect(refusal(jpeg.subarray(0, jpeg.length - 300)).message).toMatch(/ends inside scan data/);
    expect(refusal(truncatedJpeg(jpeg)).message).toMatch(/no scan/);
    expect(refusal(jpegCutInScan(jpeg)).message).toMatch(/shorter than its blocks need/);
  });

  it('refuses a JPEG frame header shorter than its fields (found by the fuzzer: it read past the segment)', () => {
    const jpeg = Buffer.from(valid.jpeg);
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(2, sof + 2);
    expect(refusal(jpeg).message).toMatch(/JPEG frame header is truncated/);
    const cut = Buffer.from(valid.jpeg.subarray(0, sof + 9));
    cut.writeUInt16BE(8, sof + 2);
    expect(refusal(cut).code).toBe('corrupt_image');
  });

  it('answers a header read past the end of the file as corrupt_image, never an internal error', () => {
    const read = jest.spyOn(DataView.prototype, 'getUint32').mockImplementationOnce(() => {
      throw new RangeError('Offset is outside the bounds of the DataView');
    });
    try {
      expect(refusal(valid.png)).toEqual({ code: 'corrupt_image', message: expect.stringContaining('past the end of the file') });
    } finally {
      read.mockRestore();
    }
  });

  it(`refuses a JPEG with more than ${MAX_JPEG_SCANS} scans`, () => {
    const jpeg = valid.jpeg;
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const scan = jpeg.subarray(sos, jpeg.length - 2);
    const many = Buffer.concat([jpeg.subarray(0, sos), ...Array.from({ length: MAX_JPEG_SCANS + 1 }, () => scan), Buffer.from([0xff, 0xd9])]);
    expect(refusal(many).message).toMatch(/more than 100 scans/);
  });

  it('checks every GIF frame descriptor, not only the logical screen, and wants the trailer', () => {
    expect(refusal(HUGE_FRAME_GIF)).toEqual({ code: 'image_too_large', message: expect.stringContaining('GIF frame 0 dimensions 46340x46340') });
    expect(refusal(valid.gif.subarray(0, valid.gif.length - 1)).message).toMatch(/before its trailer/);
    const secondFrameHuge = Buffer.concat([valid.gif.subarray(0, valid.gif.length - 1), HUGE_FRAME_GIF.subarray(13)]);
    expect(refusal(secondFrameHuge).message).toMatch(/GIF frame 1 dimensions 46340x46340/);
  });

  it('refuses a GIF whose LZW codes name a table entry before it exists (omggif loops forever on it)', async () => {
    expect(refusal(lzwCycleGif()).message).toMatch(/LZW code past its table/);
    // Frame data cut off mid-block: refused by the block walk before the codes are replayed
    // (replaying them first read zeros past the end forever: found by test:fuzz).
    const cut = lzwCycleGif().subarray(0, 40);
    expect(refusal(cut).message).toMatch(/GIF ends inside a data block/);
    expect(refusal(valid.gif.subarray(0, Math.floor(valid.gif.length * 0.8))).message).toMatch(/GIF ends inside a data block/);
    // GIFs from another encoder (libvips/cgif), small and large, still pass the code check.
    for (const [width, height] of [[1, 1], [7, 3], [300, 200]]) {
      const raw = Buffer.alloc(width * height * 3).map((_, i) => (i * 53) & 255);
      const gif = await sharp(raw, { raw: { width, height, channels: 3 } }).gif().toBuffer();
      expect((await decodeImageToRgb32(gif)).length).toBe(32 * 32 * 3);
    }
  });

  it('refuses BMPs whose pixel rows are not all in the file, or that declare a huge size', () => {
    expect(refusal(valid.bmp.subarray(0, valid.bmp.length - 100)).message).toMatch(/BMP pixel data is truncated/);
    const huge = Buffer.from(valid.bmp);
    huge.writeInt32LE(30000, 18);
    expect(refusal(huge).code).toBe('image_too_large');
  });

  it('refuses TIFF IFD loops, counts past the end of the file, and truncated strips', () => {
    expect(refusal(SELF_LOOP_TIFF).message).toMatch(/TIFF IFDs form a loop/);
    expect(refusal(HUGE_COUNT_TIFF).message).toMatch(/tag 300 claims 4294967295 values past the end/);
    expect(refusal(valid.tiff.subarray(0, valid.tiff.length - 200)).message).toMatch(/TIFF (strip|page)/);
    // A SubIFDs tag (330, type LONG) pointing back at its own IFD.
    const subLoop = tiffWithTags(1, 0);
    subLoop.writeUInt16LE(330, 34);
    subLoop.writeUInt16LE(4, 36);
    subLoop.writeUInt32LE(8, 42);
    expect(refusal(subLoop).message).toMatch(/loop \(sub-IFD of page 0/);
  });

  it('counts every TIFF page against the pixel limit (jimp decodes them all)', () => {
    const page = (width: number, next: number) => {
      const ifd = tiffWithTags(1, next);
      ifd.writeUInt16LE(width, 18);
      ifd.writeUInt16LE(width, 30);
      return ifd;
    };
    // Two 3000x3000 pages: each within the limit, 18 M pixels together.
    const first = page(3000, 50 + 2);
    const second = page(3000, 0).subarray(8);
    expect(refusal(Buffer.concat([first, Buffer.alloc(2), second]))).toEqual({
      code: 'image_too_large',
      message: expect.stringContaining('the 2 TIFF pages decode to 18000000 pixels'),
    });
  });
});
