/**
 * The hostile inputs issue 11 reproduced against `serve`, byte for byte, plus builders for
 * valid images of every decoded format (for header tests and fuzz seeds).
 */
import { deflateSync } from 'node:zlib';
import { Jimp } from 'jimp';
import { handMadePng, pngChunk } from './png';

function tiffTag(id: number, count: number, value: number): Buffer {
  const tag = Buffer.alloc(12);
  tag.writeUInt16LE(id, 0);
  tag.writeUInt16LE(3, 2); // SHORT
  tag.writeUInt32LE(count, 4);
  tag.writeUInt32LE(value, 8);
  return tag;
}

/** `b'II*\0' + pack('<IH',8,3) + tag(256,1,1) + tag(257,1,1) + tag(300,count,0) + pack('<I',next)`. */
export function tiffWithTags(tag300Count: number, nextIfd: number): Buffer {
  const head = Buffer.alloc(10);
  head.write('II*\0', 0, 'latin1');
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(3, 8);
  const next = Buffer.alloc(4);
  next.writeUInt32LE(nextIfd);
  return Buffer.concat([head, tiffTag(256, 1, 1), tiffTag(257, 1, 1), tiffTag(300, tag300Count, 0), next]);
}

/** Reproduced failure 1: a 50-byte TIFF whose IFD points at itself. */
export const SELF_LOOP_TIFF = tiffWithTags(1, 8);
/** Reproduced failure 2: a TIFF tag whose count is 0xFFFFFFFF. */
export const HUGE_COUNT_TIFF = tiffWithTags(0xffffffff, 0);
/** Reproduced failure 3: a 31-byte GIF, logical screen 1x1, frame descriptor 46,340 x 46,340. */
export const HUGE_FRAME_GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x04\xb5\x04\xb5\x00\x02\x02\x44\x01\x00;', 'latin1');

/**
 * A 2x2 GIF whose LZW codes (3 bits: clear, 0, 7, 1; then 4 bits: 7, end) name entry 7 before
 * it exists: omggif then stores entry 7 as its own prefix and loops forever decoding it (the
 * shape of the first hang `npm run test:fuzz` found).
 */
export function lzwCycleGif(): Buffer {
  const codes: [number, number][] = [[4, 3], [0, 3], [7, 3], [1, 3], [7, 4], [5, 4]];
  let bits = 0;
  let count = 0;
  const data: number[] = [];
  for (const [code, size] of codes) {
    bits |= code << count;
    count += size;
    while (count >= 8) {
      data.push(bits & 0xff);
      bits >>= 8;
      count -= 8;
    }
  }
  if (count > 0) data.push(bits & 0xff);
  const screen = Buffer.from('GIF89a\x02\x00\x02\x00\x81\x00\x00', 'latin1'); // 2x2, 4-colour table
  const palette = Buffer.from([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0]);
  const descriptor = Buffer.from('\x2c\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02', 'latin1'); // then min code size 2
  return Buffer.concat([screen, palette, descriptor, Buffer.from([data.length, ...data, 0]), Buffer.from(';', 'latin1')]);
}

/** A 1-bit grayscale PNG of width x height, all black: ~3 KB for 4000x4000 (reproduced failure 5). */
export function oneBitPng(width: number, height: number): Buffer {
  const png = handMadePng(1, 1, 0, new Uint8Array(1));
  const header = Buffer.from(png.subarray(16, 29));
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1;
  const raw = Buffer.alloc((Math.ceil(width / 8) + 1) * height);
  return Buffer.concat([png.subarray(0, 8), pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * Reproduced failure 4: a JPEG cut off before its scan data and re-terminated with EOI
 * (jpeg-js returns a flat grey image for it).
 */
export function truncatedJpeg(jpeg: Buffer): Buffer {
  return Buffer.concat([jpeg.subarray(0, jpeg.indexOf(Buffer.from([0xff, 0xda]))), Buffer.from([0xff, 0xd9])]);
}

/** A JPEG cut two bytes into its scan data, re-terminated with EOI. */
export function jpegCutInScan(jpeg: Buffer): Buffer {
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const scanStart = sos + 2 + jpeg.readUInt16BE(sos + 2);
  return Buffer.concat([jpeg.subarray(0, scanStart + 2), Buffer.from([0xff, 0xd9])]);
}

/** A width x height RGBA test pattern in every format jimp encodes (PNG, JPEG, BMP, GIF, TIFF). */
export async function validImages(width = 32, height = 32): Promise<Record<'png' | 'jpeg' | 'bmp' | 'gif' | 'tiff', Buffer>> {
  const image = new Jimp({ width, height, color: 0x000000ff });
  const data = image.bitmap.data;
  for (let p = 0; p < width * height; p++) {
    data[p * 4] = (p * 7) & 255;
    data[p * 4 + 1] = (p * 13) & 255;
    data[p * 4 + 2] = (p >> 3) & 255;
    data[p * 4 + 3] = 255;
  }
  return {
    png: await image.getBuffer('image/png'),
    jpeg: await image.getBuffer('image/jpeg', { quality: 90 }),
    bmp: await image.getBuffer('image/bmp'),
    gif: await image.getBuffer('image/gif'),
    tiff: await image.getBuffer('image/tiff'),
  };
}
