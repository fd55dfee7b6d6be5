/**
 * Structural checks of an image's container before any decoder sees it: every frame, page and
 * IFD the decoder would read is located and its declared size checked against the limits, and
 * truncated files (no PNG IEND, no JPEG EOI, no GIF trailer, short BMP/TIFF data) are refused.
 * Reads headers only: cost is proportional to the number of chunks/blocks, never to pixels.
 */
import { inflateSync } from 'node:zlib';
import { checkDimensions, checkTotalPixels, corrupt, ImageDecodeError } from './decode-limits';
import { readJpegHeader } from './jpeg-header';
import { readTiffHeader } from './tiff-header';

export type ImageType = 'png' | 'jpg' | 'gif' | 'bmp' | 'tiff';

export interface ImageHeader {
  type: ImageType;
  /** Size of the image as decoded (first frame / page). */
  width: number;
  height: number;
  /** Pixels the decoder allocates over every frame/page it reads (the per-request budget counts these). */
  decodedPixels: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bytes -> the checked header; throws ImageDecodeError (empty, unsupported, corrupt, too large). */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length === 0) throw new ImageDecodeError('empty_image', 'the image is empty (0 bytes)');
  try {
    return readHeaderByType(bytes);
  } catch (err) {
    // A field the walkers read lies past the end of the file: truncated by definition.
    if (err instanceof RangeError) throw corrupt('a header field lies past the end of the file');
    throw err;
  }
}

function readHeaderByType(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return readPngHeader(bytes, view);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return readJpegHeader(bytes, view);
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return readGifHeader(bytes, view);
  if (ascii(0, 2) === 'BM') return readBmpHeader(bytes, view);
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return readTiffHeader(bytes, view);
  throw new ImageDecodeError('unsupported_image', 'the bytes are not a supported image (PNG, JPEG, BMP, GIF or TIFF)');
}

/** Chunks from IHDR to IEND, each inside the file; at least one IDAT. */
function readPngHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  let offset = 8;
  let width = 0;
  let height = 0;
  let interlaced = false;
  let bitsPerPixel = 0;
  const idat: Uint8Array[] = [];
  for (let first = true; ; first = false) {
    if (offset + 12 > bytes.length) throw corrupt('PNG ends before its IEND chunk');
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) throw corrupt(`PNG chunk ${type} runs past the end of the file`);
    if (first) {
      if (type !== 'IHDR' || length !== 13) throw corrupt('PNG does not start with an IHDR chunk');
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      checkDimensions(width, height);
      bitsPerPixel = bytes[offset + 16] * (PNG_CHANNELS[bytes[offset + 17]] ?? 4);
      interlaced = bytes[offset + 20] === 1;
    }
    if (type === 'IDAT') idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (idat.length === 0) throw corrupt('PNG has no image data (IDAT)');
  if (interlaced) checkInterlacedData(idat, width, height, bitsPerPixel);
  return { type: 'png', width, height, decodedPixels: width * height };
}

/** Channels per PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * pngjs inflates interlaced image data without an output cap (plain rows it caps at the image
 * size), so a few MB of deflate could become GBs: inflate here with a cap of twice what
 * the seven Adam7 passes can need.
 */
function checkInterlacedData(idat: Uint8Array[], width: number, height: number, bitsPerPixel: number): void {
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8) + 1;
  const cap = 2 * rowBytes * height + 64 * 1024;
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: cap });
  } catch (err) {
    throw corrupt(`interlaced PNG data does not inflate to its declared size (${(err as Error).message})`);
  }
}

/** BITMAPCOREHEADER or BITMAPINFOHEADER+; uncompressed pixel rows must all be in the file. */
function readBmpHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  if (bytes.length < 26) throw corrupt('BMP header is truncated');
  const dataOffset = view.getUint32(10, true);
  const dibSize = view.getUint32(14, true);
  const core = dibSize === 12;
  if (!core && (dibSize < 40 || bytes.length < 14 + 40)) throw corrupt(`BMP info header of ${dibSize} bytes`);
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const height = Math.abs(core ? view.getInt16(20, true) : view.getInt32(22, true));
  const bitsPerPixel = view.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : view.getUint32(30, true);
  checkDimensions(width, height);
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw corrupt(`BMP with ${bitsPerPixel} bits per pixel`);
  if (dataOffset >= bytes.length) throw corrupt('BMP pixel data starts past the end of the file');
  const uncompressed = compression === 0 || compression === 3 || compression === 6;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (uncompressed && dataOffset + rowBytes * height > bytes.length) throw corrupt('BMP pixel data is truncated');
  return { type: 'bmp', width, height, decodedPixels: width * height };
}

/**
 * Logical screen, then every block to the trailer: each image descriptor's size is checked
 * (the decoder walks every frame's header and decodes frame 0 at its declared size).
 */
function readGifHeader(bytes: Uint8Array, view: DataView): ImageHeader {
  if (bytes.length < 13) throw corrupt('GIF header is truncated');
  const width = view.getUint16(6, true);
  const height = view.getUint16(8, true);
  checkDimensions(width, height, 'GIF logical screen');
  let offset = 13 + colorTableBytes(bytes[10]);
  let firstFrame = 0;
  let frames = 0;
  const skipSubBlocks = () => {
    while (offset < bytes.length && bytes[offset] !== 0) offset += bytes[offset] + 1;
    if (offset >= bytes.length) throw corrupt('GIF ends inside a data block');
    offset++;
  };
  for (;;) {
    if (offset >= bytes.length) throw corrupt('GIF ends before its trailer');
    const introducer = bytes[offset];
    if (introducer === 0x3b) break;
    if (introducer === 0x21) {
      offset += 2;
      skipSubBlocks();
    } else if (introducer === 0x2c) {
      if (offset + 11 > bytes.length) throw corrupt('GIF image descriptor is truncated');
      const frameWidth = view.getUint16(offset + 5, true);
      const frameHeight = view.getUint16(offset + 7, true);
      checkDimensions(frameWidth, frameHeight, `GIF frame ${frames}`);
      if (frames === 0) firstFrame = frameWidth * frameHeight;
      frames++;
      offset += 10 + colorTableBytes(bytes[offset + 9]) + 1; // descriptor, local colour table, LZW code size
      skipSubBlocks();
    } else {
      throw corrupt(`unknown GIF block 0x${introducer.toString(16)}`);
    }
  }
  if (frames === 0) throw corrupt('GIF has no image');
  const decodedPixels = width * height + firstFrame;
  checkTotalPixels(decodedPixels, 'the GIF screen and its first frame');
  return { type: 'gif', width, height, decodedPixels };
}

function colorTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * (1 << ((packed & 0x07) + 1)) : 0;
}
